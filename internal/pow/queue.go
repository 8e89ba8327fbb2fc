package pow

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrQueueFull is returned when a Queue already holds its maximum of waiting
// challenges.
var ErrQueueFull = errors.New("pow: challenge queue is full")

// DefaultQueueLength bounds a queue when the caller gives no length.
const DefaultQueueLength = 64

// QueueStats is a snapshot for metrics.
type QueueStats struct {
	Waiting  int           // challenges queued, not started
	Running  bool          // a challenge is being solved
	Started  uint64        // challenges handed to the solver
	Dropped  uint64        // challenges whose caller gave up before they started
	Refused  uint64        // challenges refused because the queue was full
	LastWait time.Duration // queue wait of the last started challenge
	MaxWait  time.Duration // longest queue wait seen
}

// Queue runs one challenge at a time on its solver (one queue per device),
// highest priority first and first come first served within equal priority.
// A waiting challenge whose context ends is dropped without being started.
// It is safe for concurrent use; state is guarded by a mutex.
type Queue struct {
	solver Solver
	max    int

	mu      sync.Mutex
	items   itemHeap
	seq     uint64
	running bool
	stats   QueueStats
}

// NewQueue returns a queue in front of s holding at most maxWaiting
// challenges (DefaultQueueLength when <= 0).
func NewQueue(s Solver, maxWaiting int) *Queue {
	if maxWaiting <= 0 {
		maxWaiting = DefaultQueueLength
	}
	return &Queue{solver: s, max: maxWaiting}
}

// Solver is the solver the queue feeds.
func (q *Queue) Solver() Solver { return q.solver }

type result struct {
	pw  string
	err error
}

type item struct {
	ctx      context.Context
	job      *Job
	priority float64
	seq      uint64
	enqueued time.Time
	done     chan result
	index    int
	started  bool
}

// Solve queues the job with the given priority (the miner passes the
// caller's stake) and waits for its answer, the solver's error, or ctx.
func (q *Queue) Solve(ctx context.Context, job *Job, priority float64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("pow queue: %w", context.Cause(ctx))
	}
	it := &item{ctx: ctx, job: job, priority: priority, enqueued: time.Now(), done: make(chan result, 1)}
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.stats.Refused++
		q.mu.Unlock()
		return "", fmt.Errorf("%w (%d waiting, %s solver busy); try again later", ErrQueueFull, q.max, q.solver.Name())
	}
	q.seq++
	it.seq = q.seq
	heap.Push(&q.items, it)
	q.dispatchLocked()
	q.mu.Unlock()

	select {
	case r := <-it.done:
		return r.pw, r.err
	case <-ctx.Done():
	}
	q.mu.Lock()
	if !it.started {
		heap.Remove(&q.items, it.index)
		q.stats.Dropped++
		q.mu.Unlock()
		return "", fmt.Errorf("pow queue: dropped before start: %w", context.Cause(ctx))
	}
	q.mu.Unlock()
	// Started: the solver sees the same context and returns promptly.
	r := <-it.done
	return r.pw, r.err
}

// dispatchLocked starts the next live challenge when the solver is idle.
func (q *Queue) dispatchLocked() {
	if q.running {
		return
	}
	for len(q.items) > 0 {
		it := heap.Pop(&q.items).(*item)
		if it.ctx.Err() != nil {
			q.stats.Dropped++
			it.started = true // its waiter will not find it in the heap
			it.done <- result{err: fmt.Errorf("pow queue: dropped before start: %w", context.Cause(it.ctx))}
			continue
		}
		it.started = true
		wait := time.Since(it.enqueued)
		q.stats.Started++
		q.stats.LastWait = wait
		q.stats.MaxWait = max(q.stats.MaxWait, wait)
		q.running = true
		go q.run(it)
		return
	}
}

func (q *Queue) run(it *item) {
	pw, err := q.solver.Solve(it.ctx, it.job)
	it.done <- result{pw, err}
	q.mu.Lock()
	q.running = false
	q.dispatchLocked()
	q.mu.Unlock()
}

// Len is the number of waiting challenges.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Stats returns a snapshot of the queue's counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Waiting = len(q.items)
	s.Running = q.running
	return s
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority > h[j].priority
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *itemHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.index = -1
	return it
}
