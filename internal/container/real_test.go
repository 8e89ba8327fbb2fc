package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/sn27/compute/internal/testutil"
)

// realConfig is a Config with a unique owner, name prefix and port, whose containers are
// removed when the test ends, even on failure.
func realConfig(t testing.TB, c *client.Client) Config {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	owner := "test-" + hex.EncodeToString(b)
	testutil.RemoveAtCleanup(t, c, LabelOwner, owner)
	dir := t.TempDir()
	t.Cleanup(func() { removeLeftovers(t, c, owner, dir) })
	return Config{
		DataDir:      dir,
		Image:        testutil.SSHImage(),
		SSHPort:      testutil.FreePort(t),
		BindAddress:  netip.MustParseAddr("127.0.0.1"),
		Owner:        owner,
		NamePrefix:   "compute-" + owner,
		ReadyTimeout: 15 * time.Second,
	}
}

// removeLeftovers removes, even after a failed test, what leases of owner left: their
// containers, Docker volumes and networks, firewall rules and mounted volumes (before
// the test's temporary directory is removed).
func removeLeftovers(t testing.TB, c *client.Client, owner, dataDir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	filter := make(client.Filters).Add("label", LabelOwner+"="+owner)
	if list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter}); err == nil {
		for _, it := range list.Items {
			c.ContainerRemove(ctx, it.ID, client.ContainerRemoveOptions{Force: true})
		}
	}
	if vols, err := c.VolumeList(ctx, client.VolumeListOptions{Filters: filter}); err == nil {
		for _, v := range vols.Items {
			c.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
	if nets, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: filter}); err == nil {
		for _, n := range nets.Items {
			if _, err := c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
				t.Logf("cleanup: remove network %s: %v", n.Name, err)
			}
			if ok, _ := (iptablesFirewall{}).Support(); ok {
				(iptablesFirewall{}).Release(ctx, bridgeName(n.Labels[LabelLease]))
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dataDir, leasesDir))
	for _, e := range entries {
		if ok, _ := (iptablesFirewall{}).Support(); ok {
			(iptablesFirewall{}).Release(ctx, bridgeName(e.Name()))
		}
		if err := (loopVolumes{}).Remove(ctx, filepath.Join(dataDir, leasesDir, e.Name())); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
}

// startManager starts a lease manager on the real daemon, closed when the test ends.
func startManager(t testing.TB, c *client.Client, cfg Config) *Manager {
	t.Helper()
	m, err := NewManager(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// memoryLimitCmd prints the container's memory limit on cgroup v2 or v1.
const memoryLimitCmd = "nproc; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"

func requirementJSON(cpus int, ram, disk int64) json.RawMessage {
	return json.RawMessage(`{"cpu":{"count":` + strconv.Itoa(cpus) + `},"gpu":{},"hard_disk":{"capacity":` +
		strconv.FormatInt(disk, 10) + `},"ram":{"capacity":` + strconv.FormatInt(ram, 10) + `}}`)
}

func TestRealAllocatePasswordLoginRestartDeallocate(t *testing.T) {
	c := testutil.Docker(t)
	cfg := realConfig(t, c)
	ctx := context.Background()
	priv, pub := testutil.RSAKey(t)
	_, otherPub := testutil.RSAKey(t)

	m := startManager(t, c, cfg)
	if err := m.CanAllocate(ctx, 3, requirementJSON(1, 256<<20, 1<<30), pub); err != nil {
		t.Fatalf("checking mode: %v", err)
	}

	start := time.Now()
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 3, DeviceRequirement: requirementJSON(1, 256<<20, 1<<30), PublicKey: pub,
		ValidatorHotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"})
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	allocated := time.Since(start)
	creds, err := DecryptCredentials(priv, res.Info)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Username != "root" || creds.Port != cfg.SSHPort || len(creds.Password) != passwordLength {
		t.Fatalf("credentials %+v", Credentials{Username: creds.Username, Port: creds.Port})
	}
	out, err := testutil.SSH(t, testutil.Login{Port: creds.Port, Password: creds.Password}, memoryLimitCmd)
	if err != nil {
		t.Fatalf("ssh login with the password: %v", err)
	}
	t.Logf("allocate took %v; allocate to working SSH login (password) took %v", allocated.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	lines := strings.Fields(out)
	if len(lines) != 2 || lines[0] != "1" || lines[1] != strconv.Itoa(256<<20) {
		t.Fatalf("inside the container nproc and memory limit = %q, want 1 and %d", out, 256<<20)
	}
	if _, err := testutil.SSH(t, testutil.Login{Port: creds.Port, Password: "wrong-password"}, "true"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if len(res.Lease.Warnings) == 0 {
		info, _ := c.Info(ctx, client.InfoOptions{})
		if info.Info.Driver != "overlay2" {
			t.Logf("storage driver %s", info.Info.Driver)
		}
	}
	t.Logf("lease warnings: %q", res.Lease.Warnings)

	// The container carries the lease labels and the enforced limits.
	insp, err := c.ContainerInspect(ctx, res.Lease.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := insp.Container.HostConfig
	if hc.Privileged || hc.NetworkMode.IsHost() || hc.Memory != 256<<20 || hc.CpusetCpus == "" || hc.PidsLimit == nil || len(hc.DeviceRequests) != 0 {
		t.Fatalf("host config: privileged=%v network=%s memory=%d cpuset=%q devices=%v", hc.Privileged, hc.NetworkMode, hc.Memory, hc.CpusetCpus, hc.DeviceRequests)
	}
	if l := insp.Container.Config.Labels; l[LabelLease] != res.Lease.ID || l[LabelOwner] != cfg.Owner || l[LabelSchema] != "1" {
		t.Fatalf("labels %v", l)
	}
	for _, e := range insp.Container.Config.Env {
		if strings.Contains(e, creds.Password) {
			t.Fatal("the password is in the container's environment")
		}
	}

	// Refusals change nothing.
	if _, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 256<<20, 0), PublicKey: otherPub}); !errors.Is(err, ErrAlreadyAllocated) {
		t.Fatalf("second allocation: %v", err)
	}
	if err := m.Deallocate(ctx, otherPub); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("deallocate with the wrong key: %v", err)
	}
	if !m.IsAllocatedTo(pub) || m.IsAllocatedTo(otherPub) {
		t.Fatal("IsAllocatedTo")
	}

	// Restart: a new manager on the same data dir re-adopts the lease and its container.
	m.Close()
	m2 := startManager(t, c, cfg)
	l, ok := m2.Lease()
	if !ok || l.ID != res.Lease.ID || l.ContainerID != res.Lease.ContainerID {
		t.Fatalf("after restart lease = %+v, %v", l, ok)
	}
	if _, err := testutil.SSH(t, testutil.Login{Port: creds.Port, Password: creds.Password}, "true"); err != nil {
		t.Fatalf("ssh after restart: %v", err)
	}

	if err := m2.Deallocate(ctx, pub); err != nil {
		t.Fatalf("deallocate: %v", err)
	}
	if _, err := c.ContainerInspect(ctx, res.Lease.ContainerID, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("container still there after deallocation: %v", err)
	}
	if _, ok := m2.Lease(); ok {
		t.Fatal("lease still active")
	}
	if l, err := loadState(filepath.Join(cfg.DataDir, StateFileName)); err != nil || l != nil {
		t.Fatalf("stored state after deallocation: %v, %v", l, err)
	}
}

func TestRealKeyOnlyLogin(t *testing.T) {
	c := testutil.Docker(t)
	cfg := realConfig(t, c)
	ctx := context.Background()
	priv, pub := testutil.RSAKey(t)
	keyPath, sshPub := testutil.SSHKey(t)
	m := startManager(t, c, cfg)
	start := time.Now()
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 128<<20, 0), PublicKey: pub, SSHPublicKey: sshPub})
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	creds, err := DecryptCredentials(priv, res.Info)
	if err != nil {
		t.Fatal(err)
	}
	out, err := testutil.SSH(t, testutil.Login{Port: creds.Port, Identity: keyPath}, "echo ok")
	if err != nil || strings.TrimSpace(out) != "ok" {
		t.Fatalf("key login: %q %v", out, err)
	}
	t.Logf("allocate to working SSH login (key) took %v", time.Since(start).Round(time.Millisecond))
	if _, err := testutil.SSH(t, testutil.Login{Port: creds.Port, Password: creds.Password}, "true"); err == nil {
		t.Fatal("password login works although a key was given (want key-only)")
	}
	if err := m.Deallocate(ctx, pub); err != nil {
		t.Fatal(err)
	}
}

func TestRealExpiryAndStrays(t *testing.T) {
	c := testutil.Docker(t)
	cfg := realConfig(t, c)
	cfg.TimelineUnit = 2 * time.Second
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)

	// A container of this owner without a lease is a stray: Start removes it.
	stray := ContainerSpec(Config{Image: cfg.Image, Owner: cfg.Owner}, &Lease{ID: "stray", ContainerName: cfg.NamePrefix + "-stray", Port: testutil.FreePort(t), Expiry: time.Now()},
		Limits{CPUSet: "0", MemoryBytes: 64 << 20, MemorySwapBytes: 64 << 20, PidsLimit: 64})
	stray.HostConfig.PortBindings = nil
	sres, err := c.ContainerCreate(ctx, stray)
	if err != nil {
		t.Fatal(err)
	}
	m := startManager(t, c, cfg)
	if _, err := c.ContainerInspect(ctx, sres.ID, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("stray container survived Start: %v", err)
	}

	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 128<<20, 0), PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, active := m.Lease()
		_, err := c.ContainerInspect(ctx, res.Lease.ContainerID, client.ContainerInspectOptions{})
		if !active && cerrdefs.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease did not expire: active=%v inspect err=%v", active, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRealBadRequestsChangeNothing(t *testing.T) {
	c := testutil.Docker(t)
	cfg := realConfig(t, c)
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	m := startManager(t, c, cfg)
	good := requirementJSON(1, 128<<20, 0)
	cases := []struct {
		name string
		req  AllocateRequest
		want error
	}{
		{"malformed requirement", AllocateRequest{Timeline: 1, DeviceRequirement: json.RawMessage(`{"cpu":`), PublicKey: pub}, ErrInvalidRequirement},
		{"negative timeline", AllocateRequest{Timeline: -1, DeviceRequirement: good, PublicKey: pub}, ErrInvalidTimeline},
		{"zero timeline", AllocateRequest{Timeline: 0, DeviceRequirement: good, PublicKey: pub}, ErrInvalidTimeline},
		{"61 days", AllocateRequest{Timeline: 61, DeviceRequirement: good, PublicKey: pub}, ErrInvalidTimeline},
		{"bad PEM", AllocateRequest{Timeline: 1, DeviceRequirement: good, PublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, ErrInvalidPublicKey},
		{"hostile SSH key", AllocateRequest{Timeline: 1, DeviceRequirement: good, PublicKey: pub, SSHPublicKey: "ssh-ed25519 AAAA\n; rm -rf /"}, ErrInvalidPublicKey},
		{"hostile hotkey", AllocateRequest{Timeline: 1, DeviceRequirement: good, PublicKey: pub, ValidatorHotkey: "$(reboot)"}, ErrInvalidRequest},
		{"hostile gpu type", AllocateRequest{Timeline: 1, DeviceRequirement: json.RawMessage(`{"cpu":{"count":1},"gpu":{"count":1,"type":"4090\"; rm -rf /"},"ram":{"capacity":134217728}}`), PublicKey: pub}, ErrInvalidRequirement},
		{"more CPUs than the host", AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(4000, 128<<20, 0), PublicKey: pub}, ErrInsufficientResources},
		{"a GPU on a host without one", AllocateRequest{Timeline: 1, DeviceRequirement: json.RawMessage(`{"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},"ram":{"capacity":134217728}}`), PublicKey: pub}, ErrInsufficientResources},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Allocate(ctx, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if _, ok := m.Lease(); ok {
				t.Fatal("a lease was created")
			}
		})
	}
	list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelOwner+"="+cfg.Owner)})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("containers after bad requests: %d, %v", len(list.Items), err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, StateFileName)); !os.IsNotExist(err) {
		t.Fatalf("state file written by bad requests: %v", err)
	}

	// A missing image is a clear error and stores nothing.
	cfg2 := cfg
	cfg2.Image = "compute-ssh:does-not-exist"
	m2, _ := NewManager(cfg2, c)
	defer m2.Close()
	if _, err := m2.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: good, PublicKey: pub}); !errors.Is(err, ErrImageMissing) {
		t.Fatalf("missing image: %v", err)
	}

	// A port held by another process is a clear error and leaves no container behind.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg3 := cfg
	cfg3.SSHPort = l.Addr().(*net.TCPAddr).Port
	m3, _ := NewManager(cfg3, c)
	defer m3.Close()
	if _, err := m3.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: good, PublicKey: pub}); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("port in use: %v", err)
	}
	list, _ = c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelOwner+"="+cfg.Owner)})
	if len(list.Items) != 0 {
		t.Fatalf("%d containers left after the failed allocation", len(list.Items))
	}
}

// BenchmarkAllocateToSSH measures Allocate until a password SSH login runs a command,
// without a disk size and with 256 MiB of disk (a sized volume where one can be made).
func BenchmarkAllocateToSSH(b *testing.B) {
	for _, bc := range []struct {
		name string
		disk int64
	}{{"no-disk", 0}, {"disk-256MiB", MinDiskBytes}} {
		b.Run(bc.name, func(b *testing.B) { benchmarkAllocateToSSH(b, bc.disk) })
	}
}

func benchmarkAllocateToSSH(b *testing.B, disk int64) {
	c := testutil.Docker(b)
	cfg := realConfig(b, c)
	ctx := context.Background()
	priv, pub := testutil.RSAKey(b)
	m := startManager(b, c, cfg)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 256<<20, disk), PublicKey: pub})
		if err != nil {
			b.Fatal(err)
		}
		creds, err := DecryptCredentials(priv, res.Info)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := testutil.SSH(b, testutil.Login{Port: creds.Port, Password: creds.Password}, "true"); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if err := m.Deallocate(ctx, pub); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-login/op")
}

// The holder of a key-only lease restarts it (what it wrote stays, SSH answers
// again), replaces its keys (the new key logs in, the old one no longer) and
// extends it (the lease's files say so, and a new manager keeps the new end);
// another requester key is refused and changes nothing. Without a disk size, and
// with one (a sized volume and a read-only root where one can be made).
func TestRealLeaseActions(t *testing.T) {
	for _, tc := range []struct {
		name string
		disk int64
	}{{"no-disk", 0}, {"disk-256MiB", MinDiskBytes}} {
		t.Run(tc.name, func(t *testing.T) { testRealLeaseActions(t, tc.disk) })
	}
}

func testRealLeaseActions(t *testing.T, disk int64) {
	c := testutil.Docker(t)
	cfg := realConfig(t, c)
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	_, otherPub := testutil.RSAKey(t)
	oldKey, oldPub := testutil.SSHKey(t)
	newKey, newPub := testutil.SSHKey(t)
	const hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	m := startManager(t, c, cfg)
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 128<<20, disk), PublicKey: pub, SSHPublicKey: oldPub, ValidatorHotkey: hotkey})
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	t.Logf("sized volume and read-only root: %v", res.Lease.DiskVolume != "")
	login := func(key string) (string, error) {
		return testutil.SSH(t, testutil.Login{Port: cfg.SSHPort, Identity: key}, "cat /root/marker 2>/dev/null; . /etc/lease; echo $LEASE_EXPIRY")
	}
	if _, err := testutil.SSH(t, testutil.Login{Port: cfg.SSHPort, Identity: oldKey}, "echo kept >/root/marker"); err != nil {
		t.Fatalf("key login: %v", err)
	}

	// Another requester key: refused, nothing happens.
	if err := m.Restart(ctx, otherPub, hotkey); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("restart by another: %v", err)
	}
	if err := m.SetSSHKeys(ctx, otherPub, hotkey, []string{newPub}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("keys by another: %v", err)
	}
	if _, err := m.Extend(ctx, otherPub, hotkey, 3); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("extend by another: %v", err)
	}

	// Restart.
	insp, err := c.ContainerInspect(ctx, res.Lease.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	started := insp.Container.State.StartedAt
	t0 := time.Now()
	if err := m.Restart(ctx, pub, hotkey); err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("restart to SSH answering took %v", time.Since(t0).Round(time.Millisecond))
	if insp, err = c.ContainerInspect(ctx, res.Lease.ContainerID, client.ContainerInspectOptions{}); err != nil || insp.Container.State.StartedAt == started {
		t.Fatalf("container not restarted (started %s, then %s): %v", started, insp.Container.State.StartedAt, err)
	}
	out, err := login(oldKey)
	if f := strings.Fields(out); err != nil || len(f) != 2 || f[0] != "kept" || f[1] != res.Lease.Expiry.UTC().Format(time.RFC3339) {
		t.Fatalf("login after restart: %q %v", out, err)
	}

	// Keys.
	if err := m.SetSSHKeys(ctx, pub, hotkey, nil); !errors.Is(err, ErrLastKey) {
		t.Fatalf("removing every key: %v", err)
	}
	if err := m.SetSSHKeys(ctx, pub, hotkey, []string{newPub}); err != nil {
		t.Fatalf("set keys: %v", err)
	}
	if _, err := login(newKey); err != nil {
		t.Fatalf("the new key does not log in: %v", err)
	}
	if out, err := login(oldKey); err == nil {
		t.Fatalf("the replaced key still logs in: %q", out)
	}

	// Extend.
	l, err := m.Extend(ctx, pub, hotkey, 3)
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
	want := res.Lease.Start.Add(3 * 24 * time.Hour)
	if !l.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", l.Expiry, want)
	}
	out, err = login(newKey)
	if f := strings.Fields(out); err != nil || len(f) != 2 || f[1] != want.UTC().Format(time.RFC3339) {
		t.Fatalf("/etc/lease after extend: %q %v", out, err)
	}
	motd, err := testutil.SSH(t, testutil.Login{Port: cfg.SSHPort, Identity: newKey}, "cat /etc/motd")
	if err != nil || !strings.Contains(motd, "until "+want.UTC().Format("2006-01-02 15:04 UTC")) {
		t.Fatalf("motd after extend: %q %v", motd, err)
	}
	m.Close()
	m2 := startManager(t, c, cfg)
	if cur, ok := m2.Lease(); !ok || !cur.Expiry.Equal(want) {
		t.Fatalf("after re-adoption: %+v, %v", cur, ok)
	}
	if err := m2.Restart(ctx, pub, hotkey); err != nil {
		t.Fatalf("restart after re-adoption: %v", err)
	}
	if _, err := login(newKey); err != nil {
		t.Fatalf("login after the second restart: %v", err)
	}
	if err := m2.Deallocate(ctx, pub); err != nil {
		t.Fatal(err)
	}
}
