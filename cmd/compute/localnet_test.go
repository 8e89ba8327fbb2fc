package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/chain/reveal"
	"github.com/sn27/compute/internal/wallet"
)

// runCLI runs the compute root command in process and returns its stdout.
func runCLI(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("compute %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// startLocalnet runs `compute localnet` in process on a free loopback port,
// with extra flags appended, until the test ends.
func startLocalnet(t *testing.T, state string, extra ...string) string {
	t.Helper()
	addr, stop := launchLocalnet(t, state, extra...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("localnet: %v", err)
		}
	})
	return addr
}

// launchLocalnet starts `compute localnet` and returns its address and a
// function that stops it and returns how it ended.
func launchLocalnet(t *testing.T, state string, extra ...string) (string, func() error) {
	t.Helper()
	return launchLocalnetArgs(t, append([]string{"--state", state, "--block-time", "20ms",
		"--create-netuid", "1", "--tempo", "4", "--weights-rate-limit", "2", "--weights-version-key", "142",
		"--min-validator-stake", "1000", "--fund", mustKey(t, "//Bob").SS58Address()}, extra...)...)
}

// launchLocalnetArgs starts `compute localnet --listen 127.0.0.1:0` with args
// and returns its address and a function that stops it and returns how it ended.
func launchLocalnetArgs(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetOut(&lineWriter{fn: func(s string) {
			if a, ok := strings.CutPrefix(s, "localnet listening on "); ok {
				addr <- strings.TrimSpace(a)
			}
		}})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append([]string{"localnet", "--listen", "127.0.0.1:0"}, args...))
		done <- root.ExecuteContext(ctx)
	}()
	stop := func() error {
		cancel()
		return <-done
	}
	select {
	case a := <-addr:
		return a, stop
	case err := <-done:
		cancel()
		t.Fatalf("localnet exited: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("localnet did not start")
	}
	return "", nil
}

type lineWriter struct{ fn func(string) }

func (w *lineWriter) Write(p []byte) (int, error) { w.fn(string(p)); return len(p), nil }

func mustKey(t *testing.T, uri string) *wallet.Keypair {
	t.Helper()
	kp, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// TestMetagraphAfterWeights is the end-to-end check: register a validator and
// two miners through the CLI, stake, serve, set weights for a few tempos, and
// `compute metagraph` prints the neurons with their incentive.
func TestMetagraphAfterWeights(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := startLocalnet(t, filepath.Join(t.TempDir(), "localnet.db"))
	ep := "--subtensor.chain_endpoint=" + url

	out := runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//validator")
	if !strings.Contains(out, "as uid 0") {
		t.Fatalf("register: %s", out)
	}
	for _, m := range []string{"//Bob//m1", "//Bob//m2"} {
		runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", m)
	}
	runCLI(t, ctx, "localnet", "stake", ep, "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//validator", "--amount", "2000")
	runCLI(t, ctx, "localnet", "fund", ep, "--address", mustKey(t, "//Carol").SS58Address(), "--amount", "5")

	c, err := devchain.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	val, m1 := mustKey(t, "//Bob//validator"), mustKey(t, "//Bob//m1")
	if err := c.ServeAxon(ctx, 1, m1, chain.AxonInfo{Version: 142, IP: "127.0.0.1", Port: 8091, IPType: 4, Protocol: 4}); err != nil {
		t.Fatal(err)
	}
	// Wait for the permit, then set weights each few blocks over a few tempos.
	for {
		n, err := c.Neuron(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n.ValidatorPermit {
			break
		}
		b, _ := c.Block(ctx)
		if _, err := c.WaitBlock(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// The subnet has commit-reveal on (the localnet's default, as on
	// finney): a plain set_weights is refused, commits are revealed by the
	// chain an epoch later.
	if err := c.SetWeights(ctx, 1, val, []uint16{1, 2}, []uint16{65535, 20000}, 142); !errors.Is(err, chain.ErrCommitRevealEnabled) {
		t.Fatalf("plain set_weights on a commit-reveal subnet: %v", err)
	}
	start, _ := c.Block(ctx)
	for b := start; b < start+16; {
		info, err := c.WeightsInfo(ctx, 1, val.SS58Address())
		if err != nil {
			t.Fatal(err)
		}
		if info.NextAllowed() <= info.Block {
			sealed, err := reveal.Seal(rand.Reader, info, val.PublicKey(), []uint16{1, 2}, []uint16{65535, 20000}, 142, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CommitTimelockedWeights(ctx, 1, val, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion); err != nil && !errors.Is(err, chain.ErrRateLimited) {
				t.Fatal(err)
			}
		}
		if b, err = c.WaitBlock(ctx, b+2); err != nil {
			t.Fatal(err)
		}
	}
	// Let the last commits' reveal epoch come.
	if _, err := c.WaitBlock(ctx, start+26); err != nil {
		t.Fatal(err)
	}

	out = runCLI(t, ctx, "metagraph", ep, "--netuid", "1")
	t.Logf("\n%s", out)
	for _, want := range []string{val.SS58Address(), m1.SS58Address(), "127.0.0.1:8091", "INCENTIVE"} {
		if !strings.Contains(out, want) {
			t.Fatalf("metagraph lacks %q:\n%s", want, out)
		}
	}
	var mg chain.Metagraph
	if err := json.Unmarshal([]byte(runCLI(t, ctx, "metagraph", ep, "--netuid", "1", "--json")), &mg); err != nil {
		t.Fatal(err)
	}
	if len(mg.Neurons) != 3 || !(mg.Neurons[1].Incentive > mg.Neurons[2].Incentive && mg.Neurons[2].Incentive > 0) ||
		!mg.Neurons[0].ValidatorPermit || mg.Neurons[0].Dividends == 0 {
		t.Fatalf("metagraph %+v", mg.Neurons)
	}

	// A real second process reads the same chain.
	bin := filepath.Join(t.TempDir(), "compute")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	sub, err := exec.CommandContext(ctx, bin, "metagraph", ep, "--netuid", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("compute metagraph subprocess: %v\n%s", err, sub)
	}
	if !strings.Contains(string(sub), m1.SS58Address()) || !strings.Contains(string(sub), "127.0.0.1:8091") {
		t.Fatalf("subprocess metagraph:\n%s", sub)
	}
}

// TestLocalnetFundWallet funds a wallet's coldkey by name, and refuses an
// ambiguous or empty target with the usage code.
func TestLocalnetFundWallet(t *testing.T) {
	ctx := context.Background()
	addr := startLocalnet(t, "")
	dir := t.TempDir()
	t.Setenv("COMPUTE_WALLET_PASSWORD", "")
	runCLI(t, ctx, "wallet", "new", "--wallet.path", dir, "--wallet.name", "miner", "--no-password")
	pub, err := wallet.New(dir, "miner", "default").ColdkeyPub()
	if err != nil {
		t.Fatal(err)
	}
	ep := addr
	out := runCLI(t, ctx, "localnet", "fund", "--subtensor.chain_endpoint", ep, "--wallet.path", dir, "--wallet.name", "miner", "--amount", "12.5")
	if want := pub.SS58Address() + " balance 12.500000000 TAO\n"; out != want {
		t.Fatalf("fund --wallet.name printed %q, want %q", out, want)
	}
	for _, args := range [][]string{
		{"localnet", "fund", "--subtensor.chain_endpoint", ep},
		{"localnet", "fund", "--subtensor.chain_endpoint", ep, "--wallet.name", "miner", "--address", pub.SS58Address()},
	} {
		root := newRootCommand()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(args)
		if err := root.ExecuteContext(ctx); exitCode(ctx, err) != exitUsage {
			t.Errorf("compute %v: %v, want a usage error", args, err)
		}
	}
}

// TestLocalnetFaucetCapsAndRestart: the faucet refuses a payment past the
// per-account cap, naming the cap and the flags that set it; a restart whose
// --fund the cap now refuses still starts, and the chain goes on.
func TestLocalnetFaucetCapsAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	state := filepath.Join(t.TempDir(), "localnet.db")
	caps := []string{"--faucet-amount", "10", "--faucet-account-cap", "15", "--faucet-total-cap", "100"}
	addr, stop := launchLocalnet(t, state, caps...)
	ep := "--subtensor.chain_endpoint=" + addr
	bob := mustKey(t, "//Bob").SS58Address()
	if out := runCLI(t, ctx, "localnet", "fund", ep, "--address", bob, "--amount", "5"); !strings.Contains(out, "balance 15.000000000 TAO") {
		t.Fatalf("fund within the cap: %q", out)
	}
	root := newRootCommand()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"localnet", "fund", ep, "--address", bob, "--amount", "1"})
	err := root.ExecuteContext(ctx)
	if !errors.Is(err, devchain.ErrFaucetCap) || !strings.Contains(err.Error(), "per-account faucet cap of 15 TAO") ||
		!strings.Contains(err.Error(), "--faucet-account-cap") {
		t.Fatalf("fund past the cap: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Same flags again: --fund Bob is past the cap now, and the localnet starts anyway.
	addr = startLocalnet(t, state, caps...)
	c, err := devchain.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := c.Block(ctx)
	if _, err := c.WaitBlock(ctx, b+3); err != nil {
		t.Fatal(err)
	}
	if a, err := c.Account(ctx, bob); err != nil || a.BalanceRao != 15*devchain.RaoPerTAO {
		t.Fatalf("Bob after the restart: %+v, %v", a, err)
	}
	is, err := c.Issuance(ctx)
	if err != nil || is.MintedRao != 15*devchain.RaoPerTAO {
		t.Fatalf("issuance %+v, %v", is, err)
	}
}

// TestLocalnetCreatesDefaultSubnet: a bare `compute localnet` creates the
// subnet every command defaults to, so `compute metagraph` works right after;
// --create-netuid 0 creates none.
func TestLocalnetCreatesDefaultSubnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name  string
		extra []string
		want  error
	}{
		{"bare", nil, nil},
		{"create none", []string{"--create-netuid", "0"}, chain.ErrSubnetNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := startLocalnetArgs(t, append([]string{"--state", "", "--block-time", "20ms"}, tc.extra...)...)
			root := newRootCommand()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&bytes.Buffer{})
			root.SetArgs([]string{"metagraph", "--subtensor.chain_endpoint", url})
			err := root.ExecuteContext(ctx)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("metagraph with the default netuid after a bare localnet: %v", err)
			case tc.want == nil && !strings.Contains(out.String(), "netuid 27,"):
				t.Fatalf("metagraph does not show netuid 27:\n%s", out.String())
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("metagraph after --create-netuid 0: err %v, want %v", err, tc.want)
			}
		})
	}
}

// startLocalnetArgs is launchLocalnetArgs stopped when the test ends.
func startLocalnetArgs(t *testing.T, args ...string) string {
	t.Helper()
	addr, stop := launchLocalnetArgs(t, args...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("localnet: %v", err)
		}
	})
	return addr
}
