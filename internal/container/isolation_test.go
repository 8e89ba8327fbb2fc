package container

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"

	"github.com/sn27/compute/internal/testutil"
)

var diskReq = []byte(`{"cpu":{"count":1},"gpu":{},"hard_disk":{"capacity":1073741824},"ram":{"capacity":268435456}}`)

func TestAllocateWithVolumeAndNetworkFake(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m := fakeManager(t, f, dir)
	disk, fw := newFakeDisk(true), newFakeFirewall(true)
	m.disk, m.fw = disk, fw
	ctx := context.Background()
	priv, pub := testutil.RSAKey(t)

	res, err := m.Allocate(ctx, AllocateRequest{Timeline: 1, DeviceRequirement: diskReq, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Lease
	creds, err := DecryptCredentials(priv, res.Info)
	if err != nil || creds.Disk != DiskEnforced {
		t.Fatalf("credentials disk %q, %v", creds.Disk, err)
	}
	if !l.DiskEnforced || l.DiskVolume != filepath.Join(dir, leasesDir, l.ID) || !l.Firewalled || l.Bridge != bridgeName(l.ID) || len(l.Bridge) > 15 {
		t.Fatalf("lease %+v", l)
	}
	if size := disk.mounted[l.DiskVolume]; size < 1<<30 {
		t.Fatalf("volume of %d bytes for 1 GiB asked", size)
	}
	n, ok := f.networks[l.Network]
	if !ok || n.Driver != "bridge" || n.Options[bridgeICCOption] != "false" || n.Options[bridgeNameOption] != l.Bridge || n.Labels[LabelLease] != l.ID {
		t.Fatalf("network %+v", n)
	}
	if fw.bridges[l.Bridge] != 1 {
		t.Fatalf("firewall %v", fw.bridges)
	}
	hc := f.containers[l.ContainerID].opts.HostConfig
	if !hc.ReadonlyRootfs || hc.Tmpfs["/run"] != runTmpfs || len(hc.StorageOpt) != 0 || string(hc.NetworkMode) != l.Network {
		t.Fatalf("host config: readonly=%v tmpfs=%v storage=%v network=%s", hc.ReadonlyRootfs, hc.Tmpfs, hc.StorageOpt, hc.NetworkMode)
	}
	var targets []string
	for _, mt := range hc.Mounts {
		v, ok := f.volumes[mt.Source]
		if mt.Type != mount.TypeVolume || !ok || v.DriverOpts["device"] != filepath.Join(l.DiskVolume, volumeMount, volumeSubdir(mt.Target)) || v.DriverOpts["o"] != "bind" {
			t.Fatalf("mount %+v of volume %+v", mt, v)
		}
		targets = append(targets, mt.Target)
	}
	if !slices.Equal(targets, volumePaths) {
		t.Fatalf("volume mounts %v, want %v", targets, volumePaths)
	}

	// A restart re-adopts: the volume is mounted again and the rules installed again.
	m.Close()
	m2, err := NewManager(Config{DataDir: dir, Image: "img", SSHPort: 4444, Owner: "unit", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, f)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	disk.mounted = map[string]int64{} // as after a reboot
	m2.disk, m2.fw = disk, fw
	if err := m2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := disk.mounted[l.DiskVolume]; !ok || fw.bridges[l.Bridge] != 2 {
		t.Fatalf("after restart mounted=%v firewall=%v", disk.mounted, fw.bridges)
	}
	if _, ok := m2.Lease(); !ok {
		t.Fatal("lease not re-adopted")
	}

	if err := m2.Deallocate(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if f.count() != 0 || len(f.networks) != 0 || len(f.volumes) != 0 || disk.count() != 0 || fw.count() != 0 {
		t.Fatalf("left after release: containers %d networks %d volumes %d mounts %d rules %d", f.count(), len(f.networks), len(f.volumes), disk.count(), fw.count())
	}
	if _, err := os.Stat(l.DiskVolume); !os.IsNotExist(err) {
		t.Fatalf("volume dir left: %v", err)
	}
}

func TestAllocateFallbacksFake(t *testing.T) {
	f := newFakeEngine()
	m := fakeManager(t, f, t.TempDir())
	m.disk, m.fw = newFakeDisk(false), newFakeFirewall(false)
	priv, pub := testutil.RSAKey(t)
	res, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: diskReq, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := DecryptCredentials(priv, res.Info)
	l := res.Lease
	if creds.Disk != DiskNotEnforced || l.DiskEnforced || l.DiskVolume != "" || l.Firewalled || len(l.Warnings) != 2 {
		t.Fatalf("disk %q, lease %+v", creds.Disk, l)
	}
	if !strings.Contains(l.Warnings[0], "not run as root") || !strings.Contains(l.Warnings[0], "overlay2 on extfs") || !strings.Contains(l.Warnings[1], "services are reachable") {
		t.Fatalf("warnings %q", l.Warnings)
	}
	hc := f.containers[l.ContainerID].opts.HostConfig
	if hc.ReadonlyRootfs || len(hc.Mounts) != 0 || string(hc.NetworkMode) != l.Network {
		t.Fatalf("host config readonly=%v mounts=%v network=%s", hc.ReadonlyRootfs, hc.Mounts, hc.NetworkMode)
	}
}

func TestAllocateVolumeFailureLeavesNothingFake(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	m := fakeManager(t, f, dir)
	disk, fw := newFakeDisk(true), newFakeFirewall(true)
	disk.createErr = errors.New("mkfs.ext4: exit status 1")
	m.disk, m.fw = disk, fw
	_, pub := testutil.RSAKey(t)
	if _, err := m.Allocate(context.Background(), AllocateRequest{Timeline: 1, DeviceRequirement: diskReq, PublicKey: pub}); err == nil {
		t.Fatal("allocation succeeded without its volume")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, leasesDir))
	if f.count() != 0 || len(f.networks) != 0 || len(f.volumes) != 0 || fw.count() != 0 || len(entries) != 0 {
		t.Fatalf("left after a failed allocation: containers %d networks %d volumes %d rules %d dirs %d", f.count(), len(f.networks), len(f.volumes), fw.count(), len(entries))
	}
	if _, ok := m.Lease(); ok {
		t.Fatal("lease recorded")
	}
}

func TestStartRemovesStrayResourcesFake(t *testing.T) {
	f := newFakeEngine()
	dir := t.TempDir()
	ctx := context.Background()
	stray := &Lease{ID: "0123456789abcdef", ContainerName: "compute-lease-0123456789abcdef", Network: "compute-lease-0123456789abcdef"}
	labels := map[string]string{LabelOwner: "unit", LabelLease: stray.ID}
	f.NetworkCreate(ctx, stray.Network, clientNetwork(labels))
	f.VolumeCreate(ctx, clientVolume(volumeName(stray, "/etc"), labels))
	f.VolumeCreate(ctx, clientVolume("someone-elses", map[string]string{LabelOwner: "other"}))
	disk, fw := newFakeDisk(true), newFakeFirewall(true)
	strayDir := filepath.Join(dir, leasesDir, stray.ID)
	disk.Create(ctx, strayDir, 1<<30)
	fw.Isolate(ctx, bridgeName(stray.ID))

	m, err := NewManager(Config{DataDir: dir, Image: "img", Owner: "unit", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.disk, m.fw = disk, fw
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.networks) != 0 || len(f.volumes) != 1 || disk.count() != 0 || fw.count() != 0 {
		t.Fatalf("after start: networks %v volumes %v mounts %d rules %v", f.networks, f.volumes, disk.count(), fw.bridges)
	}
	if _, err := os.Stat(strayDir); !os.IsNotExist(err) {
		t.Fatalf("stray volume dir: %v", err)
	}
}

func TestVolumeSize(t *testing.T) {
	for _, tc := range []struct{ asked, image int64 }{
		{MinDiskBytes, 90 << 20}, {1 << 30, 90 << 20}, {10 << 30, 3 << 30}, {1 << 40, 10 << 30},
	} {
		got := volumeSize(tc.asked, tc.image)
		if got%(1<<20) != 0 || got < tc.asked+tc.image+24<<20 || got > tc.asked+tc.image+(tc.asked+tc.image)/16+32<<20 {
			t.Errorf("volumeSize(%d, %d) = %d", tc.asked, tc.image, got)
		}
	}
}

func TestBridgeAndChainNames(t *testing.T) {
	b := bridgeName("0123456789abcdef")
	if b != "cl-0123456789ab" || len(b) > 15 || len(chainName(b)) > 28 {
		t.Fatalf("bridge %q chain %q", b, chainName(b))
	}
}

func TestLeaseFileIsShell(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := Lease{ID: "abc", Start: start, Expiry: start.Add(48 * time.Hour), Network: "n", Firewalled: true,
		Requirement: Requirement{Disk: SizeRequirement{Capacity: 1 << 30}}}
	lim := Limits{CPUCount: 2, CPUSet: "2-3", MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: 4096, GPUIDs: []string{"GPU-1", "GPU-2"}}
	cases := []struct {
		name  string
		edit  func(*Lease)
		want  []string
		motd  string
		avoid string
	}{
		{"enforced", func(l *Lease) { l.DiskEnforced, l.DiskVolume = true, "/d" },
			[]string{"LEASE_DISK_ENFORCED=yes", "LEASE_CPUS=2", "LEASE_CPUSET=2-3", "LEASE_MEMORY_BYTES=1073741824", "LEASE_SWAP_BYTES=0",
				"LEASE_DISK_BYTES=1073741824", "LEASE_GPUS=2", "LEASE_GPU_IDS=GPU-1,GPU-2", "LEASE_EXPIRY=2026-01-04T03:04:05Z", "LEASE_DISK_FREE_AT_START=5"},
			"disk     1 GiB, enforced", "NOT"},
		{"not enforced", func(l *Lease) {
			l.Warnings = []string{`disk quota of 1073741824 bytes not enforced: it's "overlay2"; $(x)`}
		},
			[]string{"LEASE_DISK_ENFORCED=no", `LEASE_DISK_NOTE=disk quota of 1073741824 bytes not enforced: it's "overlay2"; $(x)`},
			"1 GiB, NOT enforced", ""},
		{"no firewall", func(l *Lease) { l.Firewalled = false },
			[]string{"LEASE_NETWORK=its own network; other leases are blocked, this host's services are not (no firewall rules on this host)"},
			"this host's services are not", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := base
			tc.edit(&l)
			li := leaseInfo{lease: &l, lim: lim, diskFree: 5}
			path := filepath.Join(t.TempDir(), "lease")
			if err := os.WriteFile(path, []byte(li.LeaseFile()), 0o644); err != nil {
				t.Fatal(err)
			}
			// The file is shell: sourcing it and printing the variables gives the values back.
			out, err := exec.Command("sh", "-c", `. "$0" && set | grep '^LEASE_'`, path).CombinedOutput()
			if err != nil {
				t.Fatalf("sh: %v %s", err, out)
			}
			vars, _ := exec.Command("sh", "-c", `. "$0"; for v in $(sed -n 's/^\(LEASE_[A-Z_]*\)=.*/\1/p' "$0"); do eval "printf '%s=%s\n' $v \"\$$v\""; done`, path).CombinedOutput()
			for _, w := range tc.want {
				if !strings.Contains(string(vars), w+"\n") {
					t.Errorf("missing %q in\n%s", w, vars)
				}
			}
			motd := li.Motd()
			if !strings.Contains(motd, tc.motd) || (tc.avoid != "" && strings.Contains(motd, tc.avoid)) {
				t.Errorf("motd:\n%s", motd)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":           "''",
		"abc-1.2:3":  "abc-1.2:3",
		"a b":        "'a b'",
		"it's":       `'it'\''s'`,
		"$(reboot)":  "'$(reboot)'",
		"x\ny":       "'x\ny'",
		"`id`;rm -r": "'`id`;rm -r'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1 << 30: "1 GiB", 1536 << 20: "1.5 GiB", 256 << 20: "256 MiB"} {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestChainInOrder(t *testing.T) {
	good := "-N COMPUTE-cl-1\n" +
		"-A COMPUTE-cl-1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"compute lease cl-1\" -j RETURN\n" +
		"-A COMPUTE-cl-1 -m comment --comment \"compute lease cl-1\" -j REJECT --reject-with icmp-port-unreachable\n"
	lines := strings.Split(strings.TrimSpace(good), "\n")
	for _, tc := range []struct {
		name, listing string
		want          bool
	}{
		{"as made", good, true},
		{"empty", "-N COMPUTE-cl-1\n", false},
		{"reject first", lines[0] + "\n" + lines[2] + "\n" + lines[1] + "\n", false},
		{"extra rule", good + "-A COMPUTE-cl-1 -j ACCEPT\n", false},
		{"return only", lines[0] + "\n" + lines[1] + "\n", false},
	} {
		if got := chainInOrder(tc.listing); got != tc.want {
			t.Errorf("%s: chainInOrder = %v, want %v", tc.name, got, tc.want)
		}
	}
}
