package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sn27/compute/internal/release"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/update"
	"github.com/sn27/compute/internal/wire"
)

// lockedBuffer collects a child process's output for the test to read while
// it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitUntil polls cond every 200 ms until it holds or the deadline passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, context func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s\n%s", d, what, context())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// goBuild builds this command into out with extra go build arguments.
func goBuild(t *testing.T, ctx context.Context, out string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build", "-trimpath"}, args...), "-o", out, ".")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, b)
	}
}

// TestReleaseScriptNeedsKey: scripts/release.sh builds nothing and writes
// nothing without a signing key.
func TestReleaseScriptNeedsKey(t *testing.T) {
	testutil.Tools(t, "bash")
	out := filepath.Join(t.TempDir(), "dist")
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "release.sh"), "1.5.1", out)
	cmd.Env = append(os.Environ(), "COMPUTE_RELEASE_KEY=")
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(b), "never published unsigned") {
		t.Fatalf("release.sh without a key: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out))); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Fatalf("release.sh without a key wrote %v", ents)
	}
}

// TestAutoUpdateMiner is the whole path: scripts/release.sh builds and signs
// release 1.5.1 for this machine; a miner built as release 1.5.0 runs as a
// child process against a localnet with --auto_update and a feed on a local
// HTTP server that has no release yet; once 1.5.1 is published there the
// miner downloads and verifies it, replaces its own binary (keeping
// compute.old), re-executes itself and serves again: the same PID, its axon
// answering, /metrics and its log naming release 1.5.1.
func TestAutoUpdateMiner(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary three times and runs a miner process")
	}
	if runtime.GOOS != "linux" {
		t.Skip("releases are built for Linux")
	}
	testutil.Tools(t, "bash", "sha256sum")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp := t.TempDir()

	// The signing key, unencrypted, and release 1.5.1 for this machine.
	keyPath := filepath.Join(tmp, "keys", "release.key")
	runCLI(t, ctx, "release", "keygen", "--secret-key", keyPath, "--no-password")
	pub, err := os.ReadFile(filepath.Join(tmp, "keys", "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := release.LoadPublicKey(string(pub))
	if err != nil {
		t.Fatal(err)
	}
	relDir := filepath.Join(tmp, "dist", "1.5.1")
	script := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "release.sh"), "1.5.1", relDir)
	script.Env = append(os.Environ(), "COMPUTE_RELEASE_KEY="+keyPath, "COMPUTE_RELEASE_ARCHS="+runtime.GOARCH)
	script.Stdin = nil
	if b, err := script.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, b)
	}
	for _, name := range []string{release.FeedFile, release.ChecksumsFile} {
		if err := release.VerifyFile(pk, filepath.Join(relDir, name)); err != nil {
			t.Fatalf("the release's %s: %v", name, err)
		}
	}
	platform := "linux-" + runtime.GOARCH
	asset := filepath.Join(relDir, "compute-1.5.1-"+platform)
	for _, p := range []string{platform, platform + "-nogpu"} {
		if err := release.CheckBinary(filepath.Join(relDir, "compute-1.5.1-"+p), p); err != nil {
			t.Fatal(err)
		}
	}
	newBytes, err := os.ReadFile(asset)
	if err != nil {
		t.Fatal(err)
	}

	// The running binary: release 1.5.0, the GPU-capable build as release.sh makes it.
	binDir := filepath.Join(tmp, "bin")
	bin := filepath.Join(binDir, "compute")
	goBuild(t, ctx, bin, "-ldflags", "-X github.com/sn27/compute/internal/version.release=1.5.0")
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(out), "release 1.5.0 (platform "+platform+")") {
		t.Fatalf("the old binary's version: %v\n%s", err, out)
	}

	// The release server: real HTTP, nothing published yet.
	served := filepath.Join(tmp, "served")
	if err := os.Mkdir(served, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(served)))
	defer srv.Close()

	// A localnet with the miner's hotkey registered, in a wallet on disk.
	url := startLocalnet(t, filepath.Join(tmp, "localnet.db"))
	ep := "--subtensor.chain_endpoint=" + url
	runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//m1")
	walletDir := filepath.Join(tmp, "wallets")
	runCLI(t, ctx, "wallet", "regen", "--wallet.path", walletDir, "--wallet.name", "miner", "--wallet.hotkey", "m1", "--uri", "//Bob//m1", "--hotkey")
	caller := mustKey(t, "//Bob//validator")

	axonPort, metricsPort := testutil.FreePort(t), testutil.FreePort(t)
	minerArgs := []string{"miner", ep, "--netuid", "1",
		"--wallet.path", walletDir, "--wallet.name", "miner", "--wallet.hotkey", "m1",
		"--axon.ip", "127.0.0.1", "--axon.external_ip", "127.0.0.1", "--axon.port", strconv.Itoa(axonPort),
		"--metrics.addr", "127.0.0.1:" + strconv.Itoa(metricsPort),
		"--miner.allocation=false", "--miner.solver", "cpu", "--miner.data_dir", filepath.Join(tmp, "miner"),
		"--whitelist.hotkeys", caller.SS58Address(),
		"--update.feed", srv.URL + "/" + release.FeedFile, "--update.public_key", pk.String(), "--update.interval", "10s"}
	m := startProcess(t, bin, append(minerArgs, "--update.restart", "exec"), "HOME="+tmp)
	buildInfo := regexp.MustCompile(`compute_build_info\{[^}]*release="([^"]+)"`)
	runningRelease := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if m := buildInfo.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		return ""
	}
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: caller, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	target := wire.Target{UID: 0, Hotkey: mustKey(t, "//Bob//m1").SS58Address(), IP: "127.0.0.1", Port: axonPort}
	answers := func() bool {
		res := wire.Call(ctx, d, target, &wire.Specs{}, 10*time.Second)
		return res.OK() && res.Synapse.SpecsOutput != ""
	}

	waitUntil(t, 2*time.Minute, "the 1.5.0 miner serving", func() bool { return m.alive() && runningRelease() == "1.5.0" && answers() }, m.report)
	waitUntil(t, time.Minute, "a feed check finding nothing", func() bool {
		return strings.Contains(m.logs.String(), "release check failed; trying again at the next check")
	}, m.report)

	// Publish 1.5.1: the asset and the signature first, the feed last.
	publish(t, relDir, served, "compute-1.5.1-"+platform)
	waitUntil(t, 3*time.Minute, "the miner serving as 1.5.1", func() bool { return m.alive() && runningRelease() == "1.5.1" && answers() }, m.report)

	text := m.logs.String()
	for _, want := range []string{
		"msg=\"new release\"", "msg=\"downloading release\"", "msg=\"release downloaded and verified\"",
		"msg=\"release installed\"", "msg=\"no operation in progress: restarting\"", "msg=\"restarting into the new release\"",
		fmt.Sprintf("msg=\"compute release\" release=1.5.0 platform=%s pid=%d", platform, m.pid),
		fmt.Sprintf("msg=\"compute release\" release=1.5.1 platform=%s pid=%d", platform, m.pid),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the miner's log lacks %s", want)
		}
	}
	if t.Failed() {
		t.Fatalf("the miner's log:\n%s", text)
	}
	t.Logf("the miner's log:\n%s", text)
	if got, err := os.ReadFile(bin); err != nil || !bytes.Equal(got, newBytes) {
		t.Fatalf("the binary on disk is not release 1.5.1's asset (%v)", err)
	}
	checkVersions(t, platform, map[string]string{bin: "1.5.1", bin + ".old": "1.5.0"})
	if ents, _ := os.ReadDir(binDir); len(ents) != 2 {
		t.Errorf("the binary's directory holds %d files, want compute and compute.old", len(ents))
	}
	if code := m.stop(t); code != 0 {
		t.Fatalf("the miner stopped by SIGTERM exited with status %d\n%s", code, m.logs.String())
	}

	// With --update.restart exit the next release ends the process with
	// status 75, after the role stopped, for a service manager to start it.
	rel2 := filepath.Join(tmp, "dist", "1.5.2")
	name2 := "compute-1.5.2-" + platform
	goBuild(t, ctx, filepath.Join(rel2, name2), "-ldflags", "-X github.com/sn27/compute/internal/version.release=1.5.2")
	runCLI(t, ctx, "release", "manifest", "--dir", rel2, "--version", "1.5.2", platform+"="+name2)
	runCLI(t, ctx, "release", "sign", "--secret-key", keyPath, filepath.Join(rel2, release.FeedFile))
	publish(t, rel2, served, name2)
	m = startProcess(t, bin, append(minerArgs, "--update.restart", "exit"), "HOME="+tmp)
	waitUntil(t, 3*time.Minute, "the miner's exit after installing 1.5.2", func() bool { return !m.alive() }, m.report)
	if code := m.stop(t); code != 75 {
		t.Fatalf("exit status %d, want 75\n%s", code, m.logs.String())
	}
	text = m.logs.String()
	for _, want := range []string{"msg=\"release installed\" component=update release=1.5.2 was=1.5.1", "msg=\"miner stopped\"",
		"compute: release 1.5.2 installed (was 1.5.1); exiting with status 75 for the service manager to start it"} {
		if !strings.Contains(text, want) {
			t.Errorf("the miner's log lacks %s", want)
		}
	}
	if strings.Index(text, "msg=\"miner stopped\"") > strings.Index(text, "exiting with status 75") {
		t.Error("the process exited before the miner stopped")
	}
	if t.Failed() {
		t.Fatalf("the miner's log:\n%s", text)
	}
	checkVersions(t, platform, map[string]string{bin: "1.5.2", bin + ".old": "1.5.1"})
}

// publish copies a release's asset, the feed's signature and, last, the
// feed from dir into the served directory.
func publish(t *testing.T, dir, served, asset string) {
	t.Helper()
	for _, name := range []string{asset, release.FeedFile + release.SignatureSuffix, release.FeedFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := release.WriteFile(filepath.Join(served, name), data, 0o644, true); err != nil {
			t.Fatal(err)
		}
	}
}

// checkVersions runs each binary's version and expects its release.
func checkVersions(t *testing.T, platform string, want map[string]string) {
	t.Helper()
	for path, rel := range want {
		out, err := exec.Command(path, "version").Output()
		if err != nil || !strings.Contains(string(out), "release "+rel+" (platform "+platform+")") {
			t.Errorf("%s version: %v\n%s", filepath.Base(path), err, out)
		}
	}
}

// process is a child compute process with its output collected.
type process struct {
	cmd    *exec.Cmd
	pid    int
	logs   lockedBuffer
	exited chan error // receives Wait's error once; alive puts it back
	status int        // the exit status, once stop returned
}

// startProcess starts bin with args and extra environment; the test's end
// stops it.
func startProcess(t *testing.T, bin string, args []string, env ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), exited: make(chan error, 1), status: -1}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.pid = p.cmd.Process.Pid
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// alive reports whether the process is still running.
func (p *process) alive() bool {
	if p.status >= 0 {
		return false
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		return false
	default:
		return true
	}
}

// report is the process's output, said to have exited when it has.
func (p *process) report() string {
	if !p.alive() {
		return "the process exited:\n" + p.logs.String()
	}
	return p.logs.String()
}

// stop sends SIGTERM unless the process exited, waits and returns its exit
// status; it kills a process that does not stop within 30 s.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	if p.status >= 0 {
		return p.status
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		err = <-p.exited
		t.Errorf("pid %d did not stop on SIGTERM\n%s", p.pid, p.logs.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		p.status = 0
	case errors.As(err, &exit):
		p.status = exit.ExitCode()
		if p.status < 0 { // killed by a signal
			p.status = 255
		}
	default:
		t.Errorf("waiting for pid %d: %v", p.pid, err)
		p.status = 1
	}
	return p.status
}

// TestRestartExitCode: a restart into an update that is not re-executed
// exits with status 75 (update.RestartExitCode), which the service unit
// restarts on, and says so.
func TestRestartExitCode(t *testing.T) {
	err := fmt.Errorf("miner: %w", &update.RestartError{From: "1.5.0", To: "1.5.1", Path: "/usr/local/bin/compute"})
	if got := exitCode(context.Background(), err); got != 75 || update.RestartExitCode != 75 {
		t.Fatalf("exit code %d, want 75", got)
	}
	restartAfterUpdate(err) // not re-executed: returns
	var out bytes.Buffer
	report(&out, context.Background(), err)
	if want := "compute: release 1.5.1 installed (was 1.5.0); exiting with status 75 for the service manager to start it\n"; out.String() != want {
		t.Fatalf("report printed %q, want %q", out.String(), want)
	}
}

// TestUpdateFlags: the update flags' values are checked before anything
// runs, and a refusal names the flag.
func TestUpdateFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"update", "--update.feed", "ftp://example.org/release.json", "--update.public_key", "RWQ/3QWYGw0L8C1SjK/5nxpIVTiFLlrA4xRsyRks1TZ7zQzuEtrXJqNk"}, "flag 'update.feed'"},
		{[]string{"update", "--update.feed", "https://example.org/release.json", "--update.public_key", "nokey"}, "flag 'update.public_key'"},
		{[]string{"update", "--check"}, "no release feed: set --update.feed"},
		{[]string{"update", "--update.feed", "https://example.org/release.json"}, "no public key to verify releases with: set --update.public_key"},
		{[]string{"miner", "--update.interval", "1s"}, "flag 'update.interval'"},
		{[]string{"validator", "--update.restart", "reboot"}, "flag 'update.restart'"},
	} {
		root := newRootCommand()
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs(tc.args)
		err := root.ExecuteContext(context.Background())
		if err == nil || exitCode(context.Background(), err) != exitUsage || !strings.Contains(operatorMessage(err), tc.want) {
			t.Errorf("compute %v: %v (exit %d), want a usage error saying %q", tc.args, err, exitCode(context.Background(), err), tc.want)
		}
	}
}
