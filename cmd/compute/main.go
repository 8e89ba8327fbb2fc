// Command compute is the Compute Subnet (Bittensor SN27) in one binary: miner,
// validator, renter, wallets, proof-of-work tools and an embedded dev chain.
package main

import (
	"context"
	"errors"
	"fmt"
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
	restartAfterUpdate(err)
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
	case isFlagError(err), isFieldError(err):
		return exitUsage
	default:
		return exitError
	}
}

// typedUsage makes the usage errors cobra finds itself typed (usageError),
// through cobra's own hooks rather than its message texts: each runnable
// command's Args validator also checks the required flags and flag groups (cobra
// checks them only after Args), and the root refuses an unknown subcommand. Bad
// flags and flag values are typed by the root's FlagErrorFunc.
func typedUsage(c *cobra.Command) {
	for _, sub := range c.Commands() {
		typedUsage(sub)
	}
	if !c.HasParent() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageError{unknownCommand(cmd, args[0])}
		}
		return
	}
	if !c.Runnable() {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if check != nil {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
		}
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return usageError{err}
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// unknownCommand words an unknown subcommand as cobra does, with its suggestions.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return errors.New(msg)
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

Exit codes: 0 success, 1 error, 2 bad usage, 12 wrong wallet password, 75 restart into an
installed update (--update.restart exit; docs/releases.md), 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Bad flags and flag values exit with the usage code (every subcommand inherits this).
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newVersionCommand(),
		newUpdateCommand(),
		newReleaseCommand(),
		newWalletCommand(),
		newChallengeCommand(g),
		newBenchmarkCommand(g),
		newLocalnetCommand(g),
		newMetagraphCommand(g),
		newRegisterCommand(g),
		newMinerCommand(g),
		newValidatorCommand(g),
		newScoreCommand(),
		newDevnetCommand(g),
		newAllocateCommand(g),
		newAPICommand(g),
		newWeightsCommand(g),
		newDoctorCommand(g),
		newServiceCommand(g),
	)
	typedUsage(root)
	hintErrors(root)
	return root
}
