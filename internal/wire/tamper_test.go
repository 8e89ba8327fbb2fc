package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/wallet"
)

// seen records what the miner's forward functions were given.
type seen struct {
	mu         sync.Mutex
	publicKeys []string
	sshKeys    []string
	challenges []string
}

func (s *seen) add(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *seen) all() (pk, ssh, ch []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.publicKeys...), append([]string(nil), s.sshKeys...), append([]string(nil), s.challenges...)
}

// tamperEnv is an axon behind a man in the middle that rewrites request
// bodies with rewrite (nil: pass through).
type tamperEnv struct {
	axonKP, callKP *wallet.Keypair
	seen           *seen
	target         Target // the proxy's address, the axon's hotkey
	axonAddr       string
	mu             sync.Mutex
	rewrite        func([]byte) []byte
	requests       int
}

func (e *tamperEnv) setRewrite(f func([]byte) []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rewrite = f
}

func (e *tamperEnv) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests
}

func newTamperEnv(t *testing.T, requireHash bool) *tamperEnv {
	t.Helper()
	axonKP, _ := wallet.FromURI("//Bob")
	callKP, _ := wallet.FromURI("//Alice")
	e := &tamperEnv{axonKP: axonKP, callKP: callKP, seen: &seen{}}
	ax, err := NewAxon(AxonConfig{Hotkey: axonKP.SS58Address(), ShutdownGrace: time.Second, Logger: quietLogger()})
	must(t, err)
	must(t, Attach(ax, Handler[Allocate]{RequireHash: requireHash, Forward: func(_ context.Context, a *Allocate) error {
		e.seen.add(&e.seen.publicKeys, a.PublicKey)
		e.seen.add(&e.seen.sshKeys, a.SSHKey())
		if act, ok := a.LeaseAction(); ok {
			e.seen.add(&e.seen.sshKeys, act.Action+":"+act.SSHKey+"/"+strconv.FormatInt(a.Timeline, 10))
		}
		a.Output = AllocateOutput{Status: true, Info: "credentials for " + a.PublicKey}
		return nil
	}}))
	must(t, Attach(ax, Handler[Challenge]{RequireHash: requireHash, Forward: func(_ context.Context, c *Challenge) error {
		e.seen.add(&e.seen.challenges, c.Hash+"/"+strconv.Itoa(c.Difficulty))
		pw := "pw"
		c.Output.Password = &pw
		return nil
	}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	e.axonAddr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ax.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.requests++
		if e.rewrite != nil {
			body = e.rewrite(body)
		}
		e.mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+e.axonAddr+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[strings.ToLower(k)] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(proxy.URL, "http://"))
	p, _ := strconv.Atoi(port)
	e.target = Target{UID: 1, Hotkey: axonKP.SS58Address(), IP: host, Port: p}
	return e
}

func replace(from, to string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(from), []byte(to), 1) }
}

const attackerPEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAevil\n-----END PUBLIC KEY-----\n"

func realAllocate() *Allocate {
	a := &Allocate{Timeline: 3, Checking: false, PublicKey: testPEM, DockerRequirement: &DockerRequirement{SSHKey: testSSHKey}}
	_ = a.SetRequirement(DeviceRequirement{})
	return a
}

// leaseAction is a lease action as the renter sends it: checking set, so
// that a miner that does not know docker_change takes it for a check.
func leaseAction(action, sshKey string, timeline int64) *Allocate {
	return &Allocate{Timeline: timeline, Checking: true, PublicKey: testPEM, DockerChange: true,
		DockerAction: &DockerAction{Action: action, SSHKey: sshKey}}
}

// A man in the middle rewrites an Allocate or a Challenge between this
// package's dendrite and axon, over HTTP: every rewrite of a covered field is
// refused before the miner's forward function sees it.
func TestTamperedRequestsRefused(t *testing.T) {
	pemJSON := strings.ReplaceAll(testPEM, "\n", `\n`)
	evilJSON := strings.ReplaceAll(attackerPEM, "\n", `\n`)
	tests := []struct {
		name    string
		syn     func() Synapse
		rewrite func([]byte) []byte
	}{
		{"allocate public_key", func() Synapse { return realAllocate() }, replace(pemJSON, evilJSON)},
		{"allocate ssh_key", func() Synapse { return realAllocate() }, replace("renter@host", "attacker@evil")},
		{"allocate ssh_key removed", func() Synapse { return realAllocate() }, replace(`"docker_requirement":{"ssh_key":"`+testSSHKey+`"}`, `"docker_requirement":{}`)},
		{"allocate timeline", func() Synapse { return realAllocate() }, replace(`"timeline":3`, `"timeline":60`)},
		{"allocate checking", func() Synapse { return realAllocate() }, replace(`"checking":false`, `"checking":true`)},
		{"allocate device_requirement", func() Synapse { return realAllocate() }, replace(`"cpu":{"count":0}`, `"cpu":{"count":64}`)},
		{"allocate list emptied and public_key rewritten", func() Synapse { return realAllocate() }, func(b []byte) []byte {
			b = replace(pemJSON, evilJSON)(b)
			return replace(`"required_hash_fields":["timeline","device_requirement","checking","public_key","docker_requirement"]`, `"required_hash_fields":[]`)(b)
		}},
		{"allocate list without public_key", func() Synapse { return realAllocate() }, func(b []byte) []byte {
			b = replace(pemJSON, evilJSON)(b)
			return replace(`"checking","public_key",`, `"checking",`)(b)
		}},
		{"action ssh_key", func() Synapse { return leaseAction(ActionExchangeKey, testSSHKey, 0) }, replace("renter@host", "attacker@evil")},
		{"action docker_change dropped", func() Synapse { return leaseAction(ActionExchangeKey, testSSHKey, 0) }, replace(`"docker_change":true,`, ``)},
		{"action turned into a deallocation", func() Synapse { return leaseAction(ActionRestart, "", 0) }, replace(`"checking":true`, `"checking":false`)},
		{"action extend timeline", func() Synapse { return leaseAction(ActionExtend, "", 3) }, replace(`"timeline":3`, `"timeline":12`)},
		{"challenge difficulty", func() Synapse { return NewChallenge(testChallenge()) }, replace(`"challenge_difficulty":7`, `"challenge_difficulty":12`)},
		{"challenge hash", func() Synapse { return NewChallenge(testChallenge()) }, replace(`"challenge_hash":"$BLAKE2$ab`, `"challenge_hash":"$BLAKE2$cd`)},
	}
	for _, requireHash := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/require=%v", tc.name, requireHash), func(t *testing.T) {
				e := newTamperEnv(t, requireHash)
				d, err := NewDendrite(DendriteConfig{Signer: e.callKP, Logger: quietLogger()})
				must(t, err)
				ctx := context.Background()
				// A first, untouched call: the axon checks hashes and says so.
				if r := call(ctx, d, e.target, tc.syn()); r.code != http.StatusOK {
					t.Fatalf("untouched call: %d %s", r.code, r.msg)
				}
				_, _, _ = e.seen.all()
				before := e.count()
				e.setRewrite(tc.rewrite)
				r := call(ctx, d, e.target, tc.syn())
				if r.code == http.StatusOK {
					t.Fatalf("tampered request served: %s", r.msg)
				}
				if r.code != http.StatusInternalServerError || !strings.Contains(r.msg, "Hash mismatch") {
					t.Fatalf("tampered request: %d %q, want 500 Hash mismatch", r.code, r.msg)
				}
				if n := e.count() - before; n != 1 {
					t.Fatalf("%d requests for one tampered call: a refused hashed request was sent again", n)
				}
				pks, sshs, chs := e.seen.all()
				for _, v := range append(append(pks, sshs...), chs...) {
					if strings.Contains(v, "evil") || strings.Contains(v, "attacker") || strings.Contains(v, "/12") || strings.Contains(v, "$BLAKE2$cd") {
						t.Fatalf("forward saw a tampered value: %q", v)
					}
				}
				if len(pks)+len(chs) != 1 {
					t.Fatalf("forward ran %d times, want once (the untouched call)", len(pks)+len(chs))
				}
			})
		}
	}
}

type callResult struct {
	code int
	msg  string
}

func call(ctx context.Context, d *Dendrite, t Target, s Synapse) callResult {
	switch x := s.(type) {
	case *Allocate:
		r := Call(ctx, d, t, x, 5*time.Second)
		return callResult{r.StatusCode, r.StatusMessage}
	case *Challenge:
		r := Call(ctx, d, t, x, 5*time.Second)
		return callResult{r.StatusCode, r.StatusMessage}
	}
	panic("unexpected synapse")
}

// Without hashed fields (the original subnet's requests) the same rewrite
// reaches the miner, unless the miner requires the fields, which then
// refuses the request as unverified.
func TestPlainBodiesRewritable(t *testing.T) {
	pemJSON := strings.ReplaceAll(testPEM, "\n", `\n`)
	evilJSON := strings.ReplaceAll(attackerPEM, "\n", `\n`)
	for _, requireHash := range []bool{false, true} {
		t.Run(fmt.Sprintf("require=%v", requireHash), func(t *testing.T) {
			e := newTamperEnv(t, requireHash)
			d, err := NewDendrite(DendriteConfig{Signer: e.callKP, PlainBodies: true, Logger: quietLogger()})
			must(t, err)
			e.setRewrite(replace(pemJSON, evilJSON))
			r := Call(context.Background(), d, e.target, realAllocate(), 5*time.Second)
			pks, _, _ := e.seen.all()
			if !requireHash {
				if r.StatusCode != http.StatusOK || len(pks) != 1 || pks[0] != attackerPEM {
					t.Fatalf("plain body: %d %q, forward saw %q", r.StatusCode, r.StatusMessage, pks)
				}
				return
			}
			want := "Not Verified with error: Allocate requests must cover timeline, device_requirement, checking, public_key, docker_requirement with the signed body hash (required_hash_fields)"
			if r.StatusCode != http.StatusUnauthorized || r.StatusMessage != want || len(pks) != 0 {
				t.Fatalf("plain body to a miner requiring hashes: %d %q, forward saw %q", r.StatusCode, r.StatusMessage, pks)
			}
		})
	}
}

// pythonRequest sends body to route as a Python dendrite would (raw HTTP,
// lowercase headers, json.dumps spacing), signed over bodyHash.
func pythonRequest(t *testing.T, e *tamperEnv, route string, version int64, bodyFields, bodyHash string) answer {
	t.Helper()
	const uuid = "5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a"
	nonce := time.Now().UnixNano()
	if version < Version720 {
		nonce = int64(86400123456789) + time.Now().UnixNano()%1e9
	}
	hot := e.callKP.SS58Address()
	sig, err := SignMessage(e.callKP, SignatureMessage(nonce, hot, e.target.Hotkey, uuid, bodyHash))
	must(t, err)
	_, port, _ := net.SplitHostPort(e.axonAddr)
	body := fmt.Sprintf(`{"name": "%s", "timeout": 12.0, "total_size": 4000, "header_size": 0, `+
		`"dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": "10.0.0.1", "port": null, "version": %d, "nonce": %d, "uuid": "%s", "hotkey": "%s", "signature": "%s"}, `+
		`"axon": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": %s, "version": null, "nonce": null, "uuid": null, "hotkey": "%s", "signature": null}, `+
		`"computed_body_hash": "", %s}`, route, version, nonce, uuid, hot, sig, port, e.target.Hotkey, bodyFields)
	req, err := http.NewRequest(http.MethodPost, "http://"+e.axonAddr+"/"+route, strings.NewReader(body))
	must(t, err)
	for k, v := range map[string]string{
		"name": route, "timeout": "12.0", "header_size": "640", "total_size": "4000", "computed_body_hash": bodyHash,
		"bt_header_axon_ip": "127.0.0.1", "bt_header_axon_port": port, "bt_header_axon_hotkey": e.target.Hotkey,
		"bt_header_dendrite_ip": "10.0.0.1", "bt_header_dendrite_version": strconv.FormatInt(version, 10),
		"bt_header_dendrite_nonce": strconv.FormatInt(nonce, 10), "bt_header_dendrite_uuid": uuid,
		"bt_header_dendrite_hotkey": hot, "bt_header_dendrite_signature": sig, "Content-Type": "application/json",
	} {
		req.Header[k] = []string{v}
	}
	return send(t, req)
}

// Python peers keep working: a seed-era request (6.9.3: required_hash_fields
// empty in the body; >= 7.2: no list at all) is served, whole-number floats
// included; a request hashed by Python 6.9.3's rules over a Python-written
// body is checked and served. A miner requiring hashes refuses the seed-era
// request as unverified.
func TestPythonAllocateRequests(t *testing.T) {
	pemJSON := strings.ReplaceAll(testPEM, "\n", `\n`)
	seedFields := `"timeline": 30.0, "device_requirement": {"cpu": {"count": 1}, "gpu": {}, "hard_disk": {"capacity": 1073741824}, "ram": {"capacity": 1073741824}}, "checking": false, "output": {}, "public_key": "` + pemJSON + `"`
	hashedFields := `"required_hash_fields": ["timeline", "device_requirement", "checking", "public_key"], "timeline": 7, "device_requirement": {"gpu": {"capacity": 24576.0, "type": "it's \"4090\"", "extra": [1e3, -0, null, true, 0.1]}, "cpu": {"count": 2}, "cpu": {"count": 3}}, "checking": true, "public_key": ""`
	const hashedVector = "88a00b62df53a78a9f09d5c508197241cff372b234af749aa7e07dd9a27a5c69"
	tests := []struct {
		name        string
		version     int64
		fields      string
		hash        string
		requireHash bool
		status      int
		message     string
	}{
		{"6.9.3 seed era", Version693, `"required_hash_fields": [], ` + seedFields, EmptyBodyHash, false, 200, ""},
		{"7.4.0 seed era", 7_004_000, seedFields, EmptyBodyHash, false, 200, ""},
		{"6.9.3 hashed by python", Version693, hashedFields, hashedVector, false, 200, ""},
		{"6.9.3 hashed by python, miner requires", Version693, hashedFields, hashedVector, true, 200, ""},
		{"6.9.3 seed era, miner requires", Version693, `"required_hash_fields": [], ` + seedFields, EmptyBodyHash, true, 401,
			"Not Verified with error: Allocate requests must cover timeline, device_requirement, checking, public_key with the signed body hash (required_hash_fields)"},
		{"6.9.3 hashed, header hash of another body", Version693, hashedFields, "211aa3c88cf9a463c162380cbad3603961fcb5be76f44692f4bdc4f52f500e18", false, 500,
			"Internal server error with error: Hash mismatch between header body hash and computed body hash"},
		{"fractional timeline", Version693, `"required_hash_fields": [], "timeline": 30.5, "public_key": "x"`, EmptyBodyHash, false, 500,
			"Internal server error with error: Invalid request body: field timeline: 30.5 is not a whole number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTamperEnv(t, tc.requireHash)
			a := pythonRequest(t, e, "Allocate", tc.version, tc.fields, tc.hash)
			if a.status != tc.status || (tc.message != "" && a.message != tc.message) {
				t.Fatalf("%d %q, want %d %q\n%s", a.status, a.message, tc.status, tc.message, a.body)
			}
			if tc.status == 200 {
				var out Allocate
				must(t, json.Unmarshal(a.body, &out))
				if !out.Output.Status {
					t.Fatalf("output %+v", out.Output)
				}
			}
		})
	}
}

// A Python challenge with a whole-number float difficulty is served.
func TestPythonChallengeFloatDifficulty(t *testing.T) {
	e := newTamperEnv(t, false)
	c := testChallenge()
	fields := fmt.Sprintf(`"required_hash_fields": [], "challenge_hash": "%s", "challenge_salt": "%s", "challenge_mode": "610", "challenge_chars": "%s", "challenge_mask": "%s", "challenge_difficulty": 7.0, "output": {}`,
		c.Hash, c.Salt, c.Chars, c.Mask)
	if a := pythonRequest(t, e, "Challenge", Version693, fields, EmptyBodyHash); a.status != 200 {
		t.Fatalf("%d %q", a.status, a.message)
	}
	if _, _, chs := e.seen.all(); len(chs) != 1 || !strings.HasSuffix(chs[0], "/7") {
		t.Fatalf("forward saw %q", chs)
	}
}

// modernPythonAxon answers like a Python bittensor >= 7.2 axon serving the
// original subnet's classes: required_hash_fields is a class variable there
// (empty), so any hash but the empty one is a mismatch, answered 500 before
// the forward function runs.
func modernPythonAxon(t *testing.T, requests *[]string, mu *sync.Mutex) Target {
	return fakeAxon(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		*requests = append(*requests, r.Header.Get("computed_body_hash"))
		mu.Unlock()
		w.Header()["Content-Type"] = []string{"application/json"}
		if r.Header.Get("computed_body_hash") != EmptyBodyHash {
			w.Header()["bt_header_axon_status_code"] = []string{"500"}
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message": "Internal Server Error #0f6a1e2c-9a53-4a3b-8f0e-1f2d3c4b5a69"}`))
			return
		}
		w.Header()["bt_header_axon_status_code"] = []string{"200"}
		w.Header()["bt_header_axon_status_message"] = []string{"Success"}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// Against an axon that cannot check a hashed body, a challenge, an
// allocation check and a deallocation are sent once more unhashed; a real
// allocation or a lease action is not, and says why it failed.
func TestModernPythonAxonFallback(t *testing.T) {
	alice, _ := wallet.FromURI("//Alice")
	tests := []struct {
		name     string
		syn      Synapse
		status   int
		requests int
	}{
		{"challenge", NewChallenge(testChallenge()), 200, 2},
		{"allocation check", &Allocate{Timeline: 3, Checking: true, PublicKey: testPEM}, 200, 2},
		{"deallocation", &Allocate{Timeline: 0, Checking: false, PublicKey: testPEM}, 200, 2},
		{"real allocation", realAllocate(), 500, 1},
		{"lease action", leaseAction(ActionExchangeKey, testSSHKey, 0), 500, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var hashes []string
			target := modernPythonAxon(t, &hashes, &mu)
			d, err := NewDendrite(DendriteConfig{Signer: alice, Logger: quietLogger()})
			must(t, err)
			r := call(context.Background(), d, target, tc.syn)
			mu.Lock()
			defer mu.Unlock()
			if r.code != tc.status || len(hashes) != tc.requests {
				t.Fatalf("%d %q after %d requests, want %d after %d", r.code, r.msg, len(hashes), tc.status, tc.requests)
			}
			if hashes[0] == EmptyBodyHash || hashes[len(hashes)-1] != EmptyBodyHash && tc.requests == 2 {
				t.Fatalf("hashes sent %v", hashes)
			}
			if tc.status == 500 && !strings.Contains(r.msg, "may not check body hashes") {
				t.Fatalf("message %q does not say why", r.msg)
			}
		})
	}
	// With PlainBodies every request goes out unhashed, once.
	var mu sync.Mutex
	var hashes []string
	target := modernPythonAxon(t, &hashes, &mu)
	d, err := NewDendrite(DendriteConfig{Signer: alice, PlainBodies: true, Logger: quietLogger()})
	must(t, err)
	if r := call(context.Background(), d, target, realAllocate()); r.code != 200 || len(hashes) != 1 || hashes[0] != EmptyBodyHash {
		t.Fatalf("plain bodies: %d %q, hashes %v", r.code, r.msg, hashes)
	}
}
