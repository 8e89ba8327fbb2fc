package wire

import (
	"container/heap"
	"context"
	"errors"
	"sync"
)

// errQueueFull is returned by acquire when maxQueued requests wait already.
var errQueueFull = errors.New("wire: too many requests are waiting")

// scheduler admits at most `slots` requests at a time; waiting requests are
// admitted by descending priority, then arrival order. At most maxQueued wait
// at once (0: no bound); more are refused at once. Safe for concurrent use.
type scheduler struct {
	mu        sync.Mutex
	free      int
	maxQueued int
	seq       uint64
	waiters   waitHeap
}

type waiter struct {
	prio    float64
	seq     uint64
	index   int
	ready   chan struct{}
	granted bool
}

func newScheduler(slots, maxQueued int) *scheduler {
	return &scheduler{free: slots, maxQueued: maxQueued}
}

// acquire waits for a slot until ctx ends, or fails at once with errQueueFull
// when maxQueued requests are waiting already. On success the caller must
// release.
func (s *scheduler) acquire(ctx context.Context, prio float64) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	if s.maxQueued > 0 && len(s.waiters) >= s.maxQueued {
		s.mu.Unlock()
		return errQueueFull
	}
	s.seq++
	w := &waiter{prio: prio, seq: s.seq, ready: make(chan struct{})}
	heap.Push(&s.waiters, w)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if w.granted {
			s.mu.Unlock()
			s.release()
			return ctx.Err()
		}
		heap.Remove(&s.waiters, w.index)
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	s.free++
}

type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio > h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	n := len(old)
	w := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return w
}
