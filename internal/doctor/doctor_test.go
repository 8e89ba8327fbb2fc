package doctor

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/gpu"
	"github.com/sn27/compute/internal/pow/hashcat"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
)

// net1 is a served dev chain with netuid 1, producing a block every 20 ms,
// and a wallet whose hotkey is registered there.
type net1 struct {
	chain  *devchain.Chain
	url    string
	dir    string // wallet root
	cold   *wallet.Keypair
	hot    *wallet.Keypair
	axon   net.Listener
	config Config
}

func newNet(t *testing.T, now func() time.Time) *net1 {
	t.Helper()
	n := testnet.New(t, testnet.Config{Netuid: 1, Chain: devchain.Config{BlockTime: 20 * time.Millisecond, Now: now}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Chain.Run(ctx); close(done) }()
	srv := httptest.NewServer(devchain.NewHandler(n.Chain, nil))
	t.Cleanup(func() { srv.Close(); cancel(); <-done })

	f := &net1{chain: n.Chain, url: srv.URL, dir: t.TempDir(),
		cold: testnet.Key(t, "//Bob"), hot: testnet.Key(t, "//Bob//doctor")}
	w := wallet.New(f.dir, "w", "h")
	if err := w.WriteColdkey(f.cold, "", false); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHotkey(f.hot, false); err != nil {
		t.Fatal(err)
	}
	n.MustJoin(t, f.cold, f.hot, 100, 0)
	f.axon = testutil.Listen(t)
	port := f.axon.Addr().(*net.TCPAddr).Port
	f.serve(t, "127.0.0.1", port)
	f.config = Config{
		Mode: Miner, Netuid: 1, WalletPath: f.dir, WalletName: "w", HotkeyName: "h",
		AxonIP: "127.0.0.1", AxonPort: port, SSHPort: testutil.FreePort(t),
		Solver: "cpu", DataDir: filepath.Join(t.TempDir(), "not", "yet"), LocalChain: true,
	}
	return f
}

func (f *net1) serve(t *testing.T, ip string, port int) {
	t.Helper()
	if err := f.chain.ServeAxon(context.Background(), 1, f.hot, chain.AxonInfo{Version: 142, IP: ip, Port: uint16(port), IPType: 4, Protocol: 4}); err != nil {
		t.Fatal(err)
	}
}

func (f *net1) deps() Deps {
	return Deps{
		OpenChain: func(ctx context.Context) (Chain, error) { return devchain.Dial(ctx, f.url) },
		GPUs:      testnet.NoGPUs,
	}
}

// run runs the doctor and checks what every report must satisfy: each
// failure and warning has a fix, and each check appears once.
func run(t *testing.T, cfg Config, deps Deps) map[string]Result {
	t.Helper()
	d, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results, err := d.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	WriteTable(&table, results)
	t.Logf("\n%s", table.String())
	byName := map[string]Result{}
	for _, r := range results {
		if _, dup := byName[r.Check]; dup {
			t.Errorf("check %s reported twice", r.Check)
		}
		byName[r.Check] = r
		if (r.Status == Fail || r.Status == Warn) && r.Fix == "" {
			t.Errorf("%s: %s without a fix: %s", r.Check, r.Status, r.Detail)
		}
	}
	return byName
}

func expect(t *testing.T, got map[string]Result, check string, want Status, contains ...string) {
	t.Helper()
	r, ok := got[check]
	if !ok {
		t.Errorf("no %s check", check)
		return
	}
	if r.Status != want {
		t.Errorf("%s: %s (%s; fix %q), want %s", check, r.Status, r.Detail, r.Fix, want)
	}
	for _, s := range contains {
		if !strings.Contains(r.Detail+" | "+r.Fix, s) {
			t.Errorf("%s: %q / fix %q lacks %q", check, r.Detail, r.Fix, s)
		}
	}
}

func noFailures(t *testing.T, got map[string]Result) {
	t.Helper()
	for _, r := range got {
		if r.Status == Fail {
			t.Errorf("%s failed: %s (fix: %s)", r.Check, r.Detail, r.Fix)
		}
	}
}

// TestHealthyMiner: a registered hotkey whose announced axon answers passes
// every check (allocation off here; the Docker checks have their own test).
func TestHealthyMiner(t *testing.T) {
	f := newNet(t, nil)
	got := run(t, f.config, f.deps())
	noFailures(t, got)
	for _, c := range []string{"coldkeypub", "hotkey", "wallet-permissions", "chain", "registration", "clock", "axon-address", "axon-port", "disk", "open-files"} {
		expect(t, got, c, Pass)
	}
	expect(t, got, "registration", Pass, "uid 0 on netuid 1")
	expect(t, got, "axon-address", Pass, "127.0.0.1:")
	for _, c := range []string{"ssh-port", "docker", "lease-image", "nvidia-container-toolkit", "hashcat", "gpu"} {
		expect(t, got, c, Skip)
	}
	if _, ok := got["validator-permit"]; ok {
		t.Error("a miner's report has the validator permit")
	}
}

// TestValidatorChecks: a validator gets no axon, Docker or GPU checks, and a
// warning (not a failure) without a permit.
func TestValidatorChecks(t *testing.T) {
	f := newNet(t, nil)
	cfg := f.config
	cfg.Mode = Validator
	got := run(t, cfg, f.deps())
	noFailures(t, got)
	expect(t, got, "validator-permit", Warn, "no validator permit", "stake more")
	for _, c := range []string{"axon-address", "axon-port", "ssh-port", "docker", "lease-image", "gpu", "nvidia-container-toolkit", "hashcat"} {
		if _, ok := got[c]; ok {
			t.Errorf("a validator's report has %s", c)
		}
	}
}

func TestWalletProblems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, f *net1, w *wallet.Wallet)
		check  string
		want   []string
	}{
		{"hotkey readable by others", func(t *testing.T, f *net1, w *wallet.Wallet) { chmod(t, w.HotkeyPath(), 0o644) },
			"wallet-permissions", []string{"mode 0644", "chmod 0600 /", filepath.Join("w", "hotkeys", "h")}},
		{"wallet directory open", func(t *testing.T, f *net1, w *wallet.Wallet) { chmod(t, w.Dir(), 0o755) },
			"wallet-permissions", []string{"mode 0755", "chmod 0700 "}},
		{"no coldkeypub", func(t *testing.T, f *net1, w *wallet.Wallet) { remove(t, w.ColdkeyPubPath()) },
			"coldkeypub", []string{"not found", "compute wallet new --wallet.path"}},
		{"no hotkey", func(t *testing.T, f *net1, w *wallet.Wallet) { remove(t, w.HotkeyPath()) },
			"hotkey", []string{"not found", "compute wallet new-hotkey"}},
		{"corrupt hotkey", func(t *testing.T, f *net1, w *wallet.Wallet) {
			if err := os.WriteFile(w.HotkeyPath(), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "hotkey", []string{"compute wallet regen --hotkey"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newNet(t, nil)
			tc.break_(t, f, wallet.New(f.dir, "w", "h"))
			got := run(t, f.config, f.deps())
			expect(t, got, tc.check, Fail, tc.want...)
			if tc.check == "hotkey" {
				expect(t, got, "registration", Skip)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestUnregisteredHotkey: the fix is the register command with the wallet
// and chain arguments given.
func TestUnregisteredHotkey(t *testing.T) {
	f := newNet(t, nil)
	w := wallet.New(f.dir, "w", "other hot")
	if err := w.WriteHotkey(testnet.Key(t, "//Bob//unregistered"), false); err != nil {
		t.Fatal(err)
	}
	cfg := f.config
	cfg.HotkeyName = "other hot"
	cfg.ChainArgs = "--subtensor.chain_endpoint " + f.url
	got := run(t, cfg, f.deps())
	expect(t, got, "registration", Fail, "is not registered on netuid 1",
		"compute register --netuid 1 --wallet.path "+f.dir+" --wallet.name w --wallet.hotkey 'other hot' --subtensor.chain_endpoint "+f.url)
	for _, c := range []string{"axon-address", "axon-port"} {
		expect(t, got, c, Skip)
	}
}

func TestAxonProblems(t *testing.T) {
	t.Run("port closed", func(t *testing.T) {
		f := newNet(t, nil)
		f.axon.Close()
		got := run(t, f.config, f.deps())
		expect(t, got, "axon-port", Fail, "connection refused", "start the miner")
		expect(t, got, "axon-address", Pass)
	})
	t.Run("never announced", func(t *testing.T) {
		f := newNet(t, nil)
		fresh := testnet.Key(t, "//Bob//fresh")
		if err := wallet.New(f.dir, "w", "fresh").WriteHotkey(fresh, false); err != nil {
			t.Fatal(err)
		}
		if _, err := f.chain.Register(context.Background(), 1, f.cold, fresh.SS58Address()); err != nil {
			t.Fatal(err)
		}
		cfg := f.config
		cfg.HotkeyName = "fresh"
		got := run(t, cfg, f.deps())
		expect(t, got, "axon-address", Fail, "announced no axon", "start the miner")
		expect(t, got, "axon-port", Skip)
	})
	t.Run("not this host", func(t *testing.T) {
		f := newNet(t, nil)
		f.serve(t, "203.0.113.7", f.config.AxonPort)
		cfg := f.config
		cfg.SSHPort = 0
		got := run(t, cfg, f.deps())
		expect(t, got, "axon-address", Fail, "203.0.113.7", "none of this host's addresses", "--axon.external_ip")
	})
	t.Run("other external ip", func(t *testing.T) {
		f := newNet(t, nil)
		cfg := f.config
		cfg.ExternalIP = "198.51.100.1"
		got := run(t, cfg, f.deps())
		expect(t, got, "axon-address", Fail, "--axon.external_ip is 198.51.100.1", "restart the miner")
	})
	t.Run("other port", func(t *testing.T) {
		f := newNet(t, nil)
		cfg := f.config
		cfg.ExternalPort = 9999
		got := run(t, cfg, f.deps())
		expect(t, got, "axon-address", Fail, "this miner announces 9999")
	})
	t.Run("private address on a public chain", func(t *testing.T) {
		f := newNet(t, nil)
		cfg := f.config
		cfg.LocalChain = false
		got := run(t, cfg, f.deps())
		expect(t, got, "axon-address", Warn, "private address", "--axon.external_ip")
	})
	t.Run("ssh port", func(t *testing.T) {
		f := newNet(t, nil)
		cfg := f.config
		cfg.Allocation = true
		deps := f.deps()
		deps.OpenDocker = func(context.Context) (Docker, error) { return nil, errors.New("not in this test") }
		got := run(t, cfg, deps)
		expect(t, got, "ssh-port", Pass, "closed but not filtered")
		ssh := testutil.Listen(t)
		cfg.SSHPort = ssh.Addr().(*net.TCPAddr).Port
		got = run(t, cfg, deps)
		expect(t, got, "ssh-port", Pass, "a lease is running")
	})
}

// TestChainUnreachable: the chain check fails with the flags to check; what
// needs the chain is not applicable.
func TestChainUnreachable(t *testing.T) {
	f := newNet(t, nil)
	deps := f.deps()
	deps.OpenChain = func(ctx context.Context) (Chain, error) {
		return devchain.Dial(ctx, "http://127.0.0.1:"+strconv.Itoa(testutil.FreePort(t)))
	}
	got := run(t, f.config, deps)
	expect(t, got, "chain", Fail, "cannot reach the chain", "--subtensor.chain_endpoint")
	for _, c := range []string{"registration", "clock", "axon-address", "axon-port"} {
		expect(t, got, c, Skip)
	}
}

// TestClockSkew: blocks stamped by a clock a minute slow fail the check, six
// seconds slow warn; the local clock stays the real one.
func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		offset time.Duration
		want   Status
		text   string
	}{
		{-time.Minute, Fail, "ahead"},
		{time.Minute, Fail, "behind"},
		{-8 * time.Second, Warn, "ahead"},
	} {
		t.Run(tc.offset.String(), func(t *testing.T) {
			f := newNet(t, func() time.Time { return time.Now().Add(tc.offset) })
			// The subnet's block interval is 20 ms here, and the check
			// allows one interval plus ClockWarnSkew of age.
			got := run(t, f.config, f.deps())
			expect(t, got, "clock", tc.want, tc.text, "timedatectl set-ntp true")
		})
	}
}

// TestStalledChain: a chain whose last block is old and that makes no new
// one warns that it cannot tell the clock from the chain.
func TestStalledChain(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	// No block producer runs; BlockTime only tells the doctor the interval.
	n := testnet.New(t, testnet.Config{Netuid: 1, Chain: devchain.Config{BlockTime: 100 * time.Millisecond, Now: func() time.Time { return old }}})
	if _, err := n.Chain.Step(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(devchain.NewHandler(n.Chain, nil))
	defer srv.Close()
	dir := t.TempDir()
	hot := testnet.Key(t, "//Bob//stalled")
	w := wallet.New(dir, "w", "h")
	if err := w.WriteHotkey(hot, false); err != nil {
		t.Fatal(err)
	}
	n.MustJoin(t, testnet.Key(t, "//Bob"), hot, 100, 0)
	cfg := Config{Mode: Validator, Netuid: 1, WalletPath: dir, WalletName: "w", HotkeyName: "h", CheckTimeout: 10 * time.Second}
	got := run(t, cfg, Deps{OpenChain: func(ctx context.Context) (Chain, error) { return devchain.Dial(ctx, srv.URL) }})
	expect(t, got, "clock", Warn, "no newer block came", "synced and producing blocks")
}

// TestDockerUnreachable: DOCKER_HOST pointing where no daemon listens fails
// the docker check with the fix, and the image check is not applicable.
func TestDockerUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	f := newNet(t, nil)
	cfg := f.config
	cfg.Allocation = true
	got := run(t, cfg, f.deps())
	expect(t, got, "docker", Fail, "does not answer", "start the Docker daemon", "DOCKER_HOST")
	expect(t, got, "lease-image", Skip)
}

// TestDockerReal: the real daemon passes with the test lease image, and a
// missing image fails with the build and import commands.
func TestDockerReal(t *testing.T) {
	testutil.Docker(t)
	f := newNet(t, nil)
	cfg := f.config
	cfg.Allocation = true
	cfg.Image = testutil.SSHImage()
	got := run(t, cfg, f.deps())
	noFailures(t, got)
	expect(t, got, "docker", Pass, "Docker ", "API ")
	expect(t, got, "lease-image", Pass, cfg.Image)

	cfg.Image = "compute-doctor-missing:none"
	got = run(t, cfg, f.deps())
	expect(t, got, "lease-image", Fail, "is missing", "compute miner image build --miner.image compute-doctor-missing:none", "compute miner image import")
}

// fakeHost is the real host with some answers replaced.
type fakeHost struct {
	OS
	free     uint64
	nofile   uint64
	pci      int
	noLookup bool
	euid     int
}

func (h fakeHost) FreeBytes(p string) (uint64, error) {
	if h.free != 0 {
		return h.free, nil
	}
	return h.OS.FreeBytes(p)
}

func (h fakeHost) NoFile() (uint64, uint64, error) {
	if h.nofile != 0 {
		return h.nofile, h.nofile, nil
	}
	return h.OS.NoFile()
}

func (h fakeHost) NVIDIADevices() (int, error) { return h.pci, nil }

func (h fakeHost) Euid() int { return h.euid }

func (h fakeHost) Exists(p string) bool { return !h.noLookup }

func (h fakeHost) LookPath(name string) (string, error) {
	if h.noLookup {
		return "", errors.New("not found")
	}
	return "/usr/bin/" + name, nil
}

// TestLeaseIsolation: root with the tools passes; another user, or missing
// tools, warn with the fix.
func TestLeaseIsolation(t *testing.T) {
	f := newNet(t, nil)
	cfg := f.config
	cfg.Allocation = true
	noDocker := func(context.Context) (Docker, error) { return nil, errors.New("not in this test") }
	for _, tc := range []struct {
		host fakeHost
		want Status
		text []string
	}{
		{fakeHost{}, Pass, []string{"leases are firewalled"}},
		{fakeHost{euid: 998}, Warn, []string{"as uid 998", "--user root"}},
		{fakeHost{noLookup: true}, Warn, []string{"iptables, mkfs.ext4, mount, /dev/loop-control missing", "apt-get install iptables", "modprobe loop"}},
	} {
		deps := f.deps()
		deps.Host, deps.OpenDocker = tc.host, noDocker
		got := run(t, cfg, deps)
		expect(t, got, "lease-isolation", tc.want, tc.text...)
	}
	got := run(t, f.config, f.deps())
	expect(t, got, "lease-isolation", Skip)
}

// TestHostLimits: disk and open-files thresholds.
func TestHostLimits(t *testing.T) {
	f := newNet(t, nil)
	for _, tc := range []struct {
		host  fakeHost
		check string
		want  Status
		text  []string
	}{
		{fakeHost{free: 100 << 20}, "disk", Fail, []string{"100 MiB free", "--miner.data_dir"}},
		{fakeHost{free: 500 << 20}, "disk", Warn, []string{"500 MiB free"}},
		{fakeHost{free: 5 << 30}, "disk", Pass, []string{"5.0 GiB free"}},
		{fakeHost{nofile: 1024}, "open-files", Warn, []string{"1024", "LimitNOFILE=65536"}},
		{fakeHost{nofile: 65536}, "open-files", Pass, []string{"65536"}},
	} {
		deps := f.deps()
		deps.Host = tc.host
		got := run(t, f.config, deps)
		expect(t, got, tc.check, tc.want, tc.text...)
	}
}

// TestGPUChecks: GPUs found pass and call for the container toolkit; GPUs on
// the bus without NVML fail; NVML's error fails.
func TestGPUChecks(t *testing.T) {
	f := newNet(t, nil)
	twoGPUs := func(context.Context) (gpu.Inventory, error) {
		return gpu.Inventory{DriverVersion: "550.54.15", CUDAVersion: "12.4", GPUs: []gpu.GPU{{Name: "NVIDIA H100"}, {Name: "NVIDIA H100"}}}, nil
	}
	noDocker := func(context.Context) (Docker, error) { return nil, errors.New("no docker here") }
	for _, tc := range []struct {
		name       string
		gpus       func(context.Context) (gpu.Inventory, error)
		host       fakeHost
		gpu, kit   Status
		gpuText    []string
		allocation bool
	}{
		{"two GPUs and the toolkit", twoGPUs, fakeHost{}, Pass, Pass, []string{"2 x NVIDIA H100", "driver 550.54.15"}, true},
		{"two GPUs without the toolkit", twoGPUs, fakeHost{noLookup: true}, Pass, Fail, nil, true},
		{"two GPUs, allocation off", twoGPUs, fakeHost{noLookup: true}, Pass, Skip, nil, false},
		{"no driver", testnet.NoGPUs, fakeHost{pci: 1}, Fail, Skip, []string{"1 NVIDIA GPU(s) on the PCI bus", "install the NVIDIA driver"}, true},
		{"NVML fails", func(context.Context) (gpu.Inventory, error) {
			return gpu.Inventory{}, errors.New("nvml: driver/library mismatch")
		}, fakeHost{},
			Fail, Skip, []string{"mismatch", "nvidia-smi"}, true},
		{"no GPU", testnet.NoGPUs, fakeHost{}, Skip, Skip, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deps := f.deps()
			deps.GPUs, deps.Host, deps.OpenDocker = tc.gpus, tc.host, noDocker
			cfg := f.config
			cfg.Allocation = tc.allocation
			got := run(t, cfg, deps)
			expect(t, got, "gpu", tc.gpu, tc.gpuText...)
			expect(t, got, "nvidia-container-toolkit", tc.kit)
		})
	}
}

// TestHashcat: the check runs for the hashcat solver only; a missing binary
// fails with the install fix; Debian's hashcat passes where installed.
func TestHashcat(t *testing.T) {
	f := newNet(t, nil)
	cfg := f.config
	cfg.Solver = "hashcat"
	cfg.Hashcat = hashcat.Options{Path: "/nonexistent/hashcat"}
	got := run(t, cfg, f.deps())
	expect(t, got, "hashcat", Fail, "not found", "install hashcat 6.2.6")

	testutil.Tools(t, "hashcat")
	cfg.Hashcat = hashcat.Options{Path: "hashcat"}
	got = run(t, cfg, f.deps())
	expect(t, got, "hashcat", Pass, "hashcat v")
}

// TestCheckTimeout: a chain that never answers (and ignores its context)
// fails its check at the time limit, and the doctor goes on.
func TestCheckTimeout(t *testing.T) {
	f := newNet(t, nil)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	deps := f.deps()
	deps.OpenChain = func(context.Context) (Chain, error) { <-hang; return nil, errors.New("gave up") }
	cfg := f.config
	cfg.CheckTimeout = 300 * time.Millisecond
	start := time.Now()
	got := run(t, cfg, deps)
	expect(t, got, "chain", Fail, "no answer within 300ms", "--subtensor.chain_endpoint")
	if _, ok := got["open-files"]; !ok {
		t.Error("the doctor stopped after the check that overran")
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the doctor took %v", d)
	}
}

// TestRunInterrupted: Run stops at once when its context ends.
func TestRunInterrupted(t *testing.T) {
	d, err := New(Config{Mode: Validator}, Deps{OpenChain: func(ctx context.Context) (Chain, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	results, err := d.Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	if last := results[len(results)-1]; last.Check != "chain" || last.Status != Fail || last.Detail != "interrupted" {
		t.Fatalf("last result %+v", last)
	}
}

func TestConfigValidate(t *testing.T) {
	open := func(context.Context) (Chain, error) { return nil, errors.New("unused") }
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Mode: "renter"}, "doctor.Config.Mode"},
		{Config{Mode: Miner, AxonPort: 70000}, "doctor.Config.AxonPort"},
		{Config{Mode: Miner, ExternalPort: -1}, "doctor.Config.ExternalPort"},
		{Config{Mode: Miner, SSHPort: 65536}, "doctor.Config.SSHPort"},
		{Config{Mode: Miner, ExternalIP: "1.2.3"}, "doctor.Config.ExternalIP"},
		{Config{Mode: Miner, AxonIP: "host"}, "doctor.Config.AxonIP"},
		{Config{Mode: Miner, CheckTimeout: -time.Second}, "doctor.Config.CheckTimeout"},
	} {
		_, err := New(tc.cfg, Deps{OpenChain: open})
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: %v, want a refusal of %s", tc.cfg, err, tc.field)
		}
	}
	if _, err := New(Config{Mode: Miner}, Deps{}); err == nil {
		t.Error("no OpenChain accepted")
	}
}
