package pow

import (
	"context"
	"fmt"
	"time"
)

// DefaultTimeout is the original pow_timeout: a miner has 30 s per challenge.
const DefaultTimeout = 30 * time.Second

// Throughputer is implemented by solvers that can measure their raw hash rate
// (hashes per second) over about d.
type Throughputer interface {
	Throughput(ctx context.Context, d time.Duration) (float64, error)
}

// WithTimeout returns a solver that gives every Solve at most d (d <= 0 means
// no limit beyond the caller's context).
func WithTimeout(s Solver, d time.Duration) Solver {
	if d <= 0 {
		return s
	}
	return &timeoutSolver{s: s, d: d}
}

type timeoutSolver struct {
	s Solver
	d time.Duration
}

func (t *timeoutSolver) Name() string   { return t.s.Name() }
func (t *timeoutSolver) Close() error   { return t.s.Close() }
func (t *timeoutSolver) Unwrap() Solver { return t.s }

func (t *timeoutSolver) Solve(ctx context.Context, job *Job) (string, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, t.d, fmt.Errorf("%w (%v)", context.DeadlineExceeded, t.d))
	defer cancel()
	return t.s.Solve(ctx, job)
}

func (t *timeoutSolver) Throughput(ctx context.Context, d time.Duration) (float64, error) {
	tp, ok := t.s.(Throughputer)
	if !ok {
		return 0, fmt.Errorf("pow: solver %s cannot measure its throughput", t.s.Name())
	}
	return tp.Throughput(ctx, d)
}

// Unwrap returns the solver inside wrappers such as WithTimeout.
func Unwrap(s Solver) Solver {
	for {
		u, ok := s.(interface{ Unwrap() Solver })
		if !ok {
			return s
		}
		s = u.Unwrap()
	}
}
