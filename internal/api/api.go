package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/sn27/compute/internal/api/web"
	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
)

// Chain is what the API reads from the chain; chain.Chain implements it.
type Chain interface {
	Block(ctx context.Context) (uint64, error)
	Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error)
}

// Renter finds the miners that can take a requirement; *renter.Renter
// implements it.
type Renter interface {
	Candidates(ctx context.Context, req container.Requirement) ([]renter.Candidate, error)
}

var _ Renter = (*renter.Renter)(nil)

// Rentals is the rentals service (internal/rentals). Owner is the id of
// the API key acting; "" acts on every owner's rentals (an admin key).
type Rentals interface {
	Create(ctx context.Context, owner, idempotencyKey string, req rentals.CreateRequest) (r rentals.Rental, replayed bool, err error)
	List(ctx context.Context, owner string) ([]rentals.Rental, error)
	Get(ctx context.Context, owner, id string) (rentals.Rental, error)
	Release(ctx context.Context, owner, id string) (rentals.Rental, error)
	Extend(ctx context.Context, owner, id string, days int) (rentals.Rental, error)
	Restart(ctx context.Context, owner, id string) (rentals.Rental, error)
	AddSSHKey(ctx context.Context, owner, id, key string) (rentals.Rental, error)
	RemoveSSHKey(ctx context.Context, owner, id, fingerprint string) (rentals.Rental, error)
}

// Deps are the server's collaborators, opened by the caller.
type Deps struct {
	// Store is the validator's store (required): history, specs, keys and
	// the audit log. The caller opens and closes it.
	Store *store.Validator
	// Chain reads the metagraph and the block (required).
	Chain Chain
	// Hotkey is the validator's SS58 hotkey: its weights are the ones shown.
	Hotkey string
	// Renter answers /v1/available (nil: that route answers 501).
	Renter Renter
	// Rentals serves /v1/rentals (nil: those routes answer 501).
	Rentals Rentals
	// Listener is where Run serves (required by Run, not by Handler); the
	// server closes it.
	Listener net.Listener
	// Registry receives the request metrics (nil: a private registry).
	Registry prometheus.Registerer
	// Gatherer, when set, is served at /metrics to keys with the read scope
	// (or to anyone with PublicRead).
	Gatherer prometheus.Gatherer
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Server is the renter API: the routes of routes(), the dashboard at /,
// TLS per Config. The metagraph cache, the rate limiters and the
// last-use times are each guarded by their own mutex.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	tls     *tls.Config // nil: plain HTTP
	metrics *metrics
	limits  *limiters
	handler http.Handler
	started atomic.Bool

	metaMu sync.Mutex
	meta   *chain.Metagraph
	metaAt time.Time

	usedMu sync.Mutex
	used   map[string]time.Time // key id -> last use recorded in the store
}

// New checks cfg and deps, reads the TLS files and builds the handler;
// it serves nothing until Run.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Chain == nil {
		return nil, errors.New("api: the store and the chain are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log.With("component", "api"), now: deps.Now, metrics: m,
		limits: newLimiters(), used: map[string]time.Time{}}
	if cfg.TLS() {
		if s.tls, err = tlsConfig(cfg); err != nil {
			return nil, err
		}
	}
	s.handler = s.buildHandler()
	return s, nil
}

// tlsConfig loads the certificate, its key and the client CAs.
func tlsConfig(cfg Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("api: TLS certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.ClientCA != "" {
		pem, err := os.ReadFile(cfg.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("api: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("api: client CA %s holds no PEM certificate", cfg.ClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Handler is the whole HTTP handler: the API routes, /metrics when a
// Gatherer is set, and the dashboard at /.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	byPattern := map[string][]route{}
	var patterns []string
	for _, rt := range s.routes() {
		if _, ok := byPattern[rt.pattern]; !ok {
			patterns = append(patterns, rt.pattern)
		}
		byPattern[rt.pattern] = append(byPattern[rt.pattern], rt)
	}
	for _, p := range patterns {
		mux.Handle(p, s.dispatch(p, byPattern[p]))
	}
	// Anything else under /v1/ is an API 404, not a dashboard page.
	mux.Handle("/v1/", s.dispatch("/v1/", nil))
	if s.deps.Gatherer != nil {
		metricsRoute := route{method: http.MethodGet, pattern: "/metrics", scope: ScopeRead,
			raw: promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{})}
		mux.Handle("/metrics", s.dispatch("/metrics", []route{metricsRoute}))
	}
	mux.Handle("/", web.Handler())
	return mux
}

// Run serves on Deps.Listener until ctx ends, then lets the requests in
// flight finish (ShutdownGrace) and closes the listener. Once an hour it
// drops audit entries older than AuditMaxAge.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("api: Run called twice")
	}
	ln := s.deps.Listener
	if ln == nil {
		return errors.New("api: no listener")
	}
	defer ln.Close()
	if !s.cfg.TLS() {
		// Config.Validate checked the address; the listener is what counts.
		if host, _, err := net.SplitHostPort(ln.Addr().String()); err != nil || !Loopback(host) {
			return fmt.Errorf("api: the listener is on %s: %w", ln.Addr(), ErrPlainOffLoopback)
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readBodyTimeout,
		// Each route sets its own write deadline (see serveRoute); this one
		// covers the rest (the dashboard, 404s).
		WriteTimeout:   s.cfg.ReadTimeout + 5*time.Second,
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: MaxHeaderBytes,
		TLSConfig:      s.tls,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if s.tls != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("api: serve: %w", err)
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn("requests still running at shutdown were cut", "err", err)
			srv.Close()
		}
		return nil
	})
	g.Go(func() error { s.pruneAudit(gctx); return nil })
	s.log.Info("API serving", "url", s.URL(), "public_read", s.cfg.PublicRead, "mtls", s.cfg.ClientCA != "")
	return g.Wait()
}

// URL is the base URL the API is served at (from the listener's address).
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLS() {
		scheme = "https"
	}
	addr := s.cfg.Addr
	if s.deps.Listener != nil {
		addr = s.deps.Listener.Addr().String()
	}
	return scheme + "://" + addr
}

// pruneAudit drops old audit entries now and then every hour until ctx ends.
func (s *Server) pruneAudit(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := s.deps.Store.PruneAudit(ctx, s.now().Add(-s.cfg.AuditMaxAge))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("pruning the audit log failed", "err", err)
		case n > 0:
			s.log.Info("old audit entries dropped", "entries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
