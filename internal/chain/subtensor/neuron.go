package subtensor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net/netip"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/scale"
	"github.com/sn27/compute/internal/wallet"
)

// AxonInfoRaw is the on-chain AxonInfo layout.
type AxonInfoRaw struct {
	Block        uint64
	Version      uint32
	IP           *big.Int
	Port         uint16
	IPType       uint8
	Protocol     uint8
	Placeholder1 uint8
	Placeholder2 uint8
}

// NeuronInfoLite is the runtime API's NeuronInfoLite, fields as on chain.
type NeuronInfoLite struct {
	Hotkey, Coldkey   [32]byte
	UID, Netuid       uint16
	Active            bool
	Axon              AxonInfoRaw
	PrometheusBlock   uint64
	PrometheusVersion uint32
	PrometheusIP      *big.Int
	PrometheusPort    uint16
	PrometheusIPType  uint8
	Stake             []StakeEntry
	Rank              uint16
	Emission          uint64
	Incentive         uint16
	Consensus         uint16
	Trust             uint16
	ValidatorTrust    uint16
	Dividends         uint16
	LastUpdate        uint64
	ValidatorPermit   bool
	PruningScore      uint16
}

// StakeEntry is one (coldkey, rao) pair of a neuron's stake.
type StakeEntry struct {
	Coldkey [32]byte
	Rao     uint64
}

func compactU16(d *scale.Decoder, what string) uint16 {
	v := d.Compact()
	if v > 0xffff {
		d.Fail(fmt.Errorf("%w: %s %d does not fit in u16", scale.ErrInvalid, what, v))
	}
	return uint16(v)
}

func decodeAxon(d *scale.Decoder) AxonInfoRaw {
	return AxonInfoRaw{Block: d.U64(), Version: d.U32(), IP: d.U128(), Port: d.U16(),
		IPType: d.U8(), Protocol: d.U8(), Placeholder1: d.U8(), Placeholder2: d.U8()}
}

func decodeNeuronLite(d *scale.Decoder) NeuronInfoLite {
	var n NeuronInfoLite
	n.Hotkey = d.Array32()
	n.Coldkey = d.Array32()
	n.UID = compactU16(d, "uid")
	n.Netuid = compactU16(d, "netuid")
	n.Active = d.Bool()
	n.Axon = decodeAxon(d)
	n.PrometheusBlock = d.U64()
	n.PrometheusVersion = d.U32()
	n.PrometheusIP = d.U128()
	n.PrometheusPort = d.U16()
	n.PrometheusIPType = d.U8()
	ns := d.Len(33)
	for i := 0; i < ns && d.Err() == nil; i++ {
		n.Stake = append(n.Stake, StakeEntry{Coldkey: d.Array32(), Rao: d.Compact()})
	}
	n.Rank = compactU16(d, "rank")
	n.Emission = d.Compact()
	n.Incentive = compactU16(d, "incentive")
	n.Consensus = compactU16(d, "consensus")
	n.Trust = compactU16(d, "trust")
	n.ValidatorTrust = compactU16(d, "validator_trust")
	n.Dividends = compactU16(d, "dividends")
	n.LastUpdate = d.Compact()
	n.ValidatorPermit = d.Bool()
	n.PruningScore = compactU16(d, "pruning_score")
	return n
}

// DecodeNeuronsLite decodes Vec<NeuronInfoLite>, consuming every byte. Older runtimes
// wrapped the result in one more Vec<u8>; that form is accepted too.
func DecodeNeuronsLite(b []byte) ([]NeuronInfoLite, error) {
	out, err := decodeNeuronsLite(b)
	if err == nil {
		return out, nil
	}
	inner := scale.NewDecoder(b)
	wrapped := inner.VecU8()
	if inner.Finish() == nil {
		if out, err2 := decodeNeuronsLite(wrapped); err2 == nil {
			return out, nil
		}
	}
	return nil, err
}

func decodeNeuronsLite(b []byte) ([]NeuronInfoLite, error) {
	d := scale.NewDecoder(b)
	n := d.Len(100)
	out := make([]NeuronInfoLite, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, decodeNeuronLite(d))
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode neurons: %w", err)
	}
	return out, nil
}

// DecodeNeuronLiteOption decodes Option<NeuronInfoLite> (nil for None).
func DecodeNeuronLiteOption(b []byte) (*NeuronInfoLite, error) {
	d := scale.NewDecoder(b)
	var n *NeuronInfoLite
	if d.Option() {
		v := decodeNeuronLite(d)
		n = &v
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode neuron: %w", err)
	}
	return n, nil
}

// SubnetState is the runtime API's SubnetState (per-uid vectors).
type SubnetState struct {
	Netuid              uint16
	Hotkeys, Coldkeys   [][32]byte
	Active              []bool
	ValidatorPermit     []bool
	PruningScore        []uint64
	LastUpdate          []uint64
	Emission            []uint64
	Dividends           []uint64
	Incentives          []uint64
	Consensus           []uint64
	Trust               []uint64
	Rank                []uint64
	BlockAtRegistration []uint64
	AlphaStake          []uint64
	TaoStake            []uint64
	TotalStake          []uint64
	EmissionHistory     [][]uint64
}

func compactVec(d *scale.Decoder) []uint64 {
	n := d.Len(1)
	out := make([]uint64, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, d.Compact())
	}
	return out
}

func boolVec(d *scale.Decoder) []bool {
	n := d.Len(1)
	out := make([]bool, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, d.Bool())
	}
	return out
}

func accountVec(d *scale.Decoder) [][32]byte {
	n := d.Len(32)
	out := make([][32]byte, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, d.Array32())
	}
	return out
}

// DecodeSubnetState decodes Option<SubnetState> (nil for None), consuming every byte.
func DecodeSubnetState(b []byte) (*SubnetState, error) {
	d := scale.NewDecoder(b)
	if !d.Option() {
		if err := d.Finish(); err != nil {
			return nil, fmt.Errorf("decode subnet state: %w", err)
		}
		return nil, nil
	}
	s := &SubnetState{Netuid: compactU16(d, "netuid")}
	s.Hotkeys = accountVec(d)
	s.Coldkeys = accountVec(d)
	s.Active = boolVec(d)
	s.ValidatorPermit = boolVec(d)
	for _, dst := range []*[]uint64{&s.PruningScore, &s.LastUpdate, &s.Emission, &s.Dividends, &s.Incentives,
		&s.Consensus, &s.Trust, &s.Rank, &s.BlockAtRegistration, &s.AlphaStake, &s.TaoStake, &s.TotalStake} {
		*dst = compactVec(d)
	}
	nh := d.Len(1)
	for i := 0; i < nh && d.Err() == nil; i++ {
		s.EmissionHistory = append(s.EmissionHistory, compactVec(d))
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode subnet state: %w", err)
	}
	return s, nil
}

// IPString renders an on-chain IP integer as text.
func IPString(ip *big.Int, ipType uint8) string {
	if ip == nil || ip.Sign() == 0 {
		return "0.0.0.0"
	}
	if ipType == 6 || ip.BitLen() > 32 {
		var b [16]byte
		ip.FillBytes(b[:])
		return netip.AddrFrom16(b).String()
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(ip.Uint64()))
	return netip.AddrFrom4(b).String()
}

func ss58(pub [32]byte) string {
	s, err := wallet.SS58Encode(pub[:], 42)
	if err != nil {
		return fmt.Sprintf("0x%x", pub)
	}
	return s
}

const u16Max = 65535.0

// ToNeuron converts the chain layout to chain.Neuron (ratios /65535, TAO = rao/1e9).
func (n *NeuronInfoLite) ToNeuron() chain.Neuron {
	var stake uint64
	for _, s := range n.Stake {
		stake += s.Rao
	}
	return chain.Neuron{
		UID: n.UID, Netuid: n.Netuid, Hotkey: ss58(n.Hotkey), Coldkey: ss58(n.Coldkey), Active: n.Active,
		Stake: float64(stake) / 1e9, StakeRao: stake,
		Rank: float64(n.Rank) / u16Max, Trust: float64(n.Trust) / u16Max, Consensus: float64(n.Consensus) / u16Max,
		Incentive: float64(n.Incentive) / u16Max, Dividends: float64(n.Dividends) / u16Max,
		ValidatorTrust: float64(n.ValidatorTrust) / u16Max, Emission: float64(n.Emission) / 1e9,
		ValidatorPermit: n.ValidatorPermit, LastUpdate: n.LastUpdate, PruningScore: n.PruningScore,
		Axon: chain.AxonInfo{Block: n.Axon.Block, Version: n.Axon.Version, IP: IPString(n.Axon.IP, n.Axon.IPType),
			Port: n.Axon.Port, IPType: n.Axon.IPType, Protocol: n.Axon.Protocol},
		PrometheusVersion: n.PrometheusVersion,
	}
}

func netuidArg(netuid uint16) []byte { return scale.AppendU16(nil, netuid) }

// Metagraph reads the head, then every neuron of netuid at that block (NeuronInfoLite),
// with stakes and registration blocks from SubnetState when the runtime serves it.
func (c *Client) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	hash, block, err := c.Head(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := c.StateCall(ctx, "NeuronInfoRuntimeApi_get_neurons_lite", netuidArg(netuid), hash)
	if err != nil {
		return nil, fmt.Errorf("metagraph of netuid %d: %w", netuid, err)
	}
	lite, err := DecodeNeuronsLite(raw)
	if err != nil {
		return nil, fmt.Errorf("metagraph of netuid %d at block %d: %w", netuid, block, err)
	}
	if len(lite) == 0 {
		ok, err := c.subnetExists(ctx, netuid, hash)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("metagraph of netuid %d: %w", netuid, chain.ErrSubnetNotFound)
		}
	}
	mg := &chain.Metagraph{Netuid: netuid, Block: block, Neurons: make([]chain.Neuron, len(lite))}
	for i := range lite {
		mg.Neurons[i] = lite[i].ToNeuron()
	}
	var state *SubnetState
	if rawState, err := c.StateCall(ctx, "SubnetInfoRuntimeApi_get_subnet_state", netuidArg(netuid), hash); err != nil {
		c.log.Debug("subnet state unavailable; stakes come from the neuron records", "netuid", netuid, "err", err)
	} else if state, err = DecodeSubnetState(rawState); err != nil {
		return nil, fmt.Errorf("metagraph of netuid %d at block %d: %w", netuid, block, err)
	}
	if state != nil {
		if len(state.Hotkeys) != len(lite) || len(state.TotalStake) != len(lite) || len(state.BlockAtRegistration) != len(lite) {
			return nil, fmt.Errorf("metagraph of netuid %d at block %d: subnet state has %d uids, neuron list %d",
				netuid, block, len(state.Hotkeys), len(lite))
		}
		for i := range mg.Neurons {
			n := &mg.Neurons[i]
			if int(n.UID) >= len(state.Hotkeys) || state.Hotkeys[n.UID] != lite[i].Hotkey {
				return nil, fmt.Errorf("metagraph of netuid %d: subnet state disagrees with the neuron list at uid %d", netuid, n.UID)
			}
			n.StakeRao = state.TotalStake[n.UID]
			n.Stake = float64(n.StakeRao) / 1e9
			n.BlockAtRegistered = state.BlockAtRegistration[n.UID]
		}
	}
	return mg, nil
}

// Neuron reads one neuron by uid at the best block.
func (c *Client) Neuron(ctx context.Context, netuid, uid uint16) (*chain.Neuron, error) {
	args := scale.AppendU16(netuidArg(netuid), uid)
	raw, err := c.StateCall(ctx, "NeuronInfoRuntimeApi_get_neuron_lite", args, "")
	if err != nil {
		return nil, fmt.Errorf("neuron %d on netuid %d: %w", uid, netuid, err)
	}
	n, err := DecodeNeuronLiteOption(raw)
	if err != nil {
		return nil, fmt.Errorf("neuron %d on netuid %d: %w", uid, netuid, err)
	}
	if n == nil {
		return nil, fmt.Errorf("neuron %d on netuid %d: %w", uid, netuid, chain.ErrNotFound)
	}
	out := n.ToNeuron()
	return &out, nil
}

// UidsKey is the storage key of SubtensorModule.Uids(netuid, hotkey).
func UidsKey(netuid uint16, hotkey [32]byte) []byte {
	k := metadata.StoragePrefix("SubtensorModule", "Uids")
	k = scale.AppendU16(k, netuid) // Identity
	return metadata.Blake2_128Concat.Hash(k, hotkey[:])
}

// UID returns the uid hotkey holds on netuid at hash ("" = best), or ErrNotRegistered.
func (c *Client) UID(ctx context.Context, netuid uint16, hotkey, hash string) (uint16, error) {
	pub, err := wallet.PublicKeyFromSS58(hotkey)
	if err != nil {
		return 0, fmt.Errorf("hotkey %q: %w", hotkey, err)
	}
	raw, err := c.Storage(ctx, UidsKey(netuid, pub), hash)
	if err != nil {
		return 0, err
	}
	if raw == nil {
		return 0, fmt.Errorf("hotkey %s on netuid %d: %w", hotkey, netuid, chain.ErrNotRegistered)
	}
	d := scale.NewDecoder(raw)
	uid := d.U16()
	if err := d.Finish(); err != nil {
		return 0, fmt.Errorf("decode uid of %s: %w", hotkey, err)
	}
	return uid, nil
}

// IsRegistered reports whether hotkey holds a uid on netuid.
func (c *Client) IsRegistered(ctx context.Context, netuid uint16, hotkey string) (bool, error) {
	_, err := c.UID(ctx, netuid, hotkey, "")
	if errors.Is(err, chain.ErrNotRegistered) {
		return false, nil
	}
	return err == nil, err
}

// NeuronByHotkey returns the neuron hotkey holds (ErrNotRegistered if none).
func (c *Client) NeuronByHotkey(ctx context.Context, netuid uint16, hotkey string) (*chain.Neuron, error) {
	uid, err := c.UID(ctx, netuid, hotkey, "")
	if err != nil {
		return nil, err
	}
	return c.Neuron(ctx, netuid, uid)
}

// NetuidKey is the key of a SubtensorModule map keyed by netuid alone (Identity hasher).
func NetuidKey(item string, netuid uint16) []byte {
	return scale.AppendU16(metadata.StoragePrefix("SubtensorModule", item), netuid)
}

func (c *Client) subnetExists(ctx context.Context, netuid uint16, hash string) (bool, error) {
	raw, err := c.Storage(ctx, NetuidKey("NetworksAdded", netuid), hash)
	if err != nil {
		return false, err
	}
	if raw == nil {
		return false, nil
	}
	d := scale.NewDecoder(raw)
	v := d.Bool()
	if err := d.Finish(); err != nil {
		return false, fmt.Errorf("decode NetworksAdded(%d): %w", netuid, err)
	}
	return v, nil
}
