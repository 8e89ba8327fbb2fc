package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/chain/connect"
	"github.com/sn27/compute/internal/doctor"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/pow/hashcat"
	"github.com/sn27/compute/internal/validator"
)

// doctorFlags are the miner and validator flags the doctor reads; it
// accepts (and hides) every other flag of both, so that a role's command line
// can be checked as it is.
var doctorFlags = map[string]bool{
	"axon.port": true, "axon.ip": true, "axon.external_ip": true, "axon.external_port": true,
	"ssh.port": true, "miner.image": true, "miner.allocation": true, "miner.solver": true,
	"miner.hashcat.path": true, "miner.hashcat.workload.profile": true, "miner.hashcat.extended.options": true,
	"miner.data_dir": true, "validator.data_dir": true,
}

func newDoctorCommand(g *globalOptions) *cobra.Command {
	var (
		co      chainOptions
		wo      walletOptions
		mo      minerOptions
		vo      validatorOptions
		mode    string
		timeout time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "doctor --mode miner|validator [the role's flags]",
		Short: "Check a miner's or validator's set-up and say how to fix what is wrong",
		Long: `doctor checks what a miner or validator needs, with the flags the role runs with, and
prints a table: CHECK, RESULT (PASS, WARN, FAIL or N/A), DETAIL and, for each warning and
failure, the FIX. It exits with 1 when a check failed.

Checks: the wallet's coldkeypub and hotkey and their modes (hotkey 0600, directories 0700);
the chain; the hotkey's registration on --netuid (a validator's permit); this host's clock
against the latest block's timestamp; for a miner, the axon announced on chain (one of this
host's addresses, or --axon.external_ip) and whether its port and the lease SSH port
(--ssh.port) answer there, Docker and the lease image, the GPUs, driver and NVIDIA container
toolkit, hashcat when it is the solver; free disk for the data directory; the open-files
limit. Each check has a time limit (--timeout); the doctor never waits for longer.

It accepts every flag of compute miner and compute validator, so a service's command line
can be checked as it is: compute doctor --mode miner <the miner's flags>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.QuietLogger(cmd.ErrOrStderr())
			m := doctor.Mode(mode)
			dataDir := mo.DataDir
			if m == doctor.Validator {
				dataDir = vo.DataDir
			}
			if dataDir == "" {
				var err error
				switch m {
				case doctor.Miner:
					dataDir, err = miner.DefaultDataDir(wo.Name, wo.Hotkey, co.Netuid)
				case doctor.Validator:
					dataDir, err = validator.DefaultDataDir(wo.Name, wo.Hotkey, co.Netuid)
				}
				if err != nil {
					return err
				}
			}
			ccfg, err := co.config()
			if err != nil {
				return err
			}
			co.announce(cmd.ErrOrStderr())
			d, err := doctor.New(doctor.Config{
				Mode: m, Netuid: co.Netuid,
				WalletPath: wo.Path, WalletName: wo.Name, HotkeyName: wo.Hotkey,
				AxonIP: mo.AxonIP, AxonPort: mo.AxonPort, ExternalIP: mo.ExternalIP, ExternalPort: mo.ExternalPort,
				SSHPort: mo.SSHPort, Allocation: mo.Allocation, Image: mo.Image, Solver: mo.Solver,
				Hashcat:      hashcat.Options{Path: mo.HashcatPath, WorkloadProfile: mo.HashcatProfile, ExtendedOptions: mo.HashcatExtended},
				DataDir:      dataDir,
				LocalChain:   co.local(),
				ChainArgs:    chainArgs(cmd.Flags()),
				CheckTimeout: timeout,
			}, doctor.Deps{
				OpenChain: func(ctx context.Context) (doctor.Chain, error) { return connect.Open(ctx, ccfg, log) },
				Log:       log,
			})
			if err != nil {
				return err
			}
			results, err := d.Run(ctx)
			out := cmd.OutOrStdout()
			if asJSON {
				if werr := doctor.WriteJSON(out, results); werr != nil {
					return werr
				}
			} else if werr := doctor.WriteTable(out, results); werr != nil {
				return werr
			}
			if err != nil {
				return err
			}
			if doctor.Failed(results) {
				n := 0
				for _, r := range results {
					if r.Status == doctor.Fail {
						n++
					}
				}
				return fmt.Errorf("%d of %d checks failed: apply the fixes in the table", n, len(results))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&mode, "mode", "", "the role to check: miner or validator")
	fs.DurationVar(&timeout, "timeout", doctor.DefaultCheckTimeout, "time limit of each check (the clock check, which may wait for a block, gets three times as long)")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON")
	co.AddFlags(fs)
	wo.AddFlags(fs)
	mo.AddFlags(fs)
	vfs := pflag.NewFlagSet("validator", pflag.ContinueOnError)
	vo.AddFlags(vfs)
	vfs.VisitAll(func(f *pflag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.AddFlag(f)
		}
	})
	fs.VisitAll(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "miner.") || strings.HasPrefix(f.Name, "validator.") || strings.HasPrefix(f.Name, "axon.") ||
			strings.HasPrefix(f.Name, "blacklist.") || strings.HasPrefix(f.Name, "whitelist.") || strings.HasPrefix(f.Name, "ssh.") || f.Name == "metrics.addr" {
			f.Hidden = !doctorFlags[f.Name]
		}
	})
	_ = cmd.MarkFlagRequired("mode")
	return cmd
}

// chainArgs are the chain flags given on the command line, quoted, for the
// commands the doctor's fixes name ("" when the chain came from the
// environment or the default, which the operator's next command shares).
func chainArgs(fs *pflag.FlagSet) string {
	var args []string
	for _, name := range []string{"subtensor.network", "subtensor.chain_endpoint"} {
		if f := fs.Lookup(name); f != nil && f.Changed {
			args = append(args, "--"+name, shellWord(f.Value.String()))
		}
	}
	return strings.Join(args, " ")
}

// shellWord quotes s for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
