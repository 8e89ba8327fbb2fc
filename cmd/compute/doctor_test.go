package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/doctor"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
)

// runDoctor runs `compute doctor` with args and returns its results (read
// from --json) and the command's error.
func runDoctor(t *testing.T, ctx context.Context, args ...string) (map[string]doctor.Result, error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"doctor", "--json"}, args...))
	err := root.ExecuteContext(ctx)
	var results []doctor.Result
	if jerr := json.Unmarshal(out.Bytes(), &results); jerr != nil {
		t.Fatalf("doctor printed no JSON (%v; err %v):\n%s\n%s", jerr, err, out.String(), errOut.String())
	}
	var table bytes.Buffer
	doctor.WriteTable(&table, results)
	t.Logf("compute doctor %s\n%s", strings.Join(args, " "), table.String())
	got := map[string]doctor.Result{}
	for _, r := range results {
		got[r.Check] = r
	}
	return got, err
}

// dockerAnswers reports whether a Docker daemon answers here with the test
// lease image.
func dockerAnswers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return false
	}
	_, err = c.ImageInspect(ctx, testutil.SSHImage())
	return err == nil
}

// TestDoctorLocalnet runs compute doctor against a localnet: it passes for a
// registered miner that runs (with Docker and the lease image when the
// daemon answers here), and fails, naming the fix, with Docker unreachable,
// a hotkey readable by others, an unregistered hotkey and a closed axon port.
func TestDoctorLocalnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := startLocalnet(t, "")
	ep := "--subtensor.chain_endpoint=" + url
	dir := t.TempDir()
	t.Setenv("COMPUTE_WALLET_PASSWORD", "")
	walletFlags := []string{"--wallet.path", dir, "--wallet.name", "miner", "--wallet.hotkey", "default"}
	runCLI(t, ctx, append([]string{"wallet", "new", "--no-password"}, walletFlags...)...)
	runCLI(t, ctx, append([]string{"localnet", "fund", ep, "--amount", "100"}, walletFlags...)...)
	runCLI(t, ctx, append([]string{"register", ep, "--netuid", "1"}, walletFlags...)...)

	axonPort, sshPort := testutil.FreePort(t), testutil.FreePort(t)
	flags := append([]string{ep, "--netuid", "1", "--axon.ip", "127.0.0.1", "--axon.port", strconv.Itoa(axonPort),
		"--ssh.port", strconv.Itoa(sshPort), "--miner.solver", "cpu", "--miner.data_dir", filepath.Join(t.TempDir(), "miner")}, walletFlags...)
	docker := dockerAnswers()
	if docker {
		flags = append(flags, "--miner.image", testutil.SSHImage())
	} else {
		if testutil.RequireReal() {
			t.Fatal("no Docker daemon with the test lease image (COMPUTE_REQUIRE_REAL=1)")
		}
		t.Log("no Docker daemon with the test lease image here: the miner runs without allocation")
		flags = append(flags, "--miner.allocation=false")
	}

	// The miner, until stopMiner.
	mctx, stopMinerCtx := context.WithCancel(ctx)
	minerDone := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append([]string{"miner", "--metrics.addr", ""}, flags...))
		minerDone <- root.ExecuteContext(mctx)
	}()
	stopMiner := func() {
		stopMinerCtx()
		if err := <-minerDone; err != nil {
			t.Errorf("miner: %v", err)
		}
	}
	defer func() {
		if mctx.Err() == nil {
			stopMiner()
		}
	}()
	waitAxon(t, ctx, url, dir, axonPort, minerDone)

	got, err := runDoctor(t, ctx, append([]string{"--mode", "miner"}, flags...)...)
	if err != nil {
		t.Fatalf("doctor on a healthy miner: %v", err)
	}
	for _, c := range []string{"coldkeypub", "hotkey", "wallet-permissions", "chain", "registration", "clock", "axon-address", "axon-port", "ssh-port", "disk", "open-files"} {
		if got[c].Status != doctor.Pass {
			t.Errorf("%s: %+v, want PASS", c, got[c])
		}
	}
	if docker && (got["docker"].Status != doctor.Pass || got["lease-image"].Status != doctor.Pass) {
		t.Errorf("docker %+v, lease image %+v", got["docker"], got["lease-image"])
	}

	failsWith := func(t *testing.T, got map[string]doctor.Result, err error, check string, want ...string) {
		t.Helper()
		if err == nil || exitCode(ctx, err) != exitError {
			t.Errorf("doctor returned %v (exit %d), want exit 1", err, exitCode(ctx, err))
		}
		r := got[check]
		if r.Status != doctor.Fail {
			t.Errorf("%s: %+v, want FAIL", check, r)
		}
		for _, w := range want {
			if !strings.Contains(r.Detail+" | "+r.Fix, w) {
				t.Errorf("%s: %q / fix %q lacks %q", check, r.Detail, r.Fix, w)
			}
		}
	}

	t.Run("docker unreachable", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
		args := append([]string{"--mode", "miner"}, withoutFlag(flags, "--miner.allocation=false")...)
		got, err := runDoctor(t, ctx, args...)
		failsWith(t, got, err, "docker", "/nonexistent/docker.sock", "start the Docker daemon", "DOCKER_HOST")
	})

	t.Run("hotkey mode 0644", func(t *testing.T) {
		hot := wallet.New(dir, "miner", "default").HotkeyPath()
		if err := os.Chmod(hot, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(hot, 0o600)
		got, err := runDoctor(t, ctx, append([]string{"--mode", "miner"}, flags...)...)
		failsWith(t, got, err, "wallet-permissions", "mode 0644", "chmod 0600 "+hot)
	})

	t.Run("unregistered hotkey", func(t *testing.T) {
		runCLI(t, ctx, "wallet", "new-hotkey", "--wallet.path", dir, "--wallet.name", "miner", "--wallet.hotkey", "spare")
		args := append(append([]string{"--mode", "miner"}, flags...), "--wallet.hotkey", "spare")
		got, err := runDoctor(t, ctx, args...)
		failsWith(t, got, err, "registration", "is not registered on netuid 1",
			"compute register --netuid 1 --wallet.path "+dir+" --wallet.name miner --wallet.hotkey spare --subtensor.chain_endpoint "+url)
	})

	t.Run("validator", func(t *testing.T) {
		got, err := runDoctor(t, ctx, append([]string{"--mode", "validator", "--validator.data_dir", t.TempDir()}, flags...)...)
		if err != nil {
			t.Fatalf("doctor --mode validator: %v", err)
		}
		if got["validator-permit"].Status != doctor.Warn {
			t.Errorf("validator permit %+v, want WARN", got["validator-permit"])
		}
	})

	t.Run("axon port closed", func(t *testing.T) {
		stopMiner()
		got, err := runDoctor(t, ctx, append([]string{"--mode", "miner"}, flags...)...)
		failsWith(t, got, err, "axon-port", "127.0.0.1:"+strconv.Itoa(axonPort), "connection refused", "start the miner")
	})
}

func withoutFlag(flags []string, drop string) []string {
	var out []string
	for _, f := range flags {
		if f != drop {
			out = append(out, f)
		}
	}
	return out
}

// waitAxon waits until the miner of the wallet under dir has announced
// port on the localnet at url and answers there.
func waitAxon(t *testing.T, ctx context.Context, url, dir string, port int, minerDone <-chan error) {
	t.Helper()
	c, err := devchain.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hot, err := wallet.New(dir, "miner", "default").HotkeyPub()
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, err := c.NeuronByHotkey(ctx, 1, hot.SS58Address())
		if err == nil && int(n.Axon.Port) == port {
			if conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				conn.Close()
				return
			}
		}
		select {
		case err := <-minerDone:
			t.Fatalf("the miner stopped: %v", err)
		case <-ctx.Done():
			t.Fatal("the miner did not announce its axon")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestDoctorUsage: bad flags exit with the usage code naming the flag; an
// unreachable chain is a failed check (exit 1), reported in the table.
func TestDoctorUsage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"doctor"}, `required flag(s) "mode" not set`},
		{[]string{"doctor", "--mode", "renter"}, `flag 'mode': "renter" is neither miner nor validator`},
		{[]string{"doctor", "--mode", "miner", "--axon.port", "70000"}, "flag 'axon.port': 70000 is not a port"},
		{[]string{"doctor", "--mode", "miner", "--axon.external_ip", "1.2.3"}, "flag 'axon.external_ip'"},
		{[]string{"doctor", "--mode", "miner", "--timeout", "-1s"}, "flag 'timeout'"},
	} {
		code, msg := runCLIErr(ctx, append(tc.args, "--wallet.path", dir, "--miner.data_dir", dir)...)
		if code != exitUsage || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, msg, exitUsage, tc.want)
		}
	}
	port := strconv.Itoa(testutil.FreePort(t))
	code, msg := runCLIErr(ctx, "doctor", "--mode", "validator", "--subtensor.chain_endpoint", "http://127.0.0.1:"+port,
		"--wallet.path", dir, "--validator.data_dir", dir)
	if code != exitError || !strings.Contains(msg, "checks failed") {
		t.Errorf("unreachable chain: exit %d %q", code, msg)
	}
}
