package renter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

const e2eNetuid = 1

// e2eNet is an in-process dev chain with a validator (2000 TAO) and miners
// running the real miner role on loopback.
type e2eNet struct {
	t         *testing.T
	net       *testnet.Net
	chain     *devchain.Chain
	cold      *wallet.Keypair
	validator *wallet.Keypair
	dir       string
	store     *store.Validator
}

func newE2ENet(t *testing.T) *e2eNet {
	t.Helper()
	p := testnet.Params()
	p.MaxAllowedUIDs = 16
	tn := testnet.New(t, testnet.Config{Netuid: e2eNetuid, Params: &p})
	n := &e2eNet{t: t, net: tn, chain: tn.Chain, cold: keypair(t, "//Bob"), validator: keypair(t, "//Bob//validator"), dir: t.TempDir()}
	if err := tn.Chain.Fund(context.Background(), n.cold.SS58Address(), 100_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	n.register(n.validator, 2000)
	n.store = openStore(t, n.dir)
	return n
}

func (n *e2eNet) register(hk *wallet.Keypair, tao uint64) {
	n.t.Helper()
	n.net.MustJoin(n.t, n.cold, hk, 0, tao)
}

// realMiner is a running internal/miner.
type realMiner struct {
	m      *miner.Miner
	hotkey *wallet.Keypair
	owner  string
	port   int // SSH port of its leases
}

// startMiner registers hk and runs a miner reporting cpus and ramGiB; with
// docker non-nil it offers allocation on the real daemon.
func (n *e2eNet) startMiner(hk *wallet.Keypair, cpus int, ramGiB int64, docker *client.Client) *realMiner {
	t := n.t
	t.Helper()
	n.register(hk, 0)
	var rep specs.Specs
	if err := json.Unmarshal(machine(cpus, ramGiB, 100), &rep); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	rm := &realMiner{hotkey: hk, owner: "test-renter-" + hex.EncodeToString(b), port: testutil.FreePort(t)}
	cfg := miner.Config{
		Netuid:          e2eNetuid,
		AxonIP:          "127.0.0.1",
		Solver:          "cpu",
		DataDir:         t.TempDir(),
		SpecsProbeBytes: -1,
		SyncInterval:    200 * time.Millisecond,
		SpecsInterval:   time.Hour,
		Policy:          miner.PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		SSHBindIP:       "127.0.0.1",
		SSHPort:         rm.port,
		LeaseOwner:      rm.owner,
		Image:           testutil.SSHImage(),
	}
	deps := miner.Deps{Chain: n.chain, Hotkey: hk, Listener: testutil.Listen(t), GPUs: testnet.NoGPUs, Specs: testnet.FixedSpecs{Specs: rep}, Log: e2eLogger()}
	if docker != nil {
		cfg.Allocation, cfg.AllocationRequired = true, true
		deps.Docker = docker
		testutil.RemoveAtCleanup(t, docker, container.LabelOwner, rm.owner)
	}
	m, err := miner.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	testutil.RunRole(t, context.Background(), "miner", m.Run, m.Ready())
	rm.m = m
	return rm
}

// collectSpecs does what the validator does: query each miner's Specs and store them.
func (n *e2eNet) collectSpecs(ms ...*realMiner) {
	t := n.t
	t.Helper()
	ctx := context.Background()
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: n.validator, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	mg, err := n.chain.Metagraph(ctx, e2eNetuid)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		nr := mg.ByHotkey(m.hotkey.SS58Address())
		if nr == nil || !served(nr) {
			t.Fatalf("miner %s is not served on chain", m.hotkey.SS58Address())
		}
		res := wire.Call(ctx, d, wire.NeuronTarget(*nr), &wire.Specs{}, 10*time.Second)
		if !res.OK() {
			t.Fatalf("specs of %s: %d %s %v", nr.Hotkey, res.StatusCode, res.StatusMessage, res.Err)
		}
		if err := n.store.SaveSpecs(ctx, nr.Hotkey, []byte(res.Synapse.SpecsOutput), time.Now()); err != nil {
			// specs_output may be the report as a JSON string's content; store it quoted.
			q, _ := json.Marshal(res.Synapse.SpecsOutput)
			if err := n.store.SaveSpecs(ctx, nr.Hotkey, q, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		recordHistoryUID(t, n.store, nr.UID, nr.Hotkey)
	}
}

// recordHistoryUID gives later uids better histories (faster answers).
func recordHistoryUID(t *testing.T, st *store.Validator, uid uint16, hotkey string) {
	recordHistory(t, st, uid, hotkey, 6, 10, time.Duration(30-int(uid)*5)*time.Second)
}

func (n *e2eNet) renter() *Renter {
	n.t.Helper()
	r, err := New(Config{Netuid: e2eNetuid, DataDir: n.dir, KeyBits: 2048, CheckTimeout: 10 * time.Second,
		AllocateTimeout: 60 * time.Second}, Deps{Meta: n.chain, Store: n.store, Signer: n.validator, Log: e2eLogger()})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

// TestEndToEndWithoutDocker runs the renter against real miners whose
// allocation is off: specs come through the Specs synapse, the candidates
// are checked over the wire, every miner says it cannot take a lease, and
// nothing is recorded.
func TestEndToEndWithoutDocker(t *testing.T) {
	n := newE2ENet(t)
	big := n.startMiner(keypair(t, "//Bob//big"), 8, 32, nil)
	small := n.startMiner(keypair(t, "//Bob//small"), 1, 2, nil)
	n.collectSpecs(big, small)
	r := n.renter()
	ctx := context.Background()

	cands, err := r.Candidates(ctx, need(4, 8))
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 1 || cands[0].Hotkey != big.hotkey.SS58Address() {
		t.Fatalf("candidates %+v, want only the big miner", cands)
	}
	cands, err = r.Candidates(ctx, need(1, 1))
	if err != nil || len(cands) != 2 || cands[0].Hotkey != small.hotkey.SS58Address() {
		t.Fatalf("candidates %+v, %v: want both, the better scored (small, later uid) first", cands, err)
	}
	_, err = r.Allocate(ctx, Request{Requirement: need(4, 8), Timeline: 1})
	if !errors.Is(err, ErrNoneAvailable) {
		t.Fatalf("allocate with allocation off: %v, want ErrNoneAvailable", err)
	}
	if list, _ := recorded(ctx, r); len(list) != 0 {
		t.Fatalf("recorded %+v", list)
	}
	assertKeyFiles(t, n.dir, 0)
}

// TestEndToEndDocker allocates a real miner's machine on the real Docker
// daemon with the SSH image: the best scored miner meeting the requirement
// is chosen, the credentials decrypt, OpenSSH logs in, a release with a
// wrong key is refused and changes nothing, and the right key ends the
// lease and removes the container.
func TestEndToEndDocker(t *testing.T) {
	docker := testutil.Docker(t)
	n := newE2ENet(t)
	big := n.startMiner(keypair(t, "//Bob//big"), 8, 32, docker)
	small := n.startMiner(keypair(t, "//Bob//small"), 1, 2, docker)
	n.collectSpecs(big, small)
	r := n.renter()
	ctx := context.Background()

	req := need(1, 1)
	req.RAM.Capacity = 256 << 20
	req.Disk.Capacity = 256 << 20
	start := time.Now()
	a, err := r.Allocate(ctx, Request{Requirement: req, Timeline: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("allocated %s in %v: %s", a.Hotkey, time.Since(start).Round(time.Millisecond), a.SSHCommand())
	if a.Hotkey != small.hotkey.SS58Address() || a.Port != small.port || a.Password == "" {
		t.Fatalf("allocation %+v: want the better scored miner on port %d with a password", a, small.port)
	}
	if testutil.Containers(t, docker, container.LabelOwner, small.owner) != 1 || testutil.Containers(t, docker, container.LabelOwner, big.owner) != 0 {
		t.Fatal("lease containers are not where they should be")
	}
	out, err := testutil.SSH(t, testutil.Login{Port: a.Port, User: a.Username, Password: a.Password}, "nproc; . /etc/lease; echo $LEASE_DISK_ENFORCED")
	// What the renter prints of the disk is what the lease itself says.
	inside := map[string]string{"yes": container.DiskEnforced, "no": container.DiskNotEnforced}
	if f := strings.Fields(out); err != nil || len(f) != 2 || f[0] != "1" || inside[f[1]] != a.Disk {
		t.Fatalf("ssh login: %v\n%s (the renter says the disk is %q)", err, out, a.Disk)
	}
	t.Logf("resources: %s", a.Resources())

	// A wrong key cannot release it.
	good, err := os.ReadFile(a.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newAllocationKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPath, err := other.save(n.dir)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := os.ReadFile(otherPath)
	os.Remove(otherPath)
	if err := os.WriteFile(a.KeyFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, a.Hotkey, ReleaseOptions{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("release with a wrong key: %v, want ErrRefused", err)
	}
	if testutil.Containers(t, docker, container.LabelOwner, small.owner) != 1 {
		t.Fatal("a wrong key removed the lease")
	}
	// The right key ends it.
	if err := os.WriteFile(a.KeyFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, a.Hotkey, ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if testutil.Containers(t, docker, container.LabelOwner, small.owner) != 0 {
		t.Fatal("the container is still there after the release")
	}
	if list, _ := recorded(ctx, r); len(list) != 0 {
		t.Fatalf("record kept: %+v", list)
	}
	assertKeyFiles(t, n.dir, 0)
}

// e2eLogger shows the miners' logs with RENTER_TEST_LOG=1.
func e2eLogger() *slog.Logger {
	if os.Getenv("RENTER_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return quiet()
}

// TestEndToEndDockerSSHKey allocates with the renter's SSH key: the miner
// installs it, the key logs in, the password is neither shown nor accepted.
func TestEndToEndDockerSSHKey(t *testing.T) {
	docker := testutil.Docker(t)
	n := newE2ENet(t)
	m := n.startMiner(keypair(t, "//Bob//keyonly"), 1, 2, docker)
	n.collectSpecs(m)
	r := n.renter()
	ctx := context.Background()

	keyPath, pub := testutil.SSHKey(t)
	req := need(1, 1)
	req.RAM.Capacity = 256 << 20
	a, err := r.Allocate(ctx, Request{Requirement: req, Timeline: 1, SSHKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if a.Password != "" {
		t.Fatal("the password is handed out although the lease is key-only")
	}
	out, err := testutil.SSH(t, testutil.Login{Port: a.Port, User: a.Username, Identity: keyPath}, "echo key-login-ok")
	if err != nil || strings.TrimSpace(out) != "key-login-ok" {
		t.Fatalf("key login: %v\n%s", err, out)
	}
	if out, err := testutil.SSH(t, testutil.Login{Port: a.Port, User: a.Username, Password: "not-the-password"}, "true"); err == nil {
		t.Fatalf("password login accepted on a key-only lease:\n%s", out)
	}
	if err := r.Release(ctx, a.Hotkey, ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if testutil.Containers(t, docker, container.LabelOwner, m.owner) != 0 {
		t.Fatal("the container is still there after the release")
	}
}

// TestEndToEndDockerLeaseActions: through a real miner on the real Docker
// daemon, the renter allocates with two SSH keys, restarts its key-only lease (SSH answers again, what was
// written stays), replaces its keys (the new key logs in, the old one no
// longer), extends it (the lease's own /etc/lease says the new end) and is
// refused with another allocation key.
func TestEndToEndDockerLeaseActions(t *testing.T) {
	docker := testutil.Docker(t)
	n := newE2ENet(t)
	m := n.startMiner(keypair(t, "//Bob//actions"), 1, 2, docker)
	n.collectSpecs(m)
	r := n.renter()
	ctx := context.Background()

	oldKey, oldPub := testutil.SSHKey(t)
	newKey, newPub := testutil.SSHKey(t)
	secondKey, secondPub := testutil.SSHKey(t)
	req := need(1, 1)
	req.RAM.Capacity = 256 << 20
	a, err := r.Allocate(ctx, Request{Requirement: req, Timeline: 1, SSHKey: oldPub, SSHKeys: []string{secondPub}})
	if err != nil {
		t.Fatal(err)
	}
	login := func(key, cmd string) (string, error) {
		return testutil.SSH(t, testutil.Login{Port: a.Port, User: a.Username, Identity: key}, cmd)
	}
	if _, err := login(secondKey, "true"); err != nil || len(a.SSHKeys) != 2 {
		t.Fatalf("the second key given at allocation: %v (keys %q)", err, a.SSHKeys)
	}
	if _, err := login(oldKey, "echo kept >/root/marker"); err != nil {
		t.Fatalf("key login: %v", err)
	}

	start := time.Now()
	if err := r.Restart(ctx, a.Hotkey); err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("restart request to SSH answering: %v", time.Since(start).Round(time.Millisecond))
	if out, err := login(oldKey, "cat /root/marker"); err != nil || strings.TrimSpace(out) != "kept" {
		t.Fatalf("after restart: %q %v", out, err)
	}

	if err := r.SetSSHKeys(ctx, a.Hotkey, []string{newPub}); err != nil {
		t.Fatalf("set keys: %v", err)
	}
	if _, err := login(newKey, "true"); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	if _, err := login(oldKey, "true"); err == nil {
		t.Fatal("the replaced key still logs in")
	}
	if _, err := login(secondKey, "true"); err == nil {
		t.Fatal("the replaced second key still logs in")
	}
	if rec, err := r.Lookup(ctx, a.Hotkey); err != nil || len(rec.SSHKeys) != 1 || !strings.HasPrefix(newPub, rec.SSHKeys[0]) {
		t.Fatalf("recorded keys %+v, %v", rec, err)
	}

	before, _ := r.Lookup(ctx, a.Hotkey)
	ext, err := r.Extend(ctx, a.Hotkey, 2)
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
	if ext.Timeline != 3 || !ext.ExpiresAt.Equal(before.ExpiresAt.Add(48*time.Hour)) {
		t.Fatalf("extended to %v (%d days), was %v", ext.ExpiresAt, ext.Timeline, before.ExpiresAt)
	}
	out, err := login(newKey, ". /etc/lease; echo $LEASE_START $LEASE_EXPIRY")
	f := strings.Fields(out)
	if err != nil || len(f) != 2 {
		t.Fatalf("/etc/lease: %q %v", out, err)
	}
	leaseStart, err1 := time.Parse(time.RFC3339, f[0])
	leaseEnd, err2 := time.Parse(time.RFC3339, f[1])
	if err1 != nil || err2 != nil || leaseEnd.Sub(leaseStart) != 3*24*time.Hour {
		t.Fatalf("the lease says it runs from %s to %s, want 3 days", f[0], f[1])
	}

	// Another allocation key is not the holder's.
	good, err := os.ReadFile(a.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newAllocationKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPath, err := other.save(n.dir)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := os.ReadFile(otherPath)
	os.Remove(otherPath)
	if err := os.WriteFile(a.KeyFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Restart(ctx, a.Hotkey); !errors.Is(err, ErrRefused) {
		t.Fatalf("restart with another key: %v, want ErrRefused", err)
	}
	if _, err := r.Extend(ctx, a.Hotkey, 1); !errors.Is(err, ErrRefused) {
		t.Fatalf("extend with another key: %v, want ErrRefused", err)
	}
	if err := os.WriteFile(a.KeyFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, a.Hotkey, ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if testutil.Containers(t, docker, container.LabelOwner, m.owner) != 0 {
		t.Fatal("the container is still there after the release")
	}
}
