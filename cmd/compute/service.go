package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/service"
)

// serviceOptions are the flags of compute service install and uninstall.
type serviceOptions struct {
	User, UnitDir, Binary, Name string
	DryRun                      bool
	RestartSec                  time.Duration
}

func (o *serviceOptions) AddFlags(fs *pflag.FlagSet, install bool) {
	fs.StringVar(&o.Name, "name", "", "unit name (default compute-<role>); one per miner or validator on this host")
	fs.StringVar(&o.UnitDir, "unit-dir", service.DefaultUnitDir, "directory of the unit file")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print what would be done (install: the unit) and change nothing")
	if install {
		fs.StringVar(&o.User, "user", service.DefaultUser, "user the service runs as; created as a system user (home /var/lib/<user>) when missing")
		fs.StringVar(&o.Binary, "binary", "", "compute executable the unit runs (default: this one, symbolic links resolved)")
		fs.DurationVar(&o.RestartSec, "restart-sec", service.DefaultRestartSec, "pause before a restart")
	}
}

func newServiceCommand(g *globalOptions) *cobra.Command {
	svc := &cobra.Command{
		Use:   "service",
		Short: "Install or remove the miner or validator as a systemd service",
		Long: `service installs compute miner or compute validator as a systemd service: a hardened unit
running as a system user of its own, restarted on failure. See docs/deploy.md.`,
	}
	svc.AddCommand(newServiceInstallCommand(g), newServiceUninstallCommand())
	return svc
}

func newServiceInstallCommand(g *globalOptions) *cobra.Command {
	var o serviceOptions
	cmd := &cobra.Command{
		Use:   "install miner|validator [flags] [the role's flags]",
		Short: "Write, enable and start a systemd unit running the miner or validator",
		Long: `install writes /etc/systemd/system/compute-<role>.service running compute <role> with the
role's flags, which follow the role (after --, or mixed with this command's own flags), checked
as the role checks them and quoted for systemd. The unit runs as --user (created with useradd
when missing, home /var/lib/<user>), whose ~/.bittensor holds the wallets; it restarts on
failure, and on exit code 75 (compute replaced itself with an update). Then, when systemd runs,
it runs systemctl daemon-reload and enable --now; otherwise it prints those commands.

  compute service install miner --netuid 27 --wallet.name miner --subtensor.network finney
  compute service install validator --user validator -- --netuid 27 --wallet.name val

Check the set-up with compute doctor --mode <role> and the same flags.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			own, roleArgs, help, err := splitServiceArgs(cmd.Flags(), args)
			if err != nil {
				return usageError{err}
			}
			if help {
				return cmd.Help()
			}
			if err := cmd.Flags().Parse(own); err != nil {
				return usageError{err}
			}
			if len(roleArgs) == 0 {
				return usageError{errors.New("name the role to install: miner or validator")}
			}
			role, roleArgs := roleArgs[0], roleArgs[1:]
			if err := checkRoleArgs(role, roleArgs); err != nil {
				return err
			}
			cfg, err := o.config(role, roleArgs)
			if err != nil {
				return err
			}
			if !hasChainFlag(roleArgs) {
				fmt.Fprintf(cmd.ErrOrStderr(), "compute: the %s service will use the finney chain: its flags name none (--subtensor.network or --subtensor.chain_endpoint), and a service does not see this shell's $%s or $%s\n",
					role, envNetwork, envEndpoint)
			}
			err = service.Install(cmd.Context(), cfg, service.Deps{Out: cmd.OutOrStdout()})
			return rootHint(err, "install")
		},
	}
	o.AddFlags(cmd.Flags(), true)
	return cmd
}

func newServiceUninstallCommand() *cobra.Command {
	var o serviceOptions
	cmd := &cobra.Command{
		Use:   "uninstall miner|validator",
		Short: "Stop, disable and remove the unit install wrote (the user and its wallets stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			role := service.Role(args[0])
			if role != service.Miner && role != service.Validator {
				return usageError{fmt.Errorf("the role %q is neither miner nor validator", args[0])}
			}
			err := service.Uninstall(cmd.Context(), service.Config{Role: role, Name: o.Name, UnitDir: o.UnitDir, DryRun: o.DryRun},
				service.Deps{Out: cmd.OutOrStdout()})
			return rootHint(err, "uninstall")
		},
	}
	o.AddFlags(cmd.Flags(), false)
	return cmd
}

// rootHint adds, to a refused write, that installing needs root.
func rootHint(err error, verb string) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w (run it as root: sudo compute service %s ...)", err, verb)
	}
	return err
}

// config turns the flags into a service.Config.
func (o *serviceOptions) config(role string, roleArgs []string) (service.Config, error) {
	bin := o.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return service.Config{}, fmt.Errorf("find this executable (give --binary): %w", err)
		}
		if bin, err = filepath.EvalSymlinks(exe); err != nil {
			return service.Config{}, fmt.Errorf("resolve %s (give --binary): %w", exe, err)
		}
	}
	return service.Config{
		Role: service.Role(role), Name: o.Name, Binary: bin, Args: roleArgs, User: o.User,
		UnitDir: o.UnitDir, DryRun: o.DryRun, RestartSec: o.RestartSec,
	}, nil
}

// splitServiceArgs separates this command's own flags (those fs defines,
// before a "--") from the role and its flags, keeping their order; help
// reports -h or --help among the own flags.
func splitServiceArgs(fs *pflag.FlagSet, args []string) (own, rest []string, help bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return own, append(rest, args[i+1:]...), help, nil
		}
		if a == "-h" || a == "--help" {
			help = true
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f := fs.Lookup(name)
		if !strings.HasPrefix(a, "--") || f == nil {
			rest = append(rest, a)
			continue
		}
		own = append(own, a)
		if !hasValue && f.NoOptDefVal == "" {
			if i+1 >= len(args) {
				return nil, nil, false, fmt.Errorf("flag needs an argument: --%s", name)
			}
			i++
			own = append(own, args[i])
		}
	}
	return own, rest, help, nil
}

// checkRoleArgs parses the role's flags as the role would, so that a typo
// is refused now rather than when the service starts.
func checkRoleArgs(role string, args []string) error {
	g := &globalOptions{}
	var c *cobra.Command
	switch role {
	case "miner":
		c = newMinerCommand(g)
	case "validator":
		c = newValidatorCommand(g)
	default:
		return usageError{fmt.Errorf("the role %q is neither miner nor validator", role)}
	}
	g.AddFlags(c.Flags())
	c.Flags().SetOutput(&strings.Builder{})
	if err := c.Flags().Parse(args); err != nil {
		return usageError{fmt.Errorf("%s flags: %w", role, err)}
	}
	if extra := c.Flags().Args(); len(extra) > 0 {
		return usageError{fmt.Errorf("%s flags: unexpected argument %q", role, extra[0])}
	}
	return nil
}

func hasChainFlag(args []string) bool {
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if name == "--subtensor.network" || name == "--subtensor.chain_endpoint" {
			return true
		}
	}
	return false
}
