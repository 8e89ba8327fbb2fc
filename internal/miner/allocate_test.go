package miner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wire"
)

// allocConfig is testConfig with allocation on the real daemon, a unique owner (its
// containers are removed when the test ends) and a free SSH port.
func allocConfig(t testing.TB, c *client.Client, dataDir string) Config {
	t.Helper()
	cfg := testConfig(t, dataDir)
	b := make([]byte, 4)
	rand.Read(b)
	cfg.LeaseOwner = "test-miner-" + hex.EncodeToString(b)
	cfg.Allocation = true
	cfg.AllocationRequired = true
	cfg.Image = testutil.SSHImage()
	cfg.SSHPort = testutil.FreePort(t)
	testutil.RemoveAtCleanup(t, c, container.LabelOwner, cfg.LeaseOwner)
	return cfg
}

func requirement(t testing.TB, cpus int, ram int64) wire.JSONObject {
	t.Helper()
	b, err := json.Marshal(map[string]any{"cpu": map[string]any{"count": cpus}, "gpu": map[string]any{}, "hard_disk": map[string]any{"capacity": 0}, "ram": map[string]any{"capacity": ram}})
	if err != nil {
		t.Fatal(err)
	}
	return wire.JSONObject(b)
}

// TestMinerAllocateEndToEnd: allocate through the dendrite, log in with OpenSSH, see the
// limits, restart the miner on the same data directory, find the lease again, refuse bad
// requests without changing anything, deallocate, and find the container gone.
func TestMinerAllocateEndToEnd(t *testing.T) {
	docker := testutil.Docker(t)
	n := newNetwork(t)
	dataDir := t.TempDir()
	cfg := allocConfig(t, docker, dataDir)
	r := startMiner(t, n, cfg, Deps{})
	if !r.m.AllocationEnabled() {
		t.Fatal("allocation not enabled")
	}
	ctx := context.Background()
	d := dendrite(t, n.validator)
	priv, pub := testutil.RSAKey(t)
	_, otherPub := testutil.RSAKey(t)
	const ram = 256 << 20
	call := func(r *running, a *wire.Allocate) wire.Result[wire.Allocate] {
		t.Helper()
		return wire.Call(ctx, d, r.target(), a, 30*time.Second)
	}

	if res := call(r, &wire.Allocate{Timeline: 1, Checking: true, PublicKey: pub, DeviceRequirement: requirement(t, 1, ram)}); !res.OK() || !res.Synapse.Output.Status {
		t.Fatalf("checking: %d %s %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
	}
	start := time.Now()
	res := call(r, &wire.Allocate{Timeline: 1, PublicKey: pub, DeviceRequirement: requirement(t, 1, ram)})
	if !res.OK() || !res.Synapse.Output.Status || res.Synapse.Output.Info == "" {
		t.Fatalf("allocate: %d %s %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
	}
	cred, err := container.DecryptCredentials(priv, res.Synapse.Output.Info)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Port != cfg.SSHPort || cred.Username != "root" {
		t.Fatalf("credentials %+v", cred)
	}
	out, err := testutil.SSH(t, testutil.Login{Port: cred.Port, Password: cred.Password}, "nproc; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
	if err != nil {
		t.Fatalf("ssh: %v: %s", err, out)
	}
	t.Logf("allocate request to working SSH login: %v", time.Since(start))
	fields := strings.Fields(out)
	if len(fields) != 2 || fields[0] != "1" || fields[1] != strconv.Itoa(ram) {
		t.Fatalf("limits inside the container: %q, want 1 CPU and %d bytes", out, ram)
	}
	lease, ok := r.m.leases.Lease()
	if !ok || lease.ValidatorHotkey != n.validator.SS58Address() {
		t.Fatalf("lease %+v does not record the caller %s", lease, n.validator.SS58Address())
	}
	body := scrape(t, r)
	if !strings.Contains(body, "compute_miner_leases_active 1") || !strings.Contains(body, "compute_miner_allocation_enabled 1") {
		t.Errorf("lease gauges:\n%s", grepLines(body, "compute_miner_"))
	}

	// Restart: stop Run, start a new miner on the same data directory.
	r.stop(t)
	r = startMiner(t, n, cfg, Deps{})
	if res := call(r, &wire.Allocate{Timeline: 0, Checking: true, PublicKey: pub}); !res.OK() || !res.Synapse.Output.Status {
		t.Fatalf("lease lost across restart: %d %+v", res.StatusCode, res.Synapse.Output)
	}
	if res := call(r, &wire.Allocate{Timeline: 1, Checking: true, PublicKey: otherPub, DeviceRequirement: requirement(t, 1, ram)}); !res.OK() || res.Synapse.Output.Status {
		t.Fatalf("an allocated machine must say it cannot take another lease: %+v", res.Synapse.Output)
	}

	// Bad requests change nothing.
	bad := []struct {
		name string
		a    *wire.Allocate
		code int
	}{
		{"malformed requirement", &wire.Allocate{Timeline: 1, PublicKey: otherPub, DeviceRequirement: wire.JSONObject(`{"cpu":{"count":"many"}}`)}, 400},
		{"unknown requirement key", &wire.Allocate{Timeline: 1, PublicKey: otherPub, DeviceRequirement: wire.JSONObject(`{"cpu":{"count":1},"rootfs":{"mount":"/"}}`)}, 400},
		{"negative timeline", &wire.Allocate{Timeline: -1, PublicKey: pub, DeviceRequirement: requirement(t, 1, ram)}, 400},
		{"negative checking timeline", &wire.Allocate{Timeline: -5, Checking: true, PublicKey: pub}, 400},
		{"timeline over 60 days", &wire.Allocate{Timeline: 61, PublicKey: otherPub, DeviceRequirement: requirement(t, 1, ram)}, 400},
		{"huge timeline", &wire.Allocate{Timeline: 1 << 40, PublicKey: otherPub, DeviceRequirement: requirement(t, 1, ram)}, 400},
		{"bad PEM", &wire.Allocate{Timeline: 1, PublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", DeviceRequirement: requirement(t, 1, ram)}, 400},
		{"hostile key", &wire.Allocate{Timeline: 0, PublicKey: strings.Repeat("\x00$(reboot)`id`;'\"", 200)}, 400},
		{"deallocate with the wrong key", &wire.Allocate{Timeline: 0, PublicKey: otherPub}, 200},
		{"already allocated", &wire.Allocate{Timeline: 1, PublicKey: otherPub, DeviceRequirement: requirement(t, 1, ram)}, 200},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			res := call(r, tc.a)
			if res.StatusCode != tc.code || res.Synapse.Output.Status {
				t.Fatalf("status %d %q output %+v, want %d and status false", res.StatusCode, res.StatusMessage, res.Synapse.Output, tc.code)
			}
			if tc.code == 400 && res.StatusMessage == "" {
				t.Fatal("a refused request needs a message")
			}
			if l, ok := r.m.leases.Lease(); !ok || l.ID != lease.ID {
				t.Fatalf("lease changed: %+v", l)
			}
		})
	}
	if got := testutil.Containers(t, docker, container.LabelOwner, cfg.LeaseOwner); got != 1 {
		t.Fatalf("%d lease containers after bad requests, want 1", got)
	}

	// Deallocate with the right key: the container is gone.
	if res := call(r, &wire.Allocate{Timeline: 0, PublicKey: pub}); !res.OK() || !res.Synapse.Output.Status {
		t.Fatalf("deallocate: %d %s %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
	}
	if got := testutil.Containers(t, docker, container.LabelOwner, cfg.LeaseOwner); got != 0 {
		t.Fatalf("%d lease containers after deallocation", got)
	}
	if res := call(r, &wire.Allocate{Timeline: 0, Checking: true, PublicKey: pub}); !res.OK() || res.Synapse.Output.Status {
		t.Fatalf("still allocated after deallocation: %+v", res.Synapse.Output)
	}
	r.stop(t)
}

// BenchmarkAllocateToSSH measures the time from the Allocate request (through the
// dendrite) to a working SSH login, with the image present; each iteration deallocates.
func BenchmarkAllocateToSSH(b *testing.B) {
	docker := testutil.Docker(b)
	n := newNetwork(b)
	cfg := allocConfig(b, docker, b.TempDir())
	r := startMiner(b, n, cfg, Deps{})
	ctx := context.Background()
	d := dendrite(b, n.validator)
	priv, pub := testutil.RSAKey(b)
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res := wire.Call(ctx, d, r.target(), &wire.Allocate{Timeline: 1, PublicKey: pub, DeviceRequirement: requirement(b, 1, 256<<20)}, 30*time.Second)
		if !res.OK() || !res.Synapse.Output.Status {
			b.Fatalf("allocate: %d %s %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
		}
		cred, err := container.DecryptCredentials(priv, res.Synapse.Output.Info)
		if err != nil {
			b.Fatal(err)
		}
		if out, err := testutil.SSH(b, testutil.Login{Port: cred.Port, Password: cred.Password}, "true"); err != nil {
			b.Fatalf("ssh: %v %s", err, out)
		}
		total += time.Since(start)
		b.StopTimer()
		if res := wire.Call(ctx, d, r.target(), &wire.Allocate{Timeline: 0, PublicKey: pub}, 30*time.Second); !res.Synapse.Output.Status {
			b.Fatal(fmt.Sprintf("deallocate: %+v", res.Synapse.Output))
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/login")
}
