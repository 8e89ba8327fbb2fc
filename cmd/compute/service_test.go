package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceInstallDryRun: the role's flags, wherever they stand, reach
// ExecStart quoted; --binary, --user, --name and --unit-dir shape the unit.
func TestServiceInstallDryRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"service", "install", "miner", "--binary", "/usr/local/bin/compute", "--unit-dir", dir, "--dry-run",
			"--netuid", "27", "--wallet.name", "my miner", "--subtensor.network", "test", "--miner.hashcat.extended.options=-O -w 4"},
			[]string{"# " + filepath.Join(dir, "compute-miner.service"),
				`ExecStart=/usr/local/bin/compute miner --netuid 27 --wallet.name "my miner" --subtensor.network test "--miner.hashcat.extended.options=-O -w 4"`,
				"User=compute", "SupplementaryGroups=docker", "RestartForceExitStatus=75"}},
		{[]string{"service", "install", "--dry-run", "--user", "root", "--name", "val2", "--unit-dir", dir, "--binary", "/opt/c/compute",
			"validator", "--", "--netuid", "1", "--validator.data_dir", "/srv/v2", "--logging.json"},
			[]string{"# " + filepath.Join(dir, "val2.service"), "ExecStart=/opt/c/compute validator --netuid 1 --validator.data_dir /srv/v2 --logging.json",
				"User=root", "ProtectHome=read-only", "ReadWritePaths=/root/.bittensor /srv/v2", "PrivateDevices=yes"}},
	} {
		out := runCLI(t, ctx, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("compute %s: no line %q in\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("--dry-run wrote %v", entries)
		}
	}
}

func TestServiceUsage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"service", "install", "--dry-run", "--unit-dir", dir}, "name the role"},
		{[]string{"service", "install", "renter", "--dry-run"}, `"renter" is neither miner nor validator`},
		{[]string{"service", "install", "miner", "--dry-run", "--netuid", "x"}, `miner flags: invalid argument "x"`},
		{[]string{"service", "install", "miner", "--dry-run", "--axon.prot", "1"}, "miner flags: unknown flag: --axon.prot"},
		{[]string{"service", "install", "validator", "--dry-run", "extra"}, `unexpected argument "extra"`},
		{[]string{"service", "install", "miner", "--dry-run", "--user", "Bad User", "--binary", "/x"}, "flag 'user'"},
		{[]string{"service", "install", "miner", "--dry-run", "--binary", "relative"}, "flag 'binary'"},
		{[]string{"service", "install", "miner", "--dry-run", "--miner.data_dir", "data"}, "absolute path"},
		{[]string{"service", "install", "miner", "--user"}, "flag needs an argument: --user"},
		{[]string{"service", "uninstall", "renter"}, "neither miner nor validator"},
	} {
		code, msg := runCLIErr(ctx, tc.args...)
		if code != exitUsage || !strings.Contains(msg, tc.want) {
			t.Errorf("compute %s: exit %d %q, want %d and %q", strings.Join(tc.args, " "), code, msg, exitUsage, tc.want)
		}
	}
	code, msg := runCLIErr(ctx, "service", "uninstall", "miner", "--unit-dir", dir)
	if code != exitError || !strings.Contains(msg, "not installed") {
		t.Errorf("uninstall of nothing: exit %d %q", code, msg)
	}
}

// TestServiceInstallChainNote: without a chain flag, install says the
// service uses finney.
func TestServiceInstallChainNote(t *testing.T) {
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"service", "install", "validator", "--dry-run", "--binary", "/x", "--unit-dir", t.TempDir()})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "will use the finney chain") {
		t.Errorf("stderr: %q", errOut.String())
	}
}

// TestServiceUninstallFile: uninstall removes the unit file (where systemd
// does not run, it says what to run).
func TestServiceUninstallFile(t *testing.T) {
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		t.Skip("systemd runs here: uninstall would ask it about a unit it never loaded")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "compute-validator.service")
	if err := os.WriteFile(path, []byte("[Service]\nUser=validator\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, context.Background(), "service", "uninstall", "validator", "--unit-dir", dir)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("unit still there: %v", err)
	}
	if !strings.Contains(out, "the user validator, its home and its wallets are kept") || !strings.Contains(out, "systemctl disable --now compute-validator.service") {
		t.Errorf("output:\n%s", out)
	}
}
