package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/rentals"
)

// testServer is the API on the shared network, served by httptest.
type testServer struct {
	t   *testing.T
	net *network
	srv *Server
	url string
	reg *prometheus.Registry
}

// newTestServer serves the API over the shared network; edit adjusts the
// configuration and the collaborators first.
func newTestServer(t *testing.T, edit func(*Config, *Deps)) *testServer {
	t.Helper()
	n := testNetwork(t)
	cfg := DefaultConfig()
	cfg.Netuid = testNetuid
	cfg.Rate = 10_000
	reg := prometheus.NewRegistry()
	deps := Deps{Store: n.store, Chain: n.net.Chain, Hotkey: n.validator.SS58Address(), Renter: n.renter,
		Registry: reg, Gatherer: reg, Log: testLog()}
	if edit != nil {
		edit(&cfg, &deps)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{t: t, net: n, srv: s, url: hs.URL, reg: reg}
}

// key creates a key with scopes (and a rate per minute, 0 for the default).
func (ts *testServer) key(rate int, scopes ...string) (token, id string) {
	ts.t.Helper()
	nk, err := CreateKey(context.Background(), ts.net.store, KeySpec{Name: ts.t.Name(), Scopes: scopes, Rate: rate}, time.Now())
	if err != nil {
		ts.t.Fatal(err)
	}
	return nk.Token, nk.Key.ID
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the answer as a problem, failing the test when it is not one.
func (a answer) problem(t *testing.T) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("status %d with Content-Type %q, want a problem: %s", a.status, ct, a.body)
	}
	var p Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", a.body, err)
	}
	if p.Status != a.status || !strings.HasPrefix(p.Type, problemTypeBase) || p.Title == "" || p.Detail == "" || p.RequestID == "" {
		t.Errorf("problem %+v for status %d: type, title, detail and request id are due", p, a.status)
	}
	return p
}

// decode unmarshals the answer's body into v.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
}

// request is a request to send.
type request struct {
	method, path, token string
	body                string
	header              map[string]string
}

func (ts *testServer) do(rq request) answer {
	ts.t.Helper()
	return doRequest(ts.t, http.DefaultClient, ts.url, rq)
}

func doRequest(t *testing.T, client *http.Client, base string, rq request) answer {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	method := rq.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ts *testServer) get(path, token string) answer {
	ts.t.Helper()
	return ts.do(request{path: path, token: token})
}

// sshKey is a fresh ed25519 public key line and its fingerprint.
func sshKey(t testing.TB, seed byte) (line, fingerprint string) {
	t.Helper()
	pub := make([]byte, 32)
	for i := range pub {
		pub[i] = seed + byte(i)
	}
	k, err := ssh.ParsePublicKey(ed25519Wire(pub))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(k.Marshal())
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " test@host", "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ed25519Wire is the SSH wire form of an ed25519 public key.
func ed25519Wire(pub []byte) []byte {
	var b []byte
	put := func(s []byte) {
		b = append(b, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
		b = append(b, s...)
	}
	put([]byte("ssh-ed25519"))
	put(pub)
	return b
}

// fakeRentals is the rentals service's contract kept in memory, for the
// HTTP layer's tests (internal/rentals tests the service itself). fail, when
// set, is returned by the next call.
type fakeRentals struct {
	mu      sync.Mutex
	rentals map[string]*rentals.Rental
	idem    map[string]string // owner/key -> rental id
	next    int
	fail    error
	calls   []string // "method owner id"
	// hang makes Create wait for its context's end, as an allocation that
	// outlives the request's deadline.
	hang bool
}

func newFakeRentals() *fakeRentals {
	return &fakeRentals{rentals: map[string]*rentals.Rental{}, idem: map[string]string{}}
}

// errPanic, as fail, makes the next call panic.
var errPanic = errors.New("panic")

func (f *fakeRentals) begin(call, owner, id string) error {
	f.calls = append(f.calls, call+" "+owner+" "+id)
	err := f.fail
	f.fail = nil
	if err == errPanic {
		panic("rentals: nil map write at /srv/compute/rentals.go:42")
	}
	return err
}

func (f *fakeRentals) Create(ctx context.Context, owner, key string, req rentals.CreateRequest) (rentals.Rental, bool, error) {
	f.mu.Lock()
	if f.hang {
		f.mu.Unlock()
		<-ctx.Done()
		return rentals.Rental{}, false, fmt.Errorf("allocate: %w", ctx.Err())
	}
	defer f.mu.Unlock()
	if err := f.begin("Create", owner, key); err != nil {
		return rentals.Rental{}, false, err
	}
	if id, ok := f.idem[owner+"/"+key]; ok {
		return *f.rentals[id], true, nil
	}
	f.next++
	now := time.Now().UTC().Truncate(time.Second)
	r := &rentals.Rental{ID: fmt.Sprintf("r_%d", f.next), Owner: owner, Hotkey: req.Hotkey, UID: 1, Host: "127.0.0.1", Port: 2222,
		Username: "root", SSHCommand: "ssh root@127.0.0.1 -p 2222", Status: rentals.StatusActive,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(req.Timeline) * 24 * time.Hour)}
	if req.Requirement != nil {
		r.Resource = *req.Requirement
	}
	for _, k := range req.SSHKeys {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			return rentals.Rental{}, false, err
		}
		r.SSHKeys = append(r.SSHKeys, rentals.SSHKey{Fingerprint: ssh.FingerprintSHA256(pk), Key: k})
	}
	f.rentals[r.ID] = r
	f.idem[owner+"/"+key] = r.ID
	return *r, false, nil
}

func (f *fakeRentals) List(_ context.Context, owner string) ([]rentals.Rental, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("List", owner, ""); err != nil {
		return nil, err
	}
	var out []rentals.Rental
	for _, r := range f.rentals {
		if owner == "" || r.Owner == owner {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b rentals.Rental) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// with runs f on the owner's rental id.
func (f *fakeRentals) with(call, owner, id string, fn func(*rentals.Rental) error) (rentals.Rental, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(call, owner, id); err != nil {
		return rentals.Rental{}, err
	}
	r, ok := f.rentals[id]
	if !ok || (owner != "" && r.Owner != owner) {
		return rentals.Rental{}, fmt.Errorf("rental %s: %w", id, rentals.ErrNotFound)
	}
	if fn != nil {
		if err := fn(r); err != nil {
			return rentals.Rental{}, err
		}
	}
	return *r, nil
}

func (f *fakeRentals) Get(_ context.Context, owner, id string) (rentals.Rental, error) {
	return f.with("Get", owner, id, nil)
}

func (f *fakeRentals) Release(_ context.Context, owner, id string) (rentals.Rental, error) {
	return f.with("Release", owner, id, func(r *rentals.Rental) error {
		if r.Status == rentals.StatusReleased {
			return rentals.ErrEnded
		}
		now := time.Now().UTC()
		r.Status, r.ReleasedAt = rentals.StatusReleased, &now
		return nil
	})
}

func (f *fakeRentals) Extend(_ context.Context, owner, id string, days int) (rentals.Rental, error) {
	return f.with("Extend", owner, id, func(r *rentals.Rental) error {
		r.ExpiresAt = r.ExpiresAt.Add(time.Duration(days) * 24 * time.Hour)
		return nil
	})
}

func (f *fakeRentals) Restart(_ context.Context, owner, id string) (rentals.Rental, error) {
	return f.with("Restart", owner, id, nil)
}

func (f *fakeRentals) AddSSHKey(_ context.Context, owner, id, key string) (rentals.Rental, error) {
	return f.with("AddSSHKey", owner, id, func(r *rentals.Rental) error {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
		if err != nil {
			return err
		}
		r.SSHKeys = append(r.SSHKeys, rentals.SSHKey{Fingerprint: ssh.FingerprintSHA256(pk), Key: key})
		return nil
	})
}

func (f *fakeRentals) RemoveSSHKey(_ context.Context, owner, id, fp string) (rentals.Rental, error) {
	return f.with("RemoveSSHKey", owner, id, func(r *rentals.Rental) error {
		i := slices.IndexFunc(r.SSHKeys, func(k rentals.SSHKey) bool { return k.Fingerprint == fp })
		if i < 0 {
			return fmt.Errorf("key %s: %w", fp, rentals.ErrNotFound)
		}
		if len(r.SSHKeys) == 1 {
			return rentals.ErrLastKey
		}
		r.SSHKeys = slices.Delete(r.SSHKeys, i, i+1)
		return nil
	})
}
