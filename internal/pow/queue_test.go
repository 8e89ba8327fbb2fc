package pow_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/pow"
)

// gateSolver answers each job with its salt once released, recording the order.
type gateSolver struct {
	mu      sync.Mutex
	order   []string
	release chan struct{}
	active  int
	maxAct  int
}

func (g *gateSolver) Name() string { return "gate" }
func (g *gateSolver) Close() error { return nil }
func (g *gateSolver) Solve(ctx context.Context, j *pow.Job) (string, error) {
	g.mu.Lock()
	g.order = append(g.order, string(j.Salt))
	g.active++
	g.maxAct = max(g.maxAct, g.active)
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.active--; g.mu.Unlock() }()
	select {
	case <-g.release:
		return string(j.Salt), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func TestQueueOrder(t *testing.T) {
	g := &gateSolver{release: make(chan struct{})}
	q := pow.NewQueue(g, 10)
	var wg sync.WaitGroup
	results := make(chan string, 10)
	submit := func(name string, prio float64) {
		wg.Go(func() {
			pw, err := q.Solve(context.Background(), &pow.Job{Salt: []byte(name)}, prio)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			results <- pw
		})
	}
	submit("first", 0) // starts at once
	waitFor(t, func() bool { return q.Stats().Running })
	// Queue the rest while "first" runs.
	for i, p := range []struct {
		n string
		p float64
	}{{"low-a", 1}, {"high", 100}, {"low-b", 1}, {"mid", 50}} {
		submit(p.n, p.p)
		waitFor(t, func() bool { return q.Len() == i+1 })
	}
	// A caller that gives up while waiting is dropped unstarted.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := q.Solve(ctx, &pow.Job{Salt: []byte("gone")}, 1000)
		errc <- err
	}()
	waitFor(t, func() bool { return q.Len() == 5 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	for range 5 {
		g.release <- struct{}{}
	}
	wg.Wait()
	want := "[first high mid low-a low-b]"
	if got := fmt.Sprint(g.order); got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	if g.maxAct != 1 {
		t.Errorf("%d challenges ran at once", g.maxAct)
	}
	// The last caller has its answer a moment before the worker marks
	// itself idle.
	waitFor(t, func() bool { return !q.Stats().Running })
	st := q.Stats()
	if st.Started != 5 || st.Dropped != 1 || st.Waiting != 0 || st.Running {
		t.Errorf("stats %+v", st)
	}
}

func TestQueueFull(t *testing.T) {
	g := &gateSolver{release: make(chan struct{})}
	q := pow.NewQueue(g, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = q.Solve(ctx, &pow.Job{Salt: []byte("a")}, 0) }()
	waitFor(t, func() bool { return q.Stats().Running })
	go func() { _, _ = q.Solve(ctx, &pow.Job{Salt: []byte("b")}, 0) }()
	waitFor(t, func() bool { return q.Len() == 1 })
	_, err := q.Solve(ctx, &pow.Job{Salt: []byte("c")}, 0)
	if !errors.Is(err, pow.ErrQueueFull) {
		t.Fatalf("error %v, want ErrQueueFull", err)
	}
	if q.Stats().Refused != 1 {
		t.Errorf("refused not counted")
	}
}

func TestWithTimeout(t *testing.T) {
	g := &gateSolver{release: make(chan struct{})}
	s := pow.WithTimeout(g, 20*time.Millisecond)
	t0 := time.Now()
	_, err := s.Solve(context.Background(), &pow.Job{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > time.Second {
		t.Fatalf("error %v after %v", err, time.Since(t0))
	}
	if pow.Unwrap(s) != pow.Solver(g) {
		t.Error("Unwrap does not return the inner solver")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
