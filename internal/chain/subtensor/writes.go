package subtensor

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/wallet"
)

// Register calls SubtensorModule.burned_register signed by the coldkey and returns the uid.
func (c *Client) Register(ctx context.Context, netuid uint16, coldkey chain.Signer, hotkey string) (uint16, error) {
	pub, err := wallet.PublicKeyFromSS58(hotkey)
	if err != nil {
		return 0, fmt.Errorf("register hotkey %q: %w", hotkey, err)
	}
	if ok, err := c.IsRegistered(ctx, netuid, hotkey); err != nil {
		return 0, err
	} else if ok {
		return 0, fmt.Errorf("register %s on netuid %d: %w", hotkey, netuid, chain.ErrAlreadyRegistered)
	}
	block, _, err := c.submit(ctx, coldkey, Call{Pallet: "SubtensorModule", Name: "burned_register",
		Args: map[string]any{"netuid": netuid, "hotkey": pub}})
	if err != nil {
		return 0, err
	}
	return c.UID(ctx, netuid, hotkey, block)
}

// AxonCall builds the serve_axon call for axon (IPv4 or IPv6 text, protocol 4 when unset).
func AxonCall(netuid uint16, axon chain.AxonInfo) (Call, error) {
	addr, err := netip.ParseAddr(axon.IP)
	if err != nil {
		return Call{}, fmt.Errorf("axon ip %q: %w", axon.IP, err)
	}
	ipType := uint8(4)
	ip := new(big.Int)
	if addr.Is4() || addr.Is4In6() {
		b := addr.Unmap().As4()
		ip.SetBytes(b[:])
	} else {
		b := addr.As16()
		ip.SetBytes(b[:])
		ipType = 6
	}
	proto := axon.Protocol
	if proto == 0 {
		proto = 4
	}
	return Call{Pallet: "SubtensorModule", Name: "serve_axon", Args: map[string]any{
		"netuid": netuid, "version": axon.Version, "ip": ip, "port": axon.Port, "ip_type": ipType,
		"protocol": proto, "placeholder1": uint8(0), "placeholder2": uint8(0),
	}}, nil
}

// ServeAxon announces the hotkey's axon.
func (c *Client) ServeAxon(ctx context.Context, netuid uint16, hotkey chain.Signer, axon chain.AxonInfo) error {
	call, err := AxonCall(netuid, axon)
	if err != nil {
		return err
	}
	_, _, err = c.submit(ctx, hotkey, call)
	return err
}

// SetWeights calls SubtensorModule.set_weights signed by the hotkey.
func (c *Client) SetWeights(ctx context.Context, netuid uint16, hotkey chain.Signer, uids, weights []uint16, versionKey uint64) error {
	if len(uids) != len(weights) {
		return fmt.Errorf("set weights: %d uids but %d weights: %w", len(uids), len(weights), chain.ErrInvalidWeights)
	}
	hash, block, err := c.Head(ctx)
	if err != nil {
		return err
	}
	info, _, err := c.weightsInfoAt(ctx, netuid, hotkey.PublicKey(), hash, block)
	if err != nil {
		return fmt.Errorf("set weights on netuid %d: %w", netuid, err)
	}
	if rateLimited(info) {
		return rateLimitError("set weights by "+hotkey.SS58Address(), info)
	}
	_, _, err = c.submit(ctx, hotkey, SetWeightsCall(netuid, uids, weights, versionKey))
	return err
}

// SetWeightsCall builds the set_weights call.
func SetWeightsCall(netuid uint16, uids, weights []uint16, versionKey uint64) Call {
	return Call{Pallet: "SubtensorModule", Name: "set_weights", Args: map[string]any{
		"netuid": netuid, "dests": uids, "weights": weights, "version_key": versionKey}}
}

// MaxCommitment is the most data Commit accepts: three Raw128 fields.
const MaxCommitment = 3 * 128

// CommitCall builds Commitments.set_commitment with data split into Raw fields of up to 128 bytes.
func CommitCall(netuid uint16, data []byte) (Call, error) {
	if len(data) > MaxCommitment {
		return Call{}, fmt.Errorf("commitment of %d bytes exceeds the %d-byte limit", len(data), MaxCommitment)
	}
	fields := []any{}
	for len(data) > 0 || len(fields) == 0 {
		n := min(len(data), 128)
		chunk := append([]byte(nil), data[:n]...)
		fields = append(fields, VariantRaw(chunk))
		data = data[n:]
	}
	return Call{Pallet: "Commitments", Name: "set_commitment", Args: map[string]any{
		"netuid": netuid, "info": map[string]any{"fields": fields}}}, nil
}

// Commit publishes data as the hotkey's commitment.
func (c *Client) Commit(ctx context.Context, netuid uint16, hotkey chain.Signer, data []byte) error {
	call, err := CommitCall(netuid, data)
	if err != nil {
		return err
	}
	_, _, err = c.submit(ctx, hotkey, call)
	return err
}
