package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sn27/compute/internal/devnet"
)

func newDevnetCommand(g *globalOptions) *cobra.Command {
	var (
		cfg          = devnet.DefaultConfig()
		duration     time.Duration
		logs         bool
		commitReveal bool
	)
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a whole local network: dev chain, validator and miners",
		Long: `devnet starts, in this process, the embedded dev chain (fast blocks, short tempo), one
validator staked above 1024 TAO and --miners miners of different speeds (each answers a
--step later than the previous one; --bad adds one that answers wrong passwords), all on
127.0.0.1 with real axon and dendrite traffic. Dev keys (//Validator, //Miner1..N) are
written unencrypted under --data (a temporary directory by default), never to
~/.bittensor. A summary is redrawn every --refresh; Ctrl-C or --duration stops it and
prints the final leaderboard with the weights the dev chain accepted; --plot FILE.svg
also charts every miner's score and on-chain incentive by block. As on finney, the
validator commits its weights encrypted to a beacon round and the dev chain reveals them
an epoch later (--commit-reveal=false sets them in the clear).

With allocation on (dockerd reachable and the lease image present), the validator's canary
leases check every miner's specs every --canary-interval: a short real lease, an SSH login,
measurements inside the container. --liar adds a miner whose specs claim 8 CPUs while its
leases get one; the summary shows it caught with its reason code (cpu_mismatch), and the
VERIFIED column every miner's verdict.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			cfg.PlainWeights = !commitReveal
			deps := devnet.Deps{Out: cmd.OutOrStdout(), Log: slog.New(slog.DiscardHandler)}
			if f, ok := deps.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				cfg.Terminal = true
			}
			if logs || g.Debug || g.Trace {
				deps.Log = g.Logger(cmd.ErrOrStderr())
			}
			d, err := devnet.New(cfg, deps)
			if err != nil {
				return err
			}
			err = d.Run(ctx)
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Dir, "data", "", "directory for the chain state, stores and dev wallets (default: a temporary one, removed at the end)")
	fs.IntVar(&cfg.Miners, "miners", cfg.Miners, "number of honest miners")
	fs.DurationVar(&cfg.Step, "step", cfg.Step, "extra answer delay of each miner over the previous one")
	fs.BoolVar(&cfg.Bad, "bad", false, "add a miner that answers wrong passwords")
	fs.DurationVar(&cfg.BlockTime, "block-time", cfg.BlockTime, "dev chain block interval")
	fs.Uint16Var(&cfg.Tempo, "tempo", cfg.Tempo, "blocks between Yuma epochs (incentive updates)")
	fs.BoolVar(&commitReveal, "commit-reveal", true, "commit weights encrypted to a beacon round for the chain to reveal, as on finney (false: set them in the clear)")
	fs.IntVar(&cfg.MinDifficulty, "difficulty.min", cfg.MinDifficulty, "minimum challenge difficulty")
	fs.IntVar(&cfg.MaxDifficulty, "difficulty.max", cfg.MaxDifficulty, "maximum challenge difficulty")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "challenge timeout")
	fs.BoolVar(&cfg.Allocation, "allocation", cfg.Allocation, "let miners offer Docker leases when dockerd is reachable")
	fs.StringVar(&cfg.Image, "image", cfg.Image, "the miners' lease image (scripts/build-test-image.sh builds compute-ssh:test)")
	fs.BoolVar(&cfg.Liar, "liar", false, fmt.Sprintf("add a miner whose specs claim %d CPUs while its leases get 1: the canary leases catch it (cpu_mismatch)", devnet.LiarCPUs))
	fs.DurationVar(&cfg.CanaryInterval, "canary-interval", cfg.CanaryInterval, "canary lease interval per miner when allocation is on (negative: no canary leases)")
	fs.DurationVar(&cfg.Refresh, "refresh", cfg.Refresh, "summary refresh interval")
	fs.DurationVar(&duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	fs.BoolVar(&logs, "logs", false, "write the components' logs to stderr")
	fs.StringVar(&cfg.Plot, "plot", "", "at the end, write every miner's score and incentive by block to this SVG file")
	fs.StringVar(&cfg.APIAddr, "api.addr", "", "serve the renter API and dashboard here, read endpoints public (loopback, e.g. 127.0.0.1:8080); with allocation on, an API key that may rent is printed")
	return cmd
}
