package rentals

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/testutil"
)

// TestEndToEndCreate rents real miners' machines through the real renter on
// the real Docker daemon: a retry with the same Idempotency-Key gets the
// same rental and allocates nothing, another body is refused, two
// concurrent identical requests allocate once; the renter's key and the
// health key both log in; keys are added and removed, the lease extended
// and restarted, and the release ends it.
func TestEndToEndCreate(t *testing.T) {
	docker := testutil.Docker(t)
	e := newEnv(t, docker)
	m1 := e.startMiner("//Bob//m1")
	m2 := e.startMiner("//Bob//m2")
	s := e.service(Config{MaxMisses: 2, ProbeTimeout: 15 * time.Second})
	ctx := context.Background()
	leases := func() int { return len(e.containers(m1)) + len(e.containers(m2)) }

	key1Path, key1 := renterKey(t)
	req := CreateRequest{Requirement: smallReq(), Timeline: 1, SSHKeys: []string{key1}}
	start := time.Now()
	r1, replayed, err := s.Create(ctx, "k1", "idem-A", req)
	if err != nil || replayed {
		t.Fatalf("create: %v (replayed %v)", err, replayed)
	}
	t.Logf("rental %s on %s in %v: %s", r1.ID, r1.Hotkey, time.Since(start).Round(time.Millisecond), r1.SSHCommand)
	if r1.Status != StatusActive || !r1.HealthKey || len(r1.SSHKeys) != 1 || !strings.HasSuffix(r1.SSHKeys[0].Key, " me@laptop") || r1.Timeline != 1 {
		t.Fatalf("rental %+v", r1)
	}
	if out, err := testutil.SSH(t, testutil.Login{Port: r1.Port, User: r1.Username, Identity: key1Path}, "echo in"); err != nil || strings.TrimSpace(out) != "in" {
		t.Fatalf("the renter's key: %q %v", out, err)
	}

	// Retries: the same rental, no second lease.
	for i := range 2 {
		again, replayed, err := s.Create(ctx, "k1", "idem-A", req)
		if err != nil || !replayed || again.ID != r1.ID {
			t.Fatalf("retry %d: %+v (replayed %v), %v", i+1, again, replayed, err)
		}
	}
	other := req
	other.Timeline = 2
	if _, _, err := s.Create(ctx, "k1", "idem-A", other); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("another body: %v", err)
	}
	if n, l := e.renter.allocs.Load(), leases(); n != 1 || l != 1 {
		t.Fatalf("%d allocations, %d lease containers; want 1 and 1", n, l)
	}

	// Two identical requests at once: one allocation, one rental.
	gate := make(chan struct{})
	e.renter.gate.Store(&gate)
	type result struct {
		r        Rental
		replayed bool
		err      error
	}
	results := make(chan result, 2)
	var ready sync.WaitGroup
	ready.Add(2)
	for range 2 {
		go func() {
			ready.Done()
			ready.Wait()
			r, replayed, err := s.Create(ctx, "k1", "idem-B", req)
			results <- result{r, replayed, err}
		}()
	}
	waitFor(t, "the second allocation to start", func() bool { return e.renter.allocs.Load() == 2 })
	time.Sleep(200 * time.Millisecond) // both requests are in by now, or the second finds the first done: either way one lease
	close(gate)
	a, b := <-results, <-results
	e.renter.gate.Store(nil)
	if a.err != nil || b.err != nil || a.r.ID != b.r.ID || a.replayed == b.replayed {
		t.Fatalf("concurrent: %+v / %+v", a, b)
	}
	r2 := a.r
	if n, l := e.renter.allocs.Load(), leases(); n != 2 || l != 2 {
		t.Fatalf("%d allocations, %d lease containers; want 2 and 2", n, l)
	}
	if r2.Hotkey == r1.Hotkey {
		t.Fatalf("both rentals on %s", r1.Hotkey)
	}

	// The health key logs in: both pass, and their host keys are learnt.
	s.Tick(ctx)
	for _, id := range []string{r1.ID, r2.ID} {
		rec, _ := e.store.Rental(ctx, id)
		d, _ := decodeDetails(rec)
		if rec.Status != StatusActive || rec.Misses != 0 || rec.CheckedAt.IsZero() || d.HostKey == "" {
			t.Fatalf("after a check: %+v (%s)", rec, rec.LastError)
		}
	}
	if _, err := s.Get(ctx, "k2", r1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another key's Get: %v", err)
	}

	// Keys: add one, remove the first, keep the last.
	key2Path, key2 := renterKey(t)
	r, err := s.AddSSHKey(ctx, "k1", r1.ID, key2)
	if err != nil || len(r.SSHKeys) != 2 {
		t.Fatalf("add key: %+v, %v", r, err)
	}
	if _, err := testutil.SSH(t, testutil.Login{Port: r1.Port, User: r1.Username, Identity: key2Path}, "true"); err != nil {
		t.Fatalf("the added key: %v", err)
	}
	if r, err = s.RemoveSSHKey(ctx, "k1", r1.ID, r.SSHKeys[0].Fingerprint); err != nil || len(r.SSHKeys) != 1 {
		t.Fatalf("remove key: %+v, %v", r, err)
	}
	if _, err := testutil.SSH(t, testutil.Login{Port: r1.Port, User: r1.Username, Identity: key1Path}, "true"); err == nil {
		t.Fatal("the removed key still logs in")
	}
	if _, err := s.RemoveSSHKey(ctx, "k1", r1.ID, r.SSHKeys[0].Fingerprint); !errors.Is(err, ErrLastKey) {
		t.Fatalf("remove the last key: %v", err)
	}

	// Extend and restart; the health key still logs in afterwards.
	before := r.ExpiresAt
	if r, err = s.Extend(ctx, "k1", r1.ID, 2); err != nil || !r.ExpiresAt.Equal(before.Add(48*time.Hour)) || r.Timeline != 3 {
		t.Fatalf("extend: %+v, %v", r, err)
	}
	if r, err = s.Restart(ctx, "k1", r1.ID); err != nil || r.Status != StatusActive {
		t.Fatalf("restart: %+v, %v", r, err)
	}
	s.Tick(ctx)
	if rec, _ := e.store.Rental(ctx, r1.ID); rec.Status != StatusActive || rec.Misses != 0 {
		t.Fatalf("after the actions: %+v", rec)
	}

	// Release: the container goes, the rental ends once.
	if r, err = s.Release(ctx, "k1", r1.ID); err != nil || r.Status != StatusReleased || r.ReleasedAt == nil {
		t.Fatalf("release: %+v, %v", r, err)
	}
	if _, err := s.Release(ctx, "k1", r1.ID); !errors.Is(err, ErrEnded) {
		t.Fatalf("second release: %v", err)
	}
	if l := leases(); l != 1 {
		t.Fatalf("%d lease containers after the release, want 1", l)
	}
	if got := e.events.of(r1.ID); strings.Join(got, ",") != EventAllocated+","+EventReleased {
		t.Fatalf("events of %s: %v", r1.ID, got)
	}
	if got := e.events.of(r2.ID); strings.Join(got, ",") != EventAllocated {
		t.Fatalf("events of %s: %v", r2.ID, got)
	}
	if _, err := s.Release(ctx, "", r2.ID); err != nil {
		t.Fatalf("admin release: %v", err)
	}
}

// TestEndToEndHealth: Run probes two real leases; the one whose container
// is killed with the Docker client is marked unhealthy after MaxMisses
// probes, notified and released, while the live one stays active.
func TestEndToEndHealth(t *testing.T) {
	docker := testutil.Docker(t)
	e := newEnv(t, docker)
	m1 := e.startMiner("//Bob//h1")
	m2 := e.startMiner("//Bob//h2")
	s := e.service(Config{HealthInterval: time.Second, MaxMisses: 2, ProbeTimeout: 10 * time.Second, ReleaseUnhealthy: true})
	ctx := context.Background()
	_, key := renterKey(t)
	req := CreateRequest{Requirement: smallReq(), Timeline: 1, SSHKeys: []string{key}}
	ra, _, err := s.Create(ctx, "k1", "a", req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _, err := s.Create(ctx, "k1", "b", req)
	if err != nil {
		t.Fatal(err)
	}
	victim := m1
	if ra.Hotkey == m2.hotkey.SS58Address() {
		victim = m2
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() {
		stop()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("Run did not stop")
		}
	}()
	checked := func(id string) (Rental, bool) {
		r, err := s.Get(ctx, "k1", id)
		return r, err == nil && r.Health.CheckedAt != nil
	}
	waitFor(t, "the first checks", func() bool {
		_, a := checked(ra.ID)
		_, b := checked(rb.ID)
		return a && b
	})
	for _, id := range []string{ra.ID, rb.ID} {
		if r, _ := checked(id); r.Status != StatusActive || r.Health.Misses != 0 {
			t.Fatalf("a live lease: %+v", r)
		}
	}

	ids := e.containers(victim)
	if len(ids) != 1 {
		t.Fatalf("victim containers %v", ids)
	}
	if _, err := docker.ContainerKill(ctx, ids[0], client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, "the killed lease released", func() bool {
		r, _ := s.Get(ctx, "k1", ra.ID)
		return r.Status == StatusReleased
	})
	t.Logf("killed lease released %v after the kill", time.Since(killed).Round(time.Millisecond))
	if got := e.events.of(ra.ID); strings.Join(got, ",") != EventAllocated+","+EventUnhealthy+","+EventReleased {
		t.Fatalf("events of the killed lease: %v", got)
	}
	if r, _ := s.Get(ctx, "k1", ra.ID); r.Health.Misses < 2 || r.Health.LastError == "" {
		t.Fatalf("the killed lease's health: %+v", r.Health)
	}

	// The live one keeps passing.
	r, _ := checked(rb.ID)
	since := *r.Health.CheckedAt
	waitFor(t, "two more checks of the live lease", func() bool {
		r, _ := checked(rb.ID)
		return r.Health.CheckedAt.After(since.Add(time.Second))
	})
	if r, _ := s.Get(ctx, "k1", rb.ID); r.Status != StatusActive || r.Health.Misses != 0 || r.Health.LastError != "" {
		t.Fatalf("the live lease: %+v", r)
	}
	if got := e.events.of(rb.ID); len(got) != 1 {
		t.Fatalf("events of the live lease: %v", got)
	}
}
