package validator

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sn27/compute/internal/store"
)

// TestEndToEnd runs the validator loop on a dev chain with fast blocks
// against miners of different speed, a cheater and an unreachable miner,
// until weights are on chain and an epoch turned them into incentive.
func TestEndToEnd(t *testing.T) {
	n := newTestNet(t, 100*time.Millisecond, 10)
	keys := map[string]string{}
	for _, m := range []struct {
		name  string
		solve solveFunc
	}{
		{"Fast", cpuSolve(t, 0)},
		{"Slow", cpuSolve(t, 700*time.Millisecond)},
		{"Cheat", wrongSolve},
	} {
		hot := mustKey(t, "//"+m.name+"//hot")
		n.addMiner(m.name, startAxon(t, hot, m.solve))
		keys[m.name] = hot.SS58Address()
	}
	keys["Gone"] = n.addMiner("Gone", closedPort(t)).SS58Address()

	v, err := New(n.config(), Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Registry: prometheus.NewRegistry(), Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	metrics := v.metrics
	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer cancel()

	waitFor(t, 40*time.Second, "four rounds and weights on chain", func() bool {
		s := v.State()
		return s.Rounds >= 4 && s.WeightsSets >= 1
	})
	st := v.State()
	weightsBlock := st.WeightsBlock
	// The next epoch after the weights turns them into incentive.
	waitFor(t, 20*time.Second, "incentive", func() bool {
		mg, err := n.chain.Metagraph(n.ctx, testNetuid)
		if err != nil {
			return false
		}
		for _, nr := range mg.Neurons {
			if nr.Hotkey == keys["Fast"] && nr.Incentive > 0 {
				return true
			}
		}
		return false
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	st = v.State()
	byKey := map[string]MinerState{}
	for _, m := range st.Miners {
		byKey[m.Hotkey] = m
		t.Logf("uid %d %-5s difficulty %d result %-14s score %.4f weight %.4f attempts %d successes %d",
			m.UID, m.Hotkey[:5], m.Difficulty, m.Result, m.Score, m.Weight, m.Attempts, m.Successes)
	}
	fast, slow, cheat, gone := byKey[keys["Fast"]], byKey[keys["Slow"]], byKey[keys["Cheat"]], byKey[keys["Gone"]]
	if !(fast.Score > slow.Score && slow.Score > 0) {
		t.Errorf("scores: fast %v, slow %v; want fast > slow > 0", fast.Score, slow.Score)
	}
	if cheat.Score != 0 || gone.Score != 0 || cheat.Result != ResultWrongPassword || gone.Result != ResultUnreachable {
		t.Errorf("cheat %+v, gone %+v: want zero scores", cheat, gone)
	}

	mg, err := n.chain.Metagraph(n.ctx, testNetuid)
	if err != nil {
		t.Fatal(err)
	}
	inc := map[string]float64{}
	for _, nr := range mg.Neurons {
		inc[nr.Hotkey] = nr.Incentive
	}
	t.Logf("weights set at block %d; incentive fast %.4f slow %.4f cheat %.4f gone %.4f",
		weightsBlock, inc[keys["Fast"]], inc[keys["Slow"]], inc[keys["Cheat"]], inc[keys["Gone"]])
	if !(inc[keys["Fast"]] > inc[keys["Slow"]] && inc[keys["Slow"]] > 0) || inc[keys["Cheat"]] != 0 || inc[keys["Gone"]] != 0 {
		t.Errorf("incentive does not follow the weights: %v", inc)
	}

	for _, c := range []struct {
		result string
		min    float64
	}{{ResultSuccess, 8}, {ResultWrongPassword, 4}, {ResultUnreachable, 4}} {
		if got := testutil.ToFloat64(metrics.Challenges.WithLabelValues(c.result)); got < c.min {
			t.Errorf("challenges_total{result=%q} = %v, want >= %v", c.result, got, c.min)
		}
	}
	if got := testutil.ToFloat64(metrics.WeightsSet.WithLabelValues("ok")); got < 1 {
		t.Errorf("weights_set_total{ok} = %v", got)
	}
	// Commit-reveal is on (the dev chain's default, as on finney): the weights
	// went on chain as timelocked commits that the chain revealed.
	commits := testutil.ToFloat64(metrics.Commits)
	revealed := testutil.ToFloat64(metrics.Reveals.WithLabelValues("revealed"))
	if commits < 1 || revealed < 1 {
		t.Errorf("weights_commits_total = %v, weights_reveals_total{revealed} = %v; want both >= 1", commits, revealed)
	}
	log, err := n.store.WeightsLog(n.ctx, testNetuid, n.val.SS58Address(), 100)
	if err != nil {
		t.Fatal(err)
	}
	nRevealed := 0
	for _, r := range log {
		if r.Mode != store.WeightsModeCommit || r.RevealRound == 0 || r.RevealBlock <= r.Block {
			t.Errorf("weights log entry %+v: want a commit with its reveal round and a later reveal block", r)
		}
		if r.Status == store.WeightsStatusRevealed {
			nRevealed++
			t.Logf("commit of block %d, reveal round %d: predicted reveal block %d, seen revealed at block %d",
				r.Block, r.RevealRound, r.RevealBlock, r.RevealedBlock)
		}
	}
	if nRevealed == 0 {
		t.Errorf("no commit in the weights log is marked revealed: %+v", log)
	}
	// Every round the loop reported is in the store: nothing was lost on stop.
	stats, err := n.store.Stats(n.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, s := range stats {
		attempts += s.Attempts
	}
	sent := 0.0
	for _, r := range []string{ResultSuccess, ResultTimeout, ResultUnreachable, ResultBadResponse, ResultRefused, ResultNoPassword, ResultWrongPassword} {
		sent += testutil.ToFloat64(metrics.Challenges.WithLabelValues(r))
	}
	if float64(attempts) != sent {
		t.Errorf("store holds %d challenges, the loop sent %v", attempts, sent)
	}
}
