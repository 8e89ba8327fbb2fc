package validator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/score"
)

// WeightRow is one uid's line of the weights table.
type WeightRow struct {
	UID    uint16
	Hotkey string
	Score  score.Result // Score.Normalized is what the weight is made of
	Weight float64      // L1-normalised across the subnet
	// Skipped says why the uid gets no weight whatever its history
	// (self, validator, blacklisted); empty otherwise.
	Skipped Exclusion
	// Excluded says why the uid is left out of the challenge rounds (duplicate
	// IP, no axon, outdated, ...): its score is still made of its history, so
	// this only explains a missing or stale score; empty when it is queried.
	Excluded Exclusion
}

// Note is the weights table's note for the row: allocated, why the uid gets
// no weight or is not challenged, else why its score is zero.
func (r WeightRow) Note() string {
	switch {
	case r.Score.Allocated:
		return "allocated"
	case r.Skipped != "":
		return r.Skipped.Describe()
	case r.Excluded != "":
		return "not challenged: " + r.Excluded.Describe()
	}
	return string(r.Score.Zero)
}

// ComputeWeights scores every uid of the metagraph from its stats (miners
// without history score 0): this validator, validators (stake at or above
// cfg.MaxMinerStake) and blacklisted miners get 0; negative scores become 0
// and the normalised scores are L1-normalised. Allocated miners get the
// allocated branch of the score. Rows are in uid order.
func ComputeWeights(cfg Config, mg *chain.Metagraph, self string, stats map[string]score.Stats, allocated map[string]bool) []WeightRow {
	if mg == nil {
		return nil
	}
	ls := newLists(cfg.Filter)
	sel := SelectQueryable(cfg, mg, self)
	rows := make([]WeightRow, 0, len(mg.Neurons))
	for i := range mg.Neurons {
		n := &mg.Neurons[i]
		row := WeightRow{UID: n.UID, Hotkey: n.Hotkey}
		switch {
		case self != "" && n.Hotkey == self:
			row.Skipped = ExcludedSelf
		case n.Stake >= cfg.MaxMinerStake:
			row.Skipped = ExcludedValidator
		case ls.blacklisted(n):
			row.Skipped = ExcludedBlacklisted
		default:
			row.Score = score.Score(cfg.Score, stats[n.Hotkey], allocated[n.Hotkey])
			row.Excluded = sel.Excluded[n.UID]
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b WeightRow) int { return int(a.UID) - int(b.UID) })
	scores := make([]float64, len(rows))
	for i, r := range rows {
		scores[i] = r.Score.Normalized
	}
	for i, w := range score.Weights(scores) {
		rows[i].Weight = w
	}
	return rows
}

// ErrNoWeights means no miner has a positive score: nothing is sent.
var ErrNoWeights = errors.New("no miner has a positive score yet")

// permanent reports chain errors that a retry cannot fix.
func permanent(err error) bool {
	for _, e := range []error{chain.ErrInvalidWeights, chain.ErrVersionKey, chain.ErrNoValidatorPermit,
		chain.ErrNotRegistered, chain.ErrCommitRevealEnabled, chain.ErrBadSignature, chain.ErrUnknownKey,
		chain.ErrInsufficientBalance, chain.ErrSubnetNotFound, chain.ErrRateLimited} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.Is(err, context.Canceled)
}

// SetWeights converts the rows to the chain's u16 form and sends them with
// the version key, retrying transient failures (connection, timeout, nonce
// races) up to cfg.WeightsAttempts times with a doubling backoff; permanent
// refusals (invalid weights, version key, permit, rate limit, ...) return at
// once. It returns the uids and u16 weights sent.
func SetWeights(ctx context.Context, cfg Config, c chain.Chain, hotkey chain.Signer, rows []WeightRow) ([]uint16, []uint16, error) {
	uids := make([]uint16, len(rows))
	ws := make([]float64, len(rows))
	for i, r := range rows {
		uids[i], ws[i] = r.UID, r.Weight
	}
	u, w, err := chain.ConvertWeights(uids, ws)
	if err != nil {
		return nil, nil, fmt.Errorf("convert weights: %w", err)
	}
	if len(u) == 0 {
		return nil, nil, ErrNoWeights
	}
	backoff := cfg.WeightsBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.ChainTimeout)
		err = c.SetWeights(actx, cfg.Netuid, hotkey, u, w, cfg.VersionKey)
		cancel()
		if err == nil {
			return u, w, nil
		}
		if permanent(err) || ctx.Err() != nil || attempt >= cfg.WeightsAttempts {
			return u, w, fmt.Errorf("set weights on netuid %d (attempt %d of %d): %w", cfg.Netuid, attempt, cfg.WeightsAttempts, err)
		}
		select {
		case <-ctx.Done():
			return u, w, fmt.Errorf("set weights on netuid %d: %w (last error: %w)", cfg.Netuid, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}
