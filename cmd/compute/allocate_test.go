package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wire"
)

// runAllocate runs `compute allocate ...` in process and returns stdout and the error.
func runAllocate(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	out, _, err := runAllocateStderr(t, ctx, args...)
	return out, err
}

// runAllocateStderr is runAllocate returning stderr too.
func runAllocateStderr(t *testing.T, ctx context.Context, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"allocate"}, args...))
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestAllocateListEmpty: an empty list names the store it read, and says which
// wallet's store that is when no wallet or directory was given.
func TestAllocateListEmpty(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		want     []string
		wantHint bool
	}{
		{"data dir", []string{"--validator.data_dir", dir}, []string{filepath.Join(dir, "validator.db")}, false},
		{"wallet name", []string{"--wallet.name", "val"}, []string{filepath.Join(home, ".bittensor", "compute", "validator", "val", "default", "netuid27", "validator.db")}, false},
		{"defaults", nil, []string{filepath.Join(home, ".bittensor", "compute", "validator", "default", "default", "netuid27", "validator.db"), `wallet "default"`, "--wallet.name"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAllocate(t, ctx, append([]string{"list"}, tc.args...)...)
			if err != nil {
				t.Fatalf("list: %v\n%s", err, out)
			}
			for _, want := range append([]string{"no allocations recorded in "}, tc.want...) {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if hint := strings.Contains(out, "for another validator's"); hint != tc.wantHint {
				t.Errorf("hint shown %v, want %v:\n%s", hint, tc.wantHint, out)
			}
		})
	}
}

func TestAllocateFlagErrors(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(priv, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.pub")
	if err := os.WriteFile(bad, []byte("ssh-ed25519 notbase64 x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--timeline", "90"}, "between 1 and 60 days"},
		{[]string{"--timeline", "0"}, "between 1 and 60 days"},
		{[]string{"--requirement", `{"cpu":{"count":1}`}, "flag 'requirement'"},
		{[]string{"--requirement", `{"cpu":{"count":1},"ram":{"capacity":1073741824}}`, "--ram", "2GiB"}, "either --requirement or --ram"},
		{[]string{"--requirement", `{"cpu":{"count":1},"ram":{"capacity":1073741824},"gpus":{}}`}, `unknown key "gpus"`},
		{[]string{"--ram", "lots"}, "flag 'ram'"},
		{[]string{"--disk", "5XB"}, "unknown unit"},
		{[]string{"--cpu.count", "0"}, "flag 'cpu.count': invalid device requirement: cpu.count must be between 1 and"},
		{[]string{"--requirement", `{"cpu":{"count":0},"ram":{"capacity":1073741824}}`}, "flag 'requirement': invalid device requirement: cpu.count must be between 1 and"},
		{[]string{"--requirement", `{"ram":{"capacity":1073741824}}`}, "cpu.count must be between 1 and"},
		{[]string{"--ram", "-1GiB"}, `flag 'ram': invalid size "-1GiB": a size cannot be negative`},
		{[]string{"--disk", "-5"}, `flag 'disk': invalid size "-5": a size cannot be negative`},
		{[]string{"--gpu.capacity", "-5"}, `flag 'gpu.capacity': invalid size "-5": a size cannot be negative`},
		{[]string{"--ram", "abc"}, `flag 'ram': invalid size "abc": not a number with an optional unit`},
		{[]string{"--gpu.capacity", "abc"}, `flag 'gpu.capacity': invalid size "abc": not a number with an optional unit`},
		{[]string{"--hotkey", "notakey"}, `flag 'hotkey': "notakey" is not an SS58 address`},
		{[]string{"release", "--hotkey", "notakey"}, `flag 'hotkey': "notakey" is not an SS58 address`},
		{[]string{"--gpu.type", "$(reboot)"}, "gpu.type"},
		{[]string{"--ssh-key", filepath.Join(dir, "missing.pub")}, "no such file"},
		{[]string{"--ssh-key", priv}, "is a private key"},
		{[]string{"--ssh-key", bad}, "flag 'ssh-key'"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ctx := context.Background()
			_, err := runAllocate(t, ctx, append(tc.args, "--validator.data_dir", dir, "--wallet.path", dir)...)
			if err == nil || !strings.Contains(operatorMessage(err), tc.want) || exitCode(ctx, err) != exitUsage {
				t.Fatalf("got %v, want a usage error containing %q", err, tc.want)
			}
			if msg := operatorMessage(err); strings.Contains(msg, "container:") || strings.Contains(msg, "renter:") {
				t.Fatalf("message %q carries a package prefix", msg)
			}
		})
	}
	if _, err := runAllocate(t, context.Background(), "release", "--validator.data_dir", dir); err == nil || !strings.Contains(err.Error(), "flag 'hotkey' is required") {
		t.Fatalf("release without --hotkey: %v", err)
	}
}

// cliMiner is a small Allocate-only axon for the command test. With actions
// it serves lease actions; without, it takes them for checks, as older miners do.
type cliMiner struct {
	mu       sync.Mutex
	owner    string
	actions  bool
	keys     string
	timeline int64
	restarts int
}

func (m *cliMiner) forward(_ context.Context, syn *wire.Allocate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key, err := container.ParseRequesterKey(syn.PublicKey)
	if err != nil {
		return wire.Errorf(400, "%v", err)
	}
	if act, ok := syn.LeaseAction(); ok && m.actions {
		syn.Output.Action = act.Action
		if m.owner != key.Fingerprint {
			syn.Output.Reason = "the public key is not the one that allocated this machine"
			return nil
		}
		switch act.Action {
		case wire.ActionRestart:
			m.restarts++
		case wire.ActionExchangeKey:
			m.keys = act.SSHKey
		case wire.ActionExtend:
			m.timeline = syn.Timeline
		}
		syn.Output.Status = true
		return nil
	}
	switch {
	case syn.Checking:
		syn.Output.Status = m.owner == ""
	case syn.Timeline > 0 && m.owner == "":
		m.owner, m.keys, m.timeline = key.Fingerprint, syn.SSHKey(), syn.Timeline
		syn.Output.Info, err = container.EncryptCredentials(key.Key, container.Credentials{Username: "root", Password: "s3cret-pw", Port: 4444})
		syn.Output.Status = err == nil
	case syn.Timeline == 0 && m.owner == key.Fingerprint:
		m.owner = ""
		syn.Output.Status = true
	}
	return nil
}

// cliNet is a localnet with a validator and a miner whose axon serves m on
// loopback, and a validator store that knows the miner's specs.
type cliNet struct {
	ep     string // the --subtensor.chain_endpoint flag
	dir    string // the validator's data directory
	miner  string // the miner's hotkey
	common []string
}

func startCLINet(t *testing.T, ctx context.Context, m *cliMiner) *cliNet {
	t.Helper()
	url := startLocalnet(t, filepath.Join(t.TempDir(), "localnet.db"))
	ep := "--subtensor.chain_endpoint=" + url
	runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//validator")
	runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//m1")

	minerKey := mustKey(t, "//Bob//m1")
	ax, err := wire.NewAxon(wire.AxonConfig{Hotkey: minerKey.SS58Address(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Attach(ax, wire.Handler[wire.Allocate]{Forward: m.forward}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	axCtx, stopAxon := context.WithCancel(context.Background())
	axDone := make(chan struct{})
	go func() { defer close(axDone); _ = ax.Serve(axCtx, ln) }()
	t.Cleanup(func() { stopAxon(); <-axDone })
	c, err := devchain.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	if err := c.ServeAxon(ctx, 1, minerKey, chain.AxonInfo{Version: 142, IP: "127.0.0.1", Port: port, IPType: 4, Protocol: 4}); err != nil {
		t.Fatal(err)
	}

	// The validator's store knows the miner's specs.
	dir := t.TempDir()
	st, err := store.OpenValidator(ctx, filepath.Join(dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSpecs(ctx, minerKey.SS58Address(), []byte(`{"cpu":{"count":4,"frequency":3000},"gpu":{"count":0,"capacity":0,"details":[]},`+
		`"hard_disk":{"total":107374182400,"free":53687091200,"used":0,"read_speed":0,"write_speed":0},`+
		`"ram":{"total":17179869184,"free":8589934592,"used":0,"available":8589934592,"swap_total":0,"swap_free":0,"swap_used":0},"has_docker":true}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return &cliNet{ep: ep, dir: dir, miner: minerKey.SS58Address(),
		common: []string{ep, "--netuid", "1", "--hotkey-uri", "//Bob//validator", "--validator.data_dir", dir}}
}

// TestAllocateCommand runs allocate, list and release through the CLI
// against a localnet and a miner axon on loopback.
func TestAllocateCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cn := startCLINet(t, ctx, &cliMiner{})
	minerKey := mustKey(t, "//Bob//m1")
	dir := cn.dir
	common := cn.common
	if _, err := runAllocate(t, ctx, append([]string{"--cpu.count", "8"}, common...)...); !errors.Is(err, renter.ErrNoCandidate) {
		t.Fatalf("8 CPUs: %v, want ErrNoCandidate", err)
	}
	out, err := runAllocate(t, ctx, append([]string{"--cpu.count", "2", "--ram", "2GiB", "--disk", "10GiB", "--timeline", "5"}, common...)...)
	if err != nil {
		t.Fatalf("allocate: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	for _, want := range []string{minerKey.SS58Address(), "2 CPU, 2GiB RAM, 10GiB disk", "s3cret-pw", "ssh root@127.0.0.1 -p 4444", "(5 days)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("allocate output lacks %q", want)
		}
	}
	keys, _ := filepath.Glob(filepath.Join(dir, "renter-keys", "*.pem"))
	if len(keys) != 1 {
		t.Fatalf("key files %v", keys)
	}
	out, err = runAllocate(t, ctx, "list", "--validator.data_dir", dir)
	if err != nil || !strings.Contains(out, minerKey.SS58Address()) || !strings.Contains(out, "ssh root@127.0.0.1 -p 4444") || strings.Contains(out, "s3cret") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	// The same miner again: said to be held already, with the way out.
	_, err = runAllocate(t, ctx, append([]string{"--hotkey", minerKey.SS58Address()}, common...)...)
	if !errors.Is(err, renter.ErrAlreadyHeld) || !strings.Contains(err.Error(), "compute allocate list") || !strings.Contains(err.Error(), "compute allocate release --hotkey") {
		t.Fatalf("allocating a held miner: %v", err)
	}
	out, err = runAllocate(t, ctx, append([]string{"release", "--hotkey", minerKey.SS58Address()}, common...)...)
	if err != nil || !strings.Contains(out, "released") {
		t.Fatalf("release: %v\n%s", err, out)
	}
	out, _ = runAllocate(t, ctx, "list", "--validator.data_dir", dir)
	if !strings.Contains(out, "no allocations recorded") {
		t.Fatalf("list after release:\n%s", out)
	}
	// Releasing it again: refused from the store alone, before any chain is
	// reached (the unreachable endpoint would otherwise be dialled).
	_, err = runAllocate(t, ctx, "release", "--hotkey", minerKey.SS58Address(), "--subtensor.chain_endpoint", "http://127.0.0.1:1", "--hotkey-uri", "//Bob//validator", "--validator.data_dir", dir)
	if !errors.Is(err, renter.ErrNotRecorded) || !strings.Contains(err.Error(), "compute allocate list") {
		t.Fatalf("second release: %v, want ErrNotRecorded", err)
	}
	if keys, _ := filepath.Glob(filepath.Join(dir, "renter-keys", "*.pem")); len(keys) != 0 {
		t.Fatalf("key files left: %v", keys)
	}

	// Key-only: the printed ssh command and the list both name the private key with -i;
	// info logs stay off by default and come with -v.
	sshDir := t.TempDir()
	pub := filepath.Join(sshDir, "id_ed25519.pub")
	if err := os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9ydGhlcmVudGVydGVzdHN1aXRlMTIz renter@test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(pub, ".pub"), []byte("private"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantSSH := "ssh -i " + strings.TrimSuffix(pub, ".pub") + " root@127.0.0.1 -p 4444"
	out, stderr, err := runAllocateStderr(t, ctx, append([]string{"--hotkey", minerKey.SS58Address(), "--ssh-key", pub}, common...)...)
	if err != nil || !strings.Contains(out, wantSSH) || !strings.Contains(out, "SSH key only") || !strings.Contains(out, "RSA key") {
		t.Fatalf("key-only allocate: %v\n%s", err, out)
	}
	if strings.Contains(stderr, "level=INFO") {
		t.Fatalf("info logs without -v:\n%s", stderr)
	}
	out, err = runAllocate(t, ctx, "list", "--validator.data_dir", dir)
	if err != nil || !strings.Contains(out, wantSSH) {
		t.Fatalf("list of a key-only lease lacks %q: %v\n%s", wantSSH, err, out)
	}
	out, stderr, err = runAllocateStderr(t, ctx, append([]string{"release", "-v", "--hotkey", minerKey.SS58Address()}, common...)...)
	if err != nil || !strings.Contains(out, "released") || !strings.Contains(stderr, "level=INFO msg=released") {
		t.Fatalf("release -v: %v\n%s\nstderr:\n%s", err, out, stderr)
	}
}

// TestAllocateLeaseActionsCommand: restart, extend and keys through the CLI,
// against a miner that knows lease actions and one that does not.
func TestAllocateLeaseActionsCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	m := &cliMiner{actions: true}
	cn := startCLINet(t, ctx, m)
	sshDir := t.TempDir()
	keyFile := func(name, line string) string {
		p := filepath.Join(sshDir, name)
		if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k1 := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9ydGhlcmVudGVydGVzdHN1aXRlMTIz one@test"
	k2 := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl two@test"
	f1, f2 := keyFile("one.pub", k1), keyFile("two.pub", k2)
	c1, _ := container.NormalizeSSHKey(k1)
	c2, _ := container.NormalizeSSHKey(k2)
	fp2, _ := renter.SSHKeyFingerprint(c2)
	state := func() (string, int64, int) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.keys, m.timeline, m.restarts
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runAllocate(t, ctx, append(args, cn.common...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	run("--hotkey", cn.miner, "--ssh-key", f1, "--timeline", "2")
	if out := run("restart", "--hotkey", cn.miner); !strings.Contains(out, "restarted the lease on "+cn.miner) {
		t.Fatalf("restart: %s", out)
	}
	if _, _, restarts := state(); restarts != 1 {
		t.Fatal("not restarted")
	}
	if out := run("extend", "--hotkey", cn.miner, "--days", "3"); !strings.Contains(out, "by 3 days") || !strings.Contains(out, "(5 days from its start)") {
		t.Fatalf("extend: %s", out)
	}
	if _, tl, _ := state(); tl != 5 {
		t.Fatalf("the miner was asked for %d days", tl)
	}
	if out := run("keys", "add", "--hotkey", cn.miner, "--ssh-key", f2); !strings.Contains(out, fp2) {
		t.Fatalf("keys add: %s", out)
	}
	if keys, _, _ := state(); keys != c1+"\n"+c2 {
		t.Fatalf("keys on the miner after add: %q", keys)
	}
	if out := run("keys", "list", "--validator.data_dir", cn.dir, "--hotkey", cn.miner); !strings.Contains(out, fp2) || strings.Count(out, "SHA256:") != 2 {
		t.Fatalf("keys list: %s", out)
	}
	run("keys", "remove", "--hotkey", cn.miner, "--fingerprint", fp2)
	if keys, _, _ := state(); keys != c1 {
		t.Fatalf("keys on the miner after remove: %q", keys)
	}
	run("keys", "set", "--hotkey", cn.miner, "--ssh-key", f2)
	if keys, _, _ := state(); keys != c2 {
		t.Fatalf("keys on the miner after set: %q", keys)
	}

	// Refused before the miner is asked: bad flags, the last key, too many days.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"extend", "--hotkey", cn.miner}, "flag 'days' is required"},
		{[]string{"extend", "--hotkey", cn.miner, "--days", "56"}, "flag 'days': 56 more days make the lease 61 days long"},
		{[]string{"restart"}, "flag 'hotkey' is required"},
		{[]string{"keys", "set", "--hotkey", cn.miner}, "give the keys with --ssh-key"},
		{[]string{"keys", "remove", "--hotkey", cn.miner, "--fingerprint", fp2}, "flag 'ssh-key': the lease of " + cn.miner + " allows key login only"},
		{[]string{"keys", "remove", "--hotkey", cn.miner, "--fingerprint", "SHA256:nope"}, "SHA256:nope is none of the lease's keys"},
		{[]string{"keys", "add", "--hotkey", cn.miner, "--ssh-key", keyFile("bad.pub", "ssh-ed25519 AAAA")}, "flag 'ssh-key'"},
	} {
		_, err := runAllocate(t, ctx, append(tc.args, cn.common...)...)
		if err == nil || !strings.Contains(operatorMessage(err), tc.want) || exitCode(ctx, err) != exitUsage {
			t.Errorf("%s: %v, want a usage error containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if keys, tl, _ := state(); keys != c2 || tl != 5 {
		t.Fatalf("refused commands changed the lease: %q, %d days", keys, tl)
	}
	if _, err := runAllocate(t, ctx, append([]string{"restart", "--hotkey", mustKey(t, "//Bob//m9").SS58Address()}, cn.common...)...); !errors.Is(err, renter.ErrNotRecorded) {
		t.Fatalf("restart of an unrecorded lease: %v", err)
	}

	// A miner that does not know lease actions: said so, nothing changes.
	m.mu.Lock()
	m.actions = false
	m.mu.Unlock()
	_, err := runAllocate(t, ctx, append([]string{"extend", "--hotkey", cn.miner, "--days", "1"}, cn.common...)...)
	if !errors.Is(err, renter.ErrUnsupported) || !strings.Contains(operatorMessage(err), "does not know lease actions") {
		t.Fatalf("extend on an older miner: %v", err)
	}
	if out := run("list", "--validator.data_dir", cn.dir); !strings.Contains(out, cn.miner) {
		t.Fatalf("the record is gone: %s", out)
	}
	run("release", "--hotkey", cn.miner)
}

func TestPrintAllocation(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "id_test.pub")
	for _, f := range []string{pub, strings.TrimSuffix(pub, ".pub")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := &renter.Allocation{Hotkey: "5F", IP: "127.0.0.1", Port: 4444, Username: "root", KeyOnly: true, Timeline: 1, KeyFile: "/d/renter-keys/k.pem"}
	tests := []struct {
		name     string
		identity string
		want     []string
	}{
		{"key beside the public key", identityFile(pub), []string{"ssh -i " + strings.TrimSuffix(pub, ".pub") + " root@127.0.0.1 -p 4444", "(1 day)", "RSA key          /d/renter-keys/k.pem (for `compute allocate release`; not an SSH key)"}},
		{"no private key", identityFile(filepath.Join(dir, "other.pub")), []string{"SSH              ssh root@127.0.0.1 -p 4444"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			a.IdentityFile = tt.identity
			printAllocation(&b, a)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
