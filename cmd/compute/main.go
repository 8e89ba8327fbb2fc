// Command compute is the Compute Subnet (Bittensor SN27) in one binary: miner,
// validator, renter, wallets, proof-of-work tools and an embedded dev chain.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/wallet"
)

// Exit codes (documented in `compute --help`).
const (
	exitError       = 1
	exitUsage       = 2
	exitBadPassword = 12
	exitInterrupted = 130
)

// exitCoder lets an error choose the process exit code.
type exitCoder interface{ ExitCode() int }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "compute:", err)
	var ec exitCoder
	switch {
	case errors.As(err, &ec):
		os.Exit(ec.ExitCode())
	case errors.Is(err, wallet.ErrWrongPassword):
		os.Exit(exitBadPassword)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		os.Exit(exitInterrupted)
	default:
		os.Exit(exitError)
	}
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "compute",
		Short: "Compute Subnet (Bittensor SN27): miner, validator, renter and tools in one binary",
		Long: `compute runs the Compute Subnet of Bittensor: miners offer GPU/CPU machines, validators
prove them with hash-cracking challenges and set weights, renters allocate them as containers
reachable by SSH.

Exit codes: 0 success, 1 error, 2 bad usage, 12 wrong wallet password, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newVersionCommand(),
		newWalletCommand(g),
		newChallengeCommand(g),
		newBenchmarkCommand(g),
		newLocalnetCommand(g),
		newMetagraphCommand(g),
		newRegisterCommand(g),
		newMinerCommand(g),
		newValidatorCommand(g),
		newScoreCommand(g),
		newDevnetCommand(g),
		newAllocateCommand(g),
	)
	return root
}
