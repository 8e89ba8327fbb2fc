package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/sn27/compute/internal/api"
	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/webhook"
	"github.com/sn27/compute/internal/wire"
)

// apiOptions are the --api.* flags of `compute validator` and `compute api`.
type apiOptions struct {
	Addr                      string
	PublicRead                bool
	TLSCert, TLSKey, ClientCA string
	Rate                      int
	ReadTimeout, WriteTimeout time.Duration
	// Health configures the rentals' health checks (its DataDir is the
	// validator's, set where the store is opened).
	Health rentals.Config
}

// AddFlags registers the API flags; addr is --api.addr's default ("" : off).
func (o *apiOptions) AddFlags(fs *pflag.FlagSet, addr string) {
	d := api.DefaultConfig()
	what := "address of the renter API and dashboard (host:port)"
	if addr == "" {
		what += "; off when empty, e.g. 127.0.0.1:8080"
	}
	fs.StringVar(&o.Addr, "api.addr", addr, what+"; off loopback it needs --api.tls.cert and --api.tls.key")
	fs.BoolVar(&o.PublicRead, "api.public-read", false, "serve the read endpoints (status, miners, history, ...) without an API key")
	fs.StringVar(&o.TLSCert, "api.tls.cert", "", "PEM certificate (chain) the API is served with over TLS")
	fs.StringVar(&o.TLSKey, "api.tls.key", "", "PEM private key of --api.tls.cert")
	fs.StringVar(&o.ClientCA, "api.tls.client_ca", "", "PEM certificate authorities: clients must present a certificate they signed (mutual TLS)")
	fs.IntVar(&o.Rate, "api.rate", d.Rate, "requests a minute per API key without its own rate, and per client address without a key")
	fs.DurationVar(&o.ReadTimeout, "api.timeout.read", d.ReadTimeout, "deadline of a read request")
	fs.DurationVar(&o.WriteTimeout, "api.timeout.write", d.WriteTimeout, "deadline of a write request (an allocation asks miners in turn)")
	h := rentals.DefaultConfig()
	fs.DurationVar(&o.Health.HealthInterval, "api.health.interval", h.HealthInterval, "how often each live rental is probed (TCP connect, SSH login with the health key)")
	fs.IntVar(&o.Health.MaxMisses, "api.health.misses", h.MaxMisses, "failed probes in a row that make a rental unhealthy")
	fs.DurationVar(&o.Health.ProbeTimeout, "api.health.timeout", h.ProbeTimeout, "deadline of one health probe")
	fs.BoolVar(&o.Health.ReleaseUnhealthy, "api.health.release", false, "release a rental's lease when it turns unhealthy")
}

// config is the API configuration of the flags, checked.
func (o *apiOptions) config(netuid uint16, sc score.Config) (api.Config, error) {
	cfg := api.DefaultConfig()
	cfg.Addr, cfg.PublicRead = o.Addr, o.PublicRead
	cfg.TLSCert, cfg.TLSKey, cfg.ClientCA = o.TLSCert, o.TLSKey, o.ClientCA
	cfg.Rate, cfg.ReadTimeout, cfg.WriteTimeout = o.Rate, o.ReadTimeout, o.WriteTimeout
	cfg.Netuid, cfg.Score = netuid, sc
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	h := o.Health
	h.DataDir = "-" // checked here; the data directory is set where the store is opened
	return cfg, h.Validate()
}

// listenAPI opens the API's listener on cfg.Addr; a busy port names the flag.
func listenAPI(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("API: listen on %s: %w (choose another --api.addr)", addr, err)
	}
	return ln, nil
}

// apiStack is the renter API with the rentals service and the webhook
// dispatcher it serves through.
type apiStack struct {
	server  *api.Server
	rentals *rentals.Service
	hooks   *webhook.Dispatcher
}

// apiServer wires the API over a validator's store and chain: the renter
// signs with hotkey; the rentals service (health checks per health, its
// key in dataDir) and the webhook dispatcher serve /v1/rentals. It opens
// the listener; the server closes it.
func apiServer(ctx context.Context, log *slog.Logger, cfg api.Config, health rentals.Config, st *store.Validator, c chain.Chain,
	hotkey wire.Signer, dataDir string, reg prometheus.Registerer) (*apiStack, error) {
	rent, err := renter.New(renter.Config{Netuid: cfg.Netuid, DataDir: dataDir, Score: &cfg.Score},
		renter.Deps{Meta: c, Store: st, Signer: hotkey, Log: log})
	if err != nil {
		return nil, fmt.Errorf("API: %w", err)
	}
	hooks, err := webhook.New(webhook.Config{}, webhook.Deps{Store: st, Targets: st, Log: log})
	if err != nil {
		return nil, fmt.Errorf("API webhooks: %w", err)
	}
	health.DataDir = dataDir
	svc, err := rentals.New(health, rentals.Deps{Store: st, Renter: rent, Notifier: hooks, Log: log})
	if err != nil {
		return nil, fmt.Errorf("API rentals: %w", err)
	}
	ln, err := listenAPI(ctx, cfg.Addr)
	if err != nil {
		return nil, err
	}
	s, err := api.New(cfg, api.Deps{Store: st, Chain: c, Hotkey: hotkey.SS58Address(), Renter: rent, Rentals: svc,
		Listener: ln, Registry: reg, Log: log})
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &apiStack{server: s, rentals: svc, hooks: hooks}, nil
}

// Run serves the API, runs the health checks and sends the webhooks until
// ctx ends or one of them fails, which stops the others.
func (a *apiStack) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, run := range []func(context.Context) error{a.server.Run, a.rentals.Run, a.hooks.Run} {
		g.Go(func() error {
			if err := run(gctx); err != nil {
				return err
			}
			if ctx.Err() == nil {
				return errors.New("API: stopped unexpectedly")
			}
			return nil
		})
	}
	return g.Wait()
}

// beside runs main and the API together: the API stops when main
// returns, and an API that fails stops main.
func beside(ctx context.Context, a *apiStack, main func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	actx, stopAPI := context.WithCancel(gctx)
	defer stopAPI()
	g.Go(func() error {
		defer stopAPI()
		return main(gctx)
	})
	g.Go(func() error { return a.Run(actx) })
	return g.Wait()
}

func newAPICommand(g *globalOptions) *cobra.Command {
	var (
		o           allocateOptions
		ao          apiOptions
		sc          ScoreFormulaOptions
		metricsAddr string
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the renter API and dashboard over a validator's store",
		Long: `api serves the renter API (docs/api.md) and its dashboard over the store and wallet of a
validator, as ` + "`compute validator --api.addr`" + ` does beside its loop: the same data directory,
wallet and chain flags as ` + "`compute allocate`" + `. Read endpoints show the subnet as the validator
sees it; with --api.public-read they need no key. Keys are made with ` + "`compute api keys create`" + `.

Plain HTTP is served on loopback only; elsewhere give --api.tls.cert and --api.tls.key, and
--api.tls.client_ca to require client certificates.

Examples:
  compute api --wallet.name validator --api.addr 127.0.0.1:8080 --api.public-read
  compute api --api.addr 0.0.0.0:8443 --api.tls.cert cert.pem --api.tls.key key.pem
  compute api keys create --name ci --scopes read,rent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.Logger(cmd.ErrOrStderr())
			formula, err := sc.Config()
			if err != nil {
				return err
			}
			cfg, err := ao.config(o.co.Netuid, formula)
			if err != nil {
				return err
			}
			hotkey, err := o.signer()
			if err != nil {
				return err
			}
			c, err := o.co.Open(cmd, log)
			if err != nil {
				return err
			}
			st, dir, err := o.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			if metricsAddr != "" {
				stop, err := serveMetrics(ctx, log, metricsAddr, reg)
				if err != nil {
					return err
				}
				defer stop()
			}
			s, err := apiServer(ctx, log, cfg, ao.Health, st, c, hotkey, dir, reg)
			if err != nil {
				return err
			}
			log.Info("validator store", "dir", dir, "hotkey", hotkey.SS58Address())
			if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	o.addFlags(cmd)
	fs := cmd.Flags()
	ao.AddFlags(fs, api.DefaultConfig().Addr)
	fs.StringVar(&metricsAddr, "metrics.addr", "", "Prometheus /metrics listener (\"\" disables it)")
	// The validator's score flags: --validator.weight.time, --validator.timeout, ...
	sfs := pflag.NewFlagSet("score", pflag.ContinueOnError)
	sc.AddFlags(sfs)
	sfs.VisitAll(func(f *pflag.Flag) {
		f.Name = "validator." + f.Name
		fs.AddFlag(f)
	})
	cmd.AddCommand(newAPIKeysCommand(g, &o))
	return cmd
}

// signer is the hotkey the flags name: --hotkey-uri, else the wallet's.
func (o *allocateOptions) signer() (*wallet.Keypair, error) {
	var (
		kp  *wallet.Keypair
		err error
	)
	if o.hotkeyURI != "" {
		kp, err = wallet.FromURI(o.hotkeyURI)
	} else {
		kp, err = o.wo.Open().Hotkey()
	}
	if err != nil {
		return nil, fmt.Errorf("hotkey: %w", err)
	}
	return kp, nil
}
