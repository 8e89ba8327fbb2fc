package devchain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/chain"
)

func serve(t *testing.T) (*Chain, *httptest.Server, func(int)) {
	t.Helper()
	c, step := memChain(t)
	srv := httptest.NewServer(NewHandler(c, nil))
	t.Cleanup(srv.Close)
	return c, srv, step
}

func dial(t *testing.T, url string) *Client {
	t.Helper()
	cl, err := Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// TestHTTPClientSharesChain runs the same scenario as the in-process tests
// through two HTTP clients and checks that each sees the other's changes.
func TestHTTPClientSharesChain(t *testing.T) {
	_, srv, step := serve(t)
	a, b := dial(t, srv.URL), dial(t, srv.URL)
	f := setup(t, a, step)
	ctx := f.ctx
	ax := chain.AxonInfo{Version: 142, IP: "10.0.0.7", Port: 8091, IPType: 4, Protocol: 4}
	if err := a.ServeAxon(ctx, 1, f.m1, ax); err != nil {
		t.Fatal(err)
	}
	nr, err := b.NeuronByHotkey(ctx, 1, f.m1.SS58Address())
	if err != nil || nr.Axon.IP != "10.0.0.7" || nr.UID != 1 {
		t.Fatalf("client b sees %+v, %v", nr, err)
	}
	f.toEpoch()
	if err := b.SetWeights(ctx, 1, f.valHK, []uint16{1, 2}, []uint16{65535, 10000}, 100); err != nil {
		t.Fatal(err)
	}
	// Typed errors survive the wire.
	if err := a.SetWeights(ctx, 1, f.valHK, []uint16{1, 2}, []uint16{65535, 10000}, 100); !errors.Is(err, chain.ErrRateLimited) {
		t.Fatalf("over rate through HTTP: %v", err)
	}
	if _, err := a.Neuron(ctx, 1, 9); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("missing uid: %v", err)
	}
	if _, err := a.Hyperparameters(ctx, 5); !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Fatalf("missing subnet: %v", err)
	}
	if ok, err := b.IsRegistered(ctx, 1, key(t, "//Nobody").SS58Address()); ok || err != nil {
		t.Fatalf("IsRegistered(nobody) = %v, %v", ok, err)
	}
	f.toEpoch()
	mg, err := a.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(mg.Neurons[1].Incentive > mg.Neurons[2].Incentive) {
		t.Fatalf("incentives %+v", mg.Neurons)
	}
	// WaitBlock long-polls.
	cur, _ := b.Block(ctx)
	done := make(chan uint64)
	go func() { n, _ := b.WaitBlock(ctx, cur); done <- n }()
	step(1)
	if n := <-done; n != cur+1 {
		t.Fatalf("WaitBlock = %d, want %d", n, cur+1)
	}
	hp, err := b.Hyperparameters(ctx, 1)
	if err != nil || hp.Tempo != 9 || hp.SubnetworkN != 3 || hp.WeightsVersionKey != 100 {
		t.Fatalf("hyperparameters %+v, %v", hp, err)
	}
}

// TestSubprocessSeesRegistration registers from a separate OS process (this
// test binary re-run as a client) and checks the result here.
func TestSubprocessSeesRegistration(t *testing.T) {
	if os.Getenv("DEVCHAIN_CHILD_URL") != "" {
		t.Skip("child mode runs TestChildProcess only")
	}
	c, srv, step := serve(t)
	f := setup(t, c, step)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "DEVCHAIN_CHILD_URL="+srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "child registered") {
		t.Fatalf("child did not run:\n%s", out)
	}
	nr, err := c.NeuronByHotkey(f.ctx, 1, key(t, "//Bob//child").SS58Address())
	if err != nil || nr.UID != 3 || nr.Axon.Port != 9999 {
		t.Fatalf("child's neuron %+v, %v", nr, err)
	}
	if cm, err := c.Commitment(f.ctx, 1, nr.Hotkey); err != nil || string(cm.Data) != "from child" {
		t.Fatalf("child's commitment %v, %v", cm, err)
	}
	if nr.LastUpdate == 0 {
		t.Fatalf("child's weights not recorded: %+v", nr)
	}
}

// TestChildProcess is the client half of TestSubprocessSeesRegistration.
func TestChildProcess(t *testing.T) {
	url := os.Getenv("DEVCHAIN_CHILD_URL")
	if url == "" {
		t.Skip("only runs as the child of TestSubprocessSeesRegistration")
	}
	ctx := context.Background()
	cl := dial(t, url)
	// The parent's registrations are visible here.
	if ok, err := cl.IsRegistered(ctx, 1, key(t, "//Bob//val").SS58Address()); err != nil || !ok {
		t.Fatalf("parent's validator registered: %v, %v", ok, err)
	}
	hk := key(t, "//Bob//child")
	uid, err := cl.Register(ctx, 1, key(t, "//Bob"), hk.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	// A self-weight needs no permit; the parent sees its last_update.
	if err := cl.SetWeights(ctx, 1, hk, []uint16{uid}, []uint16{65535}, 100); err != nil {
		t.Fatal(err)
	}
	if err := cl.ServeAxon(ctx, 1, hk, chain.AxonInfo{IP: "127.0.0.1", Port: 9999, IPType: 4, Protocol: 4}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Commit(ctx, 1, hk, []byte("from child")); err != nil {
		t.Fatal(err)
	}
	t.Logf("child registered uid %d", uid)
}

func TestHTTPStrictRequests(t *testing.T) {
	_, srv, _ := serve(t)
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/v1/block?x=1", "", 400},
		{"GET", "/v1/metagraph", "", 400},
		{"GET", "/v1/metagraph?netuid=70000", "", 400},
		{"GET", "/v1/metagraph?netuid=1&netuid=2", "", 400},
		{"GET", "/v1/neuron?netuid=1", "", 400},
		{"GET", "/v1/wait?after=abc", "", 400},
		{"POST", "/v1/call", `{"method":"commit","bogus":1}`, 400},
		{"POST", "/v1/call", `{"method":"commit"} {}`, 400},
		{"POST", "/v1/call", strings.Repeat(" ", maxRequestBytes+10), 400},
		{"POST", "/v1/dev/fund", `{"address":"nope","amount":1}`, 401},
		{"POST", "/v1/dev/fund", `{"address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","amount":0}`, 400},
		{"GET", "/v1/call", "", 405},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s %.40q: status %d, want %d", tc.method, tc.path, tc.body, resp.StatusCode, tc.status)
		}
	}
}

func FuzzDecodeCall(f *testing.F) {
	good, _ := SignCall(key(f, "//Alice"), MethodCommit, 1, CommitArgs{Netuid: 1, Data: []byte("x")})
	raw, _ := jsonMarshal(good)
	for _, s := range []string{string(raw), `{}`, `{"method":"x","signer":"y","nonce":1,"args":{},"signature":"0x"}`,
		`{"method":1}`, `[]`, `null`, `{"args":{"netuid":1}}{}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeCall(bytes.NewReader(body))
		if err == nil && (c.Method == "" || c.Signer == "") {
			t.Fatal("accepted a call without method or signer")
		}
		if err != nil && !errors.Is(err, ErrInvalidCall) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzCallHandler feeds arbitrary bodies to POST /v1/call of a live chain:
// never a 5xx, never a panic.
func FuzzCallHandler(f *testing.F) {
	c, err := Open(context.Background(), Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	h := NewHandler(c, nil)
	alice := key(f, "//Alice")
	for _, m := range []string{MethodCommit, MethodCreateSubnet, MethodRegister, MethodSetWeights, MethodAddStake, MethodCommitTimelockedWeights} {
		call, _ := SignCall(alice, m, 1, map[string]any{"netuid": 3})
		raw, _ := jsonMarshal(call)
		f.Add(raw)
	}
	tl, _ := SignCall(alice, MethodCommitTimelockedWeights, 1, CommitTimelockedArgs{Netuid: 3, Commit: []byte{1, 2, 3}, RevealRound: 9, CommitRevealVersion: 4})
	raw, _ := jsonMarshal(tl)
	f.Add(raw)
	f.Add([]byte(`{"method":"create_subnet","signer":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","nonce":1,"args":{"netuid":1,"params":{"tempo":0}},"signature":"0x00"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/call", bytes.NewReader(body)))
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
