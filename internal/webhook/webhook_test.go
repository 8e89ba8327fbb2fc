package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/store"
)

// targets is a map of owners' webhooks.
type targets struct {
	mu sync.Mutex
	m  map[string][2]string // owner -> url, secret
}

func (t *targets) WebhookTarget(_ context.Context, owner string) (string, string, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[owner]
	return v[0], v[1], ok, nil
}

func (t *targets) set(owner, url, secret string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string][2]string{}
	}
	t.m[owner] = [2]string{url, secret}
}

func quiet() *slog.Logger {
	if os.Getenv("WEBHOOK_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStore(t *testing.T, path string) *store.Validator {
	t.Helper()
	st, err := store.OpenValidator(context.Background(), path, store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
	err    error // Verify's verdict
}

// receiver is an httptest webhook receiver answering with answer(n), n
// counting its requests from 1, and verifying each with secret.
type receiver struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, secret string, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{secret: secret, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rc.mu.Lock()
		rc.got = append(rc.got, received{at: time.Now(), header: r.Header.Clone(), body: body,
			err: Verify(secret, r.Header, body, time.Now(), time.Minute)})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// running starts d.Run until the test ends (or stop is called).
func running(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("the dispatcher did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func event(id string) rentals.Event {
	return rentals.Event{Type: rentals.EventAllocated, Time: time.Now().UTC(),
		Rental: rentals.Rental{ID: id, Hotkey: "5Fminer", Port: 2222, Status: rentals.StatusActive, SSHKeys: []rentals.SSHKey{}}}
}

func newDispatcher(t *testing.T, cfg Config, st *store.Validator, tg Targets) *Dispatcher {
	t.Helper()
	d, err := New(cfg, Deps{Store: st, Targets: tg, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDelivery: an event reaches the owner's receiver, signed, with the
// contract's headers and body; an owner without a webhook gets nothing queued.
func TestDelivery(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "v.db"))
	rc := newReceiver(t, "s3cret", nil)
	tg := &targets{}
	tg.set("k1", rc.srv.URL+"/hook", "s3cret")
	d := newDispatcher(t, Config{}, st, tg)
	running(t, d)

	d.Notify(context.Background(), "k1", event("r_1"))
	d.Notify(context.Background(), "nobody", event("r_2"))
	waitFor(t, "the delivery", func() bool { return len(rc.requests()) == 1 })
	got := rc.requests()[0]
	if got.err != nil {
		t.Fatalf("signature: %v", got.err)
	}
	var b Body
	if err := json.Unmarshal(got.body, &b); err != nil {
		t.Fatal(err)
	}
	var r rentals.Rental
	if err := json.Unmarshal(b.Rental, &r); err != nil || r.ID != "r_1" || b.Type != rentals.EventAllocated || b.ID == "" || b.Time.IsZero() {
		t.Fatalf("body %s (%v)", got.body, err)
	}
	h := got.header
	if h.Get("Content-Type") != "application/json" || h.Get(HeaderEvent) != rentals.EventAllocated || h.Get(HeaderDelivery) != b.ID {
		t.Fatalf("headers %v", h)
	}
	id, _ := strconv.ParseInt(b.ID, 10, 64)
	waitFor(t, "the delivery recorded", func() bool {
		dl, err := st.WebhookDelivery(context.Background(), id)
		return err == nil && !dl.DeliveredAt.IsZero() && dl.Attempts == 1
	})
	if all, _ := st.WebhookDeliveries(context.Background(), "", 0); len(all) != 1 {
		t.Fatalf("deliveries %+v: the owner without a webhook got one queued", all)
	}
}

// TestRetryBackoffAndGiveUp: 500s are retried after growing waits until a
// 2xx; a receiver that never accepts is given up after MaxAttempts.
func TestRetryBackoffAndGiveUp(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "v.db"))
	flaky := newReceiver(t, "a", func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			http.Error(w, "not now", http.StatusInternalServerError)
		}
	})
	broken := newReceiver(t, "b", func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "never", http.StatusServiceUnavailable)
	})
	tg := &targets{}
	tg.set("flaky", flaky.srv.URL, "a")
	tg.set("broken", broken.srv.URL, "b")
	base := 200 * time.Millisecond
	d := newDispatcher(t, Config{MaxAttempts: 4, BaseBackoff: base, MaxBackoff: time.Second}, st, tg)
	running(t, d)
	ctx := context.Background()
	d.Notify(ctx, "flaky", event("r_1"))
	d.Notify(ctx, "broken", event("r_2"))

	waitFor(t, "three attempts at the flaky receiver", func() bool { return len(flaky.requests()) == 3 })
	got := flaky.requests()
	for i, g := range got {
		if g.err != nil {
			t.Errorf("attempt %d: %v", i+1, g.err)
		}
		if i > 0 && g.header.Get(HeaderDelivery) != got[0].header.Get(HeaderDelivery) {
			t.Error("the delivery id changed between attempts")
		}
	}
	// The waits grow: at least the base, then twice it.
	if gap := got[1].at.Sub(got[0].at); gap < base {
		t.Errorf("first retry after %v, want at least %v", gap, base)
	}
	if gap := got[2].at.Sub(got[1].at); gap < 2*base {
		t.Errorf("second retry after %v, want at least %v", gap, 2*base)
	}

	waitFor(t, "the broken receiver given up", func() bool {
		all, _ := st.WebhookDeliveries(ctx, "broken", 0)
		return len(all) == 1 && !all[0].FailedAt.IsZero()
	})
	all, _ := st.WebhookDeliveries(ctx, "broken", 0)
	if all[0].Attempts != 4 || !strings.Contains(all[0].LastError, "503") || len(broken.requests()) != 4 {
		t.Fatalf("given up after %d attempts (%d requests), last error %q", all[0].Attempts, len(broken.requests()), all[0].LastError)
	}
	waitFor(t, "the flaky delivery recorded", func() bool {
		all, _ := st.WebhookDeliveries(ctx, "flaky", 0)
		return len(all) == 1 && !all[0].DeliveredAt.IsZero()
	})
	time.Sleep(3 * base)
	if n := len(broken.requests()); n != 4 {
		t.Fatalf("%d requests after giving up", n)
	}
}

// TestResumeAfterRestart: deliveries queued (and failed once) before the
// dispatcher and its store closed go out after they reopen.
func TestResumeAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	ctx := context.Background()
	accept := make(chan struct{})
	rc := newReceiver(t, "s", func(n int, w http.ResponseWriter, _ *http.Request) {
		select {
		case <-accept:
		default:
			http.Error(w, "down", http.StatusBadGateway)
		}
	})
	tg := &targets{}
	tg.set("k1", rc.srv.URL, "s")

	st1, err := store.OpenValidator(ctx, path, store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	d1 := newDispatcher(t, Config{BaseBackoff: 500 * time.Millisecond}, st1, tg)
	d1.Notify(ctx, "k1", event("r_1")) // queued while no dispatcher runs
	stop := running(t, d1)
	waitFor(t, "a first failed attempt", func() bool {
		all, _ := st1.WebhookDeliveries(ctx, "", 0)
		return len(all) == 1 && all[0].Attempts == 1
	})
	stop()
	st1.Close()

	close(accept)
	st2 := openStore(t, path)
	d2 := newDispatcher(t, Config{BaseBackoff: 500 * time.Millisecond}, st2, tg)
	running(t, d2)
	waitFor(t, "the delivery after the restart", func() bool {
		all, _ := st2.WebhookDeliveries(ctx, "", 0)
		return len(all) == 1 && !all[0].DeliveredAt.IsZero()
	})
	all, _ := st2.WebhookDeliveries(ctx, "", 0)
	if all[0].Attempts != 2 {
		t.Fatalf("delivered after %d attempts, want 2", all[0].Attempts)
	}
	for _, g := range rc.requests() {
		if g.err != nil {
			t.Fatalf("signature: %v", g.err)
		}
	}
}

// TestHostileReceivers: a receiver that never answers, one that streams an
// endless body and one that redirects to itself each cost one attempt
// bounded by the timeout, and a good receiver's delivery goes through
// meanwhile.
func TestHostileReceivers(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "v.db"))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := newReceiver(t, "x", func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	huge := newReceiver(t, "x", func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		chunk := []byte(strings.Repeat("A", 64<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	loop := newReceiver(t, "x", func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	})
	good := newReceiver(t, "x", nil)
	tg := &targets{}
	for name, rc := range map[string]*receiver{"slow": slow, "huge": huge, "loop": loop, "good": good} {
		tg.set(name, rc.srv.URL, "x")
	}
	timeout := 2 * time.Second
	d := newDispatcher(t, Config{MaxAttempts: 1, Timeout: timeout}, st, tg)
	running(t, d)
	ctx := context.Background()
	start := time.Now()
	for _, o := range []string{"slow", "huge", "loop", "good"} {
		d.Notify(ctx, o, event("r_"+o))
	}
	waitFor(t, "the good delivery", func() bool {
		all, _ := st.WebhookDeliveries(ctx, "good", 0)
		return len(all) == 1 && !all[0].DeliveredAt.IsZero()
	})
	waitFor(t, "the hostile deliveries given up", func() bool {
		for _, o := range []string{"slow", "huge", "loop"} {
			all, _ := st.WebhookDeliveries(ctx, o, 0)
			if len(all) != 1 || all[0].FailedAt.IsZero() {
				return false
			}
		}
		return true
	})
	t.Logf("all settled in %v", time.Since(start).Round(time.Millisecond))
	for o, want := range map[string]string{"slow": "deadline", "huge": "500", "loop": "302"} {
		all, _ := st.WebhookDeliveries(ctx, o, 0)
		if !strings.Contains(all[0].LastError, want) {
			t.Errorf("%s: last error %q, want it to say %q", o, all[0].LastError, want)
		}
	}
	if n := len(loop.requests()); n != 1 {
		t.Errorf("the redirect was followed: %d requests", n)
	}
}

func TestBackoff(t *testing.T) {
	d := newDispatcher(t, Config{BaseBackoff: time.Second, MaxBackoff: 10 * time.Minute}, openStore(t, filepath.Join(t.TempDir(), "v.db")), &targets{})
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {8, 128 * time.Second}, {10, 512 * time.Second}, {11, 10 * time.Minute}, {1000, 10 * time.Minute}} {
		if got := d.Backoff(tc.attempt); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{DefaultConfig(), true},
		{Config{MaxAttempts: -1}, false},
		{Config{BaseBackoff: time.Minute, MaxBackoff: time.Second}, false},
		{Config{Concurrency: 1000}, false},
		{Config{Timeout: -time.Second}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("New without a store accepted")
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"1","type":"rental.allocated"}`)
	signed := func(secret string, ts int64, b []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, Sign(secret, ts, b))
		return h
	}
	good := signed("k", now.Unix(), body)
	tests := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		want   error
	}{
		{"good", "k", good, body, nil},
		{"a minute off", "k", signed("k", now.Unix()-60, body), body, nil},
		{"tampered body", "k", good, []byte(`{"id":"1","type":"rental.released"}`), ErrBadSignature},
		{"wrong secret", "other", good, body, ErrBadSignature},
		{"stale", "k", signed("k", now.Unix()-3600, body), body, ErrStale},
		{"future", "k", signed("k", now.Unix()+3600, body), body, ErrStale},
		{"no headers", "k", http.Header{}, body, ErrNoSignature},
		{"no secret", "", good, body, ErrNoSecret},
		{"bad timestamp", "k", http.Header{HeaderTimestamp: {"-5"}, HeaderSignature: {"sha256=00"}}, body, ErrBadTimestamp},
		{"huge timestamp", "k", http.Header{HeaderTimestamp: {"99999999999999999999"}, HeaderSignature: {"sha256=00"}}, body, ErrBadTimestamp},
		{"other scheme", "k", http.Header{HeaderTimestamp: good[HeaderTimestamp], HeaderSignature: {"md5=" + strings.Repeat("0", 64)}}, body, ErrBadSignature},
		{"not hex", "k", http.Header{HeaderTimestamp: good[HeaderTimestamp], HeaderSignature: {"sha256=" + strings.Repeat("z", 64)}}, body, ErrBadSignature},
	}
	for _, tc := range tests {
		err := Verify(tc.secret, tc.h, tc.body, now, time.Minute+time.Second)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzVerify: any header values and body are refused or accepted without
// a panic, and a body signed with the secret verifies.
func FuzzVerify(f *testing.F) {
	f.Add("1700000000", "sha256="+strings.Repeat("ab", 32), []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Add("0000001700000000", "sha256=", []byte("x"))
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		_ = Verify("secret", h, body, now, 0)
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderSignature, Sign("secret", now.Unix(), body))
		if err := Verify("secret", h, body, now, 0); err != nil {
			t.Fatalf("a signed body is refused: %v", err)
		}
	})
}
