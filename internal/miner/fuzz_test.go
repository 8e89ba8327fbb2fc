package miner

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/wire"
)

// checkSolver tries the first candidate of every position: enough to answer the
// challenges pow.New makes with one-character alphabets, and instant on anything else.
type checkSolver struct{}

func (checkSolver) Name() string { return "check" }
func (checkSolver) Close() error { return nil }
func (checkSolver) Solve(ctx context.Context, job *pow.Job) (string, error) {
	pw := make([]byte, len(job.Charsets))
	for i, cs := range job.Charsets {
		pw[i] = cs[0]
	}
	if job.Check(pw) {
		return string(pw), nil
	}
	return "", pow.ErrNotFound
}

func fuzzMiner(t testing.TB) *Miner {
	t.Helper()
	cfg := Config{DataDir: t.TempDir()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := New(cfg, Deps{Chain: nil, Hotkey: nil, Registry: prometheus.NewRegistry()})
	if err == nil || m != nil {
		t.Fatal("New without chain and hotkey must fail")
	}
	m = &Miner{cfg: cfg, deps: Deps{Log: log}, log: log, solver: checkSolver{}, queue: pow.NewQueue(checkSolver{}, 4)}
	m.met, err = NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	m.policy.Store(NewPolicy(PolicyConfig{}, nil))
	return m
}

// FuzzForwardChallenge: any challenge fields give an answer holding exactly one of
// password and error, a correct password, and no panic.
func FuzzForwardChallenge(f *testing.F) {
	ch, _, _ := pow.New(4)
	f.Add(ch.Hash, ch.Salt, ch.Mode, ch.Chars, ch.Mask, ch.Difficulty)
	f.Add(pow.HashOf("aaaa", "00"), "00", "610", "a", "?1?1?1?1", 4)
	f.Add("", "", "", "", "", 0)
	f.Add("$BLAKE2$"+string(make([]byte, 128)), "zz", "610", "?a?b", "?1?2?3?4", -1)
	f.Add("$BLAKE2$00", "\x00", "0; id", "\xff\xfe", "??????", 1<<40)
	m := fuzzMiner(f)
	f.Fuzz(func(t *testing.T, hash, salt, mode, chars, mask string, difficulty int) {
		syn := wire.NewChallenge(pow.Challenge{Hash: hash, Salt: salt, Mode: mode, Chars: chars, Mask: mask, Difficulty: difficulty})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := m.forwardChallenge(ctx, syn); err != nil {
			t.Fatalf("forward returned %v; failures must be outputs", err)
		}
		out := syn.Output
		if (out.Password == nil) == (out.Error == nil) {
			t.Fatalf("output %+v must hold exactly one of password and error", out)
		}
		if out.Password != nil && !pow.Verify(syn.Challenge, *out.Password) {
			t.Fatalf("wrong password %q", *out.Password)
		}
	})
}

func TestAllocateMode(t *testing.T) {
	tests := []struct {
		a    wire.Allocate
		want string
	}{
		{wire.Allocate{Checking: true, Timeline: 3}, "check"},
		{wire.Allocate{Checking: true}, "check_owner"},
		{wire.Allocate{Timeline: 3}, "allocate"},
		{wire.Allocate{}, "deallocate"},
		{wire.Allocate{Timeline: -1}, "invalid"},
		{wire.Allocate{Checking: true, Timeline: -1}, "invalid"},
		{wire.Allocate{Checking: true, DockerChange: true, DockerAction: &wire.DockerAction{Action: wire.ActionRestart}}, "action restart"},
		{wire.Allocate{Timeline: 5, DockerChange: true, DockerAction: &wire.DockerAction{Action: wire.ActionExtend}}, "action extend"},
		{wire.Allocate{Timeline: 5, DockerAction: &wire.DockerAction{Action: wire.ActionExtend}}, "allocate"},
	}
	for _, tc := range tests {
		if got := allocateMode(&tc.a); got != tc.want {
			t.Errorf("allocateMode(%+v) = %s, want %s", tc.a, got, tc.want)
		}
	}
}
