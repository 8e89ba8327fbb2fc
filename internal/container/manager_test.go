package container

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/testutil"
)

func fakeManager(t testing.TB, f *fakeEngine, dir string) *Manager {
	t.Helper()
	m, err := NewManager(Config{DataDir: dir, Image: "img", SSHPort: 4444, Owner: "unit",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, f)
	if err != nil {
		t.Fatal(err)
	}
	m.ready = func(context.Context, string) error { return nil }
	withFakes(m)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// withFakes gives m an in-memory volume maker (unsupported, as without root) and
// firewall, so that unit tests touch neither loop devices nor iptables.
func withFakes(m *Manager) *Manager {
	m.disk = newFakeDisk(false)
	m.fw = newFakeFirewall(true)
	return m
}

var unitReq = json.RawMessage(`{"cpu":{"count":2},"gpu":{},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}}`)

func TestManagerAllocateFake(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m := fakeManager(t, f, dir)
	ctx := context.Background()
	priv, pub := testutil.RSAKey(t)
	_, other := testutil.RSAKey(t)

	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 60, DeviceRequirement: unitReq, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := DecryptCredentials(priv, res.Info)
	if err != nil || creds.Username != "root" || creds.Port != 4444 {
		t.Fatalf("credentials %v %v", creds.Username, err)
	}
	c := f.containers[res.Lease.ContainerID]
	if c == nil || !c.running || c.copied != 1 {
		t.Fatalf("container %+v", c)
	}
	hc := c.opts.HostConfig
	if hc.Privileged || string(hc.NetworkMode) != res.Lease.Network || res.Lease.Network == "" || !slices.Equal(hc.CapDrop, []string{"ALL"}) || slices.Contains(hc.CapAdd, "NET_RAW") ||
		hc.CpusetCpus != "2-3" || hc.Memory != 1<<30 || hc.MemorySwap != 1<<30 || *hc.PidsLimit != DefaultPidsLimit || len(hc.DeviceRequests) != 0 {
		t.Fatalf("host config %+v", hc)
	}
	if b := hc.PortBindings; len(b) != 1 {
		t.Fatalf("port bindings %v", b)
	}
	for _, b := range hc.PortBindings {
		if b[0].HostPort != "4444" {
			t.Fatalf("port bindings %v", b)
		}
	}
	for _, e := range c.opts.Config.Env {
		if strings.Contains(e, creds.Password) {
			t.Fatal("password in the environment")
		}
	}
	if d := res.Lease.Expiry.Sub(res.Lease.Start); d != 60*24*time.Hour {
		t.Fatalf("lease length %v", d)
	}
	st, err := os.Stat(filepath.Join(dir, StateFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v %v", st, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	if strings.Contains(string(data), creds.Password) || !strings.Contains(string(data), `"schema": 1`) {
		t.Fatalf("state file content %s", data)
	}

	if _, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: other}); !errors.Is(err, ErrAlreadyAllocated) {
		t.Fatal(err)
	}
	if err := m.CanAllocate(ctx, 1, unitReq, other); !errors.Is(err, ErrAlreadyAllocated) {
		t.Fatal(err)
	}

	// A dead daemon makes deallocation fail and keeps the lease, in memory and on disk.
	f.setDown(true)
	if err := m.Deallocate(ctx, pub); !errors.Is(err, ErrDockerUnavailable) {
		t.Fatalf("deallocate with a dead daemon: %v", err)
	}
	if _, ok := m.Lease(); !ok {
		t.Fatal("lease lost")
	}
	if l, err := loadState(filepath.Join(dir, StateFileName)); err != nil || l == nil {
		t.Fatalf("stored lease lost: %v", err)
	}
	// A restart with a dead daemon fails and keeps the stored lease too.
	m2, _ := NewManager(Config{DataDir: dir, Image: "img", Owner: "unit", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, f)
	withFakes(m2)
	if err := m2.Start(ctx); !errors.Is(err, ErrDockerUnavailable) {
		t.Fatalf("start with a dead daemon: %v", err)
	}
	m2.Close()
	f.setDown(false)

	if err := m.Deallocate(ctx, other); !errors.Is(err, ErrWrongKey) {
		t.Fatal(err)
	}
	if err := m.Deallocate(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if f.count() != 0 {
		t.Fatal("container left")
	}
	if err := m.Deallocate(ctx, pub); !errors.Is(err, ErrNotAllocated) {
		t.Fatal(err)
	}
}

func TestManagerHandleModes(t *testing.T) {
	f := newFakeEngine()
	m := fakeManager(t, f, t.TempDir())
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	_, other := testutil.RSAKey(t)

	steps := []struct {
		name string
		req  Request
		want bool
	}{
		{"can take it", Request{Checking: true, Timeline: 5, DeviceRequirement: unitReq, PublicKey: pub}, true},
		{"not allocated to me yet", Request{Checking: true, Timeline: 0, PublicKey: pub}, false},
		{"too long", Request{Timeline: 61, DeviceRequirement: unitReq, PublicKey: pub}, false},
		{"negative", Request{Timeline: -3, DeviceRequirement: unitReq, PublicKey: pub}, false},
		{"allocate", Request{Timeline: 5, DeviceRequirement: unitReq, PublicKey: pub}, true},
		{"allocated to me", Request{Checking: true, Timeline: 0, PublicKey: pub}, true},
		{"not to the other", Request{Checking: true, Timeline: 0, PublicKey: other}, false},
		{"cannot take another", Request{Checking: true, Timeline: 5, DeviceRequirement: unitReq, PublicKey: other}, false},
		{"other cannot deallocate", Request{Timeline: 0, PublicKey: other}, false},
		{"deallocate", Request{Timeline: 0, PublicKey: pub}, true},
		{"free again", Request{Checking: true, Timeline: 5, DeviceRequirement: unitReq, PublicKey: other}, true},
	}
	for _, s := range steps {
		resp := m.Handle(ctx, s.req)
		if resp.Status != s.want {
			t.Fatalf("%s: status %v (err %v), want %v", s.name, resp.Status, resp.Err, s.want)
		}
		if out := resp.Output(); out["status"] != s.want {
			t.Fatalf("%s: output %v", s.name, out)
		}
	}
}

func TestManagerCreateFailureStoresNothing(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m := fakeManager(t, f, dir)
	_, pub := testutil.RSAKey(t)
	f.createErr = errors.New("Error response from daemon: no space left on device")
	if _, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub}); !errors.Is(err, ErrDiskFull) {
		t.Fatal(err)
	}
	f.createErr = nil
	m.ready = func(context.Context, string) error { return ErrNotReady }
	if _, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub}); !errors.Is(err, ErrNotReady) {
		t.Fatal(err)
	}
	if f.count() != 0 {
		t.Fatal("failed allocation left a container")
	}
	if _, err := os.Stat(filepath.Join(dir, StateFileName)); !os.IsNotExist(err) {
		t.Fatal("state written")
	}
}

func TestManagerStartAdoptsAndRemovesStrays(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m := fakeManager(t, f, dir)
	_, pub := testutil.RSAKey(t)
	res, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	// A stray of this owner, a container of another owner, and the lease container stopped.
	f.containers["stray"] = &fakeContainer{opts: ContainerSpec(Config{Image: "img", Owner: "unit"}, &Lease{ID: "x", Port: 1}, Limits{})}
	f.containers["foreign"] = &fakeContainer{opts: ContainerSpec(Config{Image: "img", Owner: "someone-else"}, &Lease{ID: "y", Port: 1}, Limits{})}
	f.containers[res.Lease.ContainerID].running = false

	m2 := fakeManager(t, f, dir)
	if l, ok := m2.Lease(); !ok || l.ID != res.Lease.ID {
		t.Fatal("lease not adopted")
	}
	if _, ok := f.containers["stray"]; ok {
		t.Fatal("stray kept")
	}
	if _, ok := f.containers["foreign"]; !ok {
		t.Fatal("another owner's container removed")
	}
	if !f.containers[res.Lease.ContainerID].running {
		t.Fatal("stopped lease container not restarted")
	}

	// When the lease container vanished while the miner was down, the lease is dropped.
	m2.Close()
	delete(f.containers, res.Lease.ContainerID)
	m3 := fakeManager(t, f, dir)
	if _, ok := m3.Lease(); ok {
		t.Fatal("lease without container kept")
	}
}

func TestManagerExpiry(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m, err := NewManager(Config{DataDir: dir, Image: "img", Owner: "unit", TimelineUnit: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, f)
	if err != nil {
		t.Fatal(err)
	}
	m.ready = func(context.Context, string) error { return nil }
	withFakes(m)
	defer m.Close()
	_, pub := testutil.RSAKey(t)
	if _, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := m.Lease(); !ok && f.count() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lease did not expire")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", StateFileName)
	if l, err := loadState(path); err != nil || l != nil {
		t.Fatalf("missing file: %v %v", l, err)
	}
	want := &Lease{ID: "abc", RequesterFingerprint: "ff", Start: time.Unix(100, 0).UTC(), Expiry: time.Unix(200, 0).UTC()}
	if err := saveState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil || got.ID != "abc" || !got.Expiry.Equal(want.Expiry) {
		t.Fatalf("%+v %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
	for name, content := range map[string]string{
		"corrupt":     "{not json",
		"schema":      `{"schema":99,"lease":null}`,
		"no id":       `{"schema":1,"lease":{"requester_fingerprint":"x"}}`,
		"truncated":   `{"schema":1,"lease":{"id":"a"`,
		"wrong types": `{"schema":"1"}`,
	} {
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := loadState(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestNewManagerConfig(t *testing.T) {
	if _, err := NewManager(Config{}, newFakeEngine()); err == nil {
		t.Fatal("no data dir accepted")
	}
	if _, err := NewManager(Config{DataDir: t.TempDir(), SSHPort: 70000}, newFakeEngine()); err == nil {
		t.Fatal("bad port accepted")
	}
	if _, err := NewManager(Config{DataDir: t.TempDir()}, nil); err == nil {
		t.Fatal("nil engine accepted")
	}
}

// within fails the test when call does not return within a second: a request that
// waits for the lease operation in progress.
func within[T any](t *testing.T, what string, call func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- call() }()
	select {
	case v := <-done:
		return v
	case <-time.After(time.Second):
		t.Fatalf("%s blocked while a lease operation was in progress", what)
		panic("unreachable")
	}
}

func TestManagerAnswersDuringSlowWork(t *testing.T) {
	_, pub := testutil.RSAKey(t)
	_, other := testutil.RSAKey(t)
	ctx := context.Background()

	t.Run("allocation in progress", func(t *testing.T) {
		f := newFakeEngine()
		m := fakeManager(t, f, t.TempDir())
		waiting, release := make(chan struct{}), make(chan struct{})
		m.ready = func(ctx context.Context, _ string) error {
			close(waiting)
			<-release // the SSH wait, up to ReadyTimeout on a real host
			return nil
		}
		allocated := make(chan Response, 1)
		go func() { allocated <- m.Handle(ctx, Request{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub}) }()
		<-waiting

		checks := []struct {
			name string
			req  Request
			err  error
		}{
			{"checking with a timeline", Request{Checking: true, Timeline: 1, DeviceRequirement: unitReq, PublicKey: other}, ErrBusy},
			{"checking the owner", Request{Checking: true, Timeline: 0, PublicKey: pub}, ErrNotAllocated},
			{"another allocation", Request{Timeline: 1, DeviceRequirement: unitReq, PublicKey: other}, ErrBusy},
			{"a deallocation", Request{Timeline: 0, PublicKey: pub}, ErrBusy},
		}
		for _, c := range checks {
			resp := within(t, c.name, func() Response { return m.Handle(ctx, c.req) })
			if resp.Status || !errors.Is(resp.Err, c.err) {
				t.Errorf("%s: status %v, err %v; want false, %v", c.name, resp.Status, resp.Err, c.err)
			}
		}
		if within(t, "Lease", func() bool { _, ok := m.Lease(); return ok }) {
			t.Error("lease reported before the allocation finished")
		}

		close(release)
		if resp := <-allocated; !resp.Status {
			t.Fatalf("allocation: %v", resp.Err)
		}
		if !m.IsAllocatedTo(pub) {
			t.Fatal("lease not recorded after the allocation")
		}
	})

	t.Run("removal in progress", func(t *testing.T) {
		f := newFakeEngine()
		m := fakeManager(t, f, t.TempDir())
		if _, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: unitReq, PublicKey: pub}); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		f.removeGate, f.removing = make(chan struct{}), make(chan struct{}, 1)
		f.mu.Unlock()
		ended := make(chan error, 1)
		go func() { ended <- m.Deallocate(ctx, pub) }()
		<-f.removing

		if resp := within(t, "checking the owner", func() Response {
			return m.Handle(ctx, Request{Checking: true, Timeline: 0, PublicKey: pub})
		}); !resp.Status {
			t.Error("the lease being removed is no longer reported to its owner")
		}
		// Could this machine take a lease? It can once the removal is done: that
		// question waits for it (and only for it), as long as its context allows.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := m.CanAllocate(short, 1, unitReq, other); !errors.Is(err, ErrBusy) {
			t.Errorf("checking during the removal, context ended: %v; want %v", err, ErrBusy)
		}
		free := make(chan Response, 1)
		go func() {
			free <- m.Handle(ctx, Request{Checking: true, Timeline: 1, DeviceRequirement: unitReq, PublicKey: other})
		}()

		close(f.removeGate)
		if err := <-ended; err != nil {
			t.Fatal(err)
		}
		if resp := <-free; !resp.Status {
			t.Errorf("checking after the removal: %v", resp.Err)
		}
		if _, ok := m.Lease(); ok {
			t.Fatal("lease kept after the removal")
		}
	})
}
