package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/store"
)

// handlerFunc answers one API request for an authenticated caller: it
// writes its answer, or returns an error that becomes a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// route is one method on one path of the API.
type route struct {
	method  string
	pattern string // a net/http.ServeMux path pattern
	// scope the caller needs; "" for a public route (no key, no limit).
	scope string
	// write routes get the longer deadline and are audited.
	write bool
	// body: the route reads a JSON body (Content-Type checked, size bounded).
	body bool
	// fallback answers a path or method the API does not serve (404, 405):
	// the caller is identified and limited, never refused for its key.
	fallback bool
	handler  handlerFunc
	raw      http.Handler // instead of handler (no JSON answer of ours)
}

// routes is the API's route table, which the OpenAPI document mirrors
// (TestOpenAPIMatchesRoutes holds them together).
func (s *Server) routes() []route {
	get := func(pattern, scope string, h handlerFunc) route {
		return route{method: http.MethodGet, pattern: pattern, scope: scope, handler: h}
	}
	rent := func(method, pattern string, body bool, h handlerFunc) route {
		return route{method: method, pattern: pattern, scope: ScopeRent, write: method != http.MethodGet, body: body, handler: h}
	}
	return []route{
		get("/healthz", "", s.healthz),
		get("/openapi.json", "", s.openapi),
		get("/v1/status", ScopeRead, s.status),
		get("/v1/miners", ScopeRead, s.miners),
		get("/v1/miners/{hotkey}", ScopeRead, s.miner),
		get("/v1/miners/{hotkey}/history", ScopeRead, s.history),
		get("/v1/gpus", ScopeRead, s.gpus),
		get("/v1/available", ScopeRead, s.available),
		get("/v1/allocations", ScopeRead, s.allocations),
		get("/v1/rounds", ScopeRead, s.rounds),
		get("/v1/weights", ScopeRead, s.weights),
		rent(http.MethodPost, "/v1/rentals", true, s.createRental),
		rent(http.MethodGet, "/v1/rentals", false, s.listRentals),
		rent(http.MethodGet, "/v1/rentals/{id}", false, s.getRental),
		rent(http.MethodDelete, "/v1/rentals/{id}", false, s.releaseRental),
		rent(http.MethodPost, "/v1/rentals/{id}/extend", true, s.extendRental),
		rent(http.MethodPost, "/v1/rentals/{id}/restart", false, s.restartRental),
		rent(http.MethodPost, "/v1/rentals/{id}/ssh-keys", true, s.addSSHKey),
		rent(http.MethodDelete, "/v1/rentals/{id}/ssh-keys/{fingerprint...}", false, s.removeSSHKey),
	}
}

// dispatch serves every method of one path pattern: the route of the
// request's method, or a 405 naming the allowed ones (a 404 for a pattern
// without routes).
func (s *Server) dispatch(pattern string, rs []route) http.Handler {
	var allow []string
	for _, rt := range rs {
		allow = append(allow, rt.method)
		if rt.method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	allowed := strings.Join(slices.Compact(allow), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		for _, rt := range rs {
			if rt.method == method {
				s.serveRoute(w, r, rt)
				return
			}
		}
		rt := route{method: r.Method, pattern: pattern, write: r.Method != http.MethodGet && r.Method != http.MethodHead, fallback: true}
		if len(rs) == 0 {
			rt.handler = func(http.ResponseWriter, *http.Request, *caller) error {
				return problemf(http.StatusNotFound, kindNotFound, "there is no %s (the API's paths are in /openapi.json)", r.URL.Path)
			}
			rt.pattern = "unmatched"
		} else {
			rt.handler = func(w http.ResponseWriter, _ *http.Request, _ *caller) error {
				w.Header().Set("Allow", allowed)
				return problemf(http.StatusMethodNotAllowed, kindMethodNotAllowed, "%s does not take %s; it takes %s", r.URL.Path, r.Method, allowed)
			}
		}
		s.serveRoute(w, r, rt)
	})
}

// recorder keeps the status and the problem detail of an answer, for the
// metrics and the audit log.
type recorder struct {
	http.ResponseWriter
	status int
	detail string
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// serveRoute runs one request through the route's steps: request id,
// deadline, authentication, scope, rate limit, body checks, the handler,
// then the metrics and, for a write, the audit entry.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt route) {
	start := s.now()
	rec := &recorder{ResponseWriter: w}
	id := requestID()
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	c := &caller{remote: r.RemoteAddr}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("request handler panicked", "method", r.Method, "path", r.URL.Path, "request_id", id, "panic", v, "stack", string(debug.Stack()))
			if rec.status == 0 {
				s.writeProblem(rec, r, id, problemf(http.StatusInternalServerError, kindInternal, "the server failed to answer; the request id is in its log"))
			}
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.observe(r.Method, rt.pattern, rec.status, s.now().Sub(start))
		// Every write is audited, but a flood without a key that the
		// rate limit turned away.
		if rt.write && (c.keyID != "" || rec.status != http.StatusTooManyRequests) {
			s.audit(r, c, rec)
		}
	}()

	deadline := s.cfg.ReadTimeout
	if rt.write {
		deadline = s.cfg.WriteTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), deadline)
	defer cancel()
	r = r.WithContext(ctx)
	rc := http.NewResponseController(rec)
	_ = rc.SetWriteDeadline(time.Now().Add(deadline + 5*time.Second))

	if err := s.admit(rec, r, rt, c); err != nil {
		s.writeProblem(rec, r, id, err)
		return
	}
	if rt.raw != nil {
		rt.raw.ServeHTTP(rec, r)
		return
	}
	if err := checkBody(r, rt); err != nil {
		s.writeProblem(rec, r, id, err)
		return
	}
	if rt.body {
		r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
	}
	if err := rt.handler(rec, r, c); err != nil {
		s.writeProblem(rec, r, id, err)
	}
}

// admit authenticates the caller, checks the route's scope and applies the
// rate limit. Public routes admit everyone unlimited; a fallback (404,
// 405) is limited but refuses no one.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rt route, c *caller) error {
	if rt.scope == "" && !rt.fallback {
		return nil
	}
	authErr := s.authenticate(r, c)
	// Requests without a valid key share their address's limit, so that
	// guessing keys is slow too.
	limitKey, perMinute := "addr:"+remoteHost(r.RemoteAddr), s.cfg.Rate
	if c.keyID != "" {
		limitKey = "key:" + c.keyID
		if c.rate > 0 {
			perMinute = c.rate
		}
	}
	if ok, retry := s.limits.allow(limitKey, perMinute, s.now()); !ok {
		secs := int((retry + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		return problemf(http.StatusTooManyRequests, kindRateLimited, "more than %d requests a minute; retry in %d s", perMinute, max(secs, 1))
	}
	if rt.fallback {
		return nil
	}
	if authErr != nil {
		return authErr
	}
	if c.keyID == "" {
		if rt.scope == ScopeRead && s.cfg.PublicRead {
			return nil
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="compute"`)
		return problemf(http.StatusUnauthorized, kindUnauthorized, "an API key is required: send it as Authorization: Bearer <key>")
	}
	if !c.has(rt.scope) {
		return problemf(http.StatusForbidden, kindForbidden, "the key %s lacks the %s scope (it has: %s)", c.keyID, rt.scope, strings.Join(c.scopes, ", "))
	}
	s.touch(r.Context(), c.keyID)
	return nil
}

// touch records a key's use in the store, at most once a minute per key.
func (s *Server) touch(ctx context.Context, keyID string) {
	now := s.now()
	s.usedMu.Lock()
	last, ok := s.used[keyID]
	if ok && now.Sub(last) < time.Minute {
		s.usedMu.Unlock()
		return
	}
	s.used[keyID] = now
	s.usedMu.Unlock()
	if err := s.deps.Store.TouchAPIKey(ctx, keyID, now); err != nil {
		s.log.Warn("recording an API key's use failed", "key", keyID, "err", err)
	}
}

// audit records a write request and its outcome.
func (s *Server) audit(r *http.Request, c *caller, rec *recorder) {
	e := store.AuditEntry{At: s.now(), KeyID: c.keyID, Method: r.Method, Path: r.URL.Path, Status: rec.status,
		Remote: r.RemoteAddr, Detail: rec.detail}
	// The request's own context may be over (its deadline); the entry is still due.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := s.deps.Store.RecordAudit(ctx, e); err != nil {
		s.log.Error("recording an audit entry failed", "method", e.Method, "path", e.Path, "status", e.Status, "key", e.KeyID, "err", err)
	}
}

// remoteHost is the address part of a RemoteAddr.
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// requestID is a fresh random id for a request's log lines and answers.
func requestID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("t%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}
