package update

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrRestarting is returned by Gate.Hold when an update closed the gate for a
// restart and the caller's context ended before it reopened.
var ErrRestarting = errors.New("restarting for an update")

// Gate keeps a restart for an update out of the middle of an operation: each
// operation holds it while it runs; the updater drains it (closes it to new
// holders and waits until none holds it) before restarting. A closed gate
// makes new holders wait until it reopens (a drain that gave up) or their
// context ends. The zero value is not usable: make one with NewGate. A Gate
// is safe for concurrent use; its state is guarded by its mutex.
type Gate struct {
	mu     sync.Mutex
	held   int
	closed bool
	// changed is closed and replaced whenever held or closed changes.
	changed chan struct{}
}

// NewGate returns an open gate.
func NewGate() *Gate { return &Gate{changed: make(chan struct{})} }

// notify wakes every waiter; the caller holds g.mu.
func (g *Gate) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// Hold takes the gate for one operation; release, which may be called more
// than once, gives it back. While the gate is closed for a restart Hold
// waits until it reopens; when ctx ends first it returns an error wrapping
// ErrRestarting and ctx's error.
func (g *Gate) Hold(ctx context.Context) (release func(), err error) {
	g.mu.Lock()
	for g.closed {
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrRestarting, ctx.Err())
		case <-ch:
		}
		g.mu.Lock()
	}
	g.held++
	g.notify()
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.held--
			g.notify()
			g.mu.Unlock()
		})
	}, nil
}

// Held is the number of operations holding the gate now.
func (g *Gate) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// Drain closes the gate to new holders and waits until no operation holds
// it. On success the gate stays closed (the process is about to restart);
// when ctx ends first, the gate reopens and ctx's error is returned.
func (g *Gate) Drain(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	g.notify()
	for g.held > 0 {
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			g.Reopen()
			return ctx.Err()
		case <-ch:
		}
		g.mu.Lock()
	}
	g.mu.Unlock()
	return nil
}

// Reopen opens the gate again after a Drain; the operations waiting in Hold
// go on.
func (g *Gate) Reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		g.closed = false
		g.notify()
	}
}
