package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/webhook"
	"github.com/sn27/compute/internal/wire"
)

// hookReceiver is a webhook endpoint that keeps what it was sent.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	got    []hookDelivery
}

type hookDelivery struct {
	event  string
	rental string
	err    error // webhook.Verify's verdict
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p struct {
		Type   string `json:"type"`
		Rental struct {
			ID string `json:"id"`
		} `json:"rental"`
	}
	_ = json.Unmarshal(body, &p)
	h.mu.Lock()
	verr := webhook.Verify(h.secret, r.Header, body, time.Now(), 5*time.Minute)
	h.got = append(h.got, hookDelivery{event: p.Type, rental: p.Rental.ID, err: verr})
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// wait returns the delivery of event for rental, failing t after a minute.
func (h *hookReceiver) wait(t *testing.T, event, rental string) hookDelivery {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, d := range h.got {
			if d.event == event && d.rental == rental {
				h.mu.Unlock()
				return d
			}
		}
		h.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Fatalf("no %s webhook for %s; got %+v", event, rental, h.got)
	return hookDelivery{}
}

// TestEndToEndRentals serves the API with the rentals service and the
// webhook dispatcher over a real dev chain, a real renter and two real
// miners leasing Docker containers, and drives it over HTTP: a rental
// made with a key generated here is logged into with the OpenSSH client;
// the same Idempotency-Key answers the same rental and leases once; keys
// without the right to rent are refused; a malformed body says why; the
// key's webhook receives signed events; a killed container turns
// unhealthy (and is released); DELETE releases a rental.
func TestEndToEndRentals(t *testing.T) {
	docker := testutil.Docker(t)
	testutil.Tools(t, "ssh", "ssh-keygen")
	ctx := context.Background()
	p := testnet.Params()
	p.MaxAllowedUIDs = 16
	tn := testnet.New(t, testnet.Config{Netuid: testNetuid, Params: &p})
	cold, val := testnet.Key(t, "//Bob"), testnet.Key(t, "//Bob//validator")
	if err := tn.Chain.Fund(ctx, cold.SS58Address(), 100_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	tn.MustJoin(t, cold, val, 0, 2000)
	dir := t.TempDir()
	st, err := store.OpenValidator(ctx, filepath.Join(dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	owner := "test-api-e2e-" + hex.EncodeToString(b)
	testutil.RemoveAtCleanup(t, docker, container.LabelOwner, owner)
	for _, uri := range []string{"//Bob//m1", "//Bob//m2"} {
		startDockerMiner(t, tn, cold, st, val, docker, uri, owner)
	}

	r, err := renter.New(renter.Config{Netuid: testNetuid, DataDir: dir, KeyBits: 2048, CheckTimeout: 10 * time.Second,
		AllocateTimeout: 60 * time.Second}, renter.Deps{Meta: tn.Chain, Store: st, Signer: val, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := webhook.New(webhook.Config{BaseBackoff: 200 * time.Millisecond, MaxBackoff: time.Second},
		webhook.Deps{Store: st, Targets: st, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := rentals.New(rentals.Config{DataDir: dir, HealthInterval: time.Second, MaxMisses: 2, ReleaseUnhealthy: true,
		ProbeTimeout: 5 * time.Second}, rentals.Deps{Store: st, Renter: r, Notifier: hooks, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Netuid, cfg.Rate = testNetuid, 10_000
	ln := testutil.Listen(t)
	s, err := New(cfg, Deps{Store: st, Chain: tn.Chain, Hotkey: val.SS58Address(), Renter: r, Rentals: svc, Listener: ln,
		Registry: prometheus.NewRegistry(), Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return s.Run(gctx) })
	g.Go(func() error { return svc.Run(gctx) })
	g.Go(func() error { return hooks.Run(gctx) })
	t.Cleanup(func() {
		stop()
		if err := g.Wait(); err != nil && gctx.Err() == nil {
			t.Errorf("API: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()

	recv := &hookReceiver{}
	hs := httptest.NewServer(recv)
	t.Cleanup(hs.Close)
	renterKey, err := CreateKey(ctx, st, KeySpec{Name: "e2e", Scopes: []string{ScopeRead, ScopeRent}, Webhook: hs.URL}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	recv.secret = renterKey.WebhookSecret
	recv.mu.Unlock()
	readKey, err := CreateKey(ctx, st, KeySpec{Name: "e2e-read", Scopes: []string{ScopeRead}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	token := renterKey.Token
	idPath, pub := testutil.SSHKey(t)
	body := `{"requirement":{"cpu":{"count":1},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + pub + `"]}`
	create := func(idem string) answer {
		return doRequest(t, http.DefaultClient, base, request{method: http.MethodPost, path: "/v1/rentals", token: token, body: body,
			header: map[string]string{IdempotencyHeader: idem}})
	}
	var first, second rentals.Rental

	t.Run("create and log in", func(t *testing.T) {
		a := create("e2e-1")
		if a.status != http.StatusCreated {
			t.Fatalf("create: %d %s", a.status, a.body)
		}
		a.decode(t, &first)
		if first.Status != rentals.StatusActive || first.Port == 0 || first.Host != "127.0.0.1" || !first.HealthKey {
			t.Fatalf("rental %+v", first)
		}
		out, err := testutil.SSH(t, testutil.Login{Port: first.Port, User: first.Username, Identity: idPath}, "echo rented-$((6*7))")
		if err != nil || strings.TrimSpace(out) != "rented-42" {
			t.Fatalf("ssh %s: %q %v", first.SSHCommand, out, err)
		}
	})
	if first.ID == "" {
		t.FailNow()
	}

	t.Run("idempotent", func(t *testing.T) {
		a := create("e2e-1")
		var again rentals.Rental
		a.decode(t, &again)
		if a.status != http.StatusCreated || again.ID != first.ID || a.header.Get(ReplayedHeader) != "true" {
			t.Fatalf("replay: %d %s %q %s", a.status, again.ID, a.header.Get(ReplayedHeader), a.body)
		}
		if all, err := st.Allocations(ctx); err != nil || len(all) != 1 {
			t.Fatalf("allocations %d (%v), want 1", len(all), err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, body string
			status            int
			detail            string
		}{
			{"wrong key", "ck_" + strings.Repeat("0", 40), body, http.StatusUnauthorized, ""},
			{"read-only key", readKey.Token, body, http.StatusForbidden, ""},
			{"malformed body", token, `{"requirement":{"cpu":{"count":1},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["not a key"]}`, http.StatusBadRequest, "ssh_keys"},
			{"truncated body", token, `{"timeline":`, http.StatusBadRequest, "JSON"},
		} {
			a := doRequest(t, http.DefaultClient, base, request{method: http.MethodPost, path: "/v1/rentals", token: tc.token, body: tc.body,
				header: map[string]string{IdempotencyHeader: "e2e-" + strings.ReplaceAll(tc.name, " ", "-")}})
			if a.status != tc.status || a.header.Get("Content-Type") != ProblemContentType {
				t.Errorf("%s: %d %s", tc.name, a.status, a.body)
				continue
			}
			if pr := a.problem(t); !strings.Contains(pr.Detail, tc.detail) || pr.Detail == "" {
				t.Errorf("%s: detail %q, want it to say %q", tc.name, pr.Detail, tc.detail)
			}
		}
	})

	t.Run("webhook allocated", func(t *testing.T) {
		if d := recv.wait(t, rentals.EventAllocated, first.ID); d.err != nil {
			t.Fatalf("signature refused: %v", d.err)
		}
	})

	t.Run("second rental released", func(t *testing.T) {
		a := create("e2e-2")
		if a.status != http.StatusCreated {
			t.Fatalf("create: %d %s", a.status, a.body)
		}
		a.decode(t, &second)
		if second.Hotkey == first.Hotkey {
			t.Fatalf("the second rental is on the first's miner %s", second.Hotkey)
		}
		a = doRequest(t, http.DefaultClient, base, request{method: http.MethodDelete, path: "/v1/rentals/" + second.ID, token: token})
		var rel rentals.Rental
		a.decode(t, &rel)
		if a.status != http.StatusOK || rel.Status != rentals.StatusReleased || rel.ReleasedAt == nil {
			t.Fatalf("release: %d %s", a.status, a.body)
		}
		if d := recv.wait(t, rentals.EventReleased, second.ID); d.err != nil {
			t.Fatalf("signature refused: %v", d.err)
		}
	})

	t.Run("killed container unhealthy", func(t *testing.T) {
		list, err := docker.ContainerList(ctx, client.ContainerListOptions{
			Filters: make(client.Filters).Add("label", container.LabelOwner+"="+owner)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("%d running lease containers, want the first rental's only", len(list.Items))
		}
		if _, err := docker.ContainerKill(ctx, list.Items[0].ID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
			t.Fatal(err)
		}
		if d := recv.wait(t, rentals.EventUnhealthy, first.ID); d.err != nil {
			t.Fatalf("signature refused: %v", d.err)
		}
		a := doRequest(t, http.DefaultClient, base, request{path: "/v1/rentals/" + first.ID, token: token})
		var cur rentals.Rental
		a.decode(t, &cur)
		if cur.Status != rentals.StatusUnhealthy && cur.Status != rentals.StatusReleased {
			t.Fatalf("after the kill: %s", a.body)
		}
		// Released as unhealthy: the miner removes the lease's container.
		recv.wait(t, rentals.EventReleased, first.ID)
		deadline := time.Now().Add(60 * time.Second)
		for testutil.Containers(t, docker, container.LabelOwner, owner) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the unhealthy rental's container is still there a minute after its release")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// startDockerMiner registers uri and runs a miner leasing containers
// labelled owner on the real daemon, and stores its specs as the
// validator's specs round does.
func startDockerMiner(t *testing.T, tn *testnet.Net, cold *wallet.Keypair, st *store.Validator, val *wallet.Keypair,
	docker *client.Client, uri, owner string) {
	t.Helper()
	hk := testnet.Key(t, uri)
	tn.MustJoin(t, cold, hk, 0, 0)
	cfg := miner.Config{
		Netuid: testNetuid, AxonIP: "127.0.0.1", Solver: "cpu", DataDir: t.TempDir(), SpecsProbeBytes: -1,
		SyncInterval: 200 * time.Millisecond, SpecsInterval: time.Hour,
		Policy:    miner.PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		SSHBindIP: "127.0.0.1", SSHPort: testutil.FreePort(t), LeaseOwner: owner, Image: testutil.SSHImage(),
		Allocation: true, AllocationRequired: true,
	}
	claim := specs.Specs{
		CPU:      specs.CPU{Count: 2, Logical: 2},
		RAM:      specs.RAM{Total: 8 << 30, Available: 4 << 30, Free: 4 << 30},
		HardDisk: specs.Disk{Total: 8 << 30, Free: 4 << 30},
		GPU:      specs.GPU{Details: []specs.GPUDetail{}},
	}
	mn, err := miner.New(cfg, miner.Deps{Chain: tn.Chain, Hotkey: hk, Listener: testutil.Listen(t), GPUs: testnet.NoGPUs,
		Specs: testnet.FixedSpecs{Specs: claim}, Docker: docker, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	testutil.RunRole(t, context.Background(), "miner", mn.Run, mn.Ready())
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: val, Logger: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	mg, err := tn.Chain.Metagraph(context.Background(), testNetuid)
	if err != nil {
		t.Fatal(err)
	}
	nr := mg.ByHotkey(hk.SS58Address())
	if nr == nil {
		t.Fatalf("miner %s is not on chain", hk.SS58Address())
	}
	res := wire.Call(context.Background(), d, wire.NeuronTarget(*nr), &wire.Specs{}, 10*time.Second)
	if !res.OK() {
		t.Fatalf("specs of %s: %d %s %v", nr.Hotkey, res.StatusCode, res.StatusMessage, res.Err)
	}
	raw := json.RawMessage(res.Synapse.SpecsOutput)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(res.Synapse.SpecsOutput)
	}
	if err := st.SaveSpecs(context.Background(), nr.Hotkey, raw, time.Now()); err != nil {
		t.Fatal(err)
	}
}
