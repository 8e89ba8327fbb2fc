package renter

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
)

// newSSHKey returns a fresh ed25519 public key line with a comment.
func newSSHKey(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
}

func canonicalKeys(t *testing.T, keys ...string) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		n, err := container.NormalizeSSHKey(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func (m *fakeMiner) leaseState() (sshKey string, restarts int, timeline int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sshKey, m.restarts, m.timeline
}

func isFieldError(err error, field string) bool {
	var fe *config.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

// The holder of a lease restarts it, replaces its keys and extends it through a
// miner that knows lease actions; the record follows each change.
func TestLeaseActions(t *testing.T) {
	cl := newCluster(t)
	cl.c.actions = true
	ctx := context.Background()
	k1, k2, k3 := newSSHKey(t, "one@a"), newSSHKey(t, "two@b"), newSSHKey(t, "three@c")
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(1, 1), Timeline: 2, Hotkey: cl.c.hotkey, SSHKey: k1, SSHKeys: []string{k2, k1}})
	if err != nil {
		t.Fatal(err)
	}
	want := canonicalKeys(t, k1, k2)
	if got, _, _ := cl.c.leaseState(); got != strings.Join(want, "\n") {
		t.Fatalf("the miner got the keys %q", got)
	}
	if !a.KeyOnly || strings.Join(a.SSHKeys, ",") != strings.Join(want, ",") {
		t.Fatalf("allocation %+v", a)
	}
	rec, err := cl.r.Lookup(ctx, cl.c.hotkey)
	if err != nil || strings.Join(rec.SSHKeys, ",") != strings.Join(want, ",") {
		t.Fatalf("recorded keys %+v, %v", rec, err)
	}

	if err := cl.r.Restart(ctx, cl.c.hotkey); err != nil {
		t.Fatal(err)
	}
	if _, restarts, _ := cl.c.leaseState(); restarts != 1 {
		t.Fatal("not restarted")
	}

	if err := cl.r.SetSSHKeys(ctx, cl.c.hotkey, []string{k3, ""}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := cl.c.leaseState(); got != canonicalKeys(t, k3)[0] {
		t.Fatalf("the miner has the keys %q", got)
	}
	if rec, _ := cl.r.Lookup(ctx, cl.c.hotkey); strings.Join(rec.SSHKeys, ",") != canonicalKeys(t, k3)[0] {
		t.Fatalf("recorded keys %q", rec.SSHKeys)
	}

	before, _ := cl.r.Lookup(ctx, cl.c.hotkey)
	ext, err := cl.r.Extend(ctx, cl.c.hotkey, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, tl := cl.c.leaseState(); tl != 7 {
		t.Fatalf("the miner was asked for %d days, want 7 (2 + 5)", tl)
	}
	if ext.Timeline != 7 || !ext.ExpiresAt.Equal(before.CreatedAt.Add(7*24*time.Hour)) || !ext.ExpiresAt.Equal(before.ExpiresAt.Add(5*24*time.Hour)) {
		t.Fatalf("extended allocation %+v (was %v)", ext, before.ExpiresAt)
	}
	if rec, _ := cl.r.Lookup(ctx, cl.c.hotkey); !rec.ExpiresAt.Equal(ext.ExpiresAt) || rec.Timeline != 7 {
		t.Fatalf("record after extend %+v", rec)
	}

	// Bad input, named by field; nothing is sent.
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"extend by 0", func() error { _, err := cl.r.Extend(ctx, cl.c.hotkey, 0); return err }(), "renter.Extend.Days"},
		{"extend past 60 days", func() error { _, err := cl.r.Extend(ctx, cl.c.hotkey, 54); return err }(), "renter.Extend.Days"},
		{"no key left on a key-only lease", cl.r.SetSSHKeys(ctx, cl.c.hotkey, nil), "renter.SetSSHKeys.Keys"},
		{"a bad key", cl.r.SetSSHKeys(ctx, cl.c.hotkey, []string{k1, "ssh-ed25519 AAAA"}), "renter.SetSSHKeys.Keys"},
	} {
		if !isFieldError(tc.err, tc.field) {
			t.Errorf("%s: %v, want a field error on %s", tc.name, tc.err, tc.field)
		}
	}
	if _, err := cl.r.Extend(ctx, cl.c.hotkey, 53); err != nil {
		t.Fatalf("extend to exactly 60 days: %v", err)
	}
	if _, _, tl := cl.c.leaseState(); tl != 60 {
		t.Fatalf("the miner has %d days", tl)
	}

	// Not recorded.
	if err := cl.r.Restart(ctx, cl.a.hotkey); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("restart of an unrecorded lease: %v", err)
	}
}

// A miner that refuses says why; an unknown answer is a refusal too.
func TestLeaseActionRefused(t *testing.T) {
	cl := newCluster(t)
	cl.c.actions = true
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(1, 1), Timeline: 2, Hotkey: cl.c.hotkey})
	if err != nil {
		t.Fatal(err)
	}
	// The miner forgot the lease (another key holds it now).
	cl.c.mu.Lock()
	cl.c.ownerFP = "someone else"
	cl.c.mu.Unlock()
	err = cl.r.Restart(ctx, a.Hotkey)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "refused to restart the lease: the public key is not the one that allocated this machine") {
		t.Fatalf("restart refused: %v", err)
	}
	if _, err := cl.r.Extend(ctx, a.Hotkey, 1); !errors.Is(err, ErrRefused) {
		t.Fatalf("extend refused: %v", err)
	}
	if rec, _ := cl.r.Lookup(ctx, a.Hotkey); rec.ExpiresAt.UnixMilli() != a.ExpiresAt.UnixMilli() {
		t.Fatal("a refused extension moved the recorded end")
	}
	// A password lease may give up every key.
	cl.c.mu.Lock()
	cl.c.ownerFP = a.Fingerprint
	cl.c.mu.Unlock()
	if err := cl.r.SetSSHKeys(ctx, a.Hotkey, nil); err != nil {
		t.Fatalf("no keys on a password lease: %v", err)
	}
	// An expired lease is not extended.
	cl.r.now = func() time.Time { return a.ExpiresAt.Add(time.Minute) }
	if _, err := cl.r.Extend(ctx, a.Hotkey, 1); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("extend of an expired lease: %v", err)
	}
}

// A miner that does not know lease actions takes one for a check: the renter
// says it is unsupported, and the lease is neither ended nor replaced.
func TestLeaseActionOlderMiner(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(1, 1), Timeline: 2, Hotkey: cl.c.hotkey, SSHKey: testSSHKey})
	if err != nil {
		t.Fatal(err)
	}
	owner, checks, allocs, releases := cl.c.state()
	for name, err := range map[string]error{
		"restart": cl.r.Restart(ctx, a.Hotkey),
		"extend":  func() error { _, err := cl.r.Extend(ctx, a.Hotkey, 3); return err }(),
		"keys":    cl.r.SetSSHKeys(ctx, a.Hotkey, []string{newSSHKey(t, "x@y")}),
	} {
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s on an older miner: %v, want ErrUnsupported", name, err)
		}
	}
	o2, c2, a2, r2 := cl.c.state()
	if o2 != owner || a2 != allocs || r2 != releases || c2 != checks+1 {
		t.Fatalf("the older miner's lease changed: owner %v, allocations %d->%d, releases %d->%d, checks %d->%d", o2 == owner, allocs, a2, releases, r2, checks, c2)
	}
	if rec, _ := cl.r.Lookup(ctx, a.Hotkey); rec.ExpiresAt.UnixMilli() != a.ExpiresAt.UnixMilli() || strings.Join(rec.SSHKeys, "") != canonicalKeys(t, testSSHKey)[0] {
		t.Fatalf("record changed: %+v", rec)
	}
}

// An axon that cannot check the hash over docker_change and docker_action (an
// older miner hashes without them) answers 500: unsupported, and not sent again
// unhashed.
func TestLeaseActionHashRefused(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(1, 1), Timeline: 2, Hotkey: cl.c.hotkey})
	if err != nil {
		t.Fatal(err)
	}
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		w.Header()["bt_header_axon_status_code"] = []string{"500"}
		w.Header()["bt_header_axon_status_message"] = []string{"Hash mismatch between header body hash and computed body hash"}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message": "Hash mismatch between header body hash and computed body hash"}`))
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	for i := range cl.meta.neurons {
		if cl.meta.neurons[i].Hotkey == a.Hotkey {
			cl.meta.neurons[i].Axon = chain.AxonInfo{IP: host, Port: uint16(p), IPType: 4}
		}
	}
	err = cl.r.Restart(ctx, a.Hotkey)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "Hash mismatch") {
		t.Fatalf("restart through an axon refusing the hash: %v", err)
	}
	if requests != 1 {
		t.Fatalf("%d requests: a lease action was sent again unhashed", requests)
	}
}

func TestPeerText(t *testing.T) {
	if got := peerText("ok \x1b[31mred\x07 \xff done", 100); got != "ok ?[31mred? ? done" {
		t.Fatalf("peerText = %q", got)
	}
	if got := peerText(strings.Repeat("a", 50), 10); got != "aaaaaaaaaa..." {
		t.Fatalf("peerText = %q", got)
	}
}
