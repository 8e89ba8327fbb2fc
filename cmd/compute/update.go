package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/release"
	"github.com/sn27/compute/internal/update"
	"github.com/sn27/compute/internal/version"
)

// updateOptions are the auto-update flags of the miner and the validator
// (and the feed and key flags of compute update).
type updateOptions struct {
	Auto      bool
	Feed      string
	PublicKey string
	Interval  time.Duration
	Restart   string
}

// AddFlags registers --update.feed and --update.public_key and, for the
// long-running roles (auto true), --auto_update, --update.interval and
// --update.restart.
func (o *updateOptions) AddFlags(fs *pflag.FlagSet, auto bool) {
	d := update.DefaultConfig()
	fs.StringVar(&o.Feed, "update.feed", d.Feed, "release feed URL: https://, http:// or file://.../"+release.FeedFile+" (a release build has its own built in)")
	fs.StringVar(&o.PublicKey, "update.public_key", d.PublicKey, "minisign public key releases must be signed with, as text (RW...) or a file (a release build has its signer's built in)")
	o.Interval, o.Restart = d.Interval, d.Restart
	if !auto {
		return
	}
	fs.BoolVar(&o.Auto, "auto_update", true, "install newer signed releases from --update.feed and restart into them, never in the middle of a challenge, allocation, challenge round or weights submission (docs/releases.md)")
	fs.DurationVar(&o.Interval, "update.interval", d.Interval, "time between release feed checks (a tenth more at random)")
	fs.StringVar(&o.Restart, "update.restart", d.Restart, "how to restart after an update: exec (re-execute in place, same PID) or exit (exit with status 75 for the service manager to start the new binary)")
}

// config turns the flags into an update.Config.
func (o *updateOptions) config() update.Config {
	c := update.DefaultConfig()
	c.Feed, c.PublicKey, c.Interval, c.Restart = o.Feed, o.PublicKey, o.Interval, o.Restart
	return c
}

// offReason words why auto-update cannot run, with the flags that change it.
func offReason(err error) string {
	switch {
	case errors.Is(err, update.ErrNoFeed):
		return "no release feed: set --update.feed (this build has none built in)"
	case errors.Is(err, update.ErrNoPublicKey):
		return "no public key to verify releases with: set --update.public_key (this build has none built in)"
	case errors.Is(err, update.ErrDevBuild):
		return "this is a development build (release dev), never replaced automatically; `compute update` installs a release by hand"
	}
	return err.Error()
}

// runUpdating runs role until ctx ends, with the updater beside it when
// --auto_update is on and can run. Once the updater installed a release and
// the gate drained, the role is stopped (its context cancelled) and, after
// it returned, the *update.RestartError is returned: main re-executes the new
// binary or exits with status 75.
func (o *updateOptions) runUpdating(ctx context.Context, log *slog.Logger, gate *update.Gate, role func(context.Context) error) error {
	cfg := o.config()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log.Info("compute release", "release", version.Release(), "platform", version.Platform(), "pid", os.Getpid())
	if !o.Auto {
		log.Info("auto-update is off: --auto_update=false")
		return role(ctx)
	}
	if err := cfg.Disabled(); err != nil {
		level := slog.LevelWarn
		if errors.Is(err, update.ErrDevBuild) {
			level = slog.LevelInfo
		}
		log.Log(ctx, level, "auto-update is off: "+offReason(err))
		return role(ctx)
	}
	u, err := update.New(cfg, update.Deps{Gate: gate, Log: log})
	if err != nil {
		log.Warn("auto-update is off: " + operatorMessage(err))
		return role(ctx)
	}
	roleCtx, stopRole := context.WithCancel(ctx)
	defer stopRole()
	updCtx, stopUpdater := context.WithCancel(ctx)
	defer stopUpdater()
	restart := make(chan *update.RestartError, 1)
	updDone := make(chan struct{})
	go func() {
		defer close(updDone)
		var re *update.RestartError
		if err := u.Run(updCtx); errors.As(err, &re) {
			restart <- re
			stopRole()
		}
	}()
	err = role(roleCtx)
	stopUpdater()
	<-updDone
	select {
	case re := <-restart:
		if ctx.Err() != nil { // interrupted meanwhile: stop, the next start runs the new release
			return err
		}
		if err != nil {
			log.Warn("the role ended with an error while stopping for the restart", "err", err)
		}
		log.Info("restarting into the new release", "release", re.To, "binary", re.Path, "how", cfg.Restart)
		return re
	default:
		return err
	}
}

// buildInfo is the compute_build_info gauge (always 1) whose labels name
// the running release, protocol version, platform and Go version: after a
// restart into an update, /metrics shows the new release.
func buildInfo() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "compute_build_info",
		Help: "The running binary: release, protocol version, platform and Go version (always 1).",
	}, []string{"release", "version", "platform", "goversion"})
	g.WithLabelValues(version.Release(), version.String, version.Platform(), runtime.Version()).Set(1)
	return g
}

func newUpdateCommand() *cobra.Command {
	var (
		uo    updateOptions
		check bool
	)
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Install the newest signed release over this binary (--check: only say what would happen)",
		Long: `update reads the release feed (--update.feed) and its signature, checks it with
--update.public_key and, when the feed offers a newer release than this binary, downloads
the binary for this platform beside it, checks its size, SHA-256 and that it runs, and
replaces this binary atomically, keeping the previous one as <binary>.old. A bad signature,
a downgrade and a short or damaged download are refused and change nothing. It does not
restart anything: a miner or validator running with --auto_update restarts itself, others
must be restarted. A development build installs any release. See docs/releases.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := uo.config()
			if err := cfg.Validate(); err != nil {
				return err
			}
			if err := cfg.Disabled(); err != nil && !errors.Is(err, update.ErrDevBuild) {
				return usageError{errors.New(offReason(err))}
			}
			u, err := update.New(cfg, update.Deps{Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				return err
			}
			p, err := u.Check(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if check {
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintf(tw, "current\t%s (platform %s)\n", p.Current, p.Platform)
				fmt.Fprintf(tw, "available\t%s\n", p.Available)
				fmt.Fprintf(tw, "binary\t%s\n", p.Path)
				fmt.Fprintf(tw, "action\t%s\n", p)
				return tw.Flush()
			}
			switch p.Action {
			case update.ActionCurrent:
				fmt.Fprintf(out, "release %s is current: nothing to install\n", p.Current)
				return nil
			case update.ActionDowngrade:
				return fmt.Errorf("refused: the feed offers %s, older than the running %s; a downgrade is never installed (an earlier binary may be kept as %s)",
					p.Available, p.Current, p.Backup())
			case update.ActionNoAsset:
				return fmt.Errorf("release %s has no binary for platform %s", p.Available, p.Platform)
			}
			inst, err := u.Install(cmd.Context(), p)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "installed release %s over %s at %s (the previous binary is %s); restart the miner or validator to run it (with --auto_update they restart themselves)\n",
				inst.To, inst.From, inst.Path, inst.Backup)
			return nil
		},
	}
	uo.AddFlags(cmd.Flags(), false)
	cmd.Flags().BoolVar(&check, "check", false, "only report the current and available releases and what an update would do")
	return cmd
}

// restartAfterUpdate re-executes the new binary when err is an
// *update.RestartError asking for it (the role has stopped and every
// deferred close has run); it returns when err is not one, when the restart
// is an exit (status 75, by report), or when execve failed, which it says.
func restartAfterUpdate(err error) {
	var re *update.RestartError
	if !errors.As(err, &re) {
		return
	}
	if rerr := re.Restart(); rerr != nil {
		fmt.Fprintln(os.Stderr, "compute:", operatorMessage(rerr))
	}
}
