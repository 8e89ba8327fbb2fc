package container

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/sn27/compute/internal/testutil"
)

// sshFields runs cmd in the lease over SSH and reads its "key value" lines.
func sshFields(t *testing.T, login testutil.Login, cmd string) map[string]string {
	t.Helper()
	out, err := testutil.SSH(t, login, cmd)
	if err != nil {
		t.Fatalf("ssh %q: %v\n%s", cmd, err, out)
	}
	f := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if k != "" {
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

// needLoopVolumes skips (or fails) unless this process can make loop-mounted volumes.
func needLoopVolumes(t *testing.T) {
	t.Helper()
	if ok, why := (loopVolumes{}).Support(); !ok {
		testutil.SkipOrFail(t, "sized lease volumes are not possible here: %s", why)
	}
}

// TestRealDiskEnforced allocates a lease with 256 MiB of disk and checks from inside
// it, over SSH, that about that much can be written and no more (ENOSPC), whatever
// the path; that the root filesystem is read-only; that /etc/lease says so; that a
// restart of the miner keeps the volume and its files, a reboot (volume unmounted, rules
// gone, container stopped) gets them back at the next start, and release removes them.
func TestRealDiskEnforced(t *testing.T) {
	c := testutil.Docker(t)
	needLoopVolumes(t)
	cfg := realConfig(t, c)
	ctx := context.Background()
	priv, pub := testutil.RSAKey(t)
	m := startManager(t, c, cfg)

	const disk = MinDiskBytes // 256 MiB
	start := time.Now()
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 2, DeviceRequirement: requirementJSON(1, 512<<20, disk), PublicKey: pub})
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	t.Logf("allocate with a %d MiB volume took %v", disk>>20, time.Since(start).Round(time.Millisecond))
	creds, err := DecryptCredentials(priv, res.Info)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Disk != DiskEnforced || !res.Lease.DiskEnforced || res.Lease.DiskVolume == "" || len(res.Lease.Warnings) != 0 {
		t.Fatalf("credentials say disk %q; lease enforced=%v volume=%q warnings=%q", creds.Disk, res.Lease.DiskEnforced, res.Lease.DiskVolume, res.Lease.Warnings)
	}
	login := testutil.Login{Port: creds.Port, Password: creds.Password}
	f := sshFields(t, login, strings.Join([]string{
		`. /etc/lease`,
		`echo lease "$LEASE_DISK_BYTES $LEASE_DISK_ENFORCED $LEASE_CPUS $LEASE_MEMORY_BYTES $LEASE_SWAP_BYTES $LEASE_EXPIRY"`,
		`echo avail $(df -B1 --output=avail /workspace | tail -1)`,
		`echo samefs $(stat -c %d /workspace /root /tmp /etc /usr /var | sort -u | wc -l)`,
		`echo tmpmode $(stat -c %a /tmp)`,
		`echo run $(df -B1 --output=size /run | tail -1)`,
		`dd if=/dev/zero of=/workspace/fits bs=1M count=220 conv=fsync 2>/dev/null && echo fits ok`,
		`echo kept >/workspace/marker && touch /usr/local/bin/installed && echo usr ok`,
		`echo over $(dd if=/dev/zero of=/root/over bs=1M count=256 conv=fsync 2>&1 | grep -c 'No space left on device')`,
		`echo tmpover $(dd if=/dev/zero of=/tmp/more bs=1M count=64 2>&1 | grep -c 'No space left on device')`,
		`rm -f /root/over /tmp/more`,
		`echo rootfs $(touch /outside 2>&1 | grep -c 'Read-only file system')`,
		`grep -q 'disk     256 MiB, enforced' /etc/motd && echo motd ok`,
	}, "; "))
	want := fmt.Sprintf("%d yes 1 %d 0 %s", disk, 512<<20, res.Lease.Expiry.UTC().Format(time.RFC3339))
	if f["lease"] != want {
		t.Errorf("/etc/lease says %q, want %q", f["lease"], want)
	}
	avail, _ := strconv.ParseInt(f["avail"], 10, 64)
	t.Logf("free on the volume at start: %d MiB for %d MiB asked", avail>>20, disk>>20)
	if avail < disk || avail > disk+disk/4 {
		t.Errorf("free at start = %d bytes, want about %d", avail, disk)
	}
	checks := map[string]string{"samefs": "1", "tmpmode": "1777", "run": strconv.Itoa(64 << 20), "fits": "ok", "usr": "ok",
		"over": "1", "tmpover": "1", "rootfs": "1", "motd": "ok"}
	for k, v := range checks {
		if f[k] != v {
			t.Errorf("inside the lease %s = %q, want %q (all: %v)", k, f[k], v, f)
		}
	}

	// A restart of the miner keeps the mount and what the renter wrote.
	mnt := filepath.Join(res.Lease.DiskVolume, volumeMount)
	m.Close()
	m2 := startManager(t, c, cfg)
	if mounted, err := isMountPoint(mnt); err != nil || !mounted {
		t.Fatalf("volume not mounted after the restart: %v %v", mounted, err)
	}
	if out, err := testutil.SSH(t, login, "cat /workspace/marker"); err != nil || strings.TrimSpace(out) != "kept" {
		t.Fatalf("after the restart: %q %v", out, err)
	}

	// As after a reboot: the container stopped, the volume unmounted, the rules gone.
	// The next start mounts the volume, installs the rules and runs the container again.
	m2.Close()
	if _, err := c.ContainerStop(ctx, res.Lease.ContainerID, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatalf("unmount as a reboot would: %v", err)
	}
	if err := (iptablesFirewall{}).Release(ctx, res.Lease.Bridge); err != nil {
		t.Fatal(err)
	}
	m3 := startManager(t, c, cfg)
	if mounted, err := isMountPoint(mnt); err != nil || !mounted {
		t.Fatalf("volume not mounted again after the reboot: %v %v", mounted, err)
	}
	if exec.Command("iptables", "-w", "10", "-S", chainName(res.Lease.Bridge)).Run() != nil {
		t.Fatal("firewall rules not installed again after the reboot")
	}
	if err := m3.waitSSH(ctx, res.Lease.ContainerID); err != nil { // started again, not yet serving
		t.Fatal(err)
	}
	if out, err := testutil.SSH(t, login, "cat /workspace/marker; ls /usr/local/bin/installed"); err != nil || strings.Join(strings.Fields(out), " ") != "kept /usr/local/bin/installed" {
		t.Fatalf("after the reboot: %q %v", out, err)
	}

	if err := m3.Deallocate(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(res.Lease.DiskVolume); !os.IsNotExist(err) {
		t.Fatalf("lease volume left after release: %v", err)
	}
	vols, err := c.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", LabelOwner+"="+cfg.Owner)})
	if err != nil || len(vols.Items) != 0 {
		t.Fatalf("docker volumes left after release: %d %v", len(vols.Items), err)
	}
}

// TestRealDiskNotEnforced: where no volume can be made and the storage driver has no
// quota (overlay2 on ext4), the lease says "not enforced", to the renter and inside.
func TestRealDiskNotEnforced(t *testing.T) {
	c := testutil.Docker(t)
	ctx := context.Background()
	info, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := quotaSupport(info.Info.Driver, backingFS(info.Info.DriverStatus)); q {
		t.Skipf("storage driver %s enforces a size here", info.Info.Driver)
	}
	cfg := realConfig(t, c)
	priv, pub := testutil.RSAKey(t)
	m, err := NewManager(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	m.disk = newFakeDisk(false)
	t.Cleanup(m.Close)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 256<<20, 1<<30), PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := DecryptCredentials(priv, res.Info)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Disk != DiskNotEnforced || res.Lease.DiskEnforced || res.Lease.DiskVolume != "" {
		t.Fatalf("credentials say disk %q; lease enforced=%v volume=%q", creds.Disk, res.Lease.DiskEnforced, res.Lease.DiskVolume)
	}
	f := sshFields(t, testutil.Login{Port: creds.Port, Password: creds.Password},
		`. /etc/lease; echo enforced $LEASE_DISK_ENFORCED; echo note $LEASE_DISK_NOTE; grep -q 'NOT enforced' /etc/motd && echo motd ok`)
	if f["enforced"] != "no" || !strings.Contains(f["note"], "not enforced") || f["motd"] != "ok" {
		t.Fatalf("inside the lease: %v", f)
	}
	if err := m.Deallocate(ctx, pub); err != nil {
		t.Fatal(err)
	}
}

func backingFS(status [][2]string) string {
	for _, kv := range status {
		if kv[0] == "Backing Filesystem" {
			return kv[1]
		}
	}
	return ""
}

// listener accepts TCP connections on addr and counts them.
func listener(t *testing.T, addr string) (port int, accepted *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { l.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, accepted
}

// leaseAddrs returns the container's address on its lease network and that network's
// gateway (the host's address on the lease bridge).
func leaseAddrs(t *testing.T, c *client.Client, l Lease) (ip, gateway string) {
	t.Helper()
	insp, err := c.ContainerInspect(context.Background(), l.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := insp.Container.NetworkSettings.Networks[l.Network]
	if ep == nil || !ep.IPAddress.IsValid() || !ep.Gateway.IsValid() {
		t.Fatalf("lease container is not on its network %s: %+v", l.Network, insp.Container.NetworkSettings.Networks)
	}
	return ep.IPAddress.String(), ep.Gateway.String()
}

// probe is a shell line that prints "name open" or "name closed" for a TCP connect.
func probe(name, ip string, port int) string {
	return fmt.Sprintf(`if timeout 5 bash -c '</dev/tcp/%s/%d' 2>/dev/null; then echo %s open; else echo %s closed; fi`, ip, port, name, name)
}

// TestRealNetworkIsolation allocates two leases (two miners on one host) and checks from
// inside lease A, over SSH, that it reaches its own sshd but neither lease B (its sshd
// by IP) nor TCP services the test runs on this host's lease bridge addresses; the
// renter still logs in; release removes the networks and the firewall rules.
func TestRealNetworkIsolation(t *testing.T) {
	c := testutil.Docker(t)
	if ok, why := (iptablesFirewall{}).Support(); !ok {
		testutil.SkipOrFail(t, "lease firewall rules are not possible here: %s", why)
	}
	ctx := context.Background()
	cfgA, cfgB := realConfig(t, c), realConfig(t, c)
	mA, mB := startManager(t, c, cfgA), startManager(t, c, cfgB)
	privA, pubA := testutil.RSAKey(t)
	_, pubB := testutil.RSAKey(t)
	resA, err := mA.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 128<<20, 0), PublicKey: pubA})
	if err != nil {
		t.Fatal(err)
	}
	resB, err := mB.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 128<<20, 0), PublicKey: pubB})
	if err != nil {
		t.Fatal(err)
	}
	if resA.Lease.Network == resB.Lease.Network || !resA.Lease.Firewalled || !resB.Lease.Firewalled {
		t.Fatalf("leases on networks %q and %q, firewalled %v %v", resA.Lease.Network, resB.Lease.Network, resA.Lease.Firewalled, resB.Lease.Firewalled)
	}
	ipA, gwA := leaseAddrs(t, c, resA.Lease)
	ipB, gwB := leaseAddrs(t, c, resB.Lease)
	portA, hitsA := listener(t, gwA)
	portB, hitsB := listener(t, gwB)
	t.Logf("lease A %s (gateway %s), lease B %s (gateway %s)", ipA, gwA, ipB, gwB)

	creds, err := DecryptCredentials(privA, resA.Info)
	if err != nil {
		t.Fatal(err)
	}
	f := sshFields(t, testutil.Login{Port: creds.Port, Password: creds.Password}, strings.Join([]string{
		probe("self", "127.0.0.1", 22),
		probe("selfip", ipA, 22),
		probe("leaseB", ipB, 22),
		probe("hostA", gwA, portA),
		probe("hostB", gwB, portB),
		`. /etc/lease; echo network "$LEASE_NETWORK"`,
		`echo ipv6 $(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || echo absent)`,
	}, "; "))
	want := map[string]string{"self": "open", "selfip": "open", "leaseB": "closed", "hostA": "closed", "hostB": "closed"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("from lease A, %s is %q, want %q (all: %v)", k, f[k], v, f)
		}
	}
	if !strings.Contains(f["network"], "this host's services are blocked") {
		t.Errorf("/etc/lease network = %q", f["network"])
	}
	if f["ipv6"] != "1" && f["ipv6"] != "absent" {
		t.Errorf("IPv6 inside the lease: disable_ipv6 = %q", f["ipv6"])
	}
	if n := hitsA.Load() + hitsB.Load(); n != 0 {
		t.Errorf("the host's listeners accepted %d connections from the lease", n)
	}
	// The listeners do answer on this host: the probes above failed for the lease only.
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(gwA, strconv.Itoa(portA)), 2*time.Second); err != nil {
		t.Fatalf("the host's own connection to its listener: %v", err)
	} else {
		conn.Close()
	}

	// A restart re-installs the rules without duplicating them.
	mA.Close()
	mA = startManager(t, c, cfgA)
	if n := countRules(t, "INPUT", chainName(resA.Lease.Bridge)); n != 1 {
		t.Errorf("INPUT jumps to the lease chain after a restart: %d, want 1", n)
	}

	for _, r := range []struct {
		m   *Manager
		pub string
		res AllocateResult
	}{{mA, pubA, resA}, {mB, pubB, resB}} {
		if err := r.m.Deallocate(ctx, r.pub); err != nil {
			t.Fatal(err)
		}
		if _, err := c.NetworkInspect(ctx, r.res.Lease.Network, client.NetworkInspectOptions{}); !cerrdefs.IsNotFound(err) {
			t.Errorf("network %s left after release: %v", r.res.Lease.Network, err)
		}
		if n := countRules(t, "INPUT", chainName(r.res.Lease.Bridge)); n != 0 {
			t.Errorf("%d INPUT rules left for %s after release", n, r.res.Lease.Bridge)
		}
		if exec.Command("iptables", "-w", "10", "-S", chainName(r.res.Lease.Bridge)).Run() == nil {
			t.Errorf("chain %s left after release", chainName(r.res.Lease.Bridge))
		}
	}
}

// countRules counts the rules of chain that mention s.
func countRules(t *testing.T, chain, s string) int {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "10", "-S", chain).CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S %s: %v %s", chain, err, out)
	}
	return strings.Count(string(out), s)
}

// TestRealStrayLeaseResources: a lease whose record is lost (a crash between creating it
// and storing it) leaves a container, a network, Docker volumes, firewall rules and a
// mounted volume; the next start removes them all.
func TestRealStrayLeaseResources(t *testing.T) {
	c := testutil.Docker(t)
	needLoopVolumes(t)
	cfg := realConfig(t, c)
	ctx := context.Background()
	_, pub := testutil.RSAKey(t)
	m := startManager(t, c, cfg)
	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: requirementJSON(1, 128<<20, MinDiskBytes), PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := os.Remove(filepath.Join(cfg.DataDir, StateFileName)); err != nil {
		t.Fatal(err)
	}
	startManager(t, c, cfg)
	filter := make(client.Filters).Add("label", LabelOwner+"="+cfg.Owner)
	vols, _ := c.VolumeList(ctx, client.VolumeListOptions{Filters: filter})
	nets, _ := c.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	_, dirErr := os.Stat(res.Lease.DiskVolume)
	chainErr := exec.Command("iptables", "-w", "10", "-S", chainName(res.Lease.Bridge)).Run()
	if n := testutil.Containers(t, c, LabelOwner, cfg.Owner); n != 0 || len(vols.Items) != 0 || len(nets.Items) != 0 || !os.IsNotExist(dirErr) || chainErr == nil {
		t.Fatalf("left after start: containers %d volumes %d networks %d volume dir %v chain present %v", n, len(vols.Items), len(nets.Items), dirErr, chainErr == nil)
	}
}
