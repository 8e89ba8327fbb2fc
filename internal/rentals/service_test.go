package rentals

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
)

// renterKey is an ed25519 public key made with ssh-keygen, with a comment.
func renterKey(t *testing.T) (path, public string) {
	t.Helper()
	path, public = testutil.SSHKey(t)
	return path, public + " me@laptop"
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"defaults", Config{DataDir: "/d"}, ""},
		{"all set", Config{DataDir: "/d", HealthInterval: time.Minute, MaxMisses: 5, ProbeTimeout: 5 * time.Second, ReleaseUnhealthy: true}, ""},
		{"no data dir", Config{}, "rentals.Config.DataDir"},
		{"interval too short", Config{DataDir: "/d", HealthInterval: time.Millisecond}, "rentals.Config.HealthInterval"},
		{"negative misses", Config{DataDir: "/d", MaxMisses: -1}, "rentals.Config.MaxMisses"},
		{"probe too short", Config{DataDir: "/d", ProbeTimeout: time.Millisecond}, "rentals.Config.ProbeTimeout"},
	} {
		err := tc.cfg.Validate()
		var fe *config.FieldError
		if (tc.field == "") != (err == nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != tc.field)) {
			t.Errorf("%s: %v, want field %q", tc.name, err, tc.field)
		}
	}
	e := newEnv(t, nil)
	s := e.service(Config{})
	if s.cfg.HealthInterval != 2*time.Minute || s.cfg.MaxMisses != 3 || s.cfg.ProbeTimeout != 20*time.Second {
		t.Fatalf("defaults not applied: %+v", s.cfg)
	}
	if _, err := New(Config{DataDir: e.dir}, Deps{Store: e.store}); err == nil {
		t.Fatal("New without a renter accepted")
	}
}

// TestCreateRefusesBadRequests: a bad request is a field error, claims no
// key and allocates nothing.
func TestCreateRefusesBadRequests(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{})
	_, good := renterKey(t)
	bigReq := &container.Requirement{CPU: container.CPURequirement{Count: 0}, RAM: container.SizeRequirement{Capacity: 1 << 30}}
	for _, tc := range []struct {
		name  string
		key   string
		req   CreateRequest
		field string
	}{
		{"no idempotency key", "", CreateRequest{Timeline: 1, SSHKeys: []string{good}}, "rentals.Create.IdempotencyKey"},
		{"idempotency key with a space", "a b", CreateRequest{Timeline: 1, SSHKeys: []string{good}}, "rentals.Create.IdempotencyKey"},
		{"idempotency key too long", strings.Repeat("k", 256), CreateRequest{Timeline: 1, SSHKeys: []string{good}}, "rentals.Create.IdempotencyKey"},
		{"no keys", "k", CreateRequest{Timeline: 1}, "rentals.CreateRequest.SSHKeys"},
		{"bad key", "k", CreateRequest{Timeline: 1, SSHKeys: []string{good, "ssh-ed25519 AAAA"}}, "rentals.CreateRequest.SSHKeys"},
		{"key with options", "k", CreateRequest{Timeline: 1, SSHKeys: []string{`command="sh" ` + good}}, "rentals.CreateRequest.SSHKeys"},
		{"too many keys", "k", CreateRequest{Timeline: 1, SSHKeys: make([]string, maxRenterKeys+1)}, "rentals.CreateRequest.SSHKeys"},
		{"no timeline", "k", CreateRequest{SSHKeys: []string{good}}, "rentals.CreateRequest.Timeline"},
		{"timeline too long", "k", CreateRequest{Timeline: renter.MaxTimeline + 1, SSHKeys: []string{good}}, "rentals.CreateRequest.Timeline"},
		{"bad hotkey", "k", CreateRequest{Hotkey: "5notanaddress", Timeline: 1, SSHKeys: []string{good}}, "rentals.CreateRequest.Hotkey"},
		{"bad requirement", "k", CreateRequest{Requirement: bigReq, Timeline: 1, SSHKeys: []string{good}}, "rentals.CreateRequest.Requirement"},
	} {
		_, _, err := s.Create(context.Background(), "k1", tc.key, tc.req)
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || HTTPStatus(err) != http.StatusBadRequest {
			t.Errorf("%s: %v, want a field error on %s", tc.name, err, tc.field)
		}
	}
	if n := e.renter.allocs.Load(); n != 0 {
		t.Fatalf("%d allocations for refused requests", n)
	}
	// A refused request leaves its key free: the same key with a good body runs.
	_, _, err := s.Create(context.Background(), "k1", "k", CreateRequest{Requirement: &container.Requirement{CPU: container.CPURequirement{Count: 64}, RAM: container.SizeRequirement{Capacity: 1 << 30}}, Timeline: 1, SSHKeys: []string{good}})
	if !errors.Is(err, renter.ErrNoCandidate) || e.renter.allocs.Load() != 1 {
		t.Fatalf("after refusals: %v (%d allocations)", err, e.renter.allocs.Load())
	}
}

// TestCreateFailureReplayed: a failed allocation is the answer to every
// retry with its key (the renter is not asked again); another body with
// the key is refused; another owner's same key is its own.
func TestCreateFailureReplayed(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{})
	ctx := context.Background()
	_, key := renterKey(t)
	huge := CreateRequest{Requirement: &container.Requirement{CPU: container.CPURequirement{Count: 64}, RAM: container.SizeRequirement{Capacity: 1 << 30}},
		Timeline: 1, SSHKeys: []string{key}}
	_, replayed, err := s.Create(ctx, "k1", "idem-1", huge)
	if !errors.Is(err, renter.ErrNoCandidate) || replayed {
		t.Fatalf("first: %v (replayed %v), want ErrNoCandidate", err, replayed)
	}
	for i := range 2 {
		_, replayed, err = s.Create(ctx, "k1", "idem-1", huge)
		var re *ReplayedError
		if !errors.Is(err, renter.ErrNoCandidate) || !errors.As(err, &re) || !replayed || HTTPStatus(err) != http.StatusUnprocessableEntity {
			t.Fatalf("retry %d: %v (replayed %v)", i+1, err, replayed)
		}
	}
	if n := e.renter.allocs.Load(); n != 1 {
		t.Fatalf("%d allocations, want 1", n)
	}
	other := huge
	other.Timeline = 2
	if _, _, err := s.Create(ctx, "k1", "idem-1", other); !errors.Is(err, ErrIdempotencyMismatch) || HTTPStatus(err) != http.StatusUnprocessableEntity {
		t.Fatalf("another body: %v", err)
	}
	// The same body written differently (the default requirement spelt out,
	// a repeated key) is the same request.
	def := CreateRequest{Timeline: 1, SSHKeys: []string{key}}
	spelt := CreateRequest{Requirement: &container.Requirement{CPU: container.CPURequirement{Count: 1}, RAM: container.SizeRequirement{Capacity: 1 << 30}},
		Timeline: 1, SSHKeys: []string{key, key}}
	if _, _, err := s.Create(ctx, "k1", "idem-2", def); !errors.Is(err, renter.ErrNoCandidate) {
		t.Fatalf("default requirement: %v", err)
	}
	if _, replayed, err := s.Create(ctx, "k1", "idem-2", spelt); !replayed || !errors.Is(err, renter.ErrNoCandidate) {
		t.Fatalf("the same request spelt differently: %v (replayed %v)", err, replayed)
	}
	if _, replayed, err := s.Create(ctx, "k2", "idem-1", huge); replayed || !errors.Is(err, renter.ErrNoCandidate) {
		t.Fatalf("another owner's key: %v (replayed %v)", err, replayed)
	}
	if n := e.renter.allocs.Load(); n != 3 {
		t.Fatalf("%d allocations, want 3", n)
	}
}

// TestCreateWhileRunning: a retry arriving while the first request runs
// waits for it and gets its outcome; a caller whose context ends first
// gets ErrInProgress, and the allocation goes on.
func TestCreateWhileRunning(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{})
	_, key := renterKey(t)
	req := CreateRequest{Requirement: &container.Requirement{CPU: container.CPURequirement{Count: 64}, RAM: container.SizeRequirement{Capacity: 1 << 30}},
		Timeline: 1, SSHKeys: []string{key}}
	gate := make(chan struct{})
	e.renter.gate.Store(&gate)

	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := s.Create(short, "k1", "idem", req); !errors.Is(err, ErrInProgress) || HTTPStatus(err) != http.StatusConflict {
		t.Fatalf("first, cut short: %v, want ErrInProgress", err)
	}
	type result struct {
		replayed bool
		err      error
	}
	done := make(chan result, 2)
	for range 2 {
		go func() {
			_, replayed, err := s.Create(context.Background(), "k1", "idem", req)
			done <- result{replayed, err}
		}()
	}
	select {
	case r := <-done:
		t.Fatalf("a retry returned while the first request runs: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	close(gate)
	for range 2 {
		r := <-done
		if !r.replayed || !errors.Is(r.err, renter.ErrNoCandidate) {
			t.Fatalf("retry: %+v, want the first's ErrNoCandidate, replayed", r)
		}
	}
	if n := e.renter.allocs.Load(); n != 1 {
		t.Fatalf("%d allocations, want 1", n)
	}
}

// TestCreateInterrupted: a key a previous run of the server claimed and
// never finished is not run again.
func TestCreateInterrupted(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{})
	ctx := context.Background()
	_, key := renterKey(t)
	req := CreateRequest{Timeline: 1, SSHKeys: []string{key}}
	c, err := check(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := e.store.ClaimIdempotencyKey(ctx, "k1", "idem", c.hash(), time.Now().Add(-time.Minute), time.Now().Add(-IdempotencyTTL)); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	for i := range 2 {
		_, replayed, err := s.Create(ctx, "k1", "idem", req)
		if !errors.Is(err, ErrInterrupted) || !replayed || HTTPStatus(err) != http.StatusConflict {
			t.Fatalf("try %d: %v (replayed %v), want ErrInterrupted", i+1, err, replayed)
		}
	}
	if n := e.renter.allocs.Load(); n != 0 {
		t.Fatalf("%d allocations, want none", n)
	}
}

// seed stores a live rental as Create records one, on host:port.
func seed(t *testing.T, st *store.Validator, id, owner, hotkey, host string, port int, keys []string, created, expires time.Time) store.Rental {
	t.Helper()
	rec := store.Rental{ID: id, Owner: owner, Hotkey: hotkey, Status: store.RentalActive, CreatedAt: created, ExpiresAt: expires,
		Details: encodeDetails(details{UID: 3, Host: host, Port: port, Username: "root", SSHKeys: keys, Health: true,
			Resource: *smallReq(), Timeline: 1})}
	if _, err := st.CreateRental(context.Background(), rec, store.IdempotencyDone{}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestOwnership: a key sees and acts on its own rentals only; the admin
// (owner "") sees them all; an ended rental takes no actions.
func TestOwnership(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{})
	ctx := context.Background()
	_, key := renterKey(t)
	now := time.Now()
	seed(t, e.store, "r_a", "k1", testnet.Key(t, "//m1").SS58Address(), "127.0.0.1", 1, []string{key}, now, now.Add(time.Hour))
	seed(t, e.store, "r_b", "k2", testnet.Key(t, "//m2").SS58Address(), "127.0.0.1", 2, []string{key}, now.Add(time.Second), now.Add(time.Hour))

	for _, tc := range []struct {
		owner string
		want  []string
	}{{"k1", []string{"r_a"}}, {"k2", []string{"r_b"}}, {"k3", nil}, {"", []string{"r_a", "r_b"}}} {
		list, err := s.List(ctx, tc.owner)
		if err != nil || list == nil || len(list) != len(tc.want) {
			t.Fatalf("List(%q): %+v, %v", tc.owner, list, err)
		}
		for i, r := range list {
			if r.ID != tc.want[i] || len(r.SSHKeys) != 1 || !strings.HasPrefix(r.SSHKeys[0].Fingerprint, "SHA256:") || !r.HealthKey {
				t.Fatalf("List(%q)[%d] = %+v", tc.owner, i, r)
			}
		}
	}
	if r, err := s.Get(ctx, "", "r_a"); err != nil || r.Owner != "k1" || r.SSHCommand != "ssh root@127.0.0.1 -p 1" || r.ReleasedAt != nil || r.Health.CheckedAt != nil {
		t.Fatalf("admin Get: %+v, %v", r, err)
	}
	// Another key's rental does not exist for k2, whatever the action.
	fp := func() string { r, _ := s.Get(ctx, "k1", "r_a"); return r.SSHKeys[0].Fingerprint }()
	actions := map[string]func() error{
		"get":        func() error { _, err := s.Get(ctx, "k2", "r_a"); return err },
		"release":    func() error { _, err := s.Release(ctx, "k2", "r_a"); return err },
		"extend":     func() error { _, err := s.Extend(ctx, "k2", "r_a", 1); return err },
		"restart":    func() error { _, err := s.Restart(ctx, "k2", "r_a"); return err },
		"add key":    func() error { _, err := s.AddSSHKey(ctx, "k2", "r_a", key); return err },
		"remove key": func() error { _, err := s.RemoveSSHKey(ctx, "k2", "r_a", fp); return err },
		"unknown id": func() error { _, err := s.Get(ctx, "", "r_nope\x00\n"); return err },
	}
	for name, act := range actions {
		if err := act(); !errors.Is(err, ErrNotFound) || HTTPStatus(err) != http.StatusNotFound {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if r, _ := s.Get(ctx, "", "r_a"); r.Status != StatusActive {
		t.Fatalf("another key's actions changed the rental: %+v", r)
	}

	// The renter holds no lease for r_a (it was released outside the API):
	// releasing it just ends it.
	r, err := s.Release(ctx, "k1", "r_a")
	if err != nil || r.Status != StatusReleased || r.ReleasedAt == nil {
		t.Fatalf("release: %+v, %v", r, err)
	}
	if got := e.events.of("r_a"); len(got) != 1 || got[0] != EventReleased {
		t.Fatalf("events %v", got)
	}
	for name, act := range map[string]func() (Rental, error){
		"release again": func() (Rental, error) { return s.Release(ctx, "k1", "r_a") },
		"extend":        func() (Rental, error) { return s.Extend(ctx, "k1", "r_a", 1) },
		"restart":       func() (Rental, error) { return s.Restart(ctx, "k1", "r_a") },
		"add key":       func() (Rental, error) { return s.AddSSHKey(ctx, "k1", "r_a", key) },
	} {
		r, err := act()
		if !errors.Is(err, ErrEnded) || r.ID != "r_a" || HTTPStatus(err) != http.StatusConflict {
			t.Errorf("%s on an ended rental: %+v, %v", name, r, err)
		}
	}
	// A lease action on a rental whose lease the renter forgot ends it too.
	if _, err := s.Restart(ctx, "k2", "r_b"); !errors.Is(err, ErrEnded) {
		t.Fatalf("restart of a forgotten lease: %v", err)
	}
	if r, _ := s.Get(ctx, "k2", "r_b"); r.Status != StatusReleased {
		t.Fatalf("forgotten lease: %+v", r)
	}
	if _, err := s.Extend(ctx, "k1", "r_a", 0); !errors.As(err, new(*config.FieldError)) {
		t.Fatalf("extend by 0 days: %v", err)
	}
	if got := e.events.of("r_a"); len(got) != 1 {
		t.Fatalf("an end reported twice: %v", got)
	}
}

// TestExpiry: a live rental past its end expires once, with its event.
func TestExpiry(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	clock := now
	s, err := New(Config{DataDir: e.dir}, Deps{Store: e.store, Renter: e.renter, Notifier: e.events, Log: testLog(), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	_, key := renterKey(t)
	seed(t, e.store, "r_old", "k1", "5Mold", "127.0.0.1", 1, []string{key}, now.Add(-25*time.Hour), now.Add(-time.Hour))
	seed(t, e.store, "r_new", "k1", "5Mnew", "127.0.0.1", 1, []string{key}, now, now.Add(24*time.Hour))
	ctx := context.Background()
	s.expire(ctx)
	s.expire(ctx)
	if r, _ := s.Get(ctx, "k1", "r_old"); r.Status != StatusExpired || r.ReleasedAt == nil {
		t.Fatalf("past its end: %+v", r)
	}
	if r, _ := s.Get(ctx, "k1", "r_new"); r.Status != StatusActive {
		t.Fatalf("before its end: %+v", r)
	}
	if got := e.events.of("r_old"); len(got) != 1 || got[0] != EventExpired {
		t.Fatalf("events %v", got)
	}
	clock = now.Add(25 * time.Hour)
	s.expire(ctx)
	if got := e.events.of("r_new"); len(got) != 1 || got[0] != EventExpired {
		t.Fatalf("events %v", got)
	}
}

// TestExpiryFollowsExtension: a lease extended outside the API (`compute
// allocate extend` records a later end on the allocation) moves its
// rental's end instead of expiring it; a newer lease on the same miner
// (another allocation) does not.
func TestExpiryFollowsExtension(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	clock := now
	s, err := New(Config{DataDir: e.dir}, Deps{Store: e.store, Renter: e.renter, Notifier: e.events, Log: testLog(), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	_, key := renterKey(t)
	ctx := context.Background()
	created := now.Add(-25 * time.Hour)
	seed(t, e.store, "r_ext", "k1", "5Mext", "127.0.0.1", 1, []string{key}, created, now.Add(-time.Hour))
	seed(t, e.store, "r_other", "k1", "5Mother", "127.0.0.1", 1, []string{key}, created, now.Add(-time.Hour))
	for _, a := range []store.Allocation{
		{Hotkey: "5Mext", CreatedAt: created, ExpiresAt: created.Add(3 * 24 * time.Hour), Details: json.RawMessage(`{}`)},
		// The miner of r_other leased again after it: another lease.
		{Hotkey: "5Mother", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(24 * time.Hour), Details: json.RawMessage(`{}`)},
	} {
		if err := e.store.SaveAllocation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s.expire(ctx)
	r, err := s.Get(ctx, "k1", "r_ext")
	if err != nil || r.Status != StatusActive || r.Timeline != 3 || !r.ExpiresAt.Equal(created.Add(3*24*time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("extended lease: %+v (%v), want active until %v, 3 days", r, err, created.Add(3*24*time.Hour))
	}
	if got := e.events.of("r_ext"); len(got) != 0 {
		t.Fatalf("events of the extended rental %v, want none", got)
	}
	if r, _ := s.Get(ctx, "k1", "r_other"); r.Status != StatusExpired {
		t.Fatalf("a newer lease on the same miner kept the rental: %+v", r)
	}
	if all, err := e.store.Allocations(ctx); err != nil || len(all) != 2 {
		t.Fatalf("allocations after the expiry: %+v (%v), want both kept (the newer lease is not the rental's)", all, err)
	}
	clock = created.Add(3*24*time.Hour + time.Minute)
	s.expire(ctx)
	if r, _ := s.Get(ctx, "k1", "r_ext"); r.Status != StatusExpired {
		t.Fatalf("past its extended end: %+v", r)
	}
	if got := e.events.of("r_ext"); len(got) != 1 || got[0] != EventExpired {
		t.Fatalf("events %v", got)
	}
}

func TestHealthKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadHealthKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, HealthKeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v", fi, err)
	}
	k2, err := loadHealthKey(dir)
	if err != nil || k2.public != k1.public || !strings.HasPrefix(k1.public, "ssh-ed25519 ") {
		t.Fatalf("reloaded %q, made %q, %v", k2.public, k1.public, err)
	}
	if _, err := container.NormalizeSSHKey(k1.public); err != nil {
		t.Fatalf("the health key is not a key a lease takes: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "."+HealthKeyFile+"*")); len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
	os.Chmod(path, 0o644)
	if _, err := loadHealthKey(dir); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("a key others may read: %v", err)
	}
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, err := loadHealthKey(dir); err == nil {
		t.Fatal("a garbage key accepted")
	}
	// The Service says where its key is wrong at Run.
	e := newEnv(t, nil)
	s := e.service(Config{DataDir: dir})
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("Run with a garbage key returned nil")
	}
}

func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 200},
		{ErrNotFound, 404},
		{ErrIdempotencyMismatch, 422},
		{ErrInProgress, 409},
		{ErrInterrupted, 409},
		{ErrEnded, 409},
		{ErrLastKey, 409},
		{config.Errorf("rentals.CreateRequest.Timeline", "bad"), 400},
		{renter.ErrNoCandidate, 422},
		{errors.Join(renter.ErrNoneAvailable, renter.ErrRefused), 503},
		{errors.Join(renter.ErrNoneAvailable, renter.ErrAllHeld), 409},
		{&renter.HeldError{}, 409},
		{renter.ErrUnsupported, 501},
		{renter.ErrRefused, 409},
		{&renter.ReleaseError{Err: renter.ErrUnreachable}, 502},
		{context.DeadlineExceeded, 504},
		{errors.New("disk full"), 500},
	} {
		if got := HTTPStatus(tc.err); got != tc.want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestStoredFailure: a failure read back matches what the first matched.
func TestStoredFailure(t *testing.T) {
	for _, err := range []error{
		renter.ErrNoCandidate,
		errors.Join(renter.ErrNoneAvailable, renter.ErrAllHeld),
		ErrInterrupted,
		config.Errorf("renter.Request.Hotkey", "not registered"),
		errors.New("plain"),
	} {
		back := replayedFailure(failure(err))
		if !strings.Contains(back.Error(), err.Error()) || HTTPStatus(back) != HTTPStatus(err) {
			t.Errorf("%v came back as %v (status %d, want %d)", err, back, HTTPStatus(back), HTTPStatus(err))
		}
		var fe *config.FieldError
		if errors.As(err, &fe) {
			var fb *config.FieldError
			if !errors.As(back, &fb) || fb.Field != fe.Field {
				t.Errorf("%v: field error lost", err)
			}
		}
	}
	if err := replayedFailure([]byte("garbage")); err == nil {
		t.Error("an unreadable stored failure is no error")
	}
}

// FuzzCheck: any request is refused with a field error or accepted with
// keys a lease takes, without a panic; the hash does not depend on spelling.
func FuzzCheck(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host", "", 1, "")
	f.Add("ssh-rsa AAAA", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", 61, "x\x00y")
	f.Fuzz(func(t *testing.T, key, hotkey string, timeline int, key2 string) {
		c, err := check(CreateRequest{Hotkey: hotkey, Timeline: timeline, SSHKeys: []string{key, key2}})
		if err != nil {
			if !errors.As(err, new(*config.FieldError)) {
				t.Fatalf("not a field error: %v", err)
			}
			return
		}
		for _, k := range c.keys {
			if _, err := container.NormalizeSSHKey(k); err != nil {
				t.Fatalf("accepted key %q is not one a lease takes: %v", k, err)
			}
			if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil || len(rest) != 0 || strings.ContainsAny(k, "\r\n") {
				t.Fatalf("accepted key %q shows as more than one line", k)
			}
		}
		again, _ := check(CreateRequest{Hotkey: hotkey, Timeline: timeline, SSHKeys: append(c.keys, c.keys...)})
		if again.hash() != c.hash() {
			t.Fatal("the same keys hash differently")
		}
	})
}

func TestViewJSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	rec := store.Rental{ID: "r_1", Owner: "k1", Hotkey: "5M", Status: store.RentalActive, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Details: encodeDetails(details{Host: "1.2.3.4", Port: 2222, Username: "root", Health: true, HostKey: "secret-ish"})}
	b, err := json.Marshal(view(rec))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"id", "hotkey", "uid", "host", "port", "username", "ssh_command", "ssh_keys", "resource", "status", "health", "created_at", "expires_at", "released_at", "health_key"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if m["ssh_keys"] == nil || m["released_at"] != nil || m["created_at"] != "2026-01-02T02:04:05Z" || strings.Contains(string(b), "secret-ish") {
		t.Fatalf("rental JSON %s", b)
	}
}

// TestReleaseUnconfirmed: a healthy rental whose miner cannot confirm the
// release keeps its lease and says why; once unhealthy, it is released.
func TestReleaseUnconfirmed(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{})
	ctx := context.Background()
	_, key := renterKey(t)
	now := time.Now()
	seed(t, e.store, "r_1", "k1", "5Mone", "127.0.0.1", 1, []string{key}, now, now.Add(24*time.Hour))
	if err := e.store.SaveAllocation(ctx, store.Allocation{Hotkey: "5Mone", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		Details: []byte(`{"key_file":"` + filepath.Join(t.TempDir(), "gone.pem") + `"}`)}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Release(ctx, "k1", "r_1")
	var re *renter.ReleaseError
	if !errors.As(err, &re) || r.Status != StatusActive {
		t.Fatalf("release: %+v, %v; want a ReleaseError and the rental kept", r, err)
	}
	if _, err := e.store.RecordRentalCheck(ctx, "r_1", store.RentalCheck{At: now, Status: store.RentalUnhealthy, Misses: 3, LastError: "down"}); err != nil {
		t.Fatal(err)
	}
	if r, err = s.Release(ctx, "k1", "r_1"); err != nil || r.Status != StatusReleased {
		t.Fatalf("release of the unhealthy rental: %+v, %v", r, err)
	}
	if recs, _ := e.store.Allocations(ctx); len(recs) != 0 {
		t.Fatalf("the renter's record was kept: %+v", recs)
	}
}

// TestIdempotencyKeysPurged: a day after, a key is new again.
func TestIdempotencyKeysPurged(t *testing.T) {
	e := newEnv(t, nil)
	clock := time.Now()
	s, err := New(Config{DataDir: e.dir}, Deps{Store: e.store, Renter: e.renter, Log: testLog(), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, key := renterKey(t)
	req := CreateRequest{Requirement: &container.Requirement{CPU: container.CPURequirement{Count: 64}, RAM: container.SizeRequirement{Capacity: 1 << 30}},
		Timeline: 1, SSHKeys: []string{key}}
	s.Create(ctx, "k1", "idem", req)
	clock = clock.Add(IdempotencyTTL - time.Minute)
	s.Tick(ctx)
	if _, replayed, _ := s.Create(ctx, "k1", "idem", req); !replayed {
		t.Fatal("the key was forgotten within a day")
	}
	clock = clock.Add(2 * time.Minute)
	s.Tick(ctx)
	if _, replayed, err := s.Create(ctx, "k1", "idem", req); replayed || !errors.Is(err, renter.ErrNoCandidate) {
		t.Fatalf("a day later: %v (replayed %v)", err, replayed)
	}
	if n := e.renter.allocs.Load(); n != 2 {
		t.Fatalf("%d allocations, want 2", n)
	}
}
