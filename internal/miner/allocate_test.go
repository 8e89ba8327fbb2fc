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

// TestMinerLeaseActions: the holder of a key-only lease acts on it through the
// dendrite as the renter does (checking set, docker_change with docker_action):
// restart, new keys, extend, kept across a miner restart; another validator,
// another requester key and an unknown action are refused with a reason.
func TestMinerLeaseActions(t *testing.T) {
	if wire.ActionRestart != container.ActionRestart || wire.ActionExchangeKey != container.ActionExchangeKey || wire.ActionExtend != container.ActionExtend {
		t.Fatal("the wire's and the lease manager's action names differ")
	}
	docker := testutil.Docker(t)
	n := newNetwork(t)
	other := key(t, "//Bob//validator2")
	n.register(other, 2000)
	cfg := allocConfig(t, docker, t.TempDir())
	r := startMiner(t, n, cfg, Deps{})
	ctx := context.Background()
	d, dOther := dendrite(t, n.validator), dendrite(t, other)
	_, pub := testutil.RSAKey(t)
	_, otherPub := testutil.RSAKey(t)
	oldKey, oldSSH := testutil.SSHKey(t)
	newKey, newSSH := testutil.SSHKey(t)
	call := func(d *wire.Dendrite, a *wire.Allocate) wire.Result[wire.Allocate] {
		t.Helper()
		return wire.Call(ctx, d, r.target(), a, 60*time.Second)
	}
	act := func(action, keys string, timeline int64, pub string) *wire.Allocate {
		return &wire.Allocate{Timeline: timeline, Checking: true, PublicKey: pub, DockerChange: true,
			DockerAction: &wire.DockerAction{Action: action, SSHKey: keys}}
	}
	res := call(d, &wire.Allocate{Timeline: 1, PublicKey: pub, DeviceRequirement: requirement(t, 1, 128<<20), DockerRequirement: &wire.DockerRequirement{SSHKey: oldSSH}})
	if !res.OK() || !res.Synapse.Output.Status {
		t.Fatalf("allocate: %d %s %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
	}
	lease, _ := r.m.leases.Lease()
	login := func(key string) error {
		_, err := testutil.SSH(t, testutil.Login{Port: cfg.SSHPort, Identity: key}, "true")
		return err
	}

	// Refusals: answered with the action and why, nothing changes.
	refused := []struct {
		name   string
		d      *wire.Dendrite
		a      *wire.Allocate
		code   int
		reason string
	}{
		{"another validator", dOther, act(wire.ActionRestart, "", 0, pub), 200, "the lease was allocated by another validator hotkey"},
		{"another requester key", d, act(wire.ActionExchangeKey, newSSH, 0, otherPub), 200, "the public key is not the one that allocated this machine"},
		{"the last key removed", d, act(wire.ActionExchangeKey, "", 0, pub), 200, "a key-only lease keeps at least one SSH key"},
		{"unknown action", d, act("pause", "", 0, pub), 400, `container: invalid lease action: unknown action "pause" (this miner serves restart, exchange_key and extend)`},
		{"no action", d, &wire.Allocate{Checking: true, PublicKey: pub, DockerChange: true}, 400, `container: invalid lease action: unknown action "" (this miner serves restart, exchange_key and extend)`},
		{"a bad key", d, act(wire.ActionExchangeKey, newSSH+"\n; rm -rf /", 0, pub), 400, "SSH key 2 of 2"},
		{"extend past 60 days", d, act(wire.ActionExtend, "", 61, pub), 400, "an extended lease lasts 1 to 60 days from its start, got 61"},
	}
	for _, tc := range refused {
		res := call(tc.d, tc.a)
		switch {
		case res.StatusCode != tc.code || res.Synapse.Output.Status:
			t.Errorf("%s: %d %q %+v, want %d and status false", tc.name, res.StatusCode, res.StatusMessage, res.Synapse.Output, tc.code)
		case tc.code == 200 && (res.Synapse.Output.Action != tc.a.DockerAction.Action || res.Synapse.Output.Reason != tc.reason):
			t.Errorf("%s: output %+v, want reason %q", tc.name, res.Synapse.Output, tc.reason)
		case tc.code == 400 && !strings.Contains(res.StatusMessage, tc.reason):
			t.Errorf("%s: message %q, want %q", tc.name, res.StatusMessage, tc.reason)
		}
	}
	if l, _ := r.m.leases.Lease(); !l.Expiry.Equal(lease.Expiry) {
		t.Fatal("a refused action changed the lease")
	}
	if err := login(oldKey); err != nil {
		t.Fatalf("a refused action changed the keys: %v", err)
	}

	ok := func(what string, a *wire.Allocate) {
		t.Helper()
		res := call(d, a)
		if !res.OK() || !res.Synapse.Output.Status || res.Synapse.Output.Action != a.DockerAction.Action {
			t.Fatalf("%s: %d %q %+v", what, res.StatusCode, res.StatusMessage, res.Synapse.Output)
		}
	}
	ok("restart", act(wire.ActionRestart, "", 0, pub))
	if err := login(oldKey); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
	ok("new keys", act(wire.ActionExchangeKey, newSSH, 0, pub))
	if err := login(newKey); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	if err := login(oldKey); err == nil {
		t.Fatal("the old key still logs in")
	}
	ok("extend", act(wire.ActionExtend, "", 5, pub))
	want := lease.Start.Add(5 * 24 * time.Hour)
	r.stop(t)
	r = startMiner(t, n, cfg, Deps{})
	if l, found := r.m.leases.Lease(); !found || !l.Expiry.Equal(want) {
		t.Fatalf("after a miner restart the lease ends %v, want %v", l.Expiry, want)
	}
	if res := call(d, &wire.Allocate{Timeline: 0, PublicKey: pub}); !res.OK() || !res.Synapse.Output.Status {
		t.Fatalf("deallocate: %d %+v", res.StatusCode, res.Synapse.Output)
	}
	r.stop(t)
}
