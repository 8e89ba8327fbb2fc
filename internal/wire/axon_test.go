package wire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/wallet"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func testChallenge() pow.Challenge {
	return pow.Challenge{Hash: "$BLAKE2$" + strings.Repeat("ab", 64), Salt: "0011223344556677", Mode: "610",
		Chars: "abcdefghij", Mask: "?1?1?1?1?1?1?1", Difficulty: 7}
}

type env struct {
	t       testing.TB
	axonKP  *wallet.Keypair
	callKP  *wallet.Keypair
	ax      *Axon
	addr    string
	port    int
	target  Target
	d       *Dendrite
	mu      sync.Mutex
	events  []RequestEvent
	block   chan struct{} // Specs forward waits on it when non-nil
	entered chan struct{}
	blocked map[string]bool
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t testing.TB, mutate func(*AxonConfig)) *env {
	t.Helper()
	axonKP, _ := wallet.FromURI("//Bob")
	callKP, _ := wallet.FromURI("//Alice")
	e := &env{t: t, axonKP: axonKP, callKP: callKP, blocked: map[string]bool{}}
	cfg := AxonConfig{Hotkey: axonKP.SS58Address(), MaxBodyBytes: 64 << 10, ShutdownGrace: 2 * time.Second, Logger: quietLogger(),
		Observer: ObserverFunc(func(ev RequestEvent) { e.mu.Lock(); e.events = append(e.events, ev); e.mu.Unlock() })}
	if mutate != nil {
		mutate(&cfg)
	}
	ax, err := NewAxon(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.ax = ax
	bl := func(_ context.Context, c Caller) (bool, string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.blocked[c.Hotkey] {
			return true, "not a validator"
		}
		return false, ""
	}
	must(t, Attach(ax, Handler[Specs]{Blacklist: bl, Forward: func(ctx context.Context, s *Specs) error {
		e.mu.Lock()
		block, entered := e.block, e.entered
		e.mu.Unlock()
		if block != nil {
			entered <- struct{}{}
			select {
			case <-block:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c, ok := CallerFrom(ctx)
		if !ok || !c.Verified {
			return errors.New("no verified caller")
		}
		s.SpecsOutput = "specs for " + c.Hotkey + " input=" + s.SpecsInput
		return nil
	}}))
	must(t, Attach(ax, Handler[Challenge]{Blacklist: bl, Priority: func(context.Context, Caller) float64 { return 2 },
		Forward: func(ctx context.Context, c *Challenge) error {
			if c.Salt == "fail" {
				return errors.New("solver exploded at /secret/path")
			}
			if c.Salt == "panic" {
				panic("solver bug")
			}
			if c.Salt == "busy" {
				return Errorf(http.StatusConflict, "busy")
			}
			pw := "pw-" + c.Mask
			c.Output.Password = &pw
			c.Output.LocalExecutionTime = 0.25
			return nil
		}}))
	must(t, Attach(ax, Handler[Allocate]{Blacklist: bl, Forward: func(ctx context.Context, a *Allocate) error {
		r, err := a.Requirement()
		if err != nil {
			return err
		}
		a.Output = AllocateOutput{Status: r.CPU.Count > 0 && a.Checking, Info: a.PublicKey}
		return nil
	}}))
	must(t, Attach(ax, Handler[hashed]{Forward: func(ctx context.Context, h *hashed) error { h.C = h.A + h.B; return nil }}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.port = ln.Addr().(*net.TCPAddr).Port
	e.target = Target{UID: 1, Hotkey: axonKP.SS58Address(), IP: "127.0.0.1", Port: e.port}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ax.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	e.d = e.dendrite(StyleModern, callKP)
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) dendrite(style Style, kp *wallet.Keypair) *Dendrite {
	d, err := NewDendrite(DendriteConfig{Signer: kp, Style: style, Logger: quietLogger()})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// request builds a signed request for syn as the dendrite would send it.
func (e *env) request(d *Dendrite, syn Synapse) *http.Request {
	e.t.Helper()
	req, _, err := d.build(context.Background(), syn, e.target, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	return req
}

type answer struct {
	status  int
	message string
	header  http.Header
	body    []byte
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &m)
	return answer{resp.StatusCode, m.Message, resp.Header, body}
}

func (e *env) stillServes() {
	e.t.Helper()
	r := Call(context.Background(), e.d, e.target, &Specs{SpecsInput: "again"}, 5*time.Second)
	if !r.OK() {
		e.t.Fatalf("axon stopped serving: %d %s %v", r.StatusCode, r.StatusMessage, r.Err)
	}
}

func TestRoundTrips(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	s := Call(ctx, e.d, e.target, &Specs{SpecsInput: "hi"}, 5*time.Second)
	if !s.OK() || s.Synapse.SpecsOutput != "specs for "+e.callKP.SS58Address()+" input=hi" {
		t.Fatalf("specs: %+v %+v", s, s.Synapse)
	}
	if s.StatusMessage != "Success" || *s.Synapse.Dendrite.StatusCode != 200 || s.Synapse.Axon.ProcessTime == nil || s.Elapsed <= 0 {
		t.Fatalf("specs status: %+v", s.Synapse.SynapseBase)
	}

	req := NewChallenge(testChallenge())
	c := Call(ctx, e.d, e.target, req, 5*time.Second)
	if !c.OK() || c.Synapse.Output.Password == nil || *c.Synapse.Output.Password != "pw-?1?1?1?1?1?1?1" || c.Synapse.Output.LocalExecutionTime != 0.25 || c.Synapse.Salt != req.Salt {
		t.Fatalf("challenge: %+v %+v", c, c.Synapse.Output)
	}
	if req.Output.Password != nil || req.Dendrite.Nonce != nil {
		t.Fatal("Call modified the caller's synapse")
	}

	a := &Allocate{Timeline: 1, Checking: true, PublicKey: "PEM"}
	must(t, a.SetRequirement(DeviceRequirement{CPU: struct {
		Count int `json:"count"`
	}{2}}))
	ar := Call(ctx, e.d, e.target, a, 5*time.Second)
	if !ar.OK() || !ar.Synapse.Output.Status || ar.Synapse.Output.Info != "PEM" {
		t.Fatalf("allocate: %+v %+v", ar, ar.Synapse.Output)
	}

	h := Call(ctx, e.d, e.target, &hashed{A: 1, B: 2, D: []string{"x"}}, 5*time.Second)
	if !h.OK() || h.Synapse.C != 3 {
		t.Fatalf("hashed: %+v", h)
	}
	p := Call(ctx, e.d, e.target, &Ping{}, 5*time.Second)
	if !p.OK() {
		t.Fatalf("ping: %+v", p)
	}

	// Many axons at once (the same one several times plus a dead port).
	dead := e.target
	dead.Port = freePort(t)
	reqs := []Request[Challenge]{{e.target, req}, {dead, req}, {e.target, req}}
	res := Query(ctx, e.d, reqs, 3*time.Second)
	if !res[0].OK() || !res[2].OK() || res[1].StatusCode != http.StatusServiceUnavailable || res[1].Err == nil {
		t.Fatalf("query: %d %d %d", res[0].StatusCode, res[1].StatusCode, res[2].StatusCode)
	}
	br := Broadcast(ctx, e.d, []Target{e.target, e.target}, &Specs{}, 3*time.Second)
	if len(br) != 2 || !br[0].OK() || !br[1].OK() {
		t.Fatalf("broadcast: %+v", br)
	}

	// Legacy (6.x) dendrite.
	legacy := e.dendrite(StyleLegacy, e.callKP)
	if r := Call(ctx, legacy, e.target, &Specs{}, 5*time.Second); !r.OK() {
		t.Fatalf("legacy: %+v", r)
	}
	if legacy.Version() != Version693 || e.d.Version() < Version720 {
		t.Fatal("versions")
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func TestAxonRejections(t *testing.T) {
	e := newEnv(t, nil)
	other, _ := wallet.FromURI("//Charlie")
	e.blocked[other.SS58Address()] = true
	eve, _ := wallet.FromURI("//Eve")

	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		prefix string
	}{
		{"unknown route", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://"+e.addr+"/no_such_path", nil)
			return r
		}, 404, "Synapse name 'no_such_path' not found. Available synapses ['Synapse', 'Specs', 'Challenge', 'Allocate', 'Hashed']"},
		{"control bytes in the route", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://"+e.addr+"/%FF%00x%0D%0Ay%7F", nil)
			return r
		}, 404, "Synapse name '\uFFFD\x00x\r\ny\x7f' not found."}, // JSON turns the invalid UTF-8 into U+FFFD
		{"ping without dendrite", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://"+e.addr+"/Synapse", nil)
			return r
		}, 401, "Not Verified with error: No SS58 formatted address or public key provided."},
		{"malformed header", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Header["bt_header_dendrite_nonce"] = []string{"twelve"}
			return r
		}, 400, "Improperly formatted request: "},
		{"blacklisted", func() *http.Request { return e.request(e.dendrite(StyleModern, other), &Specs{}) }, 403, "Forbidden. Key is blacklisted: not a validator."},
		{"tampered header", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Header["computed_body_hash"] = []string{strings.Repeat("0", 64)}
			return r
		}, 401, "Not Verified with error: Signature mismatch with "},
		{"missing signature", func() *http.Request {
			r := e.request(e.d, &Specs{})
			delete(r.Header, "bt_header_dendrite_signature")
			return r
		}, 401, "Not Verified with error: Missing Signature"},
		{"empty signature", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Header["bt_header_dendrite_signature"] = []string{""}
			return r
		}, 401, "Not Verified with error: Missing Signature"},
		{"non-hex signature", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Header["bt_header_dendrite_signature"] = []string{"0x" + strings.Repeat("zz", 64)}
			return r
		}, 401, "Not Verified with error: Signature must be"},
		{"wrong signature", func() *http.Request {
			r := e.request(e.d, &Specs{})
			forged := e.request(e.dendrite(StyleModern, eve), &Specs{})
			r.Header["bt_header_dendrite_signature"] = forged.Header["bt_header_dendrite_signature"]
			return r
		}, 401, "Not Verified with error: Signature mismatch with "},
		{"malformed hotkey", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Header["bt_header_dendrite_hotkey"] = []string{"5NotAnAddress"}
			return r
		}, 401, "Not Verified with error: Invalid SS58 formatted address"},
		{"unknown hotkey", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Header["bt_header_dendrite_hotkey"] = []string{eve.SS58Address()}
			return r
		}, 401, "Not Verified with error: Signature mismatch with "},
		{"missing nonce", func() *http.Request {
			r := e.request(e.d, &Specs{})
			delete(r.Header, "bt_header_dendrite_nonce")
			return r
		}, 401, "Not Verified with error: Missing Nonce"},
		{"stale nonce", func() *http.Request { return e.staleRequest(time.Minute, 5) },
			401, "Not Verified with error: Nonce is too old: acceptable delta is 9.00 seconds but request was 60"},
		// The timeout header is not signed; it cannot widen the window past
		// the axon's MaxTimeout (10 minutes by default).
		{"stale nonce with an inflated timeout", func() *http.Request { return e.staleRequest(time.Hour, 1e12) },
			401, "Not Verified with error: Nonce is too old: acceptable delta is 604.00 seconds but request was 3600"},
		{"tampered body", func() *http.Request {
			r := e.request(e.d, &hashed{A: 1, B: 2, D: []string{"x"}})
			body, _ := json.Marshal(&hashed{A: 5, B: 2, D: []string{"x"}})
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			return r
		}, 500, "Internal server error with error: Hash mismatch"},
		{"undecodable body", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Body = io.NopCloser(strings.NewReader("{not json"))
			r.ContentLength = 9
			return r
		}, 500, "Internal server error with error: Invalid request body"},
		{"oversize body declared", func() *http.Request {
			r := e.request(e.d, &Specs{SpecsInput: strings.Repeat("x", 100<<10)})
			return r
		}, 413, "Request body too large"},
		{"oversize body chunked", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"specs_input":"`), strings.NewReader(strings.Repeat("x", 100<<10))))
			r.ContentLength = -1
			return r
		}, 413, "Request body too large"},
		{"forward error hides detail", func() *http.Request {
			c := NewChallenge(testChallenge())
			c.Salt = "fail"
			return e.request(e.d, c)
		}, 500, "Internal Server Error #"},
		{"forward panic", func() *http.Request {
			c := NewChallenge(testChallenge())
			c.Salt = "panic"
			return e.request(e.d, c)
		}, 500, "Internal Server Error #"},
		{"forward status error", func() *http.Request {
			c := NewChallenge(testChallenge())
			c.Salt = "busy"
			return e.request(e.d, c)
		}, 409, "busy"},
		{"method", func() *http.Request {
			r := e.request(e.d, &Specs{})
			r.Method = http.MethodPut
			return r
		}, 405, "Method Not Allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, tc.req())
			if a.status != tc.status || !strings.HasPrefix(a.message, tc.prefix) {
				t.Fatalf("got %d %q, want %d %q...", a.status, a.message, tc.status, tc.prefix)
			}
			if strings.Contains(a.message, "/secret/path") {
				t.Fatal("internal detail leaked")
			}
			if tc.status != 404 && tc.status != 405 && a.header.Get("bt_header_axon_status_code") != strconv.Itoa(tc.status) {
				t.Fatalf("status header %q", a.header.Get("bt_header_axon_status_code"))
			}
			e.stillServes()
		})
	}
}

// staleRequest builds a validly signed modern request whose nonce is age old,
// with the given timeout header (seconds).
func (e *env) staleRequest(age time.Duration, timeout float64) *http.Request {
	d := e.dendrite(StyleModern, e.callKP)
	old := time.Now().Add(-age).UnixNano()
	// nextNonce never goes back in time; build the request by hand.
	s := &Specs{}
	b := s.Base()
	b.Name, b.Timeout = "Specs", timeout
	b.Dendrite = TerminalInfo{Version: ptr(Version720), Nonce: ptr(old), UUID: ptr(d.uuid), Hotkey: ptr(d.hotkey)}
	sig, err := SignMessage(e.callKP, SignatureMessage(old, d.hotkey, e.target.Hotkey, d.uuid, EmptyBodyHash))
	if err != nil {
		e.t.Fatal(err)
	}
	b.Dendrite.Signature = &sig
	body, _ := json.Marshal(s)
	r, _ := http.NewRequest(http.MethodPost, "http://"+e.addr+"/Specs", bytes.NewReader(body))
	WriteHeaders(r.Header, b, EmptyBodyHash)
	return r
}

func TestReplayedNonce(t *testing.T) {
	for _, style := range []Style{StyleModern, StyleLegacy} {
		e := newEnv(t, nil)
		d := e.dendrite(style, e.callKP)
		req := e.request(d, &Specs{})
		body, _ := io.ReadAll(req.Body)
		first, _ := http.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))
		first.Header = req.Header.Clone()
		if a := send(t, first); a.status != 200 {
			t.Fatalf("first: %d %s", a.status, a.message)
		}
		replay, _ := http.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))
		replay.Header = req.Header.Clone()
		a := send(t, replay)
		want := "Not Verified with error: Nonce is too old, a newer one was last processed"
		if style == StyleLegacy {
			want = "Not Verified with error: Nonce is too small"
		}
		if a.status != 401 || a.message != want {
			t.Fatalf("replay (style %d): %d %q", style, a.status, a.message)
		}
		e.stillServes()
	}
}

func TestPriorityTimeout(t *testing.T) {
	e := newEnv(t, func(c *AxonConfig) { c.MaxConcurrency = 1 })
	e.mu.Lock()
	e.block, e.entered = make(chan struct{}), make(chan struct{}, 1)
	e.mu.Unlock()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); Call(ctx, e.d, e.target, &Specs{}, 5*time.Second) }()
	<-e.entered // the only slot is taken
	r := Call(ctx, e.dendrite(StyleModern, e.callKP), e.target, &Specs{}, 300*time.Millisecond)
	if r.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("modern waiter: %d %q %v", r.StatusCode, r.StatusMessage, r.Err)
	}
	// A 6.x caller gets 503 from the axon; use raw HTTP so the client timeout does not win.
	legacy := e.dendrite(StyleLegacy, e.callKP)
	req, _, err := legacy.build(ctx, &Specs{}, e.target, 200*time.Millisecond)
	must(t, err)
	if a := send(t, req); a.status != 503 || !strings.HasPrefix(a.message, "Response timeout after") {
		t.Fatalf("legacy waiter: %d %q", a.status, a.message)
	}
	e.mu.Lock()
	close(e.block)
	e.block = nil
	e.mu.Unlock()
	wg.Wait()
	e.stillServes()
	e.mu.Lock()
	defer e.mu.Unlock()
	var timeouts int
	for _, ev := range e.events {
		if ev.Outcome == OutcomeTimeout {
			timeouts++
		}
	}
	if timeouts < 1 {
		t.Fatalf("observer saw no timeout: %+v", e.events)
	}
}

// A request shaped exactly as Python bittensor 6.9.3 sends it, over a raw
// connection so the response header bytes can be checked.
func TestPython693Request(t *testing.T) {
	e := newEnv(t, nil)
	const uuid = "5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a"
	nonce := int64(86400123456789) // monotonic_ns: host uptime
	hot := e.callKP.SS58Address()
	sig, err := SignMessage(e.callKP, SignatureMessage(nonce, hot, e.target.Hotkey, uuid, EmptyBodyHash))
	must(t, err)
	body := fmt.Sprintf(`{"name": "Specs", "timeout": 60.0, "total_size": 3456, "header_size": 0, `+
		`"dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": "10.0.0.1", "port": null, "version": 693, "nonce": %d, "uuid": "%s", "hotkey": "%s", "signature": "%s"}, `+
		`"axon": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": %d, "version": null, "nonce": null, "uuid": null, "hotkey": "%s", "signature": null}, `+
		`"computed_body_hash": "", "required_hash_fields": [], "specs_input": "", "specs_output": ""}`,
		nonce, uuid, hot, sig, e.port, e.target.Hotkey)
	headers := [][2]string{
		{"name", "Specs"}, {"timeout", "60.0"},
		{"bt_header_axon_ip", "127.0.0.1"}, {"bt_header_axon_port", strconv.Itoa(e.port)}, {"bt_header_axon_hotkey", e.target.Hotkey},
		{"bt_header_dendrite_ip", "10.0.0.1"}, {"bt_header_dendrite_version", "693"}, {"bt_header_dendrite_nonce", strconv.FormatInt(nonce, 10)},
		{"bt_header_dendrite_uuid", uuid}, {"bt_header_dendrite_hotkey", hot}, {"bt_header_dendrite_signature", sig},
		{"header_size", "640"}, {"total_size", "3456"}, {"computed_body_hash", EmptyBodyHash},
	}
	raw := func() (string, string) {
		conn, err := net.Dial("tcp", e.addr)
		must(t, err)
		defer conn.Close()
		var b strings.Builder
		b.WriteString("POST /Specs HTTP/1.1\r\nHost: " + e.addr + "\r\nContent-Type: application/json\r\nConnection: close\r\n")
		for _, h := range headers {
			b.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		_, err = conn.Write([]byte(b.String()))
		must(t, err)
		resp, _ := io.ReadAll(bufio.NewReader(conn))
		head, rest, _ := strings.Cut(string(resp), "\r\n\r\n")
		return head, rest
	}
	head, rest := raw()
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("6.9.3 request refused:\n%s\n%s", head, rest)
	}
	for _, want := range []string{"\r\nbt_header_axon_status_code: 200\r\n", "\r\nbt_header_axon_status_message: Success\r\n",
		"\r\ncomputed_body_hash: " + EmptyBodyHash + "\r\n", "\r\nname: Specs\r\n", "\r\nbt_header_axon_process_time: "} {
		if !strings.Contains(head, want) {
			t.Errorf("response head lacks %q:\n%s", want, head)
		}
	}
	for _, line := range strings.Split(head, "\r\n")[1:] {
		if strings.HasPrefix(strings.ToLower(line), "bt_header_") && !strings.HasPrefix(line, "bt_header_") {
			t.Errorf("header name not lowercase: %q", line)
		}
	}
	var echoed Specs
	must(t, json.Unmarshal([]byte(rest), &echoed))
	if echoed.Axon.StatusCode == nil || *echoed.Axon.StatusCode != 200 || echoed.Dendrite.Nonce == nil || *echoed.Dendrite.Nonce != nonce || echoed.Timeout != 60 {
		t.Fatalf("echo: %+v", echoed.SynapseBase)
	}
	// The same bytes again are a replay.
	head, rest = raw()
	if !strings.HasPrefix(head, "HTTP/1.1 401") || !strings.Contains(rest, "Nonce is too small") || !strings.Contains(head, "\r\nbt_header_axon_status_code: 401\r\n") {
		t.Fatalf("replay:\n%s\n%s", head, rest)
	}
}

func TestGracefulShutdown(t *testing.T) {
	kp, _ := wallet.FromURI("//Bob")
	ax, err := NewAxon(AxonConfig{Hotkey: kp.SS58Address(), ShutdownGrace: 3 * time.Second, Logger: quietLogger()})
	must(t, err)
	started := make(chan struct{})
	must(t, Attach(ax, Handler[Specs]{Forward: func(ctx context.Context, s *Specs) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		s.SpecsOutput = "done"
		return nil
	}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ax.Serve(ctx, ln) }()
	alice, _ := wallet.FromURI("//Alice")
	d, _ := NewDendrite(DendriteConfig{Signer: alice, Logger: quietLogger()})
	resc := make(chan Result[Specs], 1)
	go func() {
		resc <- Call(context.Background(), d, Target{Hotkey: kp.SS58Address(), IP: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}, &Specs{}, 5*time.Second)
	}()
	<-started
	cancel()
	r := <-resc
	if !r.OK() || r.Synapse.SpecsOutput != "done" {
		t.Fatalf("in-flight request during shutdown: %d %s %v", r.StatusCode, r.StatusMessage, r.Err)
	}
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func newBenchEnv(b *testing.B) *env { return newEnv(b, nil) }
