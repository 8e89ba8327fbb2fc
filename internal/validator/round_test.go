package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/wire"
)

// hostile miners: each answers the Challenge route in its own broken way.
var hostile = map[string]struct {
	h    http.HandlerFunc
	want string
}{
	"Garbage": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("{{{ this is not json"))
	}, ResultBadResponse},
	"WrongTypes": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"output": {"password": 12345, "error": [1, 2]}, "challenge_difficulty": "seven", "axon": 3}`))
	}, ResultBadResponse},
	"NullOutput": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"output": null}`))
	}, ResultNoPassword},
	"HugeBody": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("a", 1<<20))
		for range 64 { // 64 MiB, far above the dendrite's bound
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}, ResultBadResponse},
	"HugePassword": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write(hugePasswordBody())
	}, ResultWrongPassword},
	"Endless": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"output": {"password": "`))
		for {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := w.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}, ResultTimeout},
	"Silent": {func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}, ResultTimeout},
	"ServerError": {func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"message": "boom"}`))
	}, ResultRefused},
	"Redirect": {func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusTemporaryRedirect)
	}, ResultBadResponse},
	// Echoes a challenge of its own with a matching password: the validator
	// must check against the challenge it sent.
	"Liar": {func(w http.ResponseWriter, r *http.Request) {
		// The body was drained by startHostile: answer for difficulty 3.
		var syn wire.Challenge
		ch, pw, _ := pow.New(3)
		syn.Challenge = ch
		syn.Output.Password = &pw
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(&syn)
	}, ResultWrongPassword},
}

// hugePasswordBody is a 6 MiB answer, built once: marshalling it per request
// under the race detector is slow enough to miss the challenge timeout.
var hugePasswordBody = sync.OnceValue(func() []byte {
	b, _ := json.Marshal(map[string]any{"output": map[string]any{"password": strings.Repeat("x", 6<<20)}})
	return b
})

func TestHostileMiners(t *testing.T) {
	n := newTestNet(t, 0, 100)
	cfg := n.config()
	cfg.ChallengeBatchSize = 4 // several batches run one after the other
	// The honest and the 6 MiB answers must arrive within the timeout even
	// under the race detector on a loaded 2-core machine.
	cfg.Score.Timeout = 4 * time.Second
	want := map[string]string{}
	good := mustKey(t, "//Good//hot")
	n.addMiner("Good", startAxon(t, good, cpuSolve(t, 0)))
	want[good.SS58Address()] = ResultSuccess
	for name, h := range hostile {
		hot := n.addMiner(name, startHostile(t, h.h))
		want[hot.SS58Address()] = h.want
	}
	gone := n.addMiner("Gone", closedPort(t))
	want[gone.SS58Address()] = ResultUnreachable

	mg, err := n.chain.Metagraph(n.ctx, testNetuid)
	if err != nil {
		t.Fatal(err)
	}
	sel := SelectQueryable(cfg, mg, n.val.SS58Address())
	if len(sel.Queryable) != len(want) {
		t.Fatalf("%d queryable, want %d: %v", len(sel.Queryable), len(want), sel.Excluded)
	}
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: n.val, Logger: testLog(), MaxConcurrency: 256})
	if err != nil {
		t.Fatal(err)
	}
	batches := (len(want) + cfg.ChallengeBatchSize - 1) / cfg.ChallengeBatchSize
	start := time.Now()
	outs := ChallengeRound(n.ctx, cfg, d, sel.Queryable, nil)
	took := time.Since(start)
	// Each batch costs at most the challenge timeout (plus scheduling).
	if limit := time.Duration(batches) * (cfg.Score.Timeout + time.Second); took > limit {
		t.Fatalf("round took %v, more than %d batches of %v", took, batches, cfg.Score.Timeout)
	}
	for _, o := range outs {
		if o.Result != want[o.Hotkey] {
			t.Errorf("uid %d: result %q (%s), want %q", o.UID, o.Result, o.Detail, want[o.Hotkey])
		}
		if o.Difficulty != cfg.Score.MinDifficulty {
			t.Errorf("uid %d: difficulty %d for a new miner", o.UID, o.Difficulty)
		}
		if o.Elapsed > cfg.Score.Timeout+time.Second {
			t.Errorf("uid %d: elapsed %v", o.UID, o.Elapsed)
		}
	}
	t.Logf("round of %d miners in %d batches took %v", len(outs), batches, took)

	// Only the honest miner earns a weight.
	if _, err := storeRound(n.ctx, n.store, 1, time.Now(), outs); err != nil {
		t.Fatal(err)
	}
	stats, err := n.store.Stats(n.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ComputeWeights(cfg, mg, n.val.SS58Address(), stats, nil) {
		if (r.Hotkey == good.SS58Address()) != (r.Weight > 0) {
			t.Errorf("uid %d (%s): weight %v", r.UID, r.Hotkey, r.Weight)
		}
	}
}

func TestChallengeRoundCancelled(t *testing.T) {
	n := newTestNet(t, 0, 100)
	cfg := n.config()
	cfg.Score.Timeout = time.Minute
	n.addMiner("Silent", startHostile(t, hostile["Silent"].h))
	mg, _ := n.chain.Metagraph(n.ctx, testNetuid)
	d, _ := wire.NewDendrite(wire.DendriteConfig{Signer: n.val, Logger: testLog()})
	ctx, cancel := context.WithTimeout(n.ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	outs := ChallengeRound(ctx, cfg, d, SelectQueryable(cfg, mg, n.val.SS58Address()).Queryable, nil)
	if time.Since(start) > 5*time.Second || len(outs) != 1 || outs[0].Result != ResultTimeout {
		t.Fatalf("cancelled round: %+v after %v", outs, time.Since(start))
	}
}

// A validator stopping mid-round cancels its queries: that is no failure of
// the miners, so the round stores no result for them.
func TestChallengeRoundShutdown(t *testing.T) {
	n := newTestNet(t, 0, 100)
	cfg := n.config()
	cfg.Score.Timeout = time.Minute
	n.addMiner("Silent", startHostile(t, hostile["Silent"].h))
	mg, _ := n.chain.Metagraph(n.ctx, testNetuid)
	d, _ := wire.NewDendrite(wire.DendriteConfig{Signer: n.val, Logger: testLog()})
	ctx, cancel := context.WithCancel(n.ctx)
	time.AfterFunc(300*time.Millisecond, cancel)
	outs := ChallengeRound(ctx, cfg, d, SelectQueryable(cfg, mg, n.val.SS58Address()).Queryable, nil)
	if len(outs) != 1 || outs[0].Result != ResultInternal {
		t.Fatalf("round cut by shutdown: %+v, want one %q outcome", outs, ResultInternal)
	}
}

func TestJudge(t *testing.T) {
	cfg := DefaultConfig()
	ch, pw, err := pow.New(4)
	if err != nil {
		t.Fatal(err)
	}
	other := "zzzz"
	ok := func(p *string, elapsed time.Duration) *wire.Result[wire.Challenge] {
		syn := wire.NewChallenge(ch)
		syn.Output.Password = p
		return &wire.Result[wire.Challenge]{Synapse: syn, StatusCode: 200, Elapsed: elapsed}
	}
	errText := "cuda out of memory"
	noPw := ok(nil, time.Second)
	noPw.Synapse.Output.Error = &errText
	tests := []struct {
		name string
		r    *wire.Result[wire.Challenge]
		want string
	}{
		{"solved", ok(&pw, time.Second), ResultSuccess},
		{"wrong", ok(&other, time.Second), ResultWrongPassword},
		{"late", ok(&pw, 31*time.Second), ResultTimeout},
		{"miner error", noPw, ResultNoPassword},
		{"refused", &wire.Result[wire.Challenge]{Synapse: wire.NewChallenge(ch), StatusCode: 403, StatusMessage: "blacklisted"}, ResultRefused},
		{"timeout", &wire.Result[wire.Challenge]{Synapse: wire.NewChallenge(ch), StatusCode: 408, Err: context.DeadlineExceeded}, ResultTimeout},
		{"unreachable", &wire.Result[wire.Challenge]{Synapse: wire.NewChallenge(ch), StatusCode: 503, Err: errNever}, ResultUnreachable},
		{"unparsable", &wire.Result[wire.Challenge]{Synapse: wire.NewChallenge(ch), StatusCode: 422, Err: errNever}, ResultBadResponse},
		{"build failure", &wire.Result[wire.Challenge]{Synapse: wire.NewChallenge(ch), StatusCode: 0, Err: errNever}, ResultInternal},
		{"validator stopping", &wire.Result[wire.Challenge]{Synapse: wire.NewChallenge(ch), StatusCode: 408, Err: fmt.Errorf("wire: x: %w", context.Canceled)}, ResultInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, detail := judge(cfg, ch, tc.r); got != tc.want {
				t.Fatalf("judge = %q (%s), want %q", got, detail, tc.want)
			}
		})
	}
}

// FuzzJudge feeds arbitrary miner answers to the verdict: it never panics
// and never calls a wrong answer a success.
func FuzzJudge(f *testing.F) {
	for _, s := range []string{`{}`, `{"output":{"password":"abcd"}}`, `{"output":null}`, `{"output":{"password":null,"error":"x"}}`,
		`{"challenge_hash":"$BLAKE2$00","output":{"password":"aaaa"}}`, `[]`, `"x"`, `{"output":{"password":"` + strings.Repeat("a", 300) + `"}}`} {
		f.Add([]byte(s))
	}
	ch, _, err := pow.New(4)
	if err != nil {
		f.Fatal(err)
	}
	cfg := DefaultConfig()
	f.Fuzz(func(t *testing.T, body []byte) {
		syn := wire.NewChallenge(ch)
		if json.Unmarshal(body, syn) != nil {
			return
		}
		r := &wire.Result[wire.Challenge]{Synapse: syn, StatusCode: 200, Elapsed: time.Second}
		got, _ := judge(cfg, ch, r)
		if got == ResultSuccess && (syn.Output.Password == nil || !pow.Verify(ch, *syn.Output.Password)) {
			t.Fatalf("success for %q", body)
		}
	})
}

var _ = chain.ErrNotFound
