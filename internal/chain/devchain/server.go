package devchain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/config"
)

// API limits.
const (
	maxRequestBytes = 64 << 10
	maxWait         = 30 * time.Second
)

// errorCodes maps typed errors to the API's error codes and HTTP statuses;
// the client maps the codes back. The first match wins.
var errorCodes = []struct {
	err    error
	code   string
	status int
}{
	{chain.ErrBadSignature, "bad_signature", http.StatusUnauthorized},
	{chain.ErrUnknownKey, "unknown_key", http.StatusUnauthorized},
	{chain.ErrReplay, "replay", http.StatusConflict},
	{chain.ErrRateLimited, "rate_limited", http.StatusTooManyRequests},
	{chain.ErrNotRegistered, "not_registered", http.StatusNotFound},
	{chain.ErrAlreadyRegistered, "already_registered", http.StatusConflict},
	{chain.ErrSubnetNotFound, "subnet_not_found", http.StatusNotFound},
	{chain.ErrNotFound, "not_found", http.StatusNotFound},
	{chain.ErrInsufficientBalance, "insufficient_balance", http.StatusPaymentRequired},
	{chain.ErrVersionKey, "version_key", http.StatusBadRequest},
	{chain.ErrInvalidWeights, "invalid_weights", http.StatusBadRequest},
	{chain.ErrNoValidatorPermit, "no_validator_permit", http.StatusForbidden},
	{chain.ErrRegistrationClosed, "registration_closed", http.StatusConflict},
	{chain.ErrCommitRevealEnabled, "commit_reveal_enabled", http.StatusConflict},
	{chain.ErrCommitRevealDisabled, "commit_reveal_disabled", http.StatusConflict},
	{chain.ErrIncorrectCommitRevealVersion, "incorrect_commit_reveal_version", http.StatusBadRequest},
	{chain.ErrTooManyUnrevealedCommits, "too_many_unrevealed_commits", http.StatusTooManyRequests},
	{chain.ErrInvalidRevealRound, "invalid_reveal_round", http.StatusBadRequest},
	{chain.ErrCommitTooLarge, "commit_too_large", http.StatusRequestEntityTooLarge},
	{ErrNotOwner, "not_owner", http.StatusForbidden},
	{ErrSubnetExists, "subnet_exists", http.StatusConflict},
	{ErrFaucetCap, "faucet_cap", http.StatusForbidden},
	{ErrOverflow, "amount_out_of_range", http.StatusBadRequest},
	{ErrInvalidCall, "invalid_request", http.StatusBadRequest},
}

// ServerConfig is the localnet API server's configuration.
type ServerConfig struct {
	// ShutdownGrace bounds how long Run lets requests in flight finish once
	// its context ends (long polls included); then connections are closed.
	ShutdownGrace time.Duration
}

// DefaultServerConfig gives requests in flight 5 s to finish.
func DefaultServerConfig() ServerConfig { return ServerConfig{ShutdownGrace: 5 * time.Second} }

// Validate reports a setting the server cannot run with.
func (c ServerConfig) Validate() error {
	if c.ShutdownGrace < 0 {
		return config.Errorf("devchain.ServerConfig.ShutdownGrace", "must not be negative, got %s", c.ShutdownGrace)
	}
	return nil
}

// ServerDeps are the server's collaborators, opened by the caller.
type ServerDeps struct {
	// Chain is the chain served (required); its block producer (Chain.Run)
	// and its state belong to the caller.
	Chain *Chain
	// Listener is where the API is served (required); Run closes it.
	Listener net.Listener
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// Server serves a chain's HTTP/JSON API (documented in docs/localnet-api.md)
// on a listener until its context ends.
type Server struct {
	cfg ServerConfig
	ln  net.Listener
	log *slog.Logger
	srv *http.Server
}

// NewServer checks cfg and deps; it serves nothing until Run.
func NewServer(cfg ServerConfig, deps ServerDeps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Chain == nil || deps.Listener == nil {
		return nil, errors.New("devchain server: chain and listener are required")
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	return &Server{cfg: cfg, ln: deps.Listener, log: log, srv: newHTTPServer(NewHandler(deps.Chain, log))}, nil
}

// Addr is the address the API is served on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Handler is the API the server serves.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Run serves the API until ctx ends, then stops accepting and lets the
// requests in flight finish within ShutdownGrace. It returns nil when ctx
// ended and the listener's error when serving failed; the listener is closed
// either way.
func (s *Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("localnet API on %s: %w", s.ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
	defer stop()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		s.log.Warn("localnet API: requests still in flight after the grace period were cut", "err", err)
		s.srv.Close()
	}
	<-served
	return nil
}

// newHTTPServer wraps the API handler h in an http.Server whose timeouts
// bound slow or idle clients: headers and body within 10 s, an answer within
// maxWait plus 15 s (long polls included), idle keep-alives 2 minutes, 64 KiB
// of headers.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      maxWait + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// NewHandler returns the HTTP/JSON API of c (documented in
// docs/localnet-api.md), for a Server or a test's httptest.Server.
func NewHandler(c *Chain, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{c: c, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/block", s.block)
	mux.HandleFunc("GET /v1/wait", s.wait)
	mux.HandleFunc("GET /v1/metagraph", s.metagraph)
	mux.HandleFunc("GET /v1/neuron", s.neuron)
	mux.HandleFunc("GET /v1/params", s.params)
	mux.HandleFunc("GET /v1/commitment", s.commitment)
	mux.HandleFunc("GET /v1/account", s.account)
	mux.HandleFunc("GET /v1/issuance", s.issuance)
	mux.HandleFunc("GET /v1/weights", s.weights)
	mux.HandleFunc("GET /v1/weights_info", s.weightsInfo)
	mux.HandleFunc("GET /v1/timelocked_commits", s.timelockedCommits)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("GET /v1/beacon", s.beacon)
	mux.HandleFunc("GET /v1/beacon/pulse", s.pulse)
	mux.HandleFunc("POST /v1/call", s.call)
	mux.HandleFunc("POST /v1/dev/fund", s.fund)
	return mux
}

type server struct {
	c   *Chain
	log *slog.Logger
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *server) reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var body apiError
		body.Error.Code, body.Error.Message = "internal", err.Error()
		status := http.StatusInternalServerError
		for _, e := range errorCodes {
			if errors.Is(err, e.err) {
				body.Error.Code, status = e.code, e.status
				break
			}
		}
		if status == http.StatusInternalServerError {
			s.log.Error("dev chain request failed", "err", err)
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// query parses the query string, refusing parameters other than allowed.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: query: %v", ErrInvalidCall, err)
	}
next:
	for k, v := range q {
		for _, a := range allowed {
			if k == a {
				if len(v) != 1 {
					return nil, fmt.Errorf("%w: parameter %q given %d times", ErrInvalidCall, k, len(v))
				}
				continue next
			}
		}
		return nil, fmt.Errorf("%w: unknown parameter %q", ErrInvalidCall, k)
	}
	return q, nil
}

func parseUint(q url.Values, name string, bits int, required bool) (uint64, error) {
	v := q.Get(name)
	if v == "" {
		if required {
			return 0, fmt.Errorf("%w: parameter %q is required", ErrInvalidCall, name)
		}
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %q: %v", ErrInvalidCall, name, err)
	}
	return n, nil
}

type blockReply struct {
	Block uint64 `json:"block"`
	// TimestampMS is when the block was produced, in Unix milliseconds (0:
	// not known yet); only /v1/block sends it.
	TimestampMS int64 `json:"timestamp_ms,omitempty"`
}

func (s *server) block(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.reply(w, nil, err)
		return
	}
	b, at, err := s.c.BlockTimestamp(r.Context())
	if errors.Is(err, chain.ErrNotFound) {
		err = nil // no block produced yet: the number alone
	}
	reply := blockReply{Block: b}
	if !at.IsZero() {
		reply.TimestampMS = at.UnixMilli()
	}
	s.reply(w, reply, err)
}

// wait long-polls until the chain is past ?after= or ?timeout_ms= passes
// (at most 30 s), then returns the current block.
func (s *server) wait(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "after", "timeout_ms")
	var after, ms uint64
	if err == nil {
		after, err = parseUint(q, "after", 64, true)
	}
	if err == nil {
		ms, err = parseUint(q, "timeout_ms", 32, false)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	d := maxWait
	if ms > 0 && time.Duration(ms)*time.Millisecond < d {
		d = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()
	b, err := s.c.WaitBlock(ctx, after)
	if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
		b, err = s.c.Block(r.Context())
	}
	s.reply(w, blockReply{Block: b}, err)
}

// netuidQuery parses the query (allowing the given keys besides netuid) and
// its required netuid.
func netuidQuery(r *http.Request, keys ...string) (url.Values, uint16, error) {
	q, err := query(r, append([]string{"netuid"}, keys...)...)
	if err != nil {
		return nil, 0, err
	}
	n, err := parseUint(q, "netuid", 16, true)
	return q, uint16(n), err
}

func (s *server) metagraph(w http.ResponseWriter, r *http.Request) {
	_, netuid, err := netuidQuery(r)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	mg, err := s.c.Metagraph(r.Context(), netuid)
	s.reply(w, mg, err)
}

// neuron answers ?netuid=&uid= or ?netuid=&hotkey=.
func (s *server) neuron(w http.ResponseWriter, r *http.Request) {
	q, netuid, err := netuidQuery(r, "uid", "hotkey")
	if err == nil && q.Has("uid") == q.Has("hotkey") {
		err = fmt.Errorf("%w: give exactly one of uid and hotkey", ErrInvalidCall)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	var nr *chain.Neuron
	if q.Has("hotkey") {
		nr, err = s.c.NeuronByHotkey(r.Context(), netuid, q.Get("hotkey"))
	} else {
		var uid uint64
		if uid, err = parseUint(q, "uid", 16, true); err == nil {
			nr, err = s.c.Neuron(r.Context(), netuid, uint16(uid))
		}
	}
	s.reply(w, nr, err)
}

func (s *server) params(w http.ResponseWriter, r *http.Request) {
	_, netuid, err := netuidQuery(r)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	p, err := s.c.Params(r.Context(), netuid)
	s.reply(w, p, err)
}

func (s *server) commitment(w http.ResponseWriter, r *http.Request) {
	q, netuid, err := netuidQuery(r, "hotkey")
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	cm, err := s.c.Commitment(r.Context(), netuid, q.Get("hotkey"))
	s.reply(w, cm, err)
}

func (s *server) account(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "address")
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	a, err := s.c.Account(r.Context(), q.Get("address"))
	s.reply(w, a, err)
}

func (s *server) issuance(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.reply(w, nil, err)
		return
	}
	is, err := s.c.Issuance(r.Context())
	s.reply(w, is, err)
}

// decodeBody reads a size-limited JSON body strictly into v.
func decodeBody(r io.Reader, v any) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxRequestBytes+1))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", ErrInvalidCall, err)
	}
	if len(raw) > maxRequestBytes {
		return fmt.Errorf("%w: body exceeds %d bytes", ErrInvalidCall, maxRequestBytes)
	}
	if err := decodeStrict(raw, v, ""); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidCall, err)
	}
	return nil
}

// DecodeCall decodes a /v1/call request body strictly; exported for fuzzing
// and for tools that relay calls.
func DecodeCall(r io.Reader) (*Call, error) {
	var c Call
	if err := decodeBody(r, &c); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{{"method", c.Method == ""}, {"signer", c.Signer == ""}, {"args", len(c.Args) == 0 || string(c.Args) == "null"}, {"signature", c.Signature == ""}} {
		if f.missing {
			return nil, fmt.Errorf("%w: %s is required", ErrInvalidCall, f.name)
		}
	}
	return &c, nil
}

func (s *server) call(w http.ResponseWriter, r *http.Request) {
	c, err := DecodeCall(r.Body)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	res, err := s.c.Submit(r.Context(), c)
	s.reply(w, res, err)
}

// FundRequest is the body of POST /v1/dev/fund.
type FundRequest struct {
	Address   string `json:"address"`
	AmountRao uint64 `json:"amount"`
}

func (s *server) fund(w http.ResponseWriter, r *http.Request) {
	var req FundRequest
	err := decodeBody(r.Body, &req)
	if err == nil {
		err = s.c.Fund(r.Context(), req.Address, req.AmountRao)
	}
	var acct Account
	if err == nil {
		acct, err = s.c.Account(r.Context(), req.Address)
	}
	s.reply(w, acct, err)
}

// WeightsReply is GET /v1/weights' answer: uid's weights row.
type WeightsReply struct {
	UIDs   []uint16 `json:"uids"`
	Values []uint16 `json:"values"`
}

func (s *server) weights(w http.ResponseWriter, r *http.Request) {
	q, netuid, err := netuidQuery(r, "uid")
	var uid uint64
	if err == nil {
		uid, err = parseUint(q, "uid", 16, true)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	uids, values, err := s.c.Weights(r.Context(), netuid, uint16(uid))
	s.reply(w, WeightsReply{UIDs: uids, Values: values}, err)
}

func (s *server) weightsInfo(w http.ResponseWriter, r *http.Request) {
	q, netuid, err := netuidQuery(r, "hotkey")
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	info, err := s.c.WeightsInfo(r.Context(), netuid, q.Get("hotkey"))
	s.reply(w, info, err)
}

func (s *server) timelockedCommits(w http.ResponseWriter, r *http.Request) {
	q, netuid, err := netuidQuery(r, "hotkey")
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	cs, err := s.c.TimelockedCommits(r.Context(), netuid, q.Get("hotkey"))
	s.reply(w, cs, err)
}

// events answers ?netuid=U (every subnet when absent), &after=ID, &limit=N.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "netuid", "after", "limit")
	var eq EventQuery
	if err == nil {
		var n uint64
		n, err = parseUint(q, "netuid", 16, false)
		eq.Netuid, eq.AllSubnets = uint16(n), !q.Has("netuid")
	}
	if err == nil {
		eq.After, err = parseUint(q, "after", 63, false)
	}
	if err == nil {
		var n uint64
		n, err = parseUint(q, "limit", 16, false)
		eq.Limit = int(n)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	evs, err := s.c.Events(r.Context(), eq)
	s.reply(w, evs, err)
}

func (s *server) beacon(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		s.reply(w, nil, err)
		return
	}
	b, err := s.c.Beacon(r.Context())
	s.reply(w, b, err)
}

// pulse answers ?round=N: the pulse of a published round, not_found for a
// future one.
func (s *server) pulse(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "round")
	var round uint64
	if err == nil {
		round, err = parseUint(q, "round", 64, true)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	p, err := s.c.Pulse(r.Context(), round)
	s.reply(w, p, err)
}
