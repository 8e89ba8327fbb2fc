package wire

import (
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/sn27/compute/internal/chain"
)

// Style selects which Bittensor dendrite generation this dendrite imitates.
type Style int

const (
	// StyleModern is bittensor >= 7.2: version in the 7002000 encoding and a
	// wall-clock nanosecond nonce. The default.
	StyleModern Style = iota
	// StyleLegacy is bittensor 6.x: version 693 and a monotonic nonce.
	StyleLegacy
)

// DendriteConfig configures a Dendrite.
type DendriteConfig struct {
	// Signer is the wallet hotkey that signs every request. Required.
	Signer Signer
	// Style picks modern (>= 7.2) or legacy (6.x) version and nonce rules.
	Style Style
	// Version overrides the announced version (default: DefaultDendriteVersion
	// for StyleModern, Version693 for StyleLegacy).
	Version int64
	// ExternalIP is announced as bt_header_dendrite_ip; targets on this IP
	// are reached on 0.0.0.0, as Bittensor does.
	ExternalIP string
	// MaxConcurrency bounds requests in flight across all queries (default 256).
	MaxConcurrency int
	// MaxResponseBytes bounds a response body (default 8 MiB).
	MaxResponseBytes int64
	// PlainBodies sends every request with no hashed field (the empty body
	// hash of the original subnet's peers) instead of covering Challenge and
	// Allocate fields (CoveredFields). Only for axons that refuse hashed
	// bodies, such as Python bittensor >= 7.2 ones serving the original
	// subnet's classes: a real allocation is then open to a rewritten
	// public_key or ssh_key on the way.
	PlainBodies bool
	// Client overrides the HTTP client (its Timeout is ignored; each request
	// carries its own deadline). Redirects are never followed: a nil
	// CheckRedirect is replaced on a copy of the client.
	Client *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Dendrite is the client side: it signs synapses and sends them to axons.
// Safe for concurrent use; one dendrite keeps one uuid for its lifetime.
type Dendrite struct {
	cfg    DendriteConfig
	hotkey string
	uuid   string
	start  time.Time
	last   atomic.Int64
	sem    chan struct{}
	client *http.Client
	log    *slog.Logger

	// Calls to one axon are sent one after another: an axon accepts only
	// increasing nonces per dendrite, so two calls in flight to the same axon
	// could reach it out of order and the later nonce would be refused.
	targetsMu sync.Mutex
	targets   map[string]*targetLock

	// hashers holds the axons that answered a hashed request with 200: they
	// check body hashes, so a failure from them is never answered by
	// sending the request again unhashed. Bounded by maxHashers.
	hashersMu sync.Mutex
	hashers   map[string]bool
}

// maxHashers bounds the axons a dendrite remembers as checking body hashes.
const maxHashers = 1 << 16

func (d *Dendrite) hasher(key string) bool {
	d.hashersMu.Lock()
	defer d.hashersMu.Unlock()
	return d.hashers[key]
}

func (d *Dendrite) markHasher(key string) {
	d.hashersMu.Lock()
	defer d.hashersMu.Unlock()
	if d.hashers == nil {
		d.hashers = make(map[string]bool)
	}
	if len(d.hashers) < maxHashers {
		d.hashers[key] = true
	}
}

type targetLock struct {
	ch   chan struct{}
	refs int
}

// lockTarget waits until no other call of this dendrite is in flight to the
// axon at key, or ctx ends. The returned function releases it.
func (d *Dendrite) lockTarget(ctx context.Context, key string) (func(), error) {
	d.targetsMu.Lock()
	if d.targets == nil {
		d.targets = make(map[string]*targetLock)
	}
	l := d.targets[key]
	if l == nil {
		l = &targetLock{ch: make(chan struct{}, 1)}
		d.targets[key] = l
	}
	l.refs++
	d.targetsMu.Unlock()
	drop := func() {
		d.targetsMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(d.targets, key)
		}
		d.targetsMu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; drop() }, nil
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
}

// NewDendrite validates cfg and returns a dendrite.
func NewDendrite(cfg DendriteConfig) (*Dendrite, error) {
	if cfg.Signer == nil {
		return nil, errNoSigner
	}
	if cfg.Version == 0 {
		cfg.Version = DefaultDendriteVersion
		if cfg.Style == StyleLegacy {
			cfg.Version = Version693
		}
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 256
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 8 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Axons are chosen by miners: a hostile one must not make this dendrite
	// send its signed request elsewhere (redirects), nor flood it with headers;
	// compression stays off so MaxResponseBytes bounds what is decoded.
	var client *http.Client
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	} else {
		client = &http.Client{Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:           1024,
			MaxIdleConnsPerHost:    16,
			IdleConnTimeout:        60 * time.Second,
			DisableCompression:     true,
			MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		}}
	}
	if client.CheckRedirect == nil {
		client.CheckRedirect = refuseRedirect
	}
	return &Dendrite{
		cfg:    cfg,
		hotkey: cfg.Signer.SS58Address(),
		uuid:   NewUUID(),
		start:  time.Now(),
		sem:    make(chan struct{}, cfg.MaxConcurrency),
		client: client,
		log:    cfg.Logger.With("component", "dendrite"),
	}, nil
}

// MaxResponseHeaderBytes bounds an axon's response headers (the default
// client's limit; a Python axon's headers are a few kilobytes).
const MaxResponseHeaderBytes = 64 << 10

// refuseRedirect makes the client return a redirect as the answer, unfollowed.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// UUID is the dendrite's fixed uuid (bt_header_dendrite_uuid).
func (d *Dendrite) UUID() string { return d.uuid }

// Hotkey is the dendrite's SS58 address.
func (d *Dendrite) Hotkey() string { return d.hotkey }

// Version is the announced dendrite version.
func (d *Dendrite) Version() int64 { return d.cfg.Version }

// nextNonce returns a strictly increasing nonce in the configured style.
func (d *Dendrite) nextNonce() int64 {
	var cand int64
	if d.cfg.Style == StyleLegacy {
		cand = int64(time.Second) + int64(time.Since(d.start)) // monotonic clock
	} else {
		cand = time.Now().UnixNano()
	}
	for {
		last := d.last.Load()
		n := cand
		if n <= last {
			n = last + 1
		}
		if d.last.CompareAndSwap(last, n) {
			return n
		}
	}
}

// Target is an axon to query.
type Target struct {
	UID    int
	Hotkey string // the axon's SS58 hotkey; signed into the request
	IP     string
	Port   int
}

// NeuronTarget is the axon neuron n announced on chain.
func NeuronTarget(n chain.Neuron) Target {
	return Target{UID: int(n.UID), Hotkey: n.Hotkey, IP: n.Axon.IP, Port: int(n.Axon.Port)}
}

// Result is the outcome of one call.
type Result[S any] struct {
	Target        Target
	Synapse       *S // the request with the axon's answer merged in; never nil
	StatusCode    int
	StatusMessage string
	Elapsed       time.Duration
	Err           error // transport or decoding error, nil on any HTTP answer
}

// OK reports whether the axon answered 200.
func (r *Result[S]) OK() bool { return r.StatusCode == http.StatusOK && r.Err == nil }

// Request pairs a target with the synapse to send it.
type Request[S any] struct {
	Target  Target
	Synapse *S
}

// Query sends each request concurrently (bounded by MaxConcurrency) with the
// given per-request timeout and returns one result per request, in order.
func Query[S any, P interface {
	*S
	Synapse
}](ctx context.Context, d *Dendrite, reqs []Request[S], timeout time.Duration) []Result[S] {
	out := make([]Result[S], len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = Call[S, P](ctx, d, reqs[i].Target, reqs[i].Synapse, timeout)
		}()
	}
	wg.Wait()
	return out
}

// Broadcast sends a copy of syn to every target (see Query).
func Broadcast[S any, P interface {
	*S
	Synapse
}](ctx context.Context, d *Dendrite, targets []Target, syn *S, timeout time.Duration) []Result[S] {
	reqs := make([]Request[S], len(targets))
	for i, t := range targets {
		reqs[i] = Request[S]{Target: t, Synapse: syn}
	}
	return Query[S, P](ctx, d, reqs, timeout)
}

// Call sends a copy of syn to one axon and waits for the answer or the
// timeout. syn itself is not modified.
//
// Challenge and Allocate requests cover their fields with the signed body
// hash (CoveredFields, named in required_hash_fields) unless the dendrite has
// PlainBodies. An axon that cannot check such a hash answers 500; a request
// that may be sent unhashed (a challenge, an allocation check, a
// deallocation) is then sent once more without hashed fields, within the same
// timeout, unless that axon has answered a hashed request before. A real
// allocation or a lease action is never sent unhashed this way. Elapsed is the time of the
// attempt that was answered.
func Call[S any, P interface {
	*S
	Synapse
}](ctx context.Context, d *Dendrite, t Target, syn *S, timeout time.Duration) Result[S] {
	local := new(S)
	if syn != nil {
		*local = *syn
	}
	res := Result[S]{Target: t, Synapse: local}
	start := time.Now()
	finish := func(code int, msg string, err error) Result[S] {
		res.Elapsed = time.Since(start)
		b := P(local).Base()
		b.Dendrite.StatusCode, b.Dendrite.StatusMessage = ptr(code), ptr(msg)
		b.Dendrite.ProcessTime = ptr(res.Elapsed.Seconds())
		res.StatusCode, res.StatusMessage, res.Err = code, msg, err
		return res
	}
	if timeout <= 0 {
		timeout = time.Duration(DefaultTimeout * float64(time.Second))
	}
	secs := PyFloat(timeout.Seconds())

	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-ctx.Done():
		return finish(http.StatusRequestTimeout, "Request cancelled before it was sent", ctx.Err())
	}
	start = time.Now()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := fmt.Sprintf("%s|%s|%d", t.Hotkey, t.IP, t.Port)
	unlock, err := d.lockTarget(rctx, key)
	if err != nil {
		return finish(classify(rctx, err, "", secs))
	}
	defer unlock()

	hashed := false
	if c, ok := any(local).(coverer); ok && !d.cfg.PlainBodies {
		hashed = true
		P(local).Base().RequiredHashFields = c.coveredFields()
	}
	code, msg, err := d.attempt(rctx, P(local), t, timeout, secs)
	if hashed && err == nil {
		switch {
		case code == http.StatusOK:
			d.markHasher(key)
		case code == http.StatusInternalServerError && !d.hasher(key):
			if !any(local).(coverer).plainRetry() {
				msg += " (the axon may not check body hashes, as Python bittensor >= 7.2 axons do not: an allocation or a lease action is not sent to it unhashed)"
				break
			}
			// An axon that ignores required_hash_fields computes the empty
			// hash and refuses the request; send it unhashed.
			d.log.Debug("axon refused a hashed body; sending it unhashed", "hotkey", t.Hotkey, "synapse", P(local).SynapseName())
			*local = *new(S)
			if syn != nil {
				*local = *syn
			}
			P(local).Base().RequiredHashFields = nil
			start = time.Now()
			code, msg, err = d.attempt(rctx, P(local), t, timeout, secs)
		}
	}
	return finish(code, msg, err)
}

// attempt sends p once and merges the answer into it.
func (d *Dendrite) attempt(ctx context.Context, p Synapse, t Target, timeout time.Duration, secs string) (int, string, error) {
	req, url, err := d.build(ctx, p, t, timeout)
	if err != nil {
		return http.StatusUnprocessableEntity, "Failed to build request", err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return classify(ctx, err, url, secs)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, d.cfg.MaxResponseBytes+1))
	if err != nil {
		return classify(ctx, err, url, secs)
	}
	if int64(len(body)) > d.cfg.MaxResponseBytes {
		return http.StatusUnprocessableEntity, "Failed to parse response",
			fmt.Errorf("wire: response from %s exceeds %d bytes", url, d.cfg.MaxResponseBytes)
	}
	code, msg, err := d.absorb(p, resp, body)
	if err != nil {
		return http.StatusUnprocessableEntity, "Failed to parse response", fmt.Errorf("wire: response from %s: %w", url, err)
	}
	return code, msg, nil
}

// build fills the dendrite and axon terminals, signs, and builds the HTTP request.
func (d *Dendrite) build(ctx context.Context, p Synapse, t Target, timeout time.Duration) (*http.Request, string, error) {
	if sp, ok := p.(sender); ok {
		sp.prepareSend()
	}
	b := p.Base()
	b.Name = p.SynapseName()
	b.Timeout = timeout.Seconds()
	b.HeaderSize = 0
	b.ComputedBodyHash = ""
	nonce := d.nextNonce()
	dt := TerminalInfo{Version: ptr(d.cfg.Version), Nonce: ptr(nonce), UUID: ptr(d.uuid), Hotkey: ptr(d.hotkey)}
	if d.cfg.ExternalIP != "" {
		dt.IP = ptr(d.cfg.ExternalIP)
	}
	b.Dendrite = dt
	b.Axon = TerminalInfo{IP: ptr(t.IP), Port: ptr(t.Port), Hotkey: ptr(t.Hotkey)}
	bodyHash, err := BodyHash(p)
	if err != nil {
		return nil, "", fmt.Errorf("wire: body hash: %w", err)
	}
	sig, err := SignMessage(d.cfg.Signer, SignatureMessage(nonce, d.hotkey, t.Hotkey, d.uuid, bodyHash))
	if err != nil {
		return nil, "", err
	}
	b.Dendrite.Signature = ptr(sig)
	body, err := json.Marshal(p)
	if err != nil {
		return nil, "", fmt.Errorf("wire: encode %s: %w", b.Name, err)
	}
	b.TotalSize = int64(len(body))
	if body, err = json.Marshal(p); err != nil {
		return nil, "", fmt.Errorf("wire: encode %s: %w", b.Name, err)
	}
	host := t.IP
	if d.cfg.ExternalIP != "" && host == d.cfg.ExternalIP {
		host = "0.0.0.0"
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(t.Port)) + "/" + b.Name
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, url, fmt.Errorf("wire: request to %s: %w", url, err)
	}
	WriteHeaders(req.Header, b, bodyHash)
	req.Header["Content-Type"] = []string{"application/json"}
	return req, url, nil
}

// absorb merges an axon's answer into p as Bittensor's dendrite does and
// returns the resulting status.
func (d *Dendrite) absorb(p Synapse, resp *http.Response, body []byte) (int, string, error) {
	b := p.Base()
	if resp.StatusCode == http.StatusOK {
		sent := *b
		if err := decodeSynapse(body, p); err != nil {
			return 0, "", fmt.Errorf("decode body: %w", err)
		}
		// Our own request data is authoritative where the axon echoed nothing.
		if b.Name == "" {
			b.Name = sent.Name
		}
	} else {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return 0, "", fmt.Errorf("decode body: %w", err)
		}
		b.Axon.StatusCode = ptr(resp.StatusCode)
		var msg string
		if raw, ok := m["message"]; ok {
			_ = json.Unmarshal(raw, &msg)
		}
		b.Axon.StatusMessage = ptr(msg)
	}
	hi, err := ParseHeaders(resp.Header)
	if err != nil {
		return 0, "", err
	}
	mergeTerminal(&b.Dendrite, &hi.Dendrite)
	mergeTerminal(&b.Axon, &hi.Axon)
	code := resp.StatusCode
	if b.Axon.StatusCode != nil {
		code = *b.Axon.StatusCode
	}
	msg := ""
	if b.Axon.StatusMessage != nil {
		msg = *b.Axon.StatusMessage
	}
	return code, msg, nil
}

// classify maps a transport error to Bittensor's dendrite status codes.
func classify(ctx context.Context, err error, url, secs string) (int, string, error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return http.StatusRequestTimeout, "Request timeout after " + secs + " seconds", fmt.Errorf("wire: %s: %w", url, context.DeadlineExceeded)
	}
	if ctx.Err() != nil {
		return http.StatusRequestTimeout, "Request cancelled", fmt.Errorf("wire: %s: %w", url, ctx.Err())
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return http.StatusServiceUnavailable, "Service unavailable at " + url, fmt.Errorf("wire: %w", err)
	}
	return http.StatusUnprocessableEntity, "Failed to parse response", fmt.Errorf("wire: %w", err)
}
