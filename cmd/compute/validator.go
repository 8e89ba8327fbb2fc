package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/api"
	"github.com/sn27/compute/internal/canary"
	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/update"
	"github.com/sn27/compute/internal/validator"
)

// validatorOptions are the `compute validator` flags.
type validatorOptions struct {
	WhitelistUnrecognized bool
	HardwareQuery         bool
	ChallengeBatch        int
	SpecsBatch            int
	ForcePrometheus       bool
	UpdatedThreshold      float64
	MinMinerVersion       uint32
	OnePerIP              bool

	BlacklistHot, BlacklistCold []string
	WhitelistHot, WhitelistCold []string
	BlacklistExploiters         bool

	ChallengeMin, ChallengeMax uint64
	SpecsEvery, StatusEvery    uint64
	WeightsEvery, PruneEvery   uint64
	SpecsTimeout, ChainTimeout time.Duration

	DataDir, MetricsAddr string
	Score                ScoreFormulaOptions
	Shared               validator.SharedConfig
	Canary               canaryOptions
	API                  apiOptions
}

// AddFlags registers the validator flags with the original's names and defaults.
func (o *validatorOptions) AddFlags(fs *pflag.FlagSet) {
	d := validator.DefaultConfig()
	fs.BoolVar(&o.WhitelistUnrecognized, "validator.whitelist.unrecognized", false, "query miners whose axon announces no version even when the version filter is on")
	fs.BoolVar(&o.HardwareQuery, "validator.perform.hardware.query", d.PerformHardwareQuery, "ask miners for their hardware specs (needed to allocate them)")
	fs.IntVar(&o.ChallengeBatch, "validator.challenge.batch.size", d.ChallengeBatchSize, "miners challenged concurrently; lower it on small machines")
	fs.IntVar(&o.SpecsBatch, "validator.specs.batch.size", d.SpecsBatchSize, "miners asked for specs concurrently")
	fs.BoolVar(&o.ForcePrometheus, "validator.force.update.prometheus", false, "accepted for compatibility: metrics are always served on --metrics.addr, nothing is announced on chain")
	fs.Float64Var(&o.UpdatedThreshold, "validator.whitelist.updated.threshold", d.Filter.UpdatedThreshold, "percent of miners at the minimal version above which outdated miners are not queried")
	fs.Uint32Var(&o.MinMinerVersion, "validator.min.miner.version", d.Filter.MinMinerVersion, "minimal miner axon version (100*major+10*minor+patch)")
	fs.BoolVar(&o.OnePerIP, "validator.one.uid.per.ip", d.Filter.OnePerIP, "query one uid per axon IP (the lowest)")
	fs.StringSliceVar(&o.BlacklistHot, "blacklist.hotkeys", nil, "comma-separated miner hotkeys never queried and never weighted")
	fs.StringSliceVar(&o.BlacklistCold, "blacklist.coldkeys", nil, "comma-separated coldkeys whose miners are never queried")
	fs.BoolVar(&o.BlacklistExploiters, "blacklist.exploiters", true, "also block the built-in list of suspected exploiter hotkeys")
	fs.StringSliceVar(&o.WhitelistHot, "whitelist.hotkeys", nil, "comma-separated hotkeys exempt from the blacklists and the version filter")
	fs.StringSliceVar(&o.WhitelistCold, "whitelist.coldkeys", nil, "comma-separated coldkeys exempt from the blacklists and the version filter")
	fs.Uint64Var(&o.ChallengeMin, "validator.challenge.blocks.min", d.ChallengeMinBlocks, "fewest blocks between challenge rounds")
	fs.Uint64Var(&o.ChallengeMax, "validator.challenge.blocks.max", d.ChallengeMaxBlocks, "most blocks between challenge rounds")
	fs.Uint64Var(&o.SpecsEvery, "validator.specs.blocks", d.SpecsEvery, "blocks between specs queries")
	fs.Uint64Var(&o.StatusEvery, "validator.status.blocks", d.StatusEvery, "blocks between status checks (registration, deregistered miners, versions)")
	fs.Uint64Var(&o.WeightsEvery, "validator.weights.blocks", d.WeightsEvery, "blocks between weights (never below the subnet's rate limit)")
	fs.Uint64Var(&o.PruneEvery, "validator.prune.blocks", d.PruneEvery, "blocks between history retention passes")
	fs.DurationVar(&o.SpecsTimeout, "validator.specs.timeout", d.SpecsTimeout, "timeout of one specs query")
	fs.DurationVar(&o.ChainTimeout, "validator.chain.timeout", d.ChainTimeout, "deadline of every chain call")
	fs.StringVar(&o.DataDir, "validator.data_dir", "", "data directory (default ~/.bittensor/compute/validator/<wallet>/<hotkey>/netuid<N>, mode 0700)")
	fs.StringVar(&o.MetricsAddr, "metrics.addr", validator.DefaultMetricsAddr, "Prometheus /metrics listener (\"\" disables it)")
	fs.BoolVar(&o.Shared.Publish, "validator.shared.publish", d.Shared.Publish, "publish this validator's leases and penalties as its commitment on the subnet (docs/shared-state.md)")
	fs.Uint64Var(&o.Shared.MaxAgeBlocks, "validator.shared.age.blocks", d.Shared.MaxAgeBlocks, "ignore other validators' shared-state records older than this many blocks")
	fs.Float64Var(&o.Shared.PenaltyShare, "validator.shared.penalty.share", d.Shared.PenaltyShare, "a miner counts as penalised when validators holding more than this share of the permitted stake penalise it")
	fs.Float64Var(&o.Shared.Penalty, "validator.shared.penalty", d.Shared.Penalty, "fraction of its score a penalised miner loses (by this validator's checks or the shared state)")
	o.Canary.AddFlags(fs)
	o.API.AddFlags(fs, "")
	// The score flags of `compute score`, prefixed: --validator.weight.time, --validator.timeout, ...
	sfs := pflag.NewFlagSet("score", pflag.ContinueOnError)
	o.Score.AddFlags(sfs)
	sfs.VisitAll(func(f *pflag.Flag) {
		f.Name = "validator." + f.Name
		fs.AddFlag(f)
	})
}

// config turns the flags into a validator.Config.
func (o *validatorOptions) config(netuid uint16) (validator.Config, error) {
	sc, err := o.Score.Config()
	if err != nil {
		return validator.Config{}, err
	}
	cfg := validator.DefaultConfig()
	cfg.Netuid = netuid
	cfg.Score = sc
	cfg.ChallengeMinBlocks, cfg.ChallengeMaxBlocks = o.ChallengeMin, o.ChallengeMax
	cfg.SpecsEvery, cfg.StatusEvery, cfg.WeightsEvery, cfg.PruneEvery = o.SpecsEvery, o.StatusEvery, o.WeightsEvery, o.PruneEvery
	cfg.ChallengeBatchSize, cfg.SpecsBatchSize = o.ChallengeBatch, o.SpecsBatch
	cfg.SpecsTimeout, cfg.ChainTimeout = o.SpecsTimeout, o.ChainTimeout
	cfg.PerformHardwareQuery = o.HardwareQuery
	cfg.Shared = o.Shared
	cfg.Filter = validator.FilterConfig{
		BlacklistHotkeys:      cleanList(o.BlacklistHot),
		BlacklistColdkeys:     cleanList(o.BlacklistCold),
		WhitelistHotkeys:      cleanList(o.WhitelistHot),
		WhitelistColdkeys:     cleanList(o.WhitelistCold),
		WhitelistUnrecognized: o.WhitelistUnrecognized,
		UpdatedThreshold:      o.UpdatedThreshold,
		MinMinerVersion:       o.MinMinerVersion,
		OnePerIP:              o.OnePerIP,
	}
	if o.BlacklistExploiters {
		cfg.Filter.Exploiters = chain.Exploiters()
	}
	return cfg, cfg.Validate()
}

func newValidatorCommand(g *globalOptions) *cobra.Command {
	var (
		co chainOptions
		wo walletOptions
		vo validatorOptions
		uo updateOptions
	)
	cmd := &cobra.Command{
		Use:   "validator",
		Short: "Run a validator: challenge miners, score them and set weights",
		Long: `validator follows the chain block by block: a proof-of-work challenge round every
50-80 blocks, a specs query every 150, a status check every 25 and weights every 100 (never
faster than the subnet's rate limit). History is kept in SQLite in --validator.data_dir,
one transaction per round. Metrics are served on --metrics.addr. The hotkey must be
registered on --netuid with enough stake for a validator permit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.Logger(cmd.ErrOrStderr())
			cfg, err := vo.config(co.Netuid)
			if err != nil {
				return err
			}
			canaryCfg, err := vo.Canary.config(co.Netuid)
			if err != nil {
				return err
			}
			if err := uo.config().Validate(); err != nil {
				return err
			}
			var apiCfg *api.Config
			if vo.API.Addr != "" {
				c, err := vo.API.config(co.Netuid, cfg.Score)
				if err != nil {
					return err
				}
				apiCfg = &c
			}
			dataDir := vo.DataDir
			if dataDir == "" {
				if dataDir, err = validator.DefaultDataDir(wo.Name, wo.Hotkey, co.Netuid); err != nil {
					return err
				}
			}
			hotkey, err := wo.Open().Hotkey()
			if err != nil {
				return fmt.Errorf("hotkey: %w", err)
			}
			c, err := co.Open(cmd, log)
			if err != nil {
				return err
			}
			var tables io.Writer
			if !g.JSON {
				tables = cmd.ErrOrStderr()
			}
			if vo.ForcePrometheus {
				log.Info("--validator.force.update.prometheus has no effect: metrics are served on --metrics.addr", "addr", vo.MetricsAddr)
			}
			gate := update.NewGate()
			return uo.runUpdating(ctx, log, gate, func(ctx context.Context) error {
				return runValidator(ctx, log, cfg, validatorRun{
					DataDir: dataDir, MetricsAddr: vo.MetricsAddr, Tables: tables,
					Deps:   validator.Deps{Chain: c, Hotkey: hotkey, Gate: gate},
					Canary: canaryCfg, API: apiCfg, APIHealth: vo.API.Health,
				})
			})
		},
	}
	co.AddFlags(cmd.Flags())
	wo.AddFlags(cmd.Flags())
	vo.AddFlags(cmd.Flags())
	uo.AddFlags(cmd.Flags(), true)
	return cmd
}

// validatorRun is what runValidator wires besides the configuration.
type validatorRun struct {
	DataDir     string
	MetricsAddr string // "" for none
	Tables      io.Writer
	Deps        validator.Deps // Chain and Hotkey; the store and metrics are added here
	// Canary configures the canary leases run beside the loop (nil: none).
	Canary *canary.Config
	// API configures the renter API served beside the loop (nil: none).
	API *api.Config
	// APIHealth configures the API's rentals health checks (DataDir is set here).
	APIHealth rentals.Config
}

// runValidator opens the store, the metrics listener and the API's
// listener and runs the validator (and the API beside it) until ctx ends.
// Stop order: the loop returns (its round stored), the API stops, then the
// metrics listener closes, then the store.
func runValidator(ctx context.Context, log *slog.Logger, cfg validator.Config, r validatorRun) error {
	if err := os.MkdirAll(r.DataDir, 0o700); err != nil {
		return fmt.Errorf("validator data directory: %w", err)
	}
	st, err := store.OpenValidator(ctx, filepath.Join(r.DataDir, store.ValidatorFile), cfg.StoreConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo())
	if r.MetricsAddr != "" {
		stop, err := serveMetrics(ctx, log, r.MetricsAddr, reg)
		if err != nil {
			return err
		}
		defer stop()
	}
	deps := r.Deps
	deps.Store, deps.Registry, deps.Log, deps.Tables = st, reg, log, r.Tables
	v, err := validator.New(cfg, deps)
	if err != nil {
		return err
	}
	log.Info("validator data", "dir", r.DataDir)
	run := func(ctx context.Context) error { return runWithCanary(ctx, log, v, cfg, st, reg, r) }
	if r.API != nil {
		s, err := apiServer(ctx, log, *r.API, r.APIHealth, st, r.Deps.Chain, r.Deps.Hotkey, r.DataDir, reg)
		if err != nil {
			return err
		}
		loop := run
		run = func(ctx context.Context) error { return beside(ctx, s, loop) }
	}
	if err := run(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		log.Info("validator stopped")
	}
	return nil
}

// serveMetrics serves reg on addr/metrics; stop closes the listener.
func serveMetrics(ctx context.Context, log *slog.Logger, addr string, reg *prometheus.Registry) (stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("flag '--metrics.addr' %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics served", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
