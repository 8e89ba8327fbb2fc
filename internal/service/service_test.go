package service

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden unit files in testdata")

var (
	compute   = Account{Name: "compute", UID: 998, GID: 998, Group: "compute", Home: "/var/lib/compute"}
	alice     = Account{Name: "alice", UID: 1000, GID: 1000, Group: "alice", Home: "/home/alice"}
	root      = Account{Name: "root", UID: 0, GID: 0, Group: "root", Home: "/root"}
	minerArgs = []string{"--netuid", "27", "--wallet.name", "my miner", "--wallet.hotkey", "default",
		"--subtensor.network", "finney", "--axon.port", "8091", "--miner.hashcat.extended.options", `-O --status "x"`,
		"--blacklist.hotkeys", "5F$x,50%"}
)

// TestRenderGolden compares whole units with testdata (go test -update
// rewrites them).
func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		cfg  Config
		acct Account
	}{
		{"miner.service", Config{Role: Miner, Binary: "/usr/local/bin/compute", Args: minerArgs}, compute},
		{"validator.service", Config{Role: Validator, Binary: "/opt/compute bin/compute", Args: []string{"--netuid", "27", "--validator.data_dir", "/srv/compute/validator"}}, compute},
		{"miner-root.service", Config{Role: Miner, Binary: "/usr/local/bin/compute", Args: []string{"--netuid", "27"}}, root},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Render(tc.cfg, tc.acct)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("unit differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

// unitKeys parses a unit file: section -> key -> values, in order.
func unitKeys(t *testing.T, unit string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("line %d: %q", i+1, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func TestRenderSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		acct Account
		want map[string]string // Service key -> value ("" = absent)
	}{
		{"miner", Config{Role: Miner, Binary: "/usr/bin/compute", Args: []string{"--netuid", "27"}}, compute, map[string]string{
			"User": "compute", "Group": "compute", "SupplementaryGroups": "docker", "ProtectSystem": "strict", "ProtectHome": "yes",
			"ReadWritePaths": "/var/lib/compute/.bittensor", "PrivateTmp": "yes", "NoNewPrivileges": "yes", "Restart": "on-failure",
			"RestartSec": "10s", "RestartForceExitStatus": "75", "RestartPreventExitStatus": "2 12", "LimitNOFILE": "65536",
			"CapabilityBoundingSet": "", "PrivateDevices": "", "MemoryDenyWriteExecute": "",
			"ExecStart": "/usr/bin/compute miner --netuid 27",
		}},
		{"miner without allocation, home and data elsewhere", Config{Role: Miner, Binary: "/usr/bin/compute",
			Args: []string{"--miner.allocation=false", "--miner.data_dir=/data/miner", "--wallet.path", "/home/alice/wallets"}, RestartSec: 1500e6}, alice, map[string]string{
			"SupplementaryGroups": "", "ProtectHome": "read-only", "ReadWritePaths": "/home/alice/.bittensor /data/miner", "RestartSec": "1500ms",
		}},
		{"data inside .bittensor", Config{Role: Validator, Binary: "/usr/bin/compute",
			Args: []string{"--validator.data_dir", "/var/lib/compute/.bittensor/v"}}, compute, map[string]string{
			"ReadWritePaths": "/var/lib/compute/.bittensor", "PrivateDevices": "yes", "ProtectClock": "yes", "MemoryDenyWriteExecute": "yes",
			"SupplementaryGroups": "",
		}},
		{"binary in the service's home: auto-update may replace it", Config{Role: Validator, Binary: "/var/lib/compute/bin/compute"}, compute, map[string]string{
			"ReadWritePaths": "/var/lib/compute/.bittensor /var/lib/compute/bin",
		}},
		{"binary in the service's home, auto-update off", Config{Role: Validator, Binary: "/var/lib/compute/bin/compute",
			Args: []string{"--auto_update=false"}}, compute, map[string]string{
			"ReadWritePaths": "/var/lib/compute/.bittensor",
		}},
		{"binary under /home", Config{Role: Validator, Binary: "/home/alice/go/bin/compute"}, compute, map[string]string{
			"ProtectHome": "read-only",
		}},
		{"miner as root", Config{Role: Miner, Binary: "/usr/bin/compute"}, root, map[string]string{
			"User": "root", "SupplementaryGroups": "", "ProtectSystem": "", "ProtectHome": "", "PrivateTmp": "", "ReadWritePaths": "",
			"NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit, err := Render(tc.cfg, tc.acct)
			if err != nil {
				t.Fatal(err)
			}
			keys := unitKeys(t, unit)
			svc := keys["Service"]
			for k, want := range tc.want {
				got, ok := svc[k]
				switch {
				case want == "" && k == "CapabilityBoundingSet" && tc.acct.UID != 0:
					if !ok || got[0] != "" {
						t.Errorf("%s=%q, want it empty (no capabilities)", k, got)
					}
				case want == "" && ok:
					t.Errorf("%s=%q, want none", k, got)
				case want != "" && (!ok || got[0] != want):
					t.Errorf("%s=%q, want %q", k, got, want)
				}
			}
			if keys["Install"]["WantedBy"][0] != "multi-user.target" {
				t.Errorf("Install %v", keys["Install"])
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Role: "renter", Binary: "/x"}, "neither miner nor validator"},
		{Config{Role: Miner, Binary: "compute"}, "service.Config.Binary"},
		{Config{Role: Miner, Binary: "/x", User: "Bad User"}, "service.Config.User"},
		{Config{Role: Miner, Binary: "/x", Name: "a/b"}, "service.Config.Name"},
		{Config{Role: Miner, Binary: "/x", RestartSec: -1}, "service.Config.RestartSec"},
		{Config{Role: Miner, Binary: "/x", Args: []string{"nul\x00"}}, "NUL"},
		{Config{Role: Miner, Binary: "/x", Args: []string{"--miner.data_dir", "relative/dir"}}, "absolute path"},
		{Config{Role: Miner, Binary: "/x", Args: []string{"--wallet.path=/my wallets"}}, "without spaces"},
		{Config{Role: Miner, Binary: "/x", Args: []string{"--validator.data_dir"}}, "needs a value"},
		{Config{Role: Miner, Binary: "/x", Args: []string{"--miner.allocation=maybe"}}, "miner.allocation"},
	} {
		if _, err := Render(tc.cfg, compute); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := Render(Config{Role: Miner, Binary: "/x"}, Account{Name: "x", Home: "/var/lib/with space"}); err == nil {
		t.Error("a home with a space was written")
	}
}

// TestSystemdAnalyzeVerify: systemd's own checker accepts the units, awkward
// flag values included, without a warning.
func TestSystemdAnalyzeVerify(t *testing.T) {
	testutil.Tools(t, "systemd-analyze")
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		cfg  Config
		acct Account
	}{
		{Config{Role: Miner, Binary: bin, Args: append(append([]string{}, minerArgs...), awkward...)}, compute},
		{Config{Role: Validator, Binary: bin, Args: []string{"--validator.data_dir", "/srv/v", "--wallet.path", "/home/alice/w"}}, alice},
		{Config{Role: Miner, Binary: bin, Name: "compute-miner-root"}, root},
	} {
		unit, err := Render(tc.cfg, tc.acct)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.Base(tc.cfg.UnitPath()))
		if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s\n%s", filepath.Base(path), err, out, unit)
		}
		sec, err := exec.Command("systemd-analyze", "security", "--offline=yes", path).CombinedOutput()
		if i := bytes.Index(sec, []byte("Overall exposure level")); err == nil && i >= 0 {
			t.Logf("%s: %s", filepath.Base(path), bytes.TrimSpace(sec[i:]))
		}
	}
}

// fakeSystem records what Install and Uninstall do to the machine.
type fakeSystem struct {
	users   map[string]Account
	groups  []string
	running bool
	calls   []string
}

func (f *fakeSystem) LookupUser(name string) (Account, error) {
	if a, ok := f.users[name]; ok {
		return a, nil
	}
	return Account{}, fmt.Errorf("%w: %s", ErrNoUser, name)
}

func (f *fakeSystem) GroupExists(name string) (bool, error) {
	return slices.Contains(f.groups, name), nil
}

func (f *fakeSystem) AddUser(_ context.Context, name, home string) error {
	f.calls = append(f.calls, "useradd "+name+" "+home)
	f.users[name] = Account{Name: name, UID: 998, GID: 997, Group: name, Home: home}
	return nil
}

func (f *fakeSystem) MkdirOwned(dir string, uid, gid int) error {
	f.calls = append(f.calls, fmt.Sprintf("mkdir %s %d:%d", dir, uid, gid))
	return nil
}

func (f *fakeSystem) SystemdRunning() bool { return f.running }

func (f *fakeSystem) Systemctl(_ context.Context, args ...string) error {
	f.calls = append(f.calls, "systemctl "+strings.Join(args, " "))
	return nil
}

func TestInstallUninstall(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "units")
	cfg := Config{Role: Miner, Binary: "/usr/local/bin/compute", Args: []string{"--netuid", "27", "--miner.data_dir", "/srv/miner"}, UnitDir: dir}
	sys := &fakeSystem{users: map[string]Account{}, groups: []string{"docker"}}
	var out bytes.Buffer

	// Dry run: the unit is printed, nothing is changed.
	dry := cfg
	dry.DryRun = true
	if err := Install(ctx, dry, Deps{System: sys, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ExecStart=/usr/local/bin/compute miner --netuid 27") || !strings.Contains(out.String(), "would create it") ||
		len(sys.calls) != 0 {
		t.Fatalf("dry run printed\n%s\nand did %v", out.String(), sys.calls)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dry run created %s", dir)
	}

	// Without systemd: user and directories made, unit written, commands said.
	out.Reset()
	if err := Install(ctx, cfg, Deps{System: sys, Out: &out}); err != nil {
		t.Fatal(err)
	}
	want := []string{"useradd compute /var/lib/compute", "mkdir /var/lib/compute/.bittensor 998:997", "mkdir /srv/miner 998:997"}
	if !slices.Equal(sys.calls, want) {
		t.Fatalf("did %q, want %q", sys.calls, want)
	}
	path := filepath.Join(dir, "compute-miner.service")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("unit file: %v %v", fi, err)
	}
	unit, _ := os.ReadFile(path)
	if wantUnit, _ := Render(cfg, sys.users["compute"]); string(unit) != wantUnit {
		t.Fatalf("unit file\n%s\nwant\n%s", unit, wantUnit)
	}
	for _, s := range []string{"created system user compute", "systemd is not running", "systemctl daemon-reload", "systemctl enable --now compute-miner.service"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}

	// With systemd, again with other flags: the unit is replaced, enabled and started.
	sys.running, sys.calls = true, nil
	cfg.Args = []string{"--netuid", "1"}
	out.Reset()
	if err := Install(ctx, cfg, Deps{System: sys, Out: &out}); err != nil {
		t.Fatal(err)
	}
	want = []string{"mkdir /var/lib/compute/.bittensor 998:997", "systemctl daemon-reload", "systemctl enable compute-miner.service", "systemctl restart compute-miner.service"}
	if !slices.Equal(sys.calls, want) {
		t.Fatalf("did %q, want %q", sys.calls, want)
	}
	if unit, _ := os.ReadFile(path); !strings.Contains(string(unit), "miner --netuid 1\n") {
		t.Fatalf("unit not replaced:\n%s", unit)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("unit directory holds %v", entries)
	}

	// A new unit with systemd running is enabled and started at once.
	sys.calls = nil
	other := cfg
	other.Name = "compute-miner-2"
	if err := Install(ctx, other, Deps{System: sys}); err != nil {
		t.Fatal(err)
	}
	want = []string{"mkdir /var/lib/compute/.bittensor 998:997", "systemctl daemon-reload", "systemctl enable --now compute-miner-2.service"}
	if !slices.Equal(sys.calls, want) {
		t.Fatalf("did %q, want %q", sys.calls, want)
	}
	if err := os.Remove(filepath.Join(dir, "compute-miner-2.service")); err != nil {
		t.Fatal(err)
	}

	// Uninstall stops, disables and removes; a second time it is not installed.
	sys.calls = nil
	out.Reset()
	if err := Uninstall(ctx, Config{Role: Miner, UnitDir: dir}, Deps{System: sys, Out: &out}); err != nil {
		t.Fatal(err)
	}
	want = []string{"systemctl disable --now compute-miner.service", "systemctl daemon-reload"}
	if !slices.Equal(sys.calls, want) {
		t.Fatalf("did %q, want %q", sys.calls, want)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unit file still there: %v", err)
	}
	if !strings.Contains(out.String(), "the user compute, its home and its wallets are kept") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := Uninstall(ctx, Config{Role: Miner, UnitDir: dir}, Deps{System: sys}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("second uninstall: %v", err)
	}
}

func TestInstallNeedsDockerGroup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sys := &fakeSystem{users: map[string]Account{"compute": compute}}
	err := Install(ctx, Config{Role: Miner, Binary: "/x", UnitDir: dir}, Deps{System: sys})
	if err == nil || !strings.Contains(err.Error(), "docker group does not exist") {
		t.Fatalf("miner without a docker group: %v", err)
	}
	for _, cfg := range []Config{
		{Role: Miner, Binary: "/x", UnitDir: dir, Args: []string{"--miner.allocation=false"}},
		{Role: Validator, Binary: "/x", UnitDir: dir},
	} {
		if err := Install(ctx, cfg, Deps{System: sys}); err != nil {
			t.Errorf("%s %v: %v", cfg.Role, cfg.Args, err)
		}
	}
}

// TestOSSystem: the real lookups, and MkdirOwned in a temporary directory.
func TestOSSystem(t *testing.T) {
	var sys OS
	if a, err := sys.LookupUser("root"); err != nil || a.UID != 0 || a.Home == "" {
		t.Fatalf("root: %+v, %v", a, err)
	}
	if _, err := sys.LookupUser("compute-no-such-user"); !errors.Is(err, ErrNoUser) {
		t.Fatalf("missing user: %v", err)
	}
	if ok, err := sys.GroupExists("compute-no-such-group"); ok || err != nil {
		t.Fatalf("missing group: %v, %v", ok, err)
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := sys.MkdirOwned(dir, os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%v %v", fi, err)
	}
}
