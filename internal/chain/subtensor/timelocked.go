package subtensor

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/wallet"
)

// MaxTimelockedCommit is the chain's limit on a commit's ciphertext
// (MAX_CRV3_COMMIT_SIZE_BYTES).
const MaxTimelockedCommit = 5000

// DefaultBlockTime is finney's target block interval.
const DefaultBlockTime = 12 * time.Second

// scheduleItems are the storage items of the stateful epoch scheduler; a
// runtime without all of them schedules epochs by the legacy formula.
var scheduleItems = []string{"LastEpochBlock", "PendingEpochAt", "SubnetEpochIndex"}

// beacon returns the beacon whose pulses reveal commits: drand quicknet,
// with the public key replaced when the configuration names one.
func (c *Client) beacon() chain.Beacon {
	b := chain.Beacon{Name: "quicknet", PublicKey: tlock.QuicknetPublicKey(),
		GenesisTime: time.Unix(tlock.QuicknetGenesis, 0), Period: tlock.QuicknetPeriod}
	if len(c.cfg.BeaconPublicKey) > 0 {
		b.Name = "quicknet-timed (configured key)"
		b.PublicKey = append([]byte(nil), c.cfg.BeaconPublicKey...)
	}
	return b
}

// storageRead is one storage item to read with its keys; Skip leaves it out
// (the runtime lacks it) and its value nil.
type storageRead struct {
	Item string
	Keys []any
	Skip bool
}

// readItems reads SubtensorModule items at hash in one request and decodes
// them; absent values take the runtime's declared default (nil for Optional
// items without one).
func (c *Client) readItems(ctx context.Context, m *metadata.Metadata, hash string, reads []storageRead) ([]any, error) {
	keys := make([][]byte, 0, len(reads))
	entries := make([]*metadata.StorageEntry, len(reads))
	for i, r := range reads {
		if r.Skip {
			continue
		}
		k, e, err := m.StorageKey("SubtensorModule", r.Item, r.Keys...)
		if err != nil {
			return nil, err
		}
		keys, entries[i] = append(keys, k), e
	}
	vals, err := c.queryStorage(ctx, keys, hash)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(reads))
	j := 0
	for i, r := range reads {
		if r.Skip {
			continue
		}
		raw := vals[j]
		j++
		e := entries[i]
		if raw == nil {
			if e.Optional {
				continue
			}
			raw = e.Default
		}
		v, err := m.DecodeAll(raw, e.Value)
		if err != nil {
			return nil, fmt.Errorf("storage %s: %w", r.Item, err)
		}
		out[i] = v
	}
	return out, nil
}

func hasStorage(m *metadata.Metadata, item string) bool {
	_, _, err := m.Storage("SubtensorModule", item)
	return err == nil
}

// WeightsInfo reads, at the head block, how hotkey must send weights on
// netuid: tempo, rate limit and the hotkey's last update, the commit-reveal
// switch, version and period, and the epoch schedule. Every value is read
// fresh, from the same block.
func (c *Client) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	pub, err := wallet.PublicKeyFromSS58(hotkey)
	if err != nil {
		return nil, fmt.Errorf("weights info: hotkey %q: %w", hotkey, err)
	}
	hash, block, err := c.Head(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := c.subnetExists(ctx, netuid, hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("weights info on netuid %d: %w", netuid, chain.ErrSubnetNotFound)
	}
	info, _, err := c.weightsInfoAt(ctx, netuid, pub, hash, block)
	if err != nil {
		return nil, fmt.Errorf("weights info of %s on netuid %d at block %d: %w", hotkey, netuid, block, err)
	}
	return info, nil
}

// weightsInfoAt reads the weights info at hash (block) and whether pub holds a uid.
func (c *Client) weightsInfoAt(ctx context.Context, netuid uint16, pub [32]byte, hash string, block uint64) (*chain.WeightsInfo, bool, error) {
	m, _, err := c.Metadata(ctx, hash)
	if err != nil {
		return nil, false, err
	}
	legacy := false
	for _, item := range scheduleItems {
		if !hasStorage(m, item) {
			legacy = true
		}
	}
	reads := []storageRead{
		{Item: "Tempo", Keys: []any{netuid}},
		{Item: "WeightsSetRateLimit", Keys: []any{netuid}},
		{Item: "CommitRevealWeightsEnabled", Keys: []any{netuid}},
		{Item: "CommitRevealWeightsVersion", Skip: !hasStorage(m, "CommitRevealWeightsVersion")},
		{Item: "RevealPeriodEpochs", Keys: []any{netuid}, Skip: !hasStorage(m, "RevealPeriodEpochs")},
		{Item: "Uids", Keys: []any{netuid, pub}},
		{Item: "LastUpdate", Keys: []any{netuid}}, // NetUidStorageIndex of mechanism 0 is the netuid
		{Item: "BlocksSinceLastStep", Keys: []any{netuid}},
		{Item: "LastEpochBlock", Keys: []any{netuid}, Skip: legacy},
		{Item: "PendingEpochAt", Keys: []any{netuid}, Skip: legacy},
		{Item: "SubnetEpochIndex", Keys: []any{netuid}, Skip: legacy},
	}
	v, err := c.readItems(ctx, m, hash, reads)
	if err != nil {
		return nil, false, err
	}
	var firstErr error
	u := func(i int) uint64 {
		if v[i] == nil {
			return 0
		}
		n, err := asU64(v[i])
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("storage %s: %w", reads[i].Item, err)
		}
		return n
	}
	info := &chain.WeightsInfo{
		Netuid:              netuid,
		Block:               block,
		BlockTime:           c.cfg.BlockTime,
		Tempo:               uint16(u(0)),
		RateLimit:           u(1),
		CommitRevealVersion: uint16(u(3)),
		RevealPeriodEpochs:  u(4),
		Beacon:              c.beacon(),
		Schedule: chain.EpochSchedule{
			Legacy:              legacy,
			BlocksSinceLastStep: u(7),
			LastEpochBlock:      u(8),
			PendingEpochAt:      u(9),
			EpochIndex:          u(10),
		},
	}
	info.CommitReveal, _ = v[2].(bool)
	if v[5] != nil { // registered: LastUpdate[uid]
		uid := u(5)
		if list, ok := v[6].([]any); ok && uid < uint64(len(list)) {
			n, err := asU64(list[uid])
			if err != nil {
				return nil, false, fmt.Errorf("LastUpdate[%d]: %w", uid, err)
			}
			info.LastUpdate = n
		}
	}
	if reads[4].Skip {
		info.RevealPeriodEpochs = 1
	}
	if firstErr != nil {
		return nil, false, firstErr
	}
	return info, v[5] != nil, nil
}

// rateLimited reports whether info's hotkey would be refused by the chain's
// weights rate limit in the next block (the earliest an extrinsic sent now
// can be included): it may send when LastUpdate is 0 or
// head + 1 - LastUpdate >= WeightsSetRateLimit.
func rateLimited(info *chain.WeightsInfo) bool {
	return info.NextAllowed() > info.Block+1
}

func rateLimitError(what string, info *chain.WeightsInfo) error {
	return fmt.Errorf("%s on netuid %d: last weights at block %d, the limit is %d blocks, head %d; next allowed at block %d: %w",
		what, info.Netuid, info.LastUpdate, info.RateLimit, info.Block, info.NextAllowed(), chain.ErrRateLimited)
}

// TimelockedCommitCall builds the timelocked commit for m: commit_timelocked_mechanism_weights
// (mechanism 0) where the runtime has mechanisms, else commit_timelocked_weights.
func TimelockedCommitCall(m *metadata.Metadata, netuid uint16, ciphertext []byte, revealRound uint64, version uint16) (Call, error) {
	args := map[string]any{"netuid": netuid, "commit": ciphertext, "reveal_round": revealRound, "commit_reveal_version": version}
	if _, _, err := m.Call("SubtensorModule", "commit_timelocked_mechanism_weights"); err == nil {
		args["mecid"] = uint8(0)
		return Call{Pallet: "SubtensorModule", Name: "commit_timelocked_mechanism_weights", Args: args}, nil
	}
	if _, _, err := m.Call("SubtensorModule", "commit_timelocked_weights"); err == nil {
		return Call{Pallet: "SubtensorModule", Name: "commit_timelocked_weights", Args: args}, nil
	}
	return Call{}, errors.New("this runtime has no timelocked weights commit call (commit_timelocked_weights)")
}

// CommitTimelockedWeights submits ciphertext as the hotkey's timelocked
// commit to be revealed at revealRound, and returns the block it was
// included in. Over the weights rate limit, for a hotkey without a uid on
// netuid, or with a reveal round the beacon has already published, it
// returns an error without submitting.
func (c *Client) CommitTimelockedWeights(ctx context.Context, netuid uint16, hotkey chain.Signer, ciphertext []byte, revealRound uint64, version uint16) (uint64, error) {
	what := fmt.Sprintf("timelocked weights commit by %s", hotkey.SS58Address())
	if len(ciphertext) == 0 {
		return 0, fmt.Errorf("%s: empty commit", what)
	}
	if len(ciphertext) > MaxTimelockedCommit {
		return 0, fmt.Errorf("%s: %d bytes, the chain takes at most %d: %w", what, len(ciphertext), MaxTimelockedCommit, chain.ErrCommitTooLarge)
	}
	if now := c.beacon().RoundAt(c.now()); revealRound <= now {
		return 0, fmt.Errorf("%s: reveal round %d is not after the beacon's current round %d: %w", what, revealRound, now, chain.ErrInvalidRevealRound)
	}
	hash, block, err := c.Head(ctx)
	if err != nil {
		return 0, err
	}
	info, registered, err := c.weightsInfoAt(ctx, netuid, hotkey.PublicKey(), hash, block)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if !registered {
		return 0, fmt.Errorf("%s on netuid %d at block %d: %w", what, netuid, block, chain.ErrNotRegistered)
	}
	if rateLimited(info) {
		return 0, rateLimitError(what, info)
	}
	m, _, err := c.Metadata(ctx, hash)
	if err != nil {
		return 0, err
	}
	call, err := TimelockedCommitCall(m, netuid, ciphertext, revealRound, version)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	inBlock, _, err := c.submit(ctx, hotkey, call)
	if err != nil {
		return 0, err
	}
	n, err := c.blockNumber(ctx, inBlock)
	if err != nil {
		return 0, fmt.Errorf("%s: included in %s: %w", what, inBlock, err)
	}
	c.log.Info("timelocked weights committed", "netuid", netuid, "block", n, "reveal_round", revealRound, "bytes", len(ciphertext))
	return n, nil
}

// now is the wall clock, replaceable in tests through Config.Now.
func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

// TimelockedCommits lists hotkey's unrevealed commits on netuid (mechanism 0),
// read at the head from TimelockedWeightCommits(netuid, epoch) over every epoch.
func (c *Client) TimelockedCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.TimelockedCommit, error) {
	pub, err := wallet.PublicKeyFromSS58(hotkey)
	if err != nil {
		return nil, fmt.Errorf("timelocked commits: hotkey %q: %w", hotkey, err)
	}
	hash, m, err := c.headMetadata(ctx)
	if err != nil {
		return nil, err
	}
	prefix, e, err := m.StorageKey("SubtensorModule", "TimelockedWeightCommits", netuid)
	if err != nil {
		return nil, fmt.Errorf("timelocked commits: %w", err)
	}
	keys, err := c.keysPaged(ctx, prefix, hash)
	if err != nil {
		return nil, fmt.Errorf("timelocked commits on netuid %d: %w", netuid, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := c.queryStorage(ctx, keys, hash)
	if err != nil {
		return nil, fmt.Errorf("timelocked commits on netuid %d: %w", netuid, err)
	}
	var out []chain.TimelockedCommit
	for i, raw := range vals {
		if raw == nil {
			continue
		}
		v, err := m.DecodeAll(raw, e.Value)
		if err != nil {
			return nil, fmt.Errorf("timelocked commits on netuid %d, key %x: %w", netuid, keys[i], err)
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("timelocked commits: %w: %T", errUnexpected, v)
		}
		for _, item := range list {
			tc, who, err := timelockedCommit(item)
			if err != nil {
				return nil, fmt.Errorf("timelocked commits on netuid %d: %w", netuid, err)
			}
			if who == pub {
				tc.Hotkey = hotkey
				out = append(out, tc)
			}
		}
	}
	return out, nil
}

// timelockedCommit reads one (account, commit_block, commit, reveal_round) tuple.
func timelockedCommit(v any) (chain.TimelockedCommit, [32]byte, error) {
	var who [32]byte
	t, ok := v.([]any)
	if !ok || len(t) != 4 {
		return chain.TimelockedCommit{}, who, fmt.Errorf("%w: commit entry is %T", errUnexpected, v)
	}
	acc, ok1 := t[0].([]byte)
	ct, ok2 := t[2].([]byte)
	block, err1 := asU64(t[1])
	round, err2 := asU64(t[3])
	if !ok1 || len(acc) != 32 || !ok2 || err1 != nil || err2 != nil {
		return chain.TimelockedCommit{}, who, fmt.Errorf("%w: commit entry %s", errUnexpected, asJSON(v))
	}
	copy(who[:], acc)
	return chain.TimelockedCommit{Block: block, RevealRound: round, Ciphertext: bytes.Clone(ct)}, who, nil
}

// keysPaged lists every storage key under prefix at hash.
func (c *Client) keysPaged(ctx context.Context, prefix []byte, hash string) ([][]byte, error) {
	const page = 1000
	var out [][]byte
	start := ""
	for {
		params := []any{encodeHex(prefix), page}
		if start != "" || hash != "" {
			params = append(params, nullable(start))
		}
		if hash != "" {
			params = append(params, hash)
		}
		var keys []string
		if err := c.rpc.Call(ctx, &keys, "state_getKeysPaged", params...); err != nil {
			return nil, fmt.Errorf("list storage keys: %w", err)
		}
		for _, k := range keys {
			b, err := decodeHex(k)
			if err != nil {
				return nil, err
			}
			if !bytes.HasPrefix(b, prefix) {
				return nil, fmt.Errorf("node listed key %s outside the prefix %s", k, hex.EncodeToString(prefix))
			}
			out = append(out, b)
		}
		if len(keys) < page {
			return out, nil
		}
		start = keys[len(keys)-1]
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Weights reads uid's weights row on netuid (mechanism 0): Weights(netuid, uid).
func (c *Client) Weights(ctx context.Context, netuid, uid uint16) ([]uint16, []uint16, error) {
	hash, m, err := c.headMetadata(ctx)
	if err != nil {
		return nil, nil, err
	}
	v, err := c.readItems(ctx, m, hash, []storageRead{{Item: "Weights", Keys: []any{netuid, uid}}})
	if err != nil {
		return nil, nil, fmt.Errorf("weights of uid %d on netuid %d: %w", uid, netuid, err)
	}
	list, _ := v[0].([]any)
	uids := make([]uint16, 0, len(list))
	vals := make([]uint16, 0, len(list))
	for _, item := range list {
		pair, ok := item.([]any)
		if !ok || len(pair) != 2 {
			return nil, nil, fmt.Errorf("weights of uid %d on netuid %d: %w: entry %s", uid, netuid, errUnexpected, asJSON(item))
		}
		a, err1 := asU64(pair[0])
		b, err2 := asU64(pair[1])
		if err1 != nil || err2 != nil || a > 0xffff || b > 0xffff {
			return nil, nil, fmt.Errorf("weights of uid %d on netuid %d: %w: entry %s", uid, netuid, errUnexpected, asJSON(item))
		}
		uids, vals = append(uids, uint16(a)), append(vals, uint16(b))
	}
	return uids, vals, nil
}
