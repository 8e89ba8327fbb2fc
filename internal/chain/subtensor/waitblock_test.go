package subtensor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain/subtensor/replay"
)

// headServer is a replay node whose best block is head.
func headServer(t *testing.T, head *atomic.Uint64, poll time.Duration) (*Client, *replay.Server) {
	t.Helper()
	srv, err := replay.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.Handle("chain_getHeader", func(*replay.Call) (any, error) {
		return map[string]any{"number": fmt.Sprintf("0x%x", head.Load()), "parentHash": "0x00"}, nil
	})
	c, err := New(Config{Endpoint: srv.URL(), PollInterval: poll}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

func count(reqs []string, method string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, method+" ") {
			n++
		}
	}
	return n
}

type waitResult struct {
	n   uint64
	err error
}

func waitAsync(ctx context.Context, c *Client, after uint64) chan waitResult {
	done := make(chan waitResult, 1)
	go func() {
		n, err := c.WaitBlock(ctx, after)
		done <- waitResult{n, err}
	}()
	return done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWaitBlockSubscribed: WaitBlock follows new heads (polling would take an
// hour here), skips heads not past after, and unsubscribes.
func TestWaitBlockSubscribed(t *testing.T) {
	var head atomic.Uint64
	head.Store(5)
	c, srv := headServer(t, &head, time.Hour)
	srv.ServeNewHeads()
	ctx := ctx10(t)

	// Already past: answered from the head read right after subscribing.
	if n, err := c.WaitBlock(ctx, 4); err != nil || n != 5 {
		t.Fatalf("WaitBlock(4) = %d, %v; want 5", n, err)
	}
	done := waitAsync(ctx, c, 6)
	waitFor(t, "the subscription", func() bool { return srv.HeadSubscriptions() == 1 })
	for _, n := range []uint64{6, 7} { // the head read stays at 5: only the notifications move it
		if err := srv.NewHead(n); err != nil {
			t.Fatal(err)
		}
	}
	r := <-done
	if r.err != nil || r.n != 7 {
		t.Fatalf("WaitBlock(6) = %d, %v; want 7", r.n, r.err)
	}
	waitFor(t, "the unsubscription", func() bool { return srv.HeadSubscriptions() == 0 })
	reqs := srv.Requests()
	if count(reqs, "chain_subscribeNewHeads") != 2 || count(reqs, "chain_unsubscribeNewHeads") != 2 {
		t.Fatalf("requests %q", reqs)
	}

	// A cancelled wait ends at once and unsubscribes too.
	cctx, cancel := context.WithCancel(ctx)
	done = waitAsync(cctx, c, 100)
	waitFor(t, "the subscription", func() bool { return srv.HeadSubscriptions() == 1 })
	cancel()
	if r := <-done; r.err == nil || !strings.Contains(r.err.Error(), "wait for block 101") {
		t.Fatalf("cancelled wait: %d, %v", r.n, r.err)
	}
	waitFor(t, "the unsubscription", func() bool { return srv.HeadSubscriptions() == 0 })
}

// TestWaitBlockPollsWithoutSubscription: a node without new-head subscriptions
// is polled, and not asked to subscribe again.
func TestWaitBlockPollsWithoutSubscription(t *testing.T) {
	var head atomic.Uint64
	head.Store(5)
	c, srv := headServer(t, &head, 10*time.Millisecond)
	ctx := ctx10(t)
	for _, after := range []uint64{6, 8} {
		done := waitAsync(ctx, c, after)
		waitFor(t, "a few polls", func() bool { return count(srv.Requests(), "chain_getHeader") >= 3 })
		head.Store(after + 1)
		if r := <-done; r.err != nil || r.n != after+1 {
			t.Fatalf("WaitBlock(%d) = %d, %v", after, r.n, r.err)
		}
	}
	if n := count(srv.Requests(), "chain_subscribeNewHeads"); n != 1 {
		t.Fatalf("%d subscription attempts, want 1 (the refusal is remembered)", n)
	}
}

// TestWaitBlockSubscriptionBreaks: when the connection drops during a
// subscribed wait, WaitBlock polls (over a new connection) instead.
func TestWaitBlockSubscriptionBreaks(t *testing.T) {
	var head atomic.Uint64
	head.Store(5)
	c, srv := headServer(t, &head, 10*time.Millisecond)
	srv.ServeNewHeads()
	ctx := ctx10(t)
	reads := count(srv.Requests(), "chain_getHeader")
	done := waitAsync(ctx, c, 6)
	// Subscribed, and past its head check: the wait now hangs on the
	// subscription alone (a head of 9 seen by that check would end it there).
	waitFor(t, "the subscription", func() bool {
		return srv.HeadSubscriptions() == 1 && count(srv.Requests(), "chain_getHeader") > reads
	})
	time.Sleep(50 * time.Millisecond) // the head check's answer (5) is on its way back
	head.Store(9)                     // no new-head notification: only polling sees it
	srv.DropConnections()
	if r := <-done; r.err != nil || r.n != 9 {
		t.Fatalf("WaitBlock(6) = %d, %v; want 9 from polling", r.n, r.err)
	}
	if n := count(srv.Requests(), "chain_unsubscribeNewHeads"); n != 0 {
		t.Fatalf("%d unsubscriptions of a subscription that ended with its connection", n)
	}
	// The next wait tries the subscription again; the head read stays at 9.
	done = waitAsync(ctx, c, 9)
	waitFor(t, "the new subscription", func() bool { return srv.HeadSubscriptions() == 1 })
	if err := srv.NewHead(10); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.n != 10 {
		t.Fatalf("WaitBlock(9) = %d, %v", r.n, r.err)
	}
}
