package renter

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/container"
)

const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9ydGhlcmVudGVydGVzdHN1aXRlMTIz renter@test"

func minimal() container.Requirement {
	var r container.Requirement
	r.CPU.Count = 1
	r.RAM.Capacity = 1 << 30
	return r
}

// cluster: three fake miners; A and B meet "2 CPU, 4 GiB", C does not.
// B has the better history.
type cluster struct {
	dir     string
	meta    *fakeMeta
	a, b, c *fakeMiner
	r       *Renter
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	cl := &cluster{dir: t.TempDir(), meta: &fakeMeta{}}
	st := openStore(t, cl.dir)
	ctx := context.Background()
	cl.a = startFakeMiner(t, "//MinerA")
	cl.b = startFakeMiner(t, "//MinerB")
	cl.c = startFakeMiner(t, "//MinerC")
	for _, m := range []struct {
		f    *fakeMiner
		spec json.RawMessage
		diff int
		el   time.Duration
	}{
		{cl.a, machine(4, 8, 100), 7, 20 * time.Second},
		{cl.b, machine(8, 16, 200), 12, 2 * time.Second},
		{cl.c, machine(1, 2, 10), 12, time.Second},
	} {
		uid := cl.meta.add(m.f)
		if err := st.SaveSpecs(ctx, m.f.hotkey, m.spec, time.Now()); err != nil {
			t.Fatal(err)
		}
		recordHistory(t, st, uid, m.f.hotkey, 6, m.diff, m.el)
	}
	cl.r = newTestRenter(t, cl.dir, cl.meta, st)
	return cl
}

func need(cpus int, ramGiB int64) container.Requirement {
	r := minimal()
	r.CPU.Count = cpus
	r.RAM.Capacity = ramGiB << 30
	return r
}

func TestCandidatesBySpecsAndScore(t *testing.T) {
	cl := newCluster(t)
	got, err := cl.r.Candidates(context.Background(), need(2, 4))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Hotkey != cl.b.hotkey || got[1].Hotkey != cl.a.hotkey {
		t.Fatalf("candidates %+v, want B then A", got)
	}
	if !(got[0].Score > got[1].Score) || got[1].Score <= 0 {
		t.Fatalf("scores %v, %v: want B > A > 0", got[0].Score, got[1].Score)
	}
	got, err = cl.r.Candidates(context.Background(), need(64, 4))
	if err != nil || len(got) != 0 {
		t.Fatalf("64 CPUs: %v, %v; want none", got, err)
	}
}

func TestAllocateBestScoreAndRecord(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 7})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hotkey != cl.b.hotkey || a.Username != "root" || a.Port != 4444 || a.IP != "127.0.0.1" {
		t.Fatalf("allocation %+v", a)
	}
	if a.Password != "pw-"+cl.b.hotkey[:6] || a.KeyOnly {
		t.Fatalf("password %q key-only %v", a.Password, a.KeyOnly)
	}
	if want := "ssh root@127.0.0.1 -p 4444"; a.SSHCommand() != want {
		t.Fatalf("ssh command %q, want %q", a.SSHCommand(), want)
	}
	if d := a.ExpiresAt.Sub(a.CreatedAt); d != 7*24*time.Hour {
		t.Fatalf("lease of %v, want 7 days", d)
	}
	// Checks went to the two candidates only, the lease to B only.
	_, ca, aa, _ := cl.a.state()
	ownerB, cb, ab, _ := cl.b.state()
	_, cc, ac, _ := cl.c.state()
	if ca != 1 || cb != 1 || cc != 0 || aa != 0 || ab != 1 || ac != 0 {
		t.Fatalf("checks A%d B%d C%d, allocations A%d B%d C%d", ca, cb, cc, aa, ab, ac)
	}
	if ownerB != a.Fingerprint {
		t.Fatalf("B's lease belongs to %s, the allocation's key is %s", ownerB, a.Fingerprint)
	}
	// The key is private, inside the data directory, and matches.
	fi, err := os.Stat(a.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || !strings.HasPrefix(a.KeyFile, cl.dir) {
		t.Fatalf("key file %s mode %v", a.KeyFile, fi.Mode().Perm())
	}
	if di, _ := os.Stat(cl.dir + "/" + keyDir); di.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode %v", di.Mode().Perm())
	}
	k, err := loadKey(a.KeyFile)
	if err != nil || k.fingerprint != a.Fingerprint {
		t.Fatalf("reload key: %v", err)
	}
	// Recorded, without the password.
	list, err := recorded(ctx, cl.r)
	if err != nil || len(list) != 1 || list[0].Hotkey != cl.b.hotkey || list[0].Port != 4444 || list[0].Password != "" {
		t.Fatalf("list %+v, %v", list, err)
	}
	recs, _ := cl.r.store.Allocations(ctx)
	if strings.Contains(string(recs[0].Details), a.Password) {
		t.Fatalf("the password is stored: %s", recs[0].Details)
	}
	if alloc, _ := cl.r.store.Allocated(ctx, time.Now()); !alloc[cl.b.hotkey] {
		t.Fatalf("validator store does not see B allocated: %v", alloc)
	}

	// B is busy now: the next allocation goes to A.
	a2, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 1})
	if err != nil || a2.Hotkey != cl.a.hotkey {
		t.Fatalf("second allocation %+v, %v; want A", a2, err)
	}
	if a2.Fingerprint == a.Fingerprint || a2.KeyFile == a.KeyFile {
		t.Fatal("two allocations share a key")
	}
	// Nobody left: both miners that meet it are this validator's already.
	_, err = cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 1})
	if !errors.Is(err, ErrNoneAvailable) || !strings.Contains(err.Error(), "already leased to you") {
		t.Fatalf("third allocation: %v, want ErrNoneAvailable saying the miners are already leased", err)
	}
	assertKeyFiles(t, cl.dir, 2)
}

func assertKeyFiles(t *testing.T, dir string, n int) {
	t.Helper()
	ents, _ := os.ReadDir(dir + "/" + keyDir)
	if len(ents) != n {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("%d key files %v, want %d", len(ents), names, n)
	}
}

func TestAllocateFallsBackWhenBestRefuses(t *testing.T) {
	cl := newCluster(t)
	cl.b.refuseReal = true
	a, err := cl.r.Allocate(context.Background(), Request{Requirement: need(2, 4), Timeline: 3})
	if err != nil || a.Hotkey != cl.a.hotkey {
		t.Fatalf("allocation %+v, %v; want A after B refused", a, err)
	}
	if _, _, ab, _ := cl.b.state(); ab != 1 {
		t.Fatalf("B was asked %d times, want 1", ab)
	}
}

func TestAllocateSkipsBusyAndUnreachable(t *testing.T) {
	cl := newCluster(t)
	cl.b.busy = true
	// A's axon moves to a closed port.
	ln := closedPort(t)
	cl.meta.neurons[0].Axon.Port = uint16(ln)
	_, err := cl.r.Allocate(context.Background(), Request{Requirement: need(2, 4), Timeline: 3})
	if !errors.Is(err, ErrNoneAvailable) {
		t.Fatalf("got %v, want ErrNoneAvailable", err)
	}
	if _, _, ab, _ := cl.b.state(); ab != 0 {
		t.Fatal("a busy miner was asked for the lease")
	}
	assertKeyFiles(t, cl.dir, 0)
}

func TestAllocateTimeoutGivesLeaseBack(t *testing.T) {
	cl := newCluster(t)
	cl.r.cfg.AllocateTimeout = 300 * time.Millisecond
	cl.b.delay = time.Second
	a, err := cl.r.Allocate(context.Background(), Request{Requirement: need(2, 4), Timeline: 3})
	if err != nil || a.Hotkey != cl.a.hotkey {
		t.Fatalf("allocation %+v, %v; want A after B timed out", a, err)
	}
	// B finished the lease after the renter gave up; the renter released it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		owner, _, _, rel := cl.b.state()
		if owner == "" && rel >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B still holds a lease (owner %q, releases %d)", owner, rel)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAllocateNoCandidate(t *testing.T) {
	cl := newCluster(t)
	req := need(2, 4)
	req.GPU.Count, req.GPU.Type = 1, "4090"
	_, err := cl.r.Allocate(context.Background(), Request{Requirement: req, Timeline: 3})
	if !errors.Is(err, ErrNoCandidate) || !strings.Contains(err.Error(), "4090") {
		t.Fatalf("got %v, want ErrNoCandidate naming the requirement", err)
	}
}

func TestAllocateByHotkeyWithSSHKey(t *testing.T) {
	cl := newCluster(t)
	// C does not meet the requirement by specs, but by hotkey the miner decides.
	a, err := cl.r.Allocate(context.Background(), Request{Requirement: need(2, 4), Timeline: 60, Hotkey: cl.c.hotkey, SSHKey: testSSHKey})
	if err != nil || a.Hotkey != cl.c.hotkey {
		t.Fatalf("allocation %+v, %v", a, err)
	}
	if !a.KeyOnly || a.Password != "" {
		t.Fatalf("key-only %v, password %q", a.KeyOnly, a.Password)
	}
	cl.c.mu.Lock()
	got := cl.c.sshKey
	cl.c.mu.Unlock()
	if want, _ := container.NormalizeSSHKey(testSSHKey); got != want {
		t.Fatalf("miner got SSH key %q, want %q", got, want)
	}
	if _, _, aa, _ := cl.a.state(); aa != 0 {
		t.Fatal("another miner was asked")
	}
}

func TestReleaseRightAndWrongKey(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3})
	if err != nil {
		t.Fatal(err)
	}

	// Swap the stored key for another one: the miner must refuse and nothing changes.
	good, err := os.ReadFile(a.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newAllocationKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPath, err := other.save(cl.dir)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := os.ReadFile(otherPath)
	if err := os.WriteFile(a.KeyFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	err = cl.r.Release(ctx, a.Hotkey, ReleaseOptions{})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("release with a wrong key: %v, want ErrRefused", err)
	}
	if owner, _, _, _ := cl.b.state(); owner != a.Fingerprint {
		t.Fatal("a wrong key ended the lease")
	}
	if list, _ := recorded(ctx, cl.r); len(list) != 1 {
		t.Fatal("a refused release dropped the record")
	}

	// The right key releases it.
	if err := os.WriteFile(a.KeyFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cl.r.Release(ctx, a.Hotkey, ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if owner, _, _, _ := cl.b.state(); owner != "" {
		t.Fatal("the miner still holds the lease")
	}
	if list, _ := recorded(ctx, cl.r); len(list) != 0 {
		t.Fatalf("record kept: %+v", list)
	}
	if _, err := os.Stat(a.KeyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file kept: %v", err)
	}
	if err := cl.r.Release(ctx, a.Hotkey, ReleaseOptions{}); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("second release: %v, want ErrNotRecorded", err)
	}
}

func TestReleaseForceWhenMinerGone(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3})
	if err != nil {
		t.Fatal(err)
	}
	cl.meta.neurons = cl.meta.neurons[:0] // deregistered
	if err := cl.r.Release(ctx, a.Hotkey, ReleaseOptions{}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("release of a vanished miner: %v, want ErrUnreachable", err)
	}
	if err := cl.r.Release(ctx, a.Hotkey, ReleaseOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if list, _ := recorded(ctx, cl.r); len(list) != 0 {
		t.Fatal("forced release kept the record")
	}
	assertKeyFiles(t, cl.dir, 0)
}

func TestAllocateRefusesBadRequests(t *testing.T) {
	cl := newCluster(t)
	bigRAM := need(1, 1)
	bigRAM.RAM.Capacity = 1
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"timeline over 60", Request{Requirement: minimal(), Timeline: 61}, "between 1 and 60"},
		{"timeline 0", Request{Requirement: minimal(), Timeline: 0}, "between 1 and 60"},
		{"no cpu", Request{Requirement: container.Requirement{}, Timeline: 1}, "cpu.count"},
		{"tiny ram", Request{Requirement: bigRAM, Timeline: 1}, "ram.capacity"},
		{"bad ssh key", Request{Requirement: minimal(), Timeline: 1, SSHKey: "ssh-ed25519 nope"}, "renter.Request.SSHKey: "},
		{"bad hotkey", Request{Requirement: minimal(), Timeline: 1, Hotkey: "5notanaddress"}, "not an SS58 address"},
		{"unknown hotkey", Request{Requirement: minimal(), Timeline: 1, Hotkey: keypair(t, "//Nobody").SS58Address()}, "not registered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.r.Allocate(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	for _, m := range []*fakeMiner{cl.a, cl.b, cl.c} {
		if _, checks, allocs, _ := m.state(); checks+allocs != 0 {
			t.Fatal("a bad request reached a miner")
		}
	}
	assertKeyFiles(t, cl.dir, 0)
}

func TestNewChecksConfig(t *testing.T) {
	meta, st := &fakeMeta{}, openStore(t, t.TempDir())
	signer := keypair(t, "//Alice")
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no data dir", Config{}},
		{"small key", Config{DataDir: "x", KeyBits: 1024}},
	} {
		if _, err := New(tc.cfg, Deps{Meta: meta, Store: st, Signer: signer}); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestServed(t *testing.T) {
	for _, tc := range []struct {
		axon chain.AxonInfo
		want bool
	}{
		{chain.AxonInfo{IP: "1.2.3.4", Port: 8091}, true},
		{chain.AxonInfo{IP: "0.0.0.0", Port: 8091}, false},
		{chain.AxonInfo{IP: "1.2.3.4"}, false},
		{chain.AxonInfo{}, false},
	} {
		if got := served(&chain.Neuron{Axon: tc.axon}); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.axon, got, tc.want)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
