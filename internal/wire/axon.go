package wire

import (
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
	"time"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/version"
)

// Outcome classifies a served request for metrics.
type Outcome string

// Request outcomes, one per axon status.
const (
	OutcomeSuccess     Outcome = "success"     // 200
	OutcomeNotFound    Outcome = "not_found"   // 404 unknown synapse
	OutcomeBadRequest  Outcome = "bad_request" // 400 malformed headers, 405 method
	OutcomeTooLarge    Outcome = "too_large"   // 413 body over the limit
	OutcomeBlacklisted Outcome = "blacklisted" // 403
	OutcomeUnverified  Outcome = "unverified"  // 401 signature or nonce
	OutcomeTimeout     Outcome = "timeout"     // 408/503 priority queue timeout
	OutcomeBadBody     Outcome = "bad_body"    // 500 body hash mismatch or undecodable body
	OutcomeError       Outcome = "error"       // forward failed (500 or a StatusError code)
)

// RequestEvent describes one finished request for an Observer.
type RequestEvent struct {
	Synapse  string // route name ("" when unknown)
	Outcome  Outcome
	Status   int
	Hotkey   string // caller hotkey as sent (possibly unverified); do not use as a metric label
	Duration time.Duration
}

// Observer receives an event per request. It must be cheap and safe for
// concurrent use.
type Observer interface{ ObserveRequest(RequestEvent) }

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(RequestEvent)

// ObserveRequest calls f.
func (f ObserverFunc) ObserveRequest(e RequestEvent) { f(e) }

// Caller is the dendrite behind a request. Blacklist and priority functions
// see it before verification (Verified false); forward functions see it
// verified, through CallerFrom.
type Caller struct {
	Hotkey   string
	IP       string // TCP peer address
	Port     int    // TCP peer port
	Version  int64  // bt_header_dendrite_version (693, 7002000, ...; 0 if absent)
	UUID     string
	Nonce    int64
	Verified bool
}

type callerKey struct{}

// CallerFrom returns the verified caller of the request a forward function serves.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// StatusError is an error a forward function returns to answer with a
// specific status and message; any other error becomes a generic 500.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Code, e.Message) }

// Errorf builds a StatusError.
func Errorf(code int, format string, a ...any) error {
	return &StatusError{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Handler is what a miner attaches for one synapse type S. Forward is
// required; Blacklist and Priority are optional.
type Handler[S any] struct {
	// Forward fills the synapse's output. ctx ends at the request timeout.
	Forward func(ctx context.Context, syn *S) error
	// Blacklist rejects a caller (403) with a reason. It runs before signature
	// verification, so it must only look at c.Hotkey and cheap facts.
	Blacklist func(ctx context.Context, c Caller) (blocked bool, reason string)
	// Priority orders queued requests (higher first), e.g. stake + synapse priority.
	Priority func(ctx context.Context, c Caller) float64
	// RequireHash refuses (401) a request whose required_hash_fields does not
	// name every field CoveredFields gives for it, i.e. one whose signed body
	// hash does not cover what this package's Dendrite covers. Without it a
	// request is checked against the fields it names, whatever they are, and
	// one naming none (every Python peer of the original subnet) is served.
	RequireHash bool
}

// AxonConfig configures an Axon.
type AxonConfig struct {
	// Hotkey is the axon's own SS58 address; signatures are checked against it.
	Hotkey string
	// Version is announced in bt_header_axon_version (default version.Int).
	Version int64
	// MaxConcurrency bounds requests in forward at once (default 64).
	MaxConcurrency int
	// MaxQueued bounds verified requests waiting for a forward slot (default
	// 4 * MaxConcurrency); more are answered 503 at once.
	MaxQueued int
	// MaxConnsPerIP bounds the connections open at once from one IPv4 address
	// or IPv6 /64 (default 64); more are closed as soon as they are accepted.
	MaxConnsPerIP int
	// HeaderTimeout bounds reading a request's headers, and the whole exchange
	// of a request refused before its signature is verified (unknown route,
	// bad headers, blacklisted, unverified), unread body included (default 10 s).
	HeaderTimeout time.Duration
	// MaxBodyBytes bounds the request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxTimeout caps a request's timeout header (default 10 minutes).
	MaxTimeout time.Duration
	// NonceCapacity bounds the remembered dendrite endpoints (default 100000).
	NonceCapacity int
	// ShutdownGrace is how long Run waits for in-flight requests (default 10 s).
	ShutdownGrace time.Duration
	// Observer, if set, is told about every request.
	Observer Observer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now (tests override it).
	Now func() time.Time
}

// Axon is the HTTP server of a neuron: it routes POST/GET /<SynapseName>,
// checks the caller, queues by priority and calls the attached handler.
// Attach handlers before serving. Safe for concurrent use.
type Axon struct {
	cfg    AxonConfig
	log    *slog.Logger
	nonces *nonceStore
	sched  *scheduler

	mu     sync.RWMutex
	routes map[string]*route
	order  []string
}

type route struct {
	name      string
	blacklist func(context.Context, Caller) (bool, string)
	priority  func(context.Context, Caller) float64
	// serve decodes and checks the body, calls forward and encodes the answer.
	serve func(ctx context.Context, body []byte, hi *HeaderInfo, start time.Time) (resp []byte, base *SynapseBase, bodyHash string, err error)
}

// NewAxon validates cfg and returns an axon serving the "Synapse" ping route.
func NewAxon(cfg AxonConfig) (*Axon, error) {
	if cfg.Hotkey == "" {
		return nil, errors.New("wire: axon needs its own hotkey address")
	}
	if cfg.Version == 0 {
		cfg.Version = version.Int
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 64
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 4 * cfg.MaxConcurrency
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = 64
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = 10 * time.Minute
	}
	if cfg.NonceCapacity <= 0 {
		cfg.NonceCapacity = 100_000
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Axon{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "axon"),
		nonces: newNonceStore(cfg.NonceCapacity),
		sched:  newScheduler(cfg.MaxConcurrency, cfg.MaxQueued),
		routes: map[string]*route{},
	}
	if err := Attach(a, Handler[Ping]{Forward: func(context.Context, *Ping) error { return nil }}); err != nil {
		return nil, err
	}
	return a, nil
}

// Attach serves synapse type S with h, replacing an earlier handler for the
// same name (the ping route can be replaced too).
func Attach[S any, P interface {
	*S
	Synapse
}](a *Axon, h Handler[S]) error {
	if h.Forward == nil {
		return errors.New("wire: attach: handler has no Forward function")
	}
	name := P(new(S)).SynapseName()
	r := &route{name: name, blacklist: h.Blacklist, priority: h.Priority}
	r.serve = func(ctx context.Context, body []byte, hi *HeaderInfo, start time.Time) ([]byte, *SynapseBase, string, error) {
		p := P(new(S))
		if d, ok := any(p).(defaulter); ok {
			d.setDefaults()
		}
		if len(body) == 0 {
			body = []byte("{}")
		}
		if err := decodeSynapse(body, p); err != nil {
			return nil, nil, "", &bodyError{msg: "Invalid request body: " + clip.String(err.Error(), 200)}
		}
		got, err := BodyHash(p)
		if err != nil {
			return nil, nil, "", &bodyError{msg: "Invalid request body: " + clip.String(err.Error(), 200)}
		}
		if got != hi.ComputedBodyHash {
			return nil, nil, "", &bodyError{msg: "Hash mismatch between header body hash and computed body hash"}
		}
		if h.RequireHash {
			if missing := uncovered(p); len(missing) > 0 {
				return nil, nil, "", &VerifyError{Msg: fmt.Sprintf("%s requests must cover %s with the signed body hash (required_hash_fields)",
					name, strings.Join(missing, ", "))}
			}
		}
		if err := h.Forward(ctx, (*S)(p)); err != nil {
			return nil, nil, "", err
		}
		b := p.Base()
		if b.Name == "" {
			b.Name = name
		}
		if b.Timeout == 0 {
			b.Timeout = hi.Timeout
		}
		b.Axon.StatusCode = ptr(http.StatusOK)
		b.Axon.StatusMessage = ptr("Success")
		b.Axon.ProcessTime = ptr(time.Since(start).Seconds())
		b.Axon.Version = ptr(a.cfg.Version)
		bh, err := BodyHash(p)
		if err != nil {
			return nil, nil, "", fmt.Errorf("hash response: %w", err)
		}
		b.ComputedBodyHash = ""
		out, err := json.Marshal(p)
		if err != nil {
			return nil, nil, "", fmt.Errorf("encode response: %w", err)
		}
		b.TotalSize = int64(len(out))
		return out, b, bh, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.routes[name]; !ok {
		a.order = append(a.order, name)
	}
	a.routes[name] = r
	return nil
}

// uncovered returns the fields CoveredFields gives for s that its
// required_hash_fields does not name.
func uncovered(s Synapse) []string {
	named := map[string]bool{}
	for _, n := range s.Base().RequiredHashFields {
		named[n] = true
	}
	var missing []string
	for _, f := range CoveredFields(s) {
		if !named[f] {
			missing = append(missing, f)
		}
	}
	return missing
}

type bodyError struct{ msg string }

func (e *bodyError) Error() string { return e.msg }

// Serve serves on ln until ctx ends, then stops accepting, waits up to
// ShutdownGrace for in-flight requests, cancels the rest and returns.
// Connections are capped per source address (MaxConnsPerIP).
func (a *Axon) Serve(ctx context.Context, ln net.Listener) error {
	ln = newIPLimitListener(ln, a.cfg.MaxConnsPerIP)
	// Request contexts outlive ctx by the grace period so in-flight forwards
	// can finish; they are cancelled when the grace period is over.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	// ReadTimeout and WriteTimeout bound every request until it is verified;
	// ServeHTTP then extends both to the request's own deadline. Without them a
	// caller refused before verification could trickle a declared body that
	// the server drains after the handler returns, holding the connection.
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: a.cfg.HeaderTimeout,
		ReadTimeout:       a.cfg.HeaderTimeout,
		WriteTimeout:      a.cfg.HeaderTimeout,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("axon serving", "addr", ln.Addr().String(), "hotkey", a.cfg.Hotkey)
	select {
	case err := <-errc:
		return fmt.Errorf("wire: axon serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		a.log.Warn("axon shutdown grace period over; cancelling in-flight requests", "grace", a.cfg.ShutdownGrace)
		cancelBase()
		_ = srv.Close()
	}
	<-errc
	return nil
}

// ServeHTTP implements the Bittensor axon pipeline: route, headers,
// blacklist, signature and nonce, priority queue, body and forward, response.
func (a *Axon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{a: a, w: w, r: r, start: a.cfg.Now()}
	defer x.observe()
	if !x.route() || !x.readHeaders() {
		return
	}
	ctx, cancel := context.WithDeadline(r.Context(), x.deadline)
	defer cancel()
	if !x.admit(ctx) || !x.verify() || !x.enqueue(ctx) {
		return
	}
	defer a.sched.release()
	out, base, bodyHash, ok := x.forward(ctx)
	if !ok {
		return
	}
	x.respond(out, base, bodyHash)
}

// exchange is one request on its way through the axon pipeline. Each step
// answers the caller itself when it refuses the request, and reports whether
// the pipeline goes on.
type exchange struct {
	a     *Axon
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	ev    RequestEvent
	// verified is set once the signature and nonce are checked.
	verified bool

	rt       *route
	hi       *HeaderInfo
	caller   Caller
	timeout  time.Duration // the request's timeout header, capped
	deadline time.Time
}

// observe tells the Observer, if any, how the request ended.
func (x *exchange) observe() {
	if x.a.cfg.Observer != nil {
		x.ev.Duration = time.Since(x.start)
		x.a.cfg.Observer.ObserveRequest(x.ev)
	}
}

// fail answers the caller with an error and records the outcome.
func (x *exchange) fail(status int, outcome Outcome, msg string) {
	x.ev.Status, x.ev.Outcome = status, outcome
	if !x.verified {
		// An unverified caller gets no keep-alive: each refusal costs it a
		// new connection, and the server does not wait for its body.
		x.w.Header().Set("Connection", "close")
	}
	x.a.writeError(x.w, status, msg, x.hi)
}

// route (step 1) finds the synapse the path names and checks the method.
func (x *exchange) route() bool {
	a := x.a
	name := strings.TrimPrefix(x.r.URL.Path, "/")
	a.mu.RLock()
	rt, ok := a.routes[name]
	var names []string
	if !ok {
		names = append(names, a.order...)
	}
	a.mu.RUnlock()
	if !ok {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = PyStrRepr(n)
		}
		x.fail(http.StatusNotFound, OutcomeNotFound,
			fmt.Sprintf("Synapse name '%s' not found. Available synapses [%s]", clip.String(name, 64), strings.Join(q, ", ")))
		return false
	}
	x.rt = rt
	x.ev.Synapse = name
	if x.r.Method != http.MethodPost && x.r.Method != http.MethodGet {
		x.fail(http.StatusMethodNotAllowed, OutcomeBadRequest, "Method Not Allowed")
		return false
	}
	return true
}

// readHeaders (step 2) parses the bt_header_* headers, learns the caller,
// refuses a declared body over the limit and sets the request's deadline.
func (x *exchange) readHeaders() bool {
	a := x.a
	hi, err := ParseHeaders(x.r.Header)
	if err != nil {
		x.fail(http.StatusBadRequest, OutcomeBadRequest, "Improperly formatted request: "+strings.TrimPrefix(err.Error(), "wire: "))
		return false
	}
	hi.Name = x.rt.name
	x.hi = hi
	x.caller = callerOf(x.r, hi)
	x.ev.Hotkey = x.caller.Hotkey
	if x.r.ContentLength > a.cfg.MaxBodyBytes {
		x.fail(http.StatusRequestEntityTooLarge, OutcomeTooLarge, fmt.Sprintf("Request body too large: the limit is %d bytes", a.cfg.MaxBodyBytes))
		return false
	}
	// The timeout header is not signed: cap it before converting (a huge
	// value would overflow a Duration) and use the capped value everywhere.
	x.timeout = a.cfg.MaxTimeout
	if hi.Timeout <= 0 {
		x.timeout = time.Duration(DefaultTimeout * float64(time.Second))
	} else if hi.Timeout < a.cfg.MaxTimeout.Seconds() {
		x.timeout = time.Duration(hi.Timeout * float64(time.Second))
	}
	x.deadline = x.start.Add(x.timeout)
	return true
}

// callerOf returns the (unverified) caller the request's TCP peer and
// dendrite headers describe, and records the peer in hi's dendrite terminal.
func callerOf(r *http.Request, hi *HeaderInfo) Caller {
	caller := Caller{}
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		caller.IP = host
		caller.Port, _ = strconv.Atoi(port)
	}
	d := &hi.Dendrite
	d.IP, d.Port = ptr(caller.IP), ptr(caller.Port)
	if d.Hotkey != nil {
		caller.Hotkey = *d.Hotkey
	}
	if d.Version != nil {
		caller.Version = *d.Version
	}
	if d.UUID != nil {
		caller.UUID = *d.UUID
	}
	if d.Nonce != nil {
		caller.Nonce = *d.Nonce
	}
	return caller
}

// admit (step 3) asks the route's blacklist, before verification, as
// Bittensor does.
func (x *exchange) admit(ctx context.Context) bool {
	if x.rt.blacklist != nil {
		if blocked, reason := x.rt.blacklist(ctx, x.caller); blocked {
			x.fail(http.StatusForbidden, OutcomeBlacklisted, fmt.Sprintf("Forbidden. Key is blacklisted: %s.", reason))
			return false
		}
	}
	return true
}

// verify (step 4) checks the signature and nonce; only a verified caller
// gets its request's own (longer) read and write deadlines.
func (x *exchange) verify() bool {
	if err := x.a.verify(x.hi, x.timeout, x.start); err != nil {
		msg := err.Error()
		var ve *VerifyError
		if !errors.As(err, &ve) {
			msg = "verification failed"
		}
		x.fail(http.StatusUnauthorized, OutcomeUnverified, "Not Verified with error: "+msg)
		return false
	}
	x.caller.Verified = true
	x.verified = true
	rc := http.NewResponseController(x.w)
	_ = rc.SetReadDeadline(x.deadline)
	_ = rc.SetWriteDeadline(x.deadline.Add(5 * time.Second))
	return true
}

// enqueue (step 5) waits for a forward slot in priority order. When it
// reports true the caller must release the slot.
func (x *exchange) enqueue(ctx context.Context) bool {
	prio := 0.0
	if x.rt.priority != nil {
		prio = x.rt.priority(ctx, x.caller)
	}
	err := x.a.sched.acquire(ctx, prio)
	if err == nil {
		return true
	}
	if errors.Is(err, errQueueFull) {
		x.fail(http.StatusServiceUnavailable, OutcomeTimeout, "Service busy: too many requests are waiting")
		return false
	}
	status := http.StatusServiceUnavailable
	if x.caller.Version >= Version720 {
		status = http.StatusRequestTimeout
	}
	x.fail(status, OutcomeTimeout, fmt.Sprintf("Response timeout after: %ss", PyFloat(x.timeout.Seconds())))
	return false
}

// forward (step 6) reads the body, and has the route check its hash and
// call the attached handler.
func (x *exchange) forward(ctx context.Context) (out []byte, base *SynapseBase, bodyHash string, ok bool) {
	a := x.a
	body, err := io.ReadAll(http.MaxBytesReader(x.w, x.r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			x.fail(http.StatusRequestEntityTooLarge, OutcomeTooLarge, fmt.Sprintf("Request body too large: the limit is %d bytes", a.cfg.MaxBodyBytes))
			return nil, nil, "", false
		}
		x.fail(http.StatusBadRequest, OutcomeBadRequest, "Could not read request body")
		return nil, nil, "", false
	}
	fctx := context.WithValue(ctx, callerKey{}, x.caller)
	out, base, bodyHash, err = serveRecovered(fctx, x.rt, body, x.hi, x.start)
	if err != nil {
		x.failForward(err)
		return nil, nil, "", false
	}
	return out, base, bodyHash, true
}

// failForward answers a request whose route refused it or whose handler failed.
func (x *exchange) failForward(err error) {
	var be *bodyError
	var se *StatusError
	var ve *VerifyError
	switch {
	case errors.As(err, &ve):
		x.fail(http.StatusUnauthorized, OutcomeUnverified, "Not Verified with error: "+ve.Msg)
	case errors.As(err, &be):
		x.fail(http.StatusInternalServerError, OutcomeBadBody, "Internal server error with error: "+be.msg)
	case errors.As(err, &se):
		x.fail(se.Code, OutcomeError, se.Message)
	default:
		id := NewUUID()
		x.a.log.Error("forward failed", "synapse", x.rt.name, "caller", x.caller.Hotkey, "error_id", id, "err", err)
		x.fail(http.StatusInternalServerError, OutcomeError, "Internal Server Error #"+id)
	}
}

// respond (step 7) writes the filled synapse with its bt_header_* headers.
func (x *exchange) respond(out []byte, base *SynapseBase, bodyHash string) {
	h := x.w.Header()
	WriteHeaders(h, base, bodyHash)
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(out)
	x.ev.Status, x.ev.Outcome = http.StatusOK, OutcomeSuccess
}

// serveRecovered runs a route and turns a panic in the attached handler into
// an error (a generic 500 for the caller, logged with its id).
func serveRecovered(ctx context.Context, rt *route, body []byte, hi *HeaderInfo, start time.Time) (out []byte, base *SynapseBase, bodyHash string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s handler panicked: %v", rt.name, p)
		}
	}()
	return rt.serve(ctx, body, hi, start)
}

// verify checks the nonce rules and the signature, then records the nonce.
// timeout is the request's capped timeout: the unsigned header must not widen
// the freshness window beyond what the axon would serve.
func (a *Axon) verify(hi *HeaderInfo, timeout time.Duration, now time.Time) error {
	d := &hi.Dendrite
	if d.Hotkey == nil || *d.Hotkey == "" {
		return verifyErr("No SS58 formatted address or public key provided.")
	}
	if d.Nonce == nil {
		return verifyErr("Missing Nonce")
	}
	uuid := ""
	if d.UUID != nil {
		uuid = *d.UUID
	}
	var ver int64
	if d.Version != nil {
		ver = *d.Version
	}
	key := *d.Hotkey + ":" + uuid
	if err := checkFreshness(*d.Nonce, ver, timeout.Seconds(), now); err != nil {
		return err
	}
	// Bittensor requires a nonce above the last one accepted; this axon
	// verifies requests in parallel, so it also accepts unseen nonces a little
	// below it (NonceReorderWindow), as a Python axon serving them in arrival
	// order would have.
	if !a.nonces.check(key, *d.Nonce) {
		return staleNonce(ver)
	}
	if err := VerifySignature(hi, a.cfg.Hotkey); err != nil {
		return err
	}
	if !a.nonces.commit(key, *d.Nonce) {
		return staleNonce(ver)
	}
	return nil
}

// writeError answers {"message": msg} with the status also in lowercase
// bt_header_axon_* headers, so every dendrite generation reads it.
func (a *Axon) writeError(w http.ResponseWriter, status int, msg string, hi *HeaderInfo) {
	b := SynapseBase{Name: "Synapse", Timeout: DefaultTimeout}
	hash := ""
	if hi != nil {
		b.Name, b.Timeout = hi.Name, hi.Timeout
		b.Dendrite = hi.Dendrite
		b.Axon = hi.Axon
		hash = hi.ComputedBodyHash
	}
	b.Axon.StatusCode = ptr(status)
	b.Axon.StatusMessage = ptr(msg)
	b.Axon.Version = ptr(a.cfg.Version)
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	h := w.Header()
	WriteHeaders(h, &b, hash)
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
