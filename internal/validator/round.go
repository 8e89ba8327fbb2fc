package validator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wire"
)

// storeWriteTimeout bounds a store write that must survive shutdown.
const storeWriteTimeout = 15 * time.Second

// Outcome is one miner's result in a challenge round.
type Outcome struct {
	UID        uint16
	Hotkey     string
	Coldkey    string
	Difficulty int
	Result     string        // ResultSuccess or the reason of the failure
	Elapsed    time.Duration // measured by the validator, from send to answer
	Detail     string        // what went wrong, for the log; empty on success
}

// RoundReport is a finished challenge round.
type RoundReport struct {
	Block    uint64
	Started  time.Time
	Duration time.Duration // wall time
	CPU      time.Duration // process CPU time spent meanwhile
	Outcomes []Outcome
	RoundID  int64 // store id; 0 when the round was not stored
	Err      error // why the round was not stored
}

// Successes counts the successful outcomes.
func (r RoundReport) Successes() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Result == ResultSuccess {
			n++
		}
	}
	return n
}

// ChallengeRound challenges miners once: a difficulty per miner from its
// stats, a fresh challenge each, sent in concurrent batches of
// cfg.ChallengeBatchSize with cfg.Score.Timeout per challenge, answers
// verified against the validator's own copy of the challenge. The whole
// round is bounded by a deadline derived from the batch count, so a hostile
// or dead miner costs at most its own timeout. It does not store anything.
func ChallengeRound(ctx context.Context, cfg Config, d *wire.Dendrite, miners []chain.Neuron, stats map[string]score.Stats) []Outcome {
	ctx, cancel := context.WithTimeout(ctx, cfg.roundDeadline(len(miners)))
	defer cancel()
	out := make([]Outcome, len(miners))
	for start := 0; start < len(miners); start += cfg.ChallengeBatchSize {
		end := min(start+cfg.ChallengeBatchSize, len(miners))
		batch := miners[start:end]
		reqs := make([]wire.Request[wire.Challenge], 0, len(batch))
		chals := make([]pow.Challenge, 0, len(batch))
		idx := make([]int, 0, len(batch))
		for i, n := range batch {
			o := &out[start+i]
			*o = Outcome{UID: n.UID, Hotkey: n.Hotkey, Coldkey: n.Coldkey}
			o.Difficulty = NextDifficulty(cfg.Score, stats[n.Hotkey])
			ch, _, err := pow.New(o.Difficulty)
			if err != nil {
				o.Result, o.Detail = ResultInternal, err.Error()
				continue
			}
			chals = append(chals, ch)
			idx = append(idx, start+i)
			reqs = append(reqs, wire.Request[wire.Challenge]{
				Target:  wire.NeuronTarget(n),
				Synapse: wire.NewChallenge(ch),
			})
		}
		results := wire.Query(ctx, d, reqs, cfg.Score.Timeout)
		for j, r := range results {
			o := &out[idx[j]]
			o.Elapsed = r.Elapsed
			o.Result, o.Detail = judge(cfg, chals[j], &r)
		}
	}
	return out
}

// judge classifies one answer. The password is checked against the
// challenge the validator sent, never against what the miner echoed.
func judge(cfg Config, ch pow.Challenge, r *wire.Result[wire.Challenge]) (string, string) {
	if r.Err != nil {
		detail := shortDetail(r.Err.Error())
		switch {
		case errors.Is(r.Err, context.Canceled) && !errors.Is(r.Err, context.DeadlineExceeded):
			// The validator is stopping: not the miner's failure, so not its history.
			return ResultInternal, "cancelled by the validator: " + detail
		case r.StatusCode == http.StatusRequestTimeout || errors.Is(r.Err, context.DeadlineExceeded):
			return ResultTimeout, detail
		case r.StatusCode == http.StatusServiceUnavailable:
			return ResultUnreachable, detail
		case r.StatusCode == http.StatusUnprocessableEntity:
			return ResultBadResponse, detail
		default:
			return ResultInternal, detail
		}
	}
	if r.StatusCode != http.StatusOK {
		return ResultRefused, shortDetail(fmt.Sprintf("status %d: %s", r.StatusCode, r.StatusMessage))
	}
	if r.Elapsed > cfg.Score.Timeout {
		return ResultTimeout, fmt.Sprintf("answered after %v", r.Elapsed.Round(time.Millisecond))
	}
	out := r.Synapse.Output
	if out.Password == nil {
		if out.Error != nil {
			return ResultNoPassword, shortDetail("miner error: " + *out.Error)
		}
		return ResultNoPassword, "no password in the answer"
	}
	pw := *out.Password
	if len(pw) != ch.Difficulty || !pow.Verify(ch, pw) {
		return ResultWrongPassword, "password does not solve the challenge"
	}
	return ResultSuccess, ""
}

// shortDetail bounds the detail an outcome records of a miner's answer.
func shortDetail(s string) string { return clip.String(s, 200) }

// storeRound writes the round in one transaction. The write outlives a
// shutdown request by up to storeWriteTimeout: a round whose answers are in
// is worth keeping.
func storeRound(ctx context.Context, w ResultWriter, block uint64, at time.Time, outs []Outcome) (int64, error) {
	r := store.Round{Block: block, At: at, Results: make([]store.ChallengeResult, 0, len(outs))}
	for _, o := range outs {
		if o.Result == ResultInternal {
			continue // the validator's fault: not the miner's history
		}
		r.Results = append(r.Results, store.ChallengeResult{
			Miner:      store.Miner{UID: o.UID, Hotkey: o.Hotkey, Coldkey: o.Coldkey},
			Success:    o.Result == ResultSuccess,
			Elapsed:    o.Elapsed,
			Difficulty: o.Difficulty,
			Error:      o.Result + detailSep(o.Detail),
		})
		if o.Result == ResultSuccess {
			r.Results[len(r.Results)-1].Error = ""
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	return w.RecordRound(wctx, r)
}

func detailSep(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}

// Specs query results (SpecsOutcome.Result).
const (
	SpecsStored  = "stored"  // a valid report, stored
	SpecsMissing = "missing" // no answer, an error status or an empty report
	SpecsInvalid = "invalid" // a report that does not parse or validate
)

// SpecsOutcome is one miner's answer to a specs query.
type SpecsOutcome struct {
	UID    uint16
	Hotkey string
	Specs  *specs.Specs // nil when missing or invalid
	Result string       // SpecsStored, SpecsMissing or SpecsInvalid
	Detail string
}

// SpecsRound asks miners for their hardware specs in concurrent batches of
// cfg.SpecsBatchSize (cfg.SpecsTimeout each), validates every report and
// stores the valid ones; a miner without a valid report has its missed
// count raised.
func SpecsRound(ctx context.Context, cfg Config, d *wire.Dendrite, st SpecsStore, miners []chain.Neuron, now time.Time) []SpecsOutcome {
	ctx, cancel := context.WithTimeout(ctx, cfg.specsDeadline(len(miners)))
	defer cancel()
	out := make([]SpecsOutcome, 0, len(miners))
	for start := 0; start < len(miners); start += cfg.SpecsBatchSize {
		batch := miners[start:min(start+cfg.SpecsBatchSize, len(miners))]
		targets := make([]wire.Target, len(batch))
		for i, n := range batch {
			targets[i] = wire.NeuronTarget(n)
		}
		results := wire.Broadcast(ctx, d, targets, &wire.Specs{}, cfg.SpecsTimeout)
		for i, r := range results {
			o := SpecsOutcome{UID: batch[i].UID, Hotkey: batch[i].Hotkey}
			switch {
			case !r.OK():
				o.Result, o.Detail = SpecsMissing, shortDetail(fmt.Sprintf("status %d: %s", r.StatusCode, r.StatusMessage))
			case r.Synapse.SpecsOutput == "":
				o.Result, o.Detail = SpecsMissing, "empty specs"
			default:
				s, err := specs.Parse([]byte(r.Synapse.SpecsOutput))
				if err != nil {
					o.Result, o.Detail = SpecsInvalid, shortDetail(err.Error())
				} else {
					o.Result, o.Specs = SpecsStored, &s
				}
			}
			out = append(out, o)
		}
	}
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer wcancel()
	for i := range out {
		o := &out[i]
		var err error
		if o.Specs != nil {
			var raw []byte
			if raw, err = json.Marshal(o.Specs); err == nil {
				err = st.SaveSpecs(wctx, o.Hotkey, raw, now)
			}
		} else {
			_, err = st.MissedSpecs(wctx, o.Hotkey, now)
		}
		if err != nil {
			o.Detail = shortDetail("store: " + err.Error())
		}
	}
	return out
}
