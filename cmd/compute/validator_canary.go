package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/sn27/compute/internal/canary"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/validator"
)

// canaryOptions are the `compute validator` flags of the canary leases.
type canaryOptions struct {
	On           bool
	Interval     time.Duration
	Concurrency  int
	Timeout      time.Duration
	LoginTimeout time.Duration
	MaxDisk      string
}

// AddFlags registers the canary flags.
func (o *canaryOptions) AddFlags(fs *pflag.FlagSet) {
	d := canary.DefaultConfig()
	fs.BoolVar(&o.On, "validator.canary", true, "verify miners' specs with short real leases (canary leases, see docs/canary.md); needs the OpenSSH client")
	fs.DurationVar(&o.Interval, "validator.canary.interval", d.Interval, "how often each miner gets a canary lease (jittered by ±20%)")
	fs.IntVar(&o.Concurrency, "validator.canary.concurrency", d.Concurrency, "canary leases open at once")
	fs.DurationVar(&o.Timeout, "validator.canary.timeout", d.Timeout, "deadline of one canary lease: allocation, login and measuring")
	fs.DurationVar(&o.LoginTimeout, "validator.canary.login.timeout", d.LoginTimeout, "how long a granted canary lease may take to let the canary log in")
	fs.StringVar(&o.MaxDisk, "validator.canary.max_disk", "10GiB", "the most disk a canary lease asks for (the miner builds a volume of that size; larger claims are checked up to it)")
}

// config is the canary configuration, nil when the canary is off; the
// data directory is filled in by runValidator.
func (o *canaryOptions) config(netuid uint16) (*canary.Config, error) {
	if !o.On {
		return nil, nil
	}
	cfg := canary.DefaultConfig()
	cfg.Netuid = netuid
	cfg.Interval, cfg.Concurrency, cfg.Timeout, cfg.LoginTimeout = o.Interval, o.Concurrency, o.Timeout, o.LoginTimeout
	disk, err := renter.ParseSize(o.MaxDisk)
	if err != nil {
		return nil, usageError{fmt.Errorf("--validator.canary.max_disk: %w", err)}
	}
	cfg.MaxDisk = disk
	return &cfg, nil
}

// runWithCanary runs the validator loop and, when configured, the canary
// beside it; the canary stops when the loop returns.
func runWithCanary(ctx context.Context, log *slog.Logger, v *validator.Validator, vcfg validator.Config, st *store.Validator,
	reg prometheus.Registerer, r validatorRun) error {
	if r.Canary == nil {
		return v.Run(ctx)
	}
	cfg := *r.Canary
	cfg.DataDir = r.DataDir
	cfg.MaxMinerStake = vcfg.MaxMinerStake
	if cfg.Netuid == 0 {
		cfg.Netuid = vcfg.Netuid
	}
	rent, err := renter.New(renter.Config{Netuid: cfg.Netuid, DataDir: r.DataDir}, renter.Deps{Meta: r.Deps.Chain, Store: st, Signer: r.Deps.Hotkey, Log: log})
	if err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	c, err := canary.New(cfg, canary.Deps{Meta: r.Deps.Chain, Store: st, Leaser: rent, Self: r.Deps.Hotkey.SS58Address(),
		Allocated: v.Allocated, Registry: reg, Log: log})
	if err != nil {
		if errors.Is(err, canary.ErrNoSSH) {
			log.Error("canary leases are off: the OpenSSH client is missing (apt-get install openssh-client, or --validator.canary=false to silence this)", "err", err)
			return v.Run(ctx)
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	cctx, stopCanary := context.WithCancel(gctx)
	defer stopCanary()
	g.Go(func() error {
		defer stopCanary()
		return v.Run(gctx)
	})
	g.Go(func() error { return c.Run(cctx) })
	return g.Wait()
}
