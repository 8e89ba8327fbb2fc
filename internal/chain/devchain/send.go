package devchain

import (
	"context"
	"errors"
	"fmt"

	"github.com/sn27/compute/internal/chain"
)

// Dev is chain.Chain plus the dev chain's helpers; both *Chain (in process)
// and *Client (over HTTP) implement it.
type Dev interface {
	chain.Chain
	// Fund is the faucet: it credits rao to address.
	Fund(ctx context.Context, address string, rao uint64) error
	// Account returns a key's balance and last nonce.
	Account(ctx context.Context, address string) (Account, error)
	// Issuance returns the chain's issuance counters.
	Issuance(ctx context.Context) (Issuance, error)
	// Params returns a subnet's settings.
	Params(ctx context.Context, netuid uint16) (Params, error)
	// CreateSubnet creates netuid owned by owner (DefaultParams when p is nil).
	CreateSubnet(ctx context.Context, owner chain.Signer, netuid uint16, p *Params) error
	// SetParams replaces a subnet's settings; signed by its owner or the sudo key.
	SetParams(ctx context.Context, signer chain.Signer, netuid uint16, p Params) error
	// AddStake moves rao from coldkey's balance into stake on hotkey.
	AddStake(ctx context.Context, coldkey chain.Signer, hotkey string, rao uint64) error
	// Events returns the chain's events (reveals, dropped commits) q selects.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// Beacon describes the chain's beacon.
	Beacon(ctx context.Context) (BeaconInfo, error)
	// Pulse returns the beacon's pulse for a published round.
	Pulse(ctx context.Context, round uint64) (Pulse, error)
}

var (
	_ Dev = (*Chain)(nil)
	_ Dev = (*Client)(nil)

	_ chain.BlockClock = (*Client)(nil)
)

// submitter is the transport under the signed calls: in process or HTTP.
type submitter interface {
	Account(ctx context.Context, address string) (Account, error)
	Submit(ctx context.Context, call *Call) (CallResult, error)
}

// send signs a call with the signer's next nonce and submits it. When another
// call of the same key took that nonce first (ErrReplay), it retries with a
// fresh nonce: a refused call changed nothing, so retrying is safe.
func send(ctx context.Context, s submitter, signer chain.Signer, method string, args any) (CallResult, error) {
	if signer == nil {
		return CallResult{}, fmt.Errorf("%s: %w: no signing key", method, chain.ErrUnknownKey)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		acct, err := s.Account(ctx, signer.SS58Address())
		if err != nil {
			return CallResult{}, err
		}
		call, err := SignCall(signer, method, acct.Nonce+1, args)
		if err != nil {
			return CallResult{}, err
		}
		res, err := s.Submit(ctx, call)
		if !errors.Is(err, chain.ErrReplay) {
			return res, err
		}
		lastErr = err
	}
	return CallResult{}, lastErr
}

// signedCalls implements the signed state-changing calls once for both
// transports; *Chain and *Client embed it with themselves as the submitter.
type signedCalls struct{ s submitter }

// Register burns the registration cost from coldkey and registers hotkey.
func (c signedCalls) Register(ctx context.Context, netuid uint16, coldkey chain.Signer, hotkey string) (uint16, error) {
	res, err := send(ctx, c.s, coldkey, MethodRegister, RegisterArgs{Netuid: netuid, Hotkey: hotkey})
	return res.UID, err
}

// ServeAxon announces the hotkey's axon endpoint.
func (c signedCalls) ServeAxon(ctx context.Context, netuid uint16, hotkey chain.Signer, axon chain.AxonInfo) error {
	_, err := send(ctx, c.s, hotkey, MethodServeAxon, axonArgs(netuid, axon))
	return err
}

// SetWeights sets u16 weights for uids.
func (c signedCalls) SetWeights(ctx context.Context, netuid uint16, hotkey chain.Signer, uids, weights []uint16, versionKey uint64) error {
	_, err := send(ctx, c.s, hotkey, MethodSetWeights, SetWeightsArgs{Netuid: netuid, UIDs: uids, Weights: weights, VersionKey: versionKey})
	return err
}

// Commit publishes data as the hotkey's commitment.
func (c signedCalls) Commit(ctx context.Context, netuid uint16, hotkey chain.Signer, data []byte) error {
	_, err := send(ctx, c.s, hotkey, MethodCommit, CommitArgs{Netuid: netuid, Data: data})
	return err
}

// CreateSubnet creates netuid owned by the signer.
func (c signedCalls) CreateSubnet(ctx context.Context, owner chain.Signer, netuid uint16, p *Params) error {
	_, err := send(ctx, c.s, owner, MethodCreateSubnet, SubnetArgs{Netuid: netuid, Params: p})
	return err
}

// SetParams replaces a subnet's settings.
func (c signedCalls) SetParams(ctx context.Context, signer chain.Signer, netuid uint16, p Params) error {
	_, err := send(ctx, c.s, signer, MethodSetParams, SubnetArgs{Netuid: netuid, Params: &p})
	return err
}

// AddStake moves rao from coldkey's balance into stake on hotkey.
func (c signedCalls) AddStake(ctx context.Context, coldkey chain.Signer, hotkey string, rao uint64) error {
	_, err := send(ctx, c.s, coldkey, MethodAddStake, AddStakeArgs{Hotkey: hotkey, AmountRao: rao})
	return err
}

func axonArgs(netuid uint16, a chain.AxonInfo) ServeAxonArgs {
	return ServeAxonArgs{Netuid: netuid, Version: a.Version, IP: a.IP, Port: a.Port, IPType: a.IPType, Protocol: a.Protocol}
}
