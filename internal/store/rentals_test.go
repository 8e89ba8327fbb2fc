package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

func rental(id, owner, hotkey string, created time.Time) Rental {
	return Rental{ID: id, Owner: owner, Hotkey: hotkey, Status: RentalActive, Details: json.RawMessage(`{"port":2222}`),
		CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour)}
}

func TestRentalsCreateAndRead(t *testing.T) {
	v, path := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	for _, r := range []Rental{rental("r_1", "k1", hk(1), t0), rental("r_2", "k2", hk(2), t0.Add(time.Second)), rental("r_3", "k1", hk(3), t0.Add(2*time.Second))} {
		if _, err := v.CreateRental(ctx, r, IdempotencyDone{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		owner string
		want  []string
	}{
		{"", []string{"r_1", "r_2", "r_3"}},
		{"k1", []string{"r_1", "r_3"}},
		{"k2", []string{"r_2"}},
		{"k9", nil},
	}
	for _, tc := range tests {
		got, err := v.Rentals(ctx, tc.owner)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			t.Errorf("owner %q: nil list", tc.owner)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) || (len(ids) > 1 && ids[len(ids)-1] != tc.want[len(tc.want)-1]) {
			t.Errorf("owner %q: %v, want %v", tc.owner, ids, tc.want)
		}
	}

	bad := []struct {
		name string
		r    Rental
		want error
	}{
		{"same id", rental("r_1", "k1", hk(9), t0), ErrRentalExists},
		{"no id", rental("", "k1", hk(9), t0), nil},
		{"ended", func() Rental { r := rental("r_9", "k1", hk(9), t0); r.Status = RentalReleased; return r }(), nil},
		{"bad details", func() Rental { r := rental("r_9", "k1", hk(9), t0); r.Details = json.RawMessage("{"); return r }(), nil},
		{"no expiry", func() Rental { r := rental("r_9", "k1", hk(9), t0); r.ExpiresAt = time.Time{}; return r }(), nil},
	}
	for _, tc := range bad {
		_, err := v.CreateRental(ctx, tc.r, IdempotencyDone{})
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want an error (%v)", tc.name, err, tc.want)
		}
	}

	// Survives a restart.
	v.Close()
	v2, err := OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	r, err := v2.Rental(ctx, "r_2")
	if err != nil || r.Owner != "k2" || r.Hotkey != hk(2) || r.Status != RentalActive || string(r.Details) != `{"port":2222}` ||
		!r.CreatedAt.Equal(t0.Add(time.Second)) || !r.ExpiresAt.Equal(t0.Add(24*time.Hour+time.Second)) || !r.EndedAt.IsZero() || !r.CheckedAt.IsZero() {
		t.Fatalf("after reopening: %+v, %v", r, err)
	}
	if _, err := v2.Rental(ctx, "r_nope"); !errors.Is(err, ErrRentalNotFound) {
		t.Fatalf("unknown rental: %v", err)
	}
}

func TestRentalLifecycle(t *testing.T) {
	v, _ := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	if _, err := v.CreateRental(ctx, rental("r_1", "k1", hk(1), t0), IdempotencyDone{}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		check  RentalCheck
		before string
		misses int
	}{
		{"miss", RentalCheck{At: t0.Add(time.Minute), Status: RentalActive, Misses: 1, LastError: "connection refused"}, RentalActive, 1},
		{"unhealthy", RentalCheck{At: t0.Add(2 * time.Minute), Status: RentalUnhealthy, Misses: 2, LastError: "timeout"}, RentalActive, 2},
		{"recovered", RentalCheck{At: t0.Add(3 * time.Minute), Status: RentalActive, Details: json.RawMessage(`{"host_key":"x"}`)}, RentalUnhealthy, 0},
	}
	for _, s := range steps {
		prev, err := v.RecordRentalCheck(ctx, "r_1", s.check)
		if err != nil || prev != s.before {
			t.Fatalf("%s: previous %q, %v; want %q", s.name, prev, err, s.before)
		}
		r, _ := v.Rental(ctx, "r_1")
		if r.Status != s.check.Status || r.Misses != s.misses || r.LastError != s.check.LastError || !r.CheckedAt.Equal(s.check.At) {
			t.Fatalf("%s: %+v", s.name, r)
		}
	}
	if r, _ := v.Rental(ctx, "r_1"); string(r.Details) != `{"host_key":"x"}` {
		t.Fatalf("details %s", r.Details)
	}
	if _, err := v.RecordRentalCheck(ctx, "r_1", RentalCheck{At: t0, Status: RentalExpired}); err == nil {
		t.Fatal("an end status recorded as a check")
	}

	newEnd := t0.Add(72 * time.Hour)
	if err := v.UpdateRental(ctx, "r_1", json.RawMessage(`{"port":2223}`), newEnd); err != nil {
		t.Fatal(err)
	}
	due, err := v.DueRentals(ctx, t0.Add(48*time.Hour))
	if err != nil || len(due) != 0 {
		t.Fatalf("due before the new end: %+v, %v", due, err)
	}
	if due, _ := v.DueRentals(ctx, newEnd); len(due) != 1 {
		t.Fatalf("due at the new end: %+v", due)
	}

	if err := v.EndRental(ctx, "r_1", RentalActive, t0); err == nil {
		t.Fatal("a live status accepted as an end")
	}
	end := t0.Add(4 * time.Hour)
	if err := v.EndRental(ctx, "r_1", RentalReleased, end); err != nil {
		t.Fatal(err)
	}
	// An end is reported once; an ended rental takes no more changes.
	if err := v.EndRental(ctx, "r_1", RentalExpired, end); !errors.Is(err, ErrRentalEnded) {
		t.Fatalf("second end: %v", err)
	}
	if _, err := v.RecordRentalCheck(ctx, "r_1", RentalCheck{At: end, Status: RentalActive}); !errors.Is(err, ErrRentalEnded) {
		t.Fatalf("check after the end: %v", err)
	}
	if err := v.UpdateRental(ctx, "r_1", json.RawMessage(`{}`), newEnd); !errors.Is(err, ErrRentalEnded) {
		t.Fatalf("update after the end: %v", err)
	}
	if err := v.EndRental(ctx, "r_none", RentalReleased, end); !errors.Is(err, ErrRentalNotFound) {
		t.Fatalf("end of an unknown rental: %v", err)
	}
	r, _ := v.Rental(ctx, "r_1")
	if r.Status != RentalReleased || !r.EndedAt.Equal(end) || r.Live() {
		t.Fatalf("ended rental %+v", r)
	}
	live, err := v.LiveRentals(ctx)
	if err != nil || len(live) != 0 {
		t.Fatalf("live %+v, %v", live, err)
	}
}

// A new lease of a miner ends the live rental of its old lease, and
// returns it, in the same transaction.
func TestRentalSupersededByNewLease(t *testing.T) {
	v, _ := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	if _, err := v.CreateRental(ctx, rental("r_old", "k1", hk(1), t0), IdempotencyDone{}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(25 * time.Hour)
	old, err := v.CreateRental(ctx, rental("r_new", "k2", hk(1), later), IdempotencyDone{})
	if err != nil || len(old) != 1 || old[0].ID != "r_old" || old[0].Status != RentalReleased {
		t.Fatalf("superseded %+v, %v", old, err)
	}
	live, _ := v.LiveRentals(ctx)
	if len(live) != 1 || live[0].ID != "r_new" {
		t.Fatalf("live %+v", live)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	v, path := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	stale := t0.Add(-24 * time.Hour)
	rec, claimed, err := v.ClaimIdempotencyKey(ctx, "k1", "abc", "h1", t0, stale)
	if err != nil || !claimed || rec.State != IdempotencyPending || rec.RequestHash != "h1" {
		t.Fatalf("first claim: %+v %v %v", rec, claimed, err)
	}
	tests := []struct {
		name          string
		owner, key, h string
		claimed       bool
		state         string
	}{
		{"same key, pending", "k1", "abc", "h1", false, IdempotencyPending},
		{"same key, other body", "k1", "abc", "h2", false, IdempotencyPending},
		{"same key, other owner", "k2", "abc", "h1", true, IdempotencyPending},
		{"other key", "k1", "def", "h1", true, IdempotencyPending},
	}
	for _, tc := range tests {
		rec, claimed, err := v.ClaimIdempotencyKey(ctx, tc.owner, tc.key, tc.h, t0.Add(time.Second), stale)
		if err != nil || claimed != tc.claimed || rec.State != tc.state {
			t.Errorf("%s: %+v claimed=%v %v", tc.name, rec, claimed, err)
		}
		if !claimed && rec.RequestHash != "h1" {
			t.Errorf("%s: stored hash %q", tc.name, rec.RequestHash)
		}
	}

	// Done with a rental, in one transaction.
	_, err = v.CreateRental(ctx, rental("r_1", "k1", hk(1), t0), IdempotencyDone{Key: "abc", Status: 201, Response: []byte(`{"id":"r_1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.FinishIdempotencyKey(ctx, "k1", "def", IdempotencyFailed, 503, []byte(`{"code":"none_available"}`)); err != nil {
		t.Fatal(err)
	}
	if err := v.FinishIdempotencyKey(ctx, "k1", "nope", IdempotencyFailed, 503, nil); err == nil {
		t.Fatal("finished a key never claimed")
	}
	if err := v.FinishIdempotencyKey(ctx, "k1", "def", IdempotencyPending, 0, nil); err == nil {
		t.Fatal("pending accepted as a final state")
	}

	// Survives a restart.
	v.Close()
	v, err = OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	rec, claimed, err = v.ClaimIdempotencyKey(ctx, "k1", "abc", "h1", t0.Add(time.Hour), stale)
	if err != nil || claimed || rec.State != IdempotencyDoneState || rec.Status != 201 || string(rec.Response) != `{"id":"r_1"}` {
		t.Fatalf("after reopening: %+v %v %v", rec, claimed, err)
	}
	rec, _, _ = v.ClaimIdempotencyKey(ctx, "k1", "def", "h1", t0.Add(time.Hour), stale)
	if rec.State != IdempotencyFailed || rec.Status != 503 {
		t.Fatalf("failed key: %+v", rec)
	}

	// A day later the key is new again, and old keys are purged.
	rec, claimed, err = v.ClaimIdempotencyKey(ctx, "k1", "abc", "h2", t0.Add(25*time.Hour), t0.Add(time.Hour))
	if err != nil || !claimed || rec.RequestHash != "h2" {
		t.Fatalf("claim of a stale key: %+v %v %v", rec, claimed, err)
	}
	n, err := v.PurgeIdempotencyKeys(ctx, t0.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want the two keys of k1/def and k2/abc", n, err)
	}
}

// Concurrent claims of one key: exactly one wins.
func TestIdempotencyClaimRace(t *testing.T) {
	v, _ := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan bool, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, claimed, err := v.ClaimIdempotencyKey(ctx, "k1", "race", "h", t0, t0.Add(-time.Hour))
			if err != nil {
				t.Error(err)
			}
			wins <- claimed
		}()
	}
	wg.Wait()
	close(wins)
	won := 0
	for w := range wins {
		if w {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want 1", won)
	}
}
