package subtensor

import (
	"context"
	"fmt"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/wallet"
)

// hyperItems are the SubtensorModule storage items (keyed by netuid) behind chain.Hyperparameters.
var hyperItems = []string{"Tempo", "WeightsSetRateLimit", "WeightsVersionKey", "MinAllowedWeights",
	"MaxWeightsLimit", "MaxAllowedUids", "ImmunityPeriod", "Burn", "CommitRevealWeightsEnabled",
	"ServingRateLimit", "Kappa", "BondsMovingAverage", "NetworkRegistrationAllowed", "SubnetworkN"}

// Hyperparameters reads the subnet's settings at one block; absent values take the
// runtime's declared defaults (from metadata).
func (c *Client) Hyperparameters(ctx context.Context, netuid uint16) (*chain.Hyperparameters, error) {
	hash, _, err := c.Head(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := c.subnetExists(ctx, netuid, hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("hyperparameters of netuid %d: %w", netuid, chain.ErrSubnetNotFound)
	}
	m, _, err := c.Metadata(ctx, hash)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, 0, len(hyperItems))
	entries := make([]*metadata.StorageEntry, 0, len(hyperItems))
	for _, item := range hyperItems {
		k, e, err := m.StorageKey("SubtensorModule", item, netuid)
		if err != nil {
			// A runtime that dropped or renamed an item leaves that field zero.
			c.log.Debug("hyperparameter not in this runtime", "item", item, "err", err)
			k, e = nil, nil
		}
		keys, entries = append(keys, k), append(entries, e)
	}
	present := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if k != nil {
			present = append(present, k)
		}
	}
	presentVals, err := c.queryStorage(ctx, present, hash)
	if err != nil {
		return nil, fmt.Errorf("hyperparameters of netuid %d: %w", netuid, err)
	}
	got := map[string]any{}
	j := 0
	for i, item := range hyperItems {
		if entries[i] == nil {
			continue
		}
		raw := presentVals[j]
		j++
		if raw == nil {
			raw = entries[i].Default
		}
		if raw == nil && entries[i].Optional {
			continue
		}
		v, err := m.DecodeAll(raw, entries[i].Value)
		if err != nil {
			return nil, fmt.Errorf("hyperparameter %s of netuid %d: %w", item, netuid, err)
		}
		got[item] = v
	}
	var h chain.Hyperparameters
	u := func(item string) uint64 {
		if err != nil {
			return 0
		}
		v, ok := got[item]
		if !ok {
			return 0
		}
		var n uint64
		n, err = asU64(v)
		if err != nil {
			err = fmt.Errorf("hyperparameter %s: %w", item, err)
		}
		return n
	}
	b := func(item string) bool { v, _ := got[item].(bool); return v }
	h.Tempo = uint16(u("Tempo"))
	h.WeightsRateLimit = u("WeightsSetRateLimit")
	h.WeightsVersionKey = u("WeightsVersionKey")
	h.MinAllowedWeights = uint16(u("MinAllowedWeights"))
	h.MaxWeightsLimit = uint16(u("MaxWeightsLimit"))
	h.MaxAllowedUIDs = uint16(u("MaxAllowedUids"))
	h.ImmunityPeriod = u("ImmunityPeriod")
	h.BurnRao = u("Burn")
	h.ServingRateLimit = u("ServingRateLimit")
	h.Kappa = uint16(u("Kappa"))
	h.BondsMovingAverage = u("BondsMovingAverage")
	h.SubnetworkN = uint16(u("SubnetworkN"))
	h.CommitRevealEnabled = b("CommitRevealWeightsEnabled")
	h.RegistrationAllowed = b("NetworkRegistrationAllowed")
	if err != nil {
		return nil, fmt.Errorf("netuid %d: %w", netuid, err)
	}
	return &h, nil
}

// Commitment reads Commitments.CommitmentOf(netuid, hotkey) and joins its raw fields.
func (c *Client) Commitment(ctx context.Context, netuid uint16, hotkey string) (*chain.Commitment, error) {
	pub, err := wallet.PublicKeyFromSS58(hotkey)
	if err != nil {
		return nil, fmt.Errorf("hotkey %q: %w", hotkey, err)
	}
	hash, m, err := c.headMetadata(ctx)
	if err != nil {
		return nil, err
	}
	key, e, err := m.StorageKey("Commitments", "CommitmentOf", netuid, pub)
	if err != nil {
		return nil, fmt.Errorf("commitment: %w", err)
	}
	raw, err := c.Storage(ctx, key, hash)
	if err != nil {
		return nil, fmt.Errorf("commitment of %s on netuid %d: %w", hotkey, netuid, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("commitment of %s on netuid %d: %w", hotkey, netuid, chain.ErrNotFound)
	}
	v, err := m.DecodeAll(raw, e.Value)
	if err != nil {
		return nil, fmt.Errorf("commitment of %s on netuid %d: %w", hotkey, netuid, err)
	}
	com, err := commitmentFromValue(v)
	if err != nil {
		return nil, fmt.Errorf("commitment of %s on netuid %d: %w", hotkey, netuid, err)
	}
	com.Hotkey = hotkey
	return com, nil
}

// commitmentFromValue reads Registration{deposit, block, info{fields: [Data]}}.
func commitmentFromValue(v any) (*chain.Commitment, error) {
	reg, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: registration is %T", errUnexpected, v)
	}
	block, err := asU64(reg["block"])
	if err != nil {
		return nil, fmt.Errorf("registration block: %w", err)
	}
	fields := reg["info"]
	if mp, ok := fields.(map[string]any); ok {
		fields = mp["fields"]
	}
	list, ok := fields.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: commitment fields are %T", errUnexpected, fields)
	}
	out := &chain.Commitment{Block: block}
	for _, f := range list {
		vv, ok := f.(*metadata.VariantValue)
		if !ok {
			return nil, fmt.Errorf("%w: commitment field is %T", errUnexpected, f)
		}
		switch data := vv.Fields.(type) {
		case []byte:
			out.Data = append(out.Data, data...)
		case nil: // Data::None or Raw0
		default:
			return nil, fmt.Errorf("commitment field %s cannot be read as raw bytes", vv.Name)
		}
	}
	return out, nil
}
