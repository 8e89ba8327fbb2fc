package miner

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/wire"
)

// stuckSolver never finds the password: it waits for its context, or fails at
// once with err when err is set (a solver's own timeout).
type stuckSolver struct{ err error }

func (stuckSolver) Name() string { return "stuck" }
func (stuckSolver) Close() error { return nil }
func (s stuckSolver) Solve(ctx context.Context, _ *pow.Job) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	<-ctx.Done()
	return "", ctx.Err()
}

// TestForwardChallengeEndedRequest: a request that ends before its timeout
// (the caller hung up, or shutdown) is logged at info as abandoned; a timeout
// stays a warning.
func TestForwardChallengeEndedRequest(t *testing.T) {
	tests := []struct {
		name      string
		solver    stuckSolver
		ctx       func() (context.Context, context.CancelFunc)
		want      string
		wantLevel string
	}{
		{"caller went away", stuckSolver{}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, `msg="challenge abandoned by the caller"`, "level=INFO"},
		{"request timeout", stuckSolver{}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, "result=timeout", "level=WARN"},
		{"solver's own timeout", stuckSolver{err: context.DeadlineExceeded}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}, "result=timeout", "level=WARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
			m := &Miner{deps: Deps{Log: log}, log: log, solver: tc.solver, queue: pow.NewQueue(tc.solver, 4)}
			var err error
			if m.met, err = NewMetrics(prometheus.NewRegistry()); err != nil {
				t.Fatal(err)
			}
			m.policy.Store(NewPolicy(PolicyConfig{}, nil))
			ch, _, err := pow.New(4)
			if err != nil {
				t.Fatal(err)
			}
			syn := wire.NewChallenge(ch)
			ctx, cancel := tc.ctx()
			defer cancel()
			if err := m.forwardChallenge(ctx, syn); err != nil {
				t.Fatalf("forward returned %v; failures must be outputs", err)
			}
			if syn.Output.Password != nil || syn.Output.Error == nil {
				t.Fatalf("output %+v, want an error", syn.Output)
			}
			line := logs.String()
			if !strings.Contains(line, tc.want) || !strings.Contains(line, tc.wantLevel) {
				t.Fatalf("log %q lacks %q at %s", line, tc.want, tc.wantLevel)
			}
			if tc.wantLevel == "level=INFO" && strings.Contains(line, "level=WARN") {
				t.Fatalf("an abandoned challenge logged a warning: %q", line)
			}
		})
	}
}

// TestMinerRequireHashedAllocate: with Policy.RequireHashedAllocate, an Allocate
// whose body hash covers nothing (the original subnet's renters) is refused as
// unverified, while this project's dendrite, which covers the fields, is served;
// challenges are served either way. Without it, both are served.
func TestMinerRequireHashedAllocate(t *testing.T) {
	for _, require := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "required"}[require], func(t *testing.T) {
			n := newNetwork(t)
			cfg := testConfig(t, t.TempDir())
			cfg.Policy.RequireHashedAllocate = require
			r := startMiner(t, n, cfg, Deps{})
			ctx := context.Background()
			hashed := dendrite(t, n.validator)
			plain, err := wire.NewDendrite(wire.DendriteConfig{Signer: n.validator, PlainBodies: true, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			check := &wire.Allocate{Timeline: 1, Checking: true, PublicKey: "x"}
			if res := wire.Call(ctx, hashed, r.target(), check, 10*time.Second); !res.OK() {
				t.Fatalf("hashed allocate: %d %q", res.StatusCode, res.StatusMessage)
			}
			res := wire.Call(ctx, plain, r.target(), check, 10*time.Second)
			if require {
				if res.StatusCode != 401 || !strings.Contains(res.StatusMessage, "Allocate requests must cover timeline, device_requirement, checking, public_key") {
					t.Fatalf("unhashed allocate to a miner requiring hashes: %d %q", res.StatusCode, res.StatusMessage)
				}
			} else if !res.OK() {
				t.Fatalf("unhashed allocate: %d %q", res.StatusCode, res.StatusMessage)
			}
			ch, _, err := pow.New(3)
			if err != nil {
				t.Fatal(err)
			}
			if res := wire.Call(ctx, plain, r.target(), wire.NewChallenge(ch), 20*time.Second); !res.OK() || res.Synapse.Output.Password == nil {
				t.Fatalf("unhashed challenge: %d %q %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
			}
		})
	}
}
