package cuda

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// search is one job shared out between workers: each takes the next slice of
// outer indices from a common counter until the keyspace is exhausted, a
// worker confirms the password, a worker fails or ctx is done.
type search struct {
	ctx  context.Context
	plan *plan

	next   atomic.Uint64 // next outer index to hand out
	stop   atomic.Bool
	hashes atomic.Uint64 // candidates hashed in completed launches
	wg     sync.WaitGroup

	mu       sync.Mutex
	password string
	found    bool
	errs     []error
	overflow bool // a launch matched more first words than it could record
}

// take reserves up to n outer indices.
func (s *search) take(n uint64) (base, count uint64, ok bool) {
	for {
		cur := s.next.Load()
		if cur >= s.plan.outer {
			return 0, 0, false
		}
		end := s.plan.outer
		if n < end-cur {
			end = cur + n
		}
		if s.next.CompareAndSwap(cur, end) {
			return cur, end - cur, true
		}
	}
}

func (s *search) succeed(pw string) {
	s.mu.Lock()
	if !s.found {
		s.found, s.password = true, pw
	}
	s.mu.Unlock()
	s.stop.Store(true)
}

func (s *search) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	s.stop.Store(true)
}

// work runs on w's goroutine until the search ends.
func (s *search) work(w *worker) {
	defer s.wg.Done()
	if err := w.upload(s.plan); err != nil {
		s.fail(err)
		return
	}
	n := w.sliceFor(s.plan.inner)
	for !s.stop.Load() && s.ctx.Err() == nil {
		base, count, ok := s.take(n)
		if !ok {
			return
		}
		t0 := time.Now()
		hits, overflow, err := w.launch(base, count)
		if err != nil {
			s.fail(err)
			return
		}
		took := time.Since(t0)
		s.hashes.Add(count * s.plan.inner)
		for _, idx := range hits {
			if pw, ok := s.plan.confirm(idx); ok {
				s.succeed(pw)
				return
			}
		}
		if overflow {
			s.mu.Lock()
			s.overflow = true
			s.mu.Unlock()
		}
		n = w.measured(count*s.plan.inner, took, n, s.plan.inner)
	}
}

// run hands the search to workers and waits for all of them.
func (s *search) run(workers []*worker) {
	s.wg.Add(len(workers))
	for _, w := range workers {
		w.tasks <- s
	}
	s.wg.Wait()
}

// result turns the finished search into Solve's answer.
func (s *search) result() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.found {
		return s.password, nil
	}
	if len(s.errs) > 0 {
		return "", errors.Join(s.errs...)
	}
	return "", nil
}
