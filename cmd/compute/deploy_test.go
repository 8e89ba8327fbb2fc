package main

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/version"
)

// TestValidatorImage builds deploy/Dockerfile with the real Docker Engine
// (through deploy/build-image.sh) from a freshly built static binary, runs
// `compute version` and `compute doctor` in the image and removes it.
func TestValidatorImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a static binary and an image")
	}
	testutil.Tools(t, "docker", "bash")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testutil.SkipOrFail(t, "docker client: %v", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		testutil.SkipOrFail(t, "no Docker daemon: %v (scripts/provision.sh starts one)", err)
	}

	bin := filepath.Join(t.TempDir(), "compute")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "nogpu", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the nogpu binary is dynamically linked: it cannot run FROM scratch")
		}
	}
	f.Close()

	var suffix [6]byte
	rand.Read(suffix[:])
	tag := "compute-validator-test:" + hex.EncodeToString(suffix[:])
	t.Cleanup(func() {
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		defer rcancel()
		if _, err := cli.ImageRemove(rctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove %s: %v", tag, err)
		}
	})
	script := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "deploy", "build-image.sh"), tag)
	script.Env = append(os.Environ(), "COMPUTE_BINARY="+bin)
	if out, err := script.CombinedOutput(); err != nil {
		t.Fatalf("deploy/build-image.sh: %v\n%s", err, out)
	}

	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--read-only", "--cap-drop", "ALL", "--network", "none", tag, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "compute "+version.String) {
		t.Fatalf("docker run %s version: %v\n%s", tag, err, out)
	}
	// The doctor runs there too, as uid 65532 with HOME=/data: no wallet, no chain.
	out, err = exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", tag,
		"doctor", "--mode", "validator", "--subtensor.chain_endpoint", "http://127.0.0.1:1", "--timeout", "5s").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitError ||
		!strings.Contains(string(out), "/data/.bittensor/wallets/default/coldkeypub.txt") || !strings.Contains(string(out), "cannot reach the chain") {
		t.Fatalf("doctor in the image: %v\n%s", err, out)
	}
}
