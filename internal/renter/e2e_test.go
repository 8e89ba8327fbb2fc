package renter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/gpu"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

const e2eNetuid = 1

// skipOrFail skips a test that needs a real component, or fails it under
// COMPUTE_REQUIRE_REAL=1.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("COMPUTE_REQUIRE_REAL") == "1" {
		t.Fatalf(format+" (COMPUTE_REQUIRE_REAL=1)", args...)
	}
	t.Skipf(format, args...)
}

// sshImage is the SSH image scripts/build-test-image.sh builds.
func sshImage() string {
	if s := os.Getenv("COMPUTE_SSH_IMAGE"); s != "" {
		return s
	}
	return "compute-ssh:test"
}

// realDocker returns a client of the real daemon with the SSH image and the
// OpenSSH client present, or skips.
func realDocker(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := container.Dial(ctx)
	if err != nil {
		skipOrFail(t, "no Docker daemon: %v (scripts/provision.sh starts one)", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.ImageInspect(ctx, sshImage()); err != nil {
		skipOrFail(t, "image %s missing: %v (run scripts/build-test-image.sh)", sshImage(), err)
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		skipOrFail(t, "ssh not installed (apt-get install openssh-client)")
	}
	return c
}

// e2eNet is an in-process dev chain with a validator (2000 TAO) and miners
// running the real miner role on loopback.
type e2eNet struct {
	t         *testing.T
	chain     *devchain.Chain
	cold      *wallet.Keypair
	validator *wallet.Keypair
	dir       string
	store     *store.Validator
}

func newE2ENet(t *testing.T) *e2eNet {
	t.Helper()
	ctx := context.Background()
	c, err := devchain.Open(ctx, devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	n := &e2eNet{t: t, chain: c, cold: keypair(t, "//Bob"), validator: keypair(t, "//Bob//validator"), dir: t.TempDir()}
	p := devchain.DefaultParams()
	p.ServingRateLimit = 0
	p.MaxAllowedUIDs = 16
	if err := c.CreateSubnet(ctx, keypair(t, devchain.SudoURI), e2eNetuid, &p); err != nil {
		t.Fatal(err)
	}
	if err := c.Fund(ctx, n.cold.SS58Address(), 100_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	n.register(n.validator, 2000)
	n.store = openStore(t, n.dir)
	return n
}

func (n *e2eNet) register(hk *wallet.Keypair, tao uint64) {
	n.t.Helper()
	ctx := context.Background()
	if _, err := n.chain.Register(ctx, e2eNetuid, n.cold, hk.SS58Address()); err != nil {
		n.t.Fatal(err)
	}
	if tao > 0 {
		if err := n.chain.AddStake(ctx, n.cold, hk.SS58Address(), tao*devchain.RaoPerTAO); err != nil {
			n.t.Fatal(err)
		}
	}
}

// fixedSpecs reports a made-up machine, so that selection by specs can be tested on one host.
type fixedSpecs struct{ s specs.Specs }

func (f fixedSpecs) Collect(context.Context) (specs.Specs, error) { return f.s, nil }

func noGPUs(context.Context) (gpu.Inventory, error) {
	return gpu.Inventory{Reason: "test machine"}, nil
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
	rm := &realMiner{hotkey: hk, owner: "test-renter-" + hex.EncodeToString(b), port: freePort(t)}
	cfg := miner.Config{
		Netuid:          e2eNetuid,
		AxonIP:          "127.0.0.1",
		Solver:          "cpu",
		DataDir:         t.TempDir(),
		SpecsProbeBytes: -1,
		SyncInterval:    200 * time.Millisecond,
		SpecsInterval:   time.Hour,
		Policy:          miner.PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		Logger:          e2eLogger(),
		SSHBindIP:       "127.0.0.1",
		SSHPort:         rm.port,
		LeaseOwner:      rm.owner,
		Image:           sshImage(),
	}
	deps := miner.Deps{Chain: n.chain, Hotkey: hk, GPUs: noGPUs, Specs: fixedSpecs{rep}}
	if docker != nil {
		cfg.Allocation, cfg.AllocationRequired = true, true
		deps.Docker = docker
		t.Cleanup(func() { removeLeases(docker, rm.owner) })
	}
	m, err := miner.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("miner did not stop")
		}
	})
	select {
	case <-m.Ready():
	case err := <-done:
		t.Fatalf("miner: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("miner not ready")
	}
	rm.m = m
	return rm
}

func removeLeases(c *client.Client, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", container.LabelOwner+"="+owner)})
	if err != nil {
		return
	}
	for _, it := range list.Items {
		c.ContainerRemove(ctx, it.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
}

func leaseCount(t *testing.T, c *client.Client, owner string) int {
	t.Helper()
	list, err := c.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", container.LabelOwner+"="+owner)})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
		res := wire.Call(ctx, d, wire.Target{UID: int(nr.UID), Hotkey: nr.Hotkey, IP: nr.Axon.IP, Port: int(nr.Axon.Port)}, &wire.Specs{}, 10*time.Second)
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
		AllocateTimeout: 60 * time.Second, Logger: e2eLogger()}, n.chain, n.store, n.validator)
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
	if list, _ := r.List(ctx); len(list) != 0 {
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
	docker := realDocker(t)
	n := newE2ENet(t)
	big := n.startMiner(keypair(t, "//Bob//big"), 8, 32, docker)
	small := n.startMiner(keypair(t, "//Bob//small"), 1, 2, docker)
	n.collectSpecs(big, small)
	r := n.renter()
	ctx := context.Background()

	req := need(1, 1)
	req.RAM.Capacity = 256 << 20
	start := time.Now()
	a, err := r.Allocate(ctx, Request{Requirement: req, Timeline: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("allocated %s in %v: %s", a.Hotkey, time.Since(start).Round(time.Millisecond), a.SSHCommand())
	if a.Hotkey != small.hotkey.SS58Address() || a.Port != small.port || a.Password == "" {
		t.Fatalf("allocation %+v: want the better scored miner on port %d with a password", a, small.port)
	}
	if leaseCount(t, docker, small.owner) != 1 || leaseCount(t, docker, big.owner) != 0 {
		t.Fatal("lease containers are not where they should be")
	}
	out, err := sshPassword(t, a.Port, a.Username, a.Password, "nproc")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("ssh login: %v\n%s", err, out)
	}

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
	if leaseCount(t, docker, small.owner) != 1 {
		t.Fatal("a wrong key removed the lease")
	}
	// The right key ends it.
	if err := os.WriteFile(a.KeyFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, a.Hotkey, ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if leaseCount(t, docker, small.owner) != 0 {
		t.Fatal("the container is still there after the release")
	}
	if list, _ := r.List(ctx); len(list) != 0 {
		t.Fatalf("record kept: %+v", list)
	}
	assertKeyFiles(t, n.dir, 0)
}

// sshPassword logs in with the OpenSSH client, giving the password through
// SSH_ASKPASS (it stays out of argv), and runs cmd.
func sshPassword(t *testing.T, port int, user, password, cmd string) (string, error) {
	t.Helper()
	askpass := filepath.Join(t.TempDir(), "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\nprintf '%s\\n' \"$RENTER_TEST_PASSWORD\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, "ssh", "-p", strconv.Itoa(port), "-F", "/dev/null",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=5", "-o", "NumberOfPasswordPrompts=1",
		"-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
		user+"@127.0.0.1", cmd)
	c.Env = append(os.Environ(), "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0", "SSH_ASKPASS="+askpass, "RENTER_TEST_PASSWORD="+password)
	out, err := c.CombinedOutput()
	return string(out), err
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
	docker := realDocker(t)
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	n := newE2ENet(t)
	m := n.startMiner(keypair(t, "//Bob//keyonly"), 1, 2, docker)
	n.collectSpecs(m)
	r := n.renter()
	ctx := context.Background()

	keyPath := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(keyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	req := need(1, 1)
	req.RAM.Capacity = 256 << 20
	a, err := r.Allocate(ctx, Request{Requirement: req, Timeline: 1, SSHKey: strings.TrimSpace(string(pub))})
	if err != nil {
		t.Fatal(err)
	}
	if a.Password != "" {
		t.Fatal("the password is handed out although the lease is key-only")
	}
	c := exec.Command("ssh", "-p", strconv.Itoa(a.Port), "-F", "/dev/null", "-i", keyPath,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=5", a.Username+"@127.0.0.1", "echo key-login-ok")
	out, err := c.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "key-login-ok" {
		t.Fatalf("key login: %v\n%s", err, out)
	}
	if out, err := sshPassword(t, a.Port, a.Username, "not-the-password", "true"); err == nil {
		t.Fatalf("password login accepted on a key-only lease:\n%s", out)
	}
	if err := r.Release(ctx, a.Hotkey, ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if leaseCount(t, docker, m.owner) != 0 {
		t.Fatal("the container is still there after the release")
	}
}
