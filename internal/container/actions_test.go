package container

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/testutil"
)

const (
	unitHotkey  = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	otherHotkey = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
	// Two ed25519 keys in authorized_keys syntax (comments are dropped).
	unitSSHKey1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl one@host"
	unitSSHKey2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuNsnUYcgQsN4y5tFxS1IgDpRtgA5ikL4pWuFf6kZ7G two@host"
)

func canonical(t *testing.T, keys ...string) string {
	t.Helper()
	var out []string
	for _, k := range keys {
		n, err := NormalizeSSHKey(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return strings.Join(out, "\n")
}

func TestNormalizeSSHKeys(t *testing.T) {
	keys, err := NormalizeSSHKeys("\n" + unitSSHKey1 + "\n\n" + unitSSHKey2 + "\n" + unitSSHKey1 + "\n")
	if err != nil || strings.Join(keys, "\n") != canonical(t, unitSSHKey1, unitSSHKey2) {
		t.Fatalf("keys %q, %v", keys, err)
	}
	if keys, err := NormalizeSSHKeys(""); err != nil || len(keys) != 0 {
		t.Fatalf("no keys: %q, %v", keys, err)
	}
	for _, bad := range []string{
		unitSSHKey1 + "\nssh-ed25519 AAAA\n",
		unitSSHKey1 + "\ncommand=\"rm -rf /\" " + unitSSHKey2,
		strings.Repeat(unitSSHKey1+"\n", MaxSSHKeys*200),
	} {
		if _, err := NormalizeSSHKeys(bad); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("NormalizeSSHKeys(%.60q...) = %v, want ErrInvalidPublicKey", bad, err)
		}
	}
	many := make([]string, MaxSSHKeys+1)
	for i := range many {
		many[i] = strings.TrimSpace(string(mustKey(t)))
	}
	if _, err := normalizeKeys(many); !errors.Is(err, ErrInvalidPublicKey) {
		t.Fatalf("%d keys accepted: %v", len(many), err)
	}
}

// mustKey makes a fresh ed25519 public key line.
func mustKey(t *testing.T) []byte {
	t.Helper()
	_, pub := testutil.SSHKey(t)
	return []byte(pub)
}

// The holder restarts its lease, sets its keys and extends it; nobody else can,
// and every change reaches the container, the stored state and the timer.
func TestManagerLeaseActionsFake(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m := fakeManager(t, f, dir)
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	_, other := testutil.RSAKey(t)

	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 2, DeviceRequirement: unitReq, PublicKey: pub,
		SSHPublicKey: unitSSHKey1 + "\n" + unitSSHKey2, ValidatorHotkey: unitHotkey})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Lease.ContainerID
	if got := f.file(id, "/"+leaseDir+"/authorized_keys"); got != canonical(t, unitSSHKey1, unitSSHKey2)+"\n" {
		t.Fatalf("keys delivered at allocation %q", got)
	}
	if !res.Lease.KeyOnly {
		t.Fatal("a lease with keys is not key-only")
	}

	// Nobody but the holder, with the holder's hotkey, acts on the lease.
	for _, tc := range []struct {
		name, key, hotkey string
		want              error
	}{
		{"another requester key", other, unitHotkey, ErrWrongKey},
		{"another hotkey", pub, otherHotkey, ErrWrongHotkey},
		{"no hotkey", pub, "", ErrWrongHotkey},
		{"not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", unitHotkey, ErrInvalidPublicKey},
	} {
		if err := m.Restart(ctx, tc.key, tc.hotkey); !errors.Is(err, tc.want) {
			t.Errorf("%s: restart: %v, want %v", tc.name, err, tc.want)
		}
		if err := m.SetSSHKeys(ctx, tc.key, tc.hotkey, []string{unitSSHKey1}); !errors.Is(err, tc.want) {
			t.Errorf("%s: set keys: %v, want %v", tc.name, err, tc.want)
		}
		if _, err := m.Extend(ctx, tc.key, tc.hotkey, 5); !errors.Is(err, tc.want) {
			t.Errorf("%s: extend: %v, want %v", tc.name, err, tc.want)
		}
	}
	if f.containers[id].restarts != 0 || f.containers[id].copied != 1 {
		t.Fatal("a refused action reached the container")
	}

	// Restart.
	if err := m.Restart(ctx, pub, unitHotkey); err != nil {
		t.Fatal(err)
	}
	if f.containers[id].restarts != 1 {
		t.Fatal("container not restarted")
	}

	// Keys: replaced as a whole; a key-only lease keeps one.
	if err := m.SetSSHKeys(ctx, pub, unitHotkey, []string{unitSSHKey2}); err != nil {
		t.Fatal(err)
	}
	if got := f.file(id, "/root/.ssh/authorized_keys"); got != canonical(t, unitSSHKey2)+"\n" {
		t.Fatalf("authorized_keys %q", got)
	}
	if err := m.SetSSHKeys(ctx, pub, unitHotkey, nil); !errors.Is(err, ErrLastKey) {
		t.Fatalf("removing the last key of a key-only lease: %v", err)
	}
	if err := m.SetSSHKeys(ctx, pub, unitHotkey, []string{"ssh-rsa AAAA"}); !errors.Is(err, ErrInvalidPublicKey) {
		t.Fatalf("bad key: %v", err)
	}
	if got := f.file(id, "/root/.ssh/authorized_keys"); got != canonical(t, unitSSHKey2)+"\n" {
		t.Fatalf("refused changes touched authorized_keys: %q", got)
	}

	// Extend: the end moves, is stored, and the lease's files say it.
	l, err := m.Extend(ctx, pub, unitHotkey, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := res.Lease.Start.Add(7 * 24 * time.Hour)
	if !l.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", l.Expiry, want)
	}
	if cur, _ := m.Lease(); !cur.Expiry.Equal(want) {
		t.Fatalf("active lease expiry %v", cur.Expiry)
	}
	if st, err := loadState(filepath.Join(dir, StateFileName)); err != nil || !st.Expiry.Equal(want) {
		t.Fatalf("stored expiry %v, %v", st, err)
	}
	leaseFile, motd := f.file(id, leaseInfoPath), f.file(id, motdPath)
	if !strings.Contains(leaseFile, "\nLEASE_EXPIRY="+want.UTC().Format(time.RFC3339)+"\n") || !strings.Contains(leaseFile, "LEASE_CPUSET=2-3\n") {
		t.Fatalf("/etc/lease after extend:\n%s", leaseFile)
	}
	if !strings.Contains(motd, "until "+want.UTC().Format("2006-01-02 15:04 UTC")+".") || !strings.Contains(motd, "CPUs     2") {
		t.Fatalf("motd after extend:\n%s", motd)
	}
	if _, err := m.Extend(ctx, pub, unitHotkey, 7); err != nil {
		t.Fatalf("the same extension again: %v", err)
	}
	for _, days := range []int{6, 0, -1, 61} {
		if _, err := m.Extend(ctx, pub, unitHotkey, days); !errors.Is(err, ErrInvalidTimeline) {
			t.Errorf("extend to %d days: %v, want ErrInvalidTimeline", days, err)
		}
	}
	if cur, _ := m.Lease(); !cur.Expiry.Equal(want) {
		t.Fatalf("a refused extension moved the end to %v", cur.Expiry)
	}

	// A new manager on the same data directory keeps the new end.
	m.Close()
	m2 := fakeManager(t, f, dir)
	if cur, ok := m2.Lease(); !ok || !cur.Expiry.Equal(want) {
		t.Fatalf("after re-adoption: %+v, %v", cur, ok)
	}
}

// A password lease takes keys and gives them all up; its password stays.
func TestManagerPasswordLeaseKeysFake(t *testing.T) {
	f := newFakeEngine()
	m := fakeManager(t, f, t.TempDir())
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetSSHKeys(ctx, pub, "", []string{unitSSHKey1, unitSSHKey1}); err != nil {
		t.Fatal(err)
	}
	if got := f.file(res.Lease.ContainerID, "/root/.ssh/authorized_keys"); got != canonical(t, unitSSHKey1)+"\n" {
		t.Fatalf("authorized_keys %q", got)
	}
	if err := m.SetSSHKeys(ctx, pub, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := f.file(res.Lease.ContainerID, "/root/.ssh/authorized_keys"); got != "" {
		t.Fatalf("authorized_keys %q after removing every key", got)
	}
}

// Handle serves a lease action whatever checking says, names the action in its
// answer and says why it refused; a malformed action is an error.
func TestManagerHandleActions(t *testing.T) {
	f := newFakeEngine()
	m := fakeManager(t, f, t.TempDir())
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	_, other := testutil.RSAKey(t)

	if resp := m.Handle(ctx, Request{DockerChange: true, Checking: true, Action: ActionRestart, PublicKey: pub}); resp.Status || resp.Action != ActionRestart ||
		resp.Reason != "this machine is not allocated" {
		t.Fatalf("restart without a lease: %+v", resp)
	}
	if _, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		req        Request
		status     bool
		reason     string
		invalid    error
		outputKeys int
	}{
		{"restart", Request{Action: ActionRestart, PublicKey: pub}, true, "", nil, 2},
		{"restart by another", Request{Action: ActionRestart, PublicKey: other}, false, "the public key is not the one that allocated this machine", nil, 3},
		{"keys", Request{Action: ActionExchangeKey, ActionSSHKeys: unitSSHKey1 + "\n" + unitSSHKey2, ActionKeyType: "user", PublicKey: pub}, true, "", nil, 2},
		{"keys, terminal slot", Request{Action: ActionExchangeKey, ActionSSHKeys: unitSSHKey1, ActionKeyType: "terminal", PublicKey: pub}, false, "", ErrInvalidAction, 0},
		{"keys, a bad one", Request{Action: ActionExchangeKey, ActionSSHKeys: unitSSHKey1 + "\nnot a key", PublicKey: pub}, false, "", ErrInvalidPublicKey, 0},
		{"extend", Request{Action: ActionExtend, Timeline: 3, PublicKey: pub, Checking: true}, true, "", nil, 2},
		{"extend too far", Request{Action: ActionExtend, Timeline: 61, PublicKey: pub}, false, "", ErrInvalidTimeline, 0},
		{"pause", Request{Action: "pause", PublicKey: pub}, false, "", ErrInvalidAction, 0},
		{"no action", Request{PublicKey: pub}, false, "", ErrInvalidAction, 0},
	}
	for _, s := range steps {
		s.req.DockerChange = true
		resp := m.Handle(ctx, s.req)
		if resp.Status != s.status || resp.Action != s.req.Action || (s.invalid == nil && resp.Reason != s.reason) {
			t.Fatalf("%s: %+v", s.name, resp)
		}
		if s.invalid != nil {
			if !errors.Is(resp.Err, s.invalid) {
				t.Fatalf("%s: err %v, want %v", s.name, resp.Err, s.invalid)
			}
			continue
		}
		if out := resp.Output(); len(out) != s.outputKeys || out["action"] != s.req.Action {
			t.Fatalf("%s: output %v", s.name, out)
		}
	}
	if resp := m.Handle(ctx, Request{DockerChange: true, Action: "pause", PublicKey: pub}); !strings.Contains(resp.Err.Error(), `unknown action "pause" (this miner serves restart, exchange_key and extend)`) {
		t.Fatalf("unknown action: %v", resp.Err)
	}
	// Without docker_change the same fields are an ordinary check.
	if resp := m.Handle(ctx, Request{Checking: true, Timeline: 0, Action: ActionRestart, PublicKey: pub}); !resp.Status || resp.Action != "" {
		t.Fatalf("check: %+v", resp)
	}
}

// An extension re-arms the expiry timer: the lease ends at its new end, not at
// the old one.
func TestManagerExtendRearmsExpiry(t *testing.T) {
	f := newFakeEngine()
	const unit = 2 * time.Second
	m, err := NewManager(Config{DataDir: t.TempDir(), Image: "img", Owner: "unit", TimelineUnit: unit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, f)
	if err != nil {
		t.Fatal(err)
	}
	m.ready = func(context.Context, string) error { return nil }
	withFakes(m)
	defer m.Close()
	_, pub := testutil.RSAKey(t)
	res, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.Extend(context.Background(), pub, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Expiry.Equal(res.Lease.Start.Add(2 * unit)) {
		t.Fatalf("expiry %v", l.Expiry)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := m.Lease(); !ok && f.count() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the extended lease did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if time.Now().Before(l.Expiry) {
		t.Fatalf("the lease ended at %v, before its new end %v", time.Now(), l.Expiry)
	}
}

func TestWithExpiry(t *testing.T) {
	l := &Lease{ID: "abc", Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Expiry: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)}
	li := leaseInfo{lease: l, lim: Limits{CPUCount: 1, CPUSet: "0"}}
	file, motd := li.LeaseFile(), li.Motd()
	l.Expiry = time.Date(2030, 1, 9, 12, 30, 0, 0, time.UTC)
	got, ok := withExpiry(file, l, false)
	if !ok || got != li.LeaseFile() {
		t.Fatalf("lease file:\n%s\nwant\n%s", got, li.LeaseFile())
	}
	got, ok = withExpiry(motd, l, true)
	if !ok || got != li.Motd() {
		t.Fatalf("motd:\n%s\nwant\n%s", got, li.Motd())
	}
	if got, ok := withExpiry("renter's own text\n", l, false); ok || got != "renter's own text\n" {
		t.Fatal("a file without the line was changed")
	}
}

// FuzzHandleAction: any lease action from the holder is served, refused with a
// reason, or refused as malformed; nothing panics, and a refused action leaves
// the lease's end and keys as they were.
func FuzzHandleAction(f *testing.F) {
	f.Add(ActionExchangeKey, unitSSHKey1+"\n"+unitSSHKey2, "", 0)
	f.Add(ActionExchangeKey, "ssh-ed25519 AAAA\x00\n\n", "terminal", 0)
	f.Add(ActionExtend, "", "", 5)
	f.Add(ActionExtend, "", "", -1<<40)
	f.Add(ActionRestart, "", "user", 0)
	f.Add("pause", "", "", 0)
	f.Add("", "command=\"id\" "+unitSSHKey1, "user", 3)
	fe := newFakeEngine()
	m := fakeManager(f, fe, f.TempDir())
	_, pub := testutil.RSAKey(f)
	res, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 2, DeviceRequirement: unitReq, PublicKey: pub, SSHPublicKey: unitSSHKey1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, action, keys, keyType string, timeline int) {
		before, _ := m.Lease()
		keysBefore := fe.file(res.Lease.ContainerID, "/root/.ssh/authorized_keys")
		resp := m.Handle(context.Background(), Request{DockerChange: true, Action: action, ActionSSHKeys: keys, ActionKeyType: keyType, Timeline: timeline, PublicKey: pub})
		if resp.Action != action || resp.Status != (resp.Err == nil) || (resp.Err != nil && resp.Reason == "") {
			t.Fatalf("response %+v", resp)
		}
		after, ok := m.Lease()
		if !ok {
			t.Fatal("an action ended the lease")
		}
		if resp.Status {
			return
		}
		if !after.Expiry.Equal(before.Expiry) || fe.file(res.Lease.ContainerID, "/root/.ssh/authorized_keys") != keysBefore {
			t.Fatalf("a refused action (%v) changed the lease", resp.Err)
		}
	})
}
