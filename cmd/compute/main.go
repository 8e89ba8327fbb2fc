// Command compute is the Compute Subnet (Bittensor SN27) in one binary: miner,
// validator, renter, wallets, proof-of-work tools and an embedded dev chain.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
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
	os.Exit(report(os.Stderr, ctx, err))
}

// exitCode maps an error returned by the root command to the process exit
// code documented in `compute --help`; ctx is the signal context.
func exitCode(ctx context.Context, err error) int {
	var ec exitCoder
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.Is(err, wallet.ErrWrongPassword):
		return exitBadPassword
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitInterrupted
	case isCobraUsage(err), isFlagError(err), isFieldError(err):
		return exitUsage
	default:
		return exitError
	}
}

// isCobraUsage recognises the usage errors cobra reports itself before a
// command runs (an unknown subcommand, a missing required flag, extra
// arguments); flag parse errors are marked by the root's FlagErrorFunc.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "required flag(s) ", "accepts ", "if any flags in the group ", "at least one of the flags in the group "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// isFlagError recognises the errors of a bad flag value that the checks
// after parsing word as "flag 'name' ...", "flags 'a' and 'b' ..." or
// "--name VALUE ..." (in this package and in the role packages' config
// checks), so that every bad flag value exits with the usage code.
func isFlagError(err error) bool {
	msg := operatorMessage(err)
	if strings.HasPrefix(msg, "flag '") || strings.HasPrefix(msg, "flags '") {
		return true
	}
	name, ok := strings.CutPrefix(msg, "--")
	if !ok {
		return false
	}
	end := strings.IndexAny(name, " =")
	if end < 1 {
		return false
	}
	for _, c := range name[:end] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "compute",
		Short: "Compute Subnet (Bittensor SN27): miner, validator, renter and tools in one binary",
		Long: `compute runs the Compute Subnet of Bittensor: miners offer GPU/CPU machines, validators
prove them with hash-cracking challenges and set weights, renters allocate them as containers
reachable by SSH.

The chain: --subtensor.network or --subtensor.chain_endpoint on each command, else Bittensor's
$BT_SUBTENSOR_NETWORK and $BT_SUBTENSOR_CHAIN_ENDPOINT, else finney (said on stderr).
One-shot commands print their result and only warnings besides; -v adds their info logs.

Exit codes: 0 success, 1 error, 2 bad usage, 12 wrong wallet password, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Bad flags and flag values exit with the usage code (every subcommand inherits this).
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
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
		newWeightsCommand(g),
	)
	return root
}
