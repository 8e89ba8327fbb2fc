package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
)

func TestAuthentication(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Rentals = newFakeRentals() })
	read, _ := ts.key(0, ScopeRead)
	rent, _ := ts.key(0, ScopeRent)
	admin, _ := ts.key(0, ScopeAdmin)
	revoked, revokedID := ts.key(0, ScopeRead)
	if _, err := ts.net.store.RevokeAPIKey(context.Background(), revokedID, time.Now()); err != nil {
		t.Fatal(err)
	}
	forged := revoked[:len(revoked)-1] + map[bool]string{true: "0", false: "1"}[strings.HasSuffix(revoked, "1")]
	for _, tc := range []struct {
		name, path, token string
		header            map[string]string
		want              int
		detail            string
	}{
		{"no key", "/v1/status", "", nil, 401, "API key is required"},
		{"unknown key", "/v1/status", "cpk_000000000000_" + strings.Repeat("ab", 32), nil, 401, "not valid"},
		{"wrong secret", "/v1/status", forged, nil, 401, "not valid"},
		{"revoked key", "/v1/status", revoked, nil, 401, "revoked"},
		{"malformed key", "/v1/status", "hunter2", nil, 401, "malformed"},
		{"not bearer", "/v1/status", "", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, "Bearer"},
		{"read key reads", "/v1/status", read, nil, 200, ""},
		{"read key cannot rent", "/v1/rentals", read, nil, 403, "lacks the rent scope"},
		{"rent key cannot read", "/v1/miners", rent, nil, 403, "lacks the read scope"},
		{"rent key rents", "/v1/rentals", rent, nil, 200, ""},
		{"admin reads", "/v1/miners", admin, nil, 200, ""},
		{"admin rents", "/v1/rentals", admin, nil, 200, ""},
		{"health is public", "/healthz", "", nil, 200, ""},
		{"the document is public", "/openapi.json", "", nil, 200, ""},
		{"metrics need a key", "/metrics", "", nil, 401, "API key is required"},
		{"metrics with a read key", "/metrics", read, nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ts.do(request{path: tc.path, token: tc.token, header: tc.header})
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if tc.want < 400 {
				return
			}
			p := a.problem(t)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q, want it to say %q", p.Detail, tc.detail)
			}
			if tc.want == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), `Bearer realm="compute"`) {
				t.Errorf("401 without WWW-Authenticate: %v", a.header)
			}
		})
	}
	// The key's use is recorded.
	if k, err := ts.net.store.APIKey(context.Background(), strings.Split(read, "_")[1]); err != nil || k.LastUsedAt.IsZero() {
		t.Errorf("read key's last use %v, %v", k.LastUsedAt, err)
	}
}

func TestPublicRead(t *testing.T) {
	ts := newTestServer(t, func(c *Config, d *Deps) { c.PublicRead = true; d.Rentals = newFakeRentals() })
	for _, p := range []string{"/v1/status", "/v1/miners", "/v1/gpus", "/v1/rounds", "/v1/weights", "/v1/allocations", "/v1/available", "/metrics"} {
		if a := ts.get(p, ""); a.status != http.StatusOK {
			t.Errorf("%s without a key: %d %s", p, a.status, a.body)
		}
	}
	if a := ts.get("/v1/rentals", ""); a.status != http.StatusUnauthorized {
		t.Errorf("rentals without a key: %d", a.status)
	}
	a := ts.do(request{method: http.MethodPost, path: "/v1/rentals", body: `{}`, header: map[string]string{IdempotencyHeader: "x"}})
	if a.status != http.StatusUnauthorized {
		t.Errorf("renting without a key: %d", a.status)
	}
	// A wrong key is refused even where no key is needed.
	if a := ts.get("/v1/status", "cpk_000000000000_"+strings.Repeat("00", 32)); a.status != http.StatusUnauthorized {
		t.Errorf("public read with a wrong key: %d", a.status)
	}
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config, _ *Deps) { c.Rate = 3; c.PublicRead = true })
	slow, _ := ts.key(2, ScopeRead)
	fast, _ := ts.key(100, ScopeRead)
	for i := range 2 {
		if a := ts.get("/v1/rounds", slow); a.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	a := ts.get("/v1/rounds", slow)
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("third request: %d, want 429", a.status)
	}
	a.problem(t)
	retry, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 60 {
		t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
	}
	for i := range 10 {
		if a := ts.get("/v1/rounds", fast); a.status != http.StatusOK {
			t.Fatalf("a key with its own higher rate was limited at request %d: %d", i, a.status)
		}
	}
	// Without a key, the server's rate per client address.
	var codes []int
	for range 4 {
		codes = append(codes, ts.get("/v1/rounds", "").status)
	}
	if fmt.Sprint(codes) != "[200 200 200 429]" {
		t.Errorf("anonymous requests at 3 a minute: %v", codes)
	}
	// Writes to paths that do not exist are limited too, and the refused
	// ones without a key are not audited.
	ts2 := newTestServer(t, func(c *Config, _ *Deps) { c.Rate = 2 })
	floodStart := time.Now().Add(-time.Millisecond)
	codes = nil
	for range 4 {
		codes = append(codes, ts2.do(request{method: "POST", path: "/v1/flood", body: "{}"}).status)
	}
	if fmt.Sprint(codes) != "[404 404 429 429]" {
		t.Errorf("anonymous writes to no path at 2 a minute: %v", codes)
	}
	entries, err := ts.net.store.Audit(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	flood := 0
	for _, e := range entries {
		if e.Path == "/v1/flood" && !e.At.Before(floodStart) {
			flood++
			if e.Status != http.StatusNotFound {
				t.Errorf("audited %+v", e)
			}
		}
	}
	if flood != 2 {
		t.Errorf("%d entries of the flood audited, want the 2 answered", flood)
	}
	// Health checks are not limited.
	for range 5 {
		if a := ts.get("/healthz", ""); a.status != http.StatusOK {
			t.Fatalf("healthz: %d", a.status)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Rentals = newFakeRentals() })
	tok, _ := ts.key(0, ScopeRent)
	key, _ := sshKey(t, 1)
	idem := map[string]string{IdempotencyHeader: "req-1"}
	good := `{"requirement":{"cpu":{"count":1},"gpu":{"count":0},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + key + `"]}`
	for _, tc := range []struct {
		name   string
		rq     request
		want   int
		field  string
		detail string
	}{
		{"too large", request{method: "POST", path: "/v1/rentals", body: `{"hotkey":"` + strings.Repeat("x", 70<<10) + `"}`, header: idem}, 413, "", "bytes"},
		{"not JSON content", request{method: "POST", path: "/v1/rentals", body: good, header: map[string]string{IdempotencyHeader: "a", "Content-Type": "text/plain"}}, 415, "", "application/json"},
		{"no content type", request{method: "POST", path: "/v1/rentals", body: good, header: map[string]string{IdempotencyHeader: "a", "Content-Type": ""}}, 415, "", "Content-Type"},
		{"malformed JSON", request{method: "POST", path: "/v1/rentals", body: `{"timeline": 1,`, header: idem}, 400, "body", "ends in the middle"},
		{"syntax error", request{method: "POST", path: "/v1/rentals", body: `{"timeline": one}`, header: idem}, 400, "body", "at byte"},
		{"wrong type", request{method: "POST", path: "/v1/rentals", body: `{"timeline":"one"}`, header: idem}, 400, "timeline", "expected an integer"},
		{"unknown field", request{method: "POST", path: "/v1/rentals", body: `{"timeline":1,"gpus":2}`, header: idem}, 400, "gpus", "unknown field"},
		{"two values", request{method: "POST", path: "/v1/rentals", body: good + `{}`, header: idem}, 400, "body", "more than one"},
		{"empty body", request{method: "POST", path: "/v1/rentals", header: map[string]string{IdempotencyHeader: "a", "Content-Type": "application/json"}}, 400, "body", "empty"},
		{"array body", request{method: "POST", path: "/v1/rentals", body: `[1]`, header: idem}, 400, "body", "JSON object"},
		{"no idempotency key", request{method: "POST", path: "/v1/rentals", body: good}, 400, IdempotencyHeader, "required"},
		{"bad requirement", request{method: "POST", path: "/v1/rentals", body: `{"requirement":{"cpu":{"count":0},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + key + `"]}`, header: idem}, 400, "requirement", "cpu.count"},
		{"nothing to rent", request{method: "POST", path: "/v1/rentals", body: `{"timeline":1,"ssh_keys":["` + key + `"]}`, header: idem}, 400, "requirement", "hotkey"},
		{"bad hotkey", request{method: "POST", path: "/v1/rentals", body: `{"hotkey":"5Fxx","timeline":1,"ssh_keys":["` + key + `"]}`, header: idem}, 400, "hotkey", "SS58"},
		{"no timeline", request{method: "POST", path: "/v1/rentals", body: `{"requirement":{"cpu":{"count":1},"ram":{"capacity":1073741824}},"ssh_keys":["` + key + `"]}`, header: idem}, 400, "timeline", "required"},
		{"long timeline", request{method: "POST", path: "/v1/rentals", body: strings.Replace(good, `"timeline":1`, `"timeline":61`, 1), header: idem}, 400, "timeline", "between 1 and 60"},
		{"no keys", request{method: "POST", path: "/v1/rentals", body: strings.Replace(good, `"`+key+`"`, ``, 1), header: idem}, 400, "ssh_keys", "at least one"},
		{"bad key", request{method: "POST", path: "/v1/rentals", body: strings.Replace(good, `"`+key+`"`, `"`+key+`","ssh-rsa AAAA"`, 1), header: idem}, 400, "ssh_keys[1]", "SSH key"},
		{"extend without days", request{method: "POST", path: "/v1/rentals/r_1/extend", body: `{}`}, 400, "days", "days"},
		{"extend by a string", request{method: "POST", path: "/v1/rentals/r_1/extend", body: `{"days":"2"}`}, 400, "days", "expected an integer"},
		{"add a bad key", request{method: "POST", path: "/v1/rentals/r_1/ssh-keys", body: `{"key":"ssh-ed25519 nope"}`}, 400, "key", "SSH key"},
		{"remove a malformed fingerprint", request{method: "DELETE", path: "/v1/rentals/r_1/ssh-keys/MD5:aa"}, 400, "fingerprint", "ssh-keygen"},
		{"restart with a body", request{method: "POST", path: "/v1/rentals/r_1/restart", body: `{"now":true}`}, 400, "body", "takes no body"},
		{"unknown path", request{path: "/v1/nothing"}, 404, "", "no /v1/nothing"},
		{"unknown rental id form", request{path: "/v1/rentals/..%2Fx"}, 404, "", "no rental"},
		{"wrong method", request{method: "PUT", path: "/v1/rentals/r_1", body: `{}`}, 405, "", "DELETE, GET, HEAD"},
		{"wrong method on a read", request{method: "POST", path: "/v1/miners", body: `{}`}, 405, "", "GET, HEAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rq.token = tok
			a := ts.do(tc.rq)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			p := a.problem(t)
			if p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("field %q detail %q; want field %q and %q in the detail", p.Field, p.Detail, tc.field, tc.detail)
			}
			if tc.want == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestRentalRoutes(t *testing.T) {
	fake := newFakeRentals()
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Rentals = fake })
	alice, aliceID := ts.key(0, ScopeRent)
	bob, _ := ts.key(0, ScopeRent)
	admin, _ := ts.key(0, ScopeAdmin)
	key1, _ := sshKey(t, 1)
	key2, fp2 := sshKey(t, 2)
	body := `{"requirement":{"cpu":{"count":1},"gpu":{"count":0},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}},"timeline":2,"ssh_keys":["` + key1 + `"]}`
	post := func(tok, idem, body string) answer {
		return ts.do(request{method: "POST", path: "/v1/rentals", token: tok, body: body, header: map[string]string{IdempotencyHeader: idem}})
	}
	var r rentals.Rental
	a := post(alice, "k-1", body)
	if a.status != http.StatusCreated || a.header.Get(ReplayedHeader) != "" {
		t.Fatalf("create: %d %v %s", a.status, a.header, a.body)
	}
	a.decode(t, &r)
	if r.ID == "" || r.Owner != aliceID || a.header.Get("Location") != "/v1/rentals/"+r.ID || len(r.SSHKeys) != 1 ||
		r.Resource.RAM.Capacity != 1<<30 || !strings.Contains(fake.calls[0], "Create "+aliceID+" k-1") {
		t.Errorf("created %+v (calls %v)", r, fake.calls)
	}
	a = post(alice, "k-1", body)
	if a.status != http.StatusCreated || a.header.Get(ReplayedHeader) != "true" {
		t.Errorf("replay: %d %v", a.status, a.header)
	}
	if a := ts.get("/v1/rentals/"+r.ID, bob); a.status != http.StatusNotFound {
		t.Errorf("another key's rental: %d %s", a.status, a.body)
	}
	var list struct{ Rentals []rentals.Rental }
	ts.get("/v1/rentals", bob).decode(t, &list)
	if list.Rentals == nil || len(list.Rentals) != 0 {
		t.Errorf("bob's rentals %+v, want an empty list", list.Rentals)
	}
	ts.get("/v1/rentals", admin).decode(t, &list)
	if len(list.Rentals) != 1 {
		t.Errorf("admin's view %+v, want every rental", list.Rentals)
	}
	for _, step := range []struct {
		rq   request
		want int
		ok   func(rentals.Rental) bool
	}{
		{request{path: "/v1/rentals/" + r.ID}, 200, func(x rentals.Rental) bool { return x.ID == r.ID }},
		{request{method: "POST", path: "/v1/rentals/" + r.ID + "/extend", body: `{"days":3}`}, 200,
			func(x rentals.Rental) bool { return x.ExpiresAt.Sub(r.ExpiresAt) == 72*time.Hour }},
		{request{method: "POST", path: "/v1/rentals/" + r.ID + "/restart"}, 202, func(x rentals.Rental) bool { return x.ID == r.ID }},
		{request{method: "POST", path: "/v1/rentals/" + r.ID + "/ssh-keys", body: `{"key":"` + key2 + `"}`}, 200,
			func(x rentals.Rental) bool { return len(x.SSHKeys) == 2 }},
		{request{method: "DELETE", path: "/v1/rentals/" + r.ID + "/ssh-keys/" + url.PathEscape(fp2)}, 200,
			func(x rentals.Rental) bool { return len(x.SSHKeys) == 1 }},
		{request{method: "DELETE", path: "/v1/rentals/" + r.ID}, 200,
			func(x rentals.Rental) bool { return x.Status == rentals.StatusReleased && x.ReleasedAt != nil }},
	} {
		step.rq.token = alice
		a := ts.do(step.rq)
		var x rentals.Rental
		if a.status == step.want {
			a.decode(t, &x)
		}
		if a.status != step.want || !step.ok(x) {
			t.Errorf("%s %s: %d %s", step.rq.method, step.rq.path, a.status, a.body)
		}
	}
	if last := fake.calls[len(fake.calls)-1]; last != "Release "+aliceID+" "+r.ID {
		t.Errorf("last call %q: the key's id is the owner", last)
	}
	// An admin acts on every owner's rentals (owner "").
	ts.get("/v1/rentals/"+r.ID, admin)
	if last := fake.calls[len(fake.calls)-1]; last != "Get  "+r.ID {
		t.Errorf("admin call %q, want owner \"\"", last)
	}

	// The service's and the renter's errors, as problems.
	for _, tc := range []struct {
		err    error
		status int
		kind   string
		field  string
		leak   string
	}{
		{fmt.Errorf("rental r_9: %w", rentals.ErrNotFound), 404, kindNotFound, "", ""},
		{rentals.ErrIdempotencyMismatch, 422, kindIdempotency, "", ""},
		{rentals.ErrInProgress, 409, kindConflict, "", ""},
		{rentals.ErrInterrupted, 409, kindConflict, "", ""},
		{&rentals.ReplayedError{Err: rentals.ErrInterrupted}, 409, kindConflict, "", ""},
		{rentals.ErrEnded, 409, kindConflict, "", ""},
		{rentals.ErrLastKey, 409, kindConflict, "", ""},
		{fmt.Errorf("%w (1 CPU)", renter.ErrNoCandidate), 409, kindNoCandidate, "", ""},
		{fmt.Errorf("restart 5F: %w", renter.ErrUnsupported), 409, kindConflict, "", ""},
		{fmt.Errorf("%w: none of the 2 candidates can take the lease now", renter.ErrNoneAvailable), 503, kindUnavailable, "", ""},
		{fmt.Errorf("%w: %w (1 CPU): 5F..", renter.ErrNoneAvailable, renter.ErrAllHeld), 409, kindConflict, "", ""},
		{&renter.HeldError{Hotkey: "5F", UID: 3}, 409, kindConflict, "", ""},
		{fmt.Errorf("%w: 5F (uid 3): 503 busy", renter.ErrUnreachable), 502, kindMiner, "", ""},
		{fmt.Errorf("%w: 5F (uid 3) did not grant the lease", renter.ErrRefused), 502, kindMiner, "", ""},
		{config.Errorf("renter.Request.Timeline", "must be between 1 and 60 days, got 0"), 400, kindInvalid, "timeline", ""},
		{config.Errorf("rentals.CreateRequest.SSHKeys", "too many"), 400, kindInvalid, "ssh_keys", ""},
		{fmt.Errorf("rental: %w", context.DeadlineExceeded), 504, kindTimeout, "", ""},
		{errors.New("open /var/lib/compute/secret.db: disk I/O error"), 500, kindInternal, "", "/var/lib"},
		{errPanic, 500, kindInternal, "", "/srv"},
	} {
		fake.mu.Lock()
		fake.fail = tc.err
		fake.mu.Unlock()
		a := post(alice, "err-"+tc.kind, body)
		if a.status != tc.status {
			t.Errorf("%v: status %d, want %d: %s", tc.err, a.status, tc.status, a.body)
			continue
		}
		p := a.problem(t)
		if p.Type != problemTypeBase+tc.kind || p.Field != tc.field || (tc.leak != "" && strings.Contains(string(a.body), tc.leak)) {
			t.Errorf("%v: %+v", tc.err, p)
		}
		if tc.status == 503 && a.header.Get("Retry-After") == "" {
			t.Errorf("%v: 503 without Retry-After", tc.err)
		}
	}
}

func TestRentalsNotServed(t *testing.T) {
	ts := newTestServer(t, nil)
	tok, _ := ts.key(0, ScopeRent)
	key, _ := sshKey(t, 1)
	for _, rq := range []request{
		{path: "/v1/rentals"},
		{method: "POST", path: "/v1/rentals", body: `{"hotkey":"x","timeline":1,"ssh_keys":["` + key + `"]}`, header: map[string]string{IdempotencyHeader: "a"}},
		{method: "DELETE", path: "/v1/rentals/r_1"},
		{method: "POST", path: "/v1/rentals/r_1/restart"},
	} {
		rq.token = tok
		a := ts.do(rq)
		if a.status != http.StatusNotImplemented || a.problem(t).Type != problemTypeBase+kindNotImplemented {
			t.Errorf("%s %s: %d %s", rq.method, rq.path, a.status, a.body)
		}
	}
	ts2 := newTestServer(t, func(_ *Config, d *Deps) { d.Renter = nil })
	tok2, _ := ts2.key(0, ScopeRead)
	if a := ts2.get("/v1/available", tok2); a.status != http.StatusNotImplemented {
		t.Errorf("available without a renter: %d", a.status)
	}
}

func TestAuditAndMetrics(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Rentals = newFakeRentals() })
	tok, id := ts.key(0, ScopeRent)
	key, _ := sshKey(t, 1)
	start := time.Now().Add(-time.Millisecond)
	ts.do(request{method: "POST", path: "/v1/rentals", token: tok, header: map[string]string{IdempotencyHeader: "audit-1"},
		body: `{"requirement":{"cpu":{"count":1},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + key + `"]}`})
	ts.do(request{method: "DELETE", path: "/v1/rentals/r_404", token: tok})
	ts.do(request{method: "DELETE", path: "/v1/rentals/r_1"})
	ts.get("/v1/rentals", tok) // a read: not audited
	entries, err := ts.net.store.Audit(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, e := range entries {
		if e.At.Before(start) {
			continue
		}
		if e.KeyID == id || (e.KeyID == "" && e.Method == "DELETE" && e.Path == "/v1/rentals/r_1") {
			mine = append(mine, fmt.Sprintf("%s %s %s %d %v %q", e.KeyID, e.Method, e.Path, e.Status, e.Remote != "", e.Detail))
		}
	}
	want := []string{
		fmt.Sprintf(" DELETE /v1/rentals/r_1 401 true %q", "an API key is required: send it as Authorization: Bearer <key>"),
		fmt.Sprintf("%s DELETE /v1/rentals/r_404 404 true %q", id, "rental r_404: no such rental"),
		fmt.Sprintf("%s POST /v1/rentals 201 true %q", id, ""),
	}
	if fmt.Sprint(mine) != fmt.Sprint(want) {
		t.Errorf("audit entries\n%s\nwant\n%s", strings.Join(mine, "\n"), strings.Join(want, "\n"))
	}
	if got := testutil.ToFloat64(ts.srv.metrics.requests.WithLabelValues("POST", "/v1/rentals", "201")); got != 1 {
		t.Errorf("requests_total{POST,/v1/rentals,201} = %v", got)
	}
	if got := testutil.ToFloat64(ts.srv.metrics.requests.WithLabelValues("DELETE", "/v1/rentals/{id}", "404")); got != 1 {
		t.Errorf("requests_total{DELETE,/v1/rentals/{id},404} = %v", got)
	}
	ts.do(request{method: "BREW", path: "/v1/status"})
	if got := testutil.ToFloat64(ts.srv.metrics.requests.WithLabelValues("other", "/v1/status", "405")); got != 1 {
		t.Errorf("an unknown method is labelled other: %v", got)
	}
}

// TestDashboardMounted: the dashboard answers everything outside the API's
// paths; under /v1/ a miss is an API problem, not a page.
func TestDashboardMounted(t *testing.T) {
	ts := newTestServer(t, nil)
	a := ts.get("/", "")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Errorf("/: %d %s", a.status, a.header.Get("Content-Type"))
	}
	if a := ts.get("/v1/", ""); a.status != http.StatusNotFound || a.header.Get("Content-Type") != ProblemContentType {
		t.Errorf("/v1/: %d %s", a.status, a.header.Get("Content-Type"))
	}
}

// TestDeadlines: a write past its deadline answers 504; reads have their
// own, shorter deadline.
func TestDeadlines(t *testing.T) {
	fake := newFakeRentals()
	fake.hang = true
	ts := newTestServer(t, func(c *Config, d *Deps) { c.WriteTimeout = 300 * time.Millisecond; d.Rentals = fake })
	tok, _ := ts.key(0, ScopeRent)
	key, _ := sshKey(t, 1)
	start := time.Now()
	a := ts.do(request{method: "POST", path: "/v1/rentals", token: tok, header: map[string]string{IdempotencyHeader: "slow"},
		body: `{"requirement":{"cpu":{"count":1},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + key + `"]}`})
	if a.status != http.StatusGatewayTimeout || a.problem(t).Type != problemTypeBase+kindTimeout {
		t.Fatalf("slow write: %d %s", a.status, a.body)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered after %v, before the deadline", d)
	}
	if ts.srv.cfg.ReadTimeout != DefaultConfig().ReadTimeout {
		t.Errorf("the read deadline moved: %v", ts.srv.cfg.ReadTimeout)
	}
}
