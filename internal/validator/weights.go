package validator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/reveal"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
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
	// Penalised: the miner lost Config.Shared.Penalty of its score, penalised
	// by this validator's own checks or by the shared state.
	Penalised bool
}

// Note is the weights table's note for the row: allocated, why the uid gets
// no weight or is not challenged, else why its score is zero.
func (r WeightRow) Note() string {
	switch {
	case r.Penalised:
		return "penalised"
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
		chain.ErrInsufficientBalance, chain.ErrSubnetNotFound, chain.ErrRateLimited,
		chain.ErrCommitRevealDisabled, chain.ErrIncorrectCommitRevealVersion, chain.ErrTooManyUnrevealedCommits,
		chain.ErrCommitTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.Is(err, context.Canceled)
}

// Sent is what one weights submission put on chain.
type Sent struct {
	// Mode is store.WeightsModeSet (plain set_weights) or
	// store.WeightsModeCommit (timelocked commit, revealed by the chain).
	Mode string
	// Block is the block the weights were sent at (plain) or the block that
	// included the commit.
	Block   uint64
	UIDs    []uint16
	Weights []uint16
	// RevealRound and RevealBlock (commits only) are the beacon round the
	// commit is encrypted to and the block the chain is expected to reveal it at.
	RevealRound uint64
	RevealBlock uint64
}

// RateLimitedError says the chain's weights rate limit forbids sending
// before block Until; nothing was submitted.
type RateLimitedError struct{ Block, Until uint64 }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("the weights rate limit allows the next weights at block %d (now %d)", e.Until, e.Block)
}

func (e *RateLimitedError) Unwrap() error { return chain.ErrRateLimited }

// SendWeights converts the rows to the chain's u16 form and sends them with
// the version key in the form the chain asks for: a plain set_weights, or,
// where commit-reveal is on, a commit timelocked to the beacon round at which
// the chain will reveal it (package reveal). What the chain requires is read
// fresh on every attempt. Transient failures (connection, timeout, nonce
// races) are retried up to cfg.WeightsAttempts times with a doubling
// backoff; permanent refusals (invalid weights, version key, permit, rate
// limit, ...) return at once. rnd is the randomness of the encryption
// (crypto/rand when nil).
func SendWeights(ctx context.Context, cfg Config, c chain.Chain, hotkey chain.Signer, rows []WeightRow, now func() time.Time, rnd io.Reader) (Sent, error) {
	uids := make([]uint16, len(rows))
	ws := make([]float64, len(rows))
	for i, r := range rows {
		uids[i], ws[i] = r.UID, r.Weight
	}
	u, w, err := chain.ConvertWeights(uids, ws)
	if err != nil {
		return Sent{}, fmt.Errorf("convert weights: %w", err)
	}
	if len(u) == 0 {
		return Sent{}, ErrNoWeights
	}
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	backoff := cfg.WeightsBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.ChainTimeout)
		sent, err := sendOnce(actx, cfg, c, hotkey, u, w, now(), rnd)
		cancel()
		if err == nil {
			return sent, nil
		}
		if permanent(err) || ctx.Err() != nil || attempt >= cfg.WeightsAttempts {
			return sent, fmt.Errorf("weights on netuid %d (attempt %d of %d): %w", cfg.Netuid, attempt, cfg.WeightsAttempts, err)
		}
		select {
		case <-ctx.Done():
			return sent, fmt.Errorf("weights on netuid %d: %w (last error: %w)", cfg.Netuid, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func sendOnce(ctx context.Context, cfg Config, c chain.Chain, hotkey chain.Signer, u, w []uint16, now time.Time, rnd io.Reader) (Sent, error) {
	sent := Sent{Mode: store.WeightsModeSet, UIDs: u, Weights: w}
	info, err := c.WeightsInfo(ctx, cfg.Netuid, hotkey.SS58Address())
	if err != nil {
		return sent, fmt.Errorf("read the subnet's weights settings: %w", err)
	}
	sent.Block = info.Block
	if next := info.NextAllowed(); next > info.Block {
		return sent, &RateLimitedError{Block: info.Block, Until: next}
	}
	if !info.CommitReveal {
		return sent, c.SetWeights(ctx, cfg.Netuid, hotkey, u, w, cfg.VersionKey)
	}
	sent.Mode = store.WeightsModeCommit
	sealed, err := reveal.Seal(rnd, info, hotkey.PublicKey(), u, w, cfg.VersionKey, now)
	if err != nil {
		return sent, fmt.Errorf("encrypt the weights commit: %w", err)
	}
	sent.RevealRound, sent.RevealBlock = sealed.RevealRound, sealed.RevealBlock
	block, err := c.CommitTimelockedWeights(ctx, cfg.Netuid, hotkey, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion)
	if err != nil {
		return sent, err
	}
	sent.Block = block
	return sent, nil
}
