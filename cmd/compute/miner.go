package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/docker"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/pow/hashcat"
	"github.com/sn27/compute/internal/update"
)

// minerOptions are the `compute miner` flags.
type minerOptions struct {
	AxonPort, ExternalPort        int
	AxonIP, ExternalIP            string
	BlacklistHot, BlacklistCold   []string
	WhitelistHot, WhitelistCold   []string
	BlacklistExploiters           bool
	NotEnoughStake, NotUpdated    bool
	UpdatedThreshold              float64
	HashcatPath, HashcatExtended  string
	HashcatProfile                int
	Solver                        string
	SSHPort                       int
	SSHBindIP                     string
	Image, DataDir, MetricsAddr   string
	Allocation, AllocationRequire bool
	RequireHashedAllocate         bool
	SyncInterval                  time.Duration
}

// AddFlags registers the miner flags with the original's names and defaults.
func (o *minerOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.AxonPort, "axon.port", miner.DefaultAxonPort, "port the axon listens on")
	fs.StringVar(&o.AxonIP, "axon.ip", "", "address the axon listens on (default: all)")
	fs.StringVar(&o.ExternalIP, "axon.external_ip", "", "IP announced on chain (default: --axon.ip, else the address of the default route's interface)")
	fs.IntVar(&o.ExternalPort, "axon.external_port", 0, "port announced on chain (default: --axon.port)")
	fs.StringSliceVar(&o.BlacklistHot, "blacklist.hotkeys", nil, "comma-separated hotkeys to refuse")
	fs.StringSliceVar(&o.BlacklistCold, "blacklist.coldkeys", nil, "comma-separated coldkeys whose hotkeys are refused")
	fs.BoolVar(&o.BlacklistExploiters, "blacklist.exploiters", true, "refuse the built-in list of suspected exploiter hotkeys")
	fs.StringSliceVar(&o.WhitelistHot, "whitelist.hotkeys", nil, "comma-separated hotkeys always accepted (wins over every other rule)")
	fs.StringSliceVar(&o.WhitelistCold, "whitelist.coldkeys", nil, "comma-separated coldkeys whose hotkeys are always accepted")
	fs.BoolVar(&o.NotEnoughStake, "miner.whitelist.not.enough.stake", false, "accept registered callers below the validator permit stake (1024 TAO)")
	fs.BoolVar(&o.NotUpdated, "miner.whitelist.not.updated", false, "accept validators below the minimal version even when the quorum runs it")
	fs.Float64Var(&o.UpdatedThreshold, "miner.whitelist.updated.threshold", miner.DefaultUpdatedThreshold, "percent of validators at the minimal version above which outdated validators are refused")
	fs.StringVar(&o.HashcatPath, "miner.hashcat.path", hashcat.DefaultPath, "hashcat binary (solver hashcat)")
	fs.IntVar(&o.HashcatProfile, "miner.hashcat.workload.profile", hashcat.DefaultWorkloadProfile, "hashcat workload profile: 1 low, 2 economic, 3 high, 4 insane")
	fs.StringVar(&o.HashcatExtended, "miner.hashcat.extended.options", "", "extra hashcat options, space-separated (default -O; \"None\" for none)")
	fs.StringVar(&o.Solver, "miner.solver", "auto", "proof-of-work solver: auto (CUDA when available, else CPU), cpu, cuda or hashcat")
	fs.IntVar(&o.SSHPort, "ssh.port", container.DefaultSSHPort, "host port of an allocated container's SSH")
	fs.StringVar(&o.SSHBindIP, "ssh.bind_ip", "", "host address the lease SSH port is published on (default: all addresses)")
	fs.StringVar(&o.Image, "miner.image", container.DefaultImage, "lease image run by allocations (prepare it with: compute miner image build)")
	fs.StringVar(&o.DataDir, "miner.data_dir", "", "data directory (default ~/.bittensor/compute/miner/<wallet>/<hotkey>/netuid<N>, mode 0700)")
	fs.StringVar(&o.MetricsAddr, "metrics.addr", miner.DefaultMetricsAddr, "Prometheus /metrics listener (\"\" disables it)")
	fs.BoolVar(&o.Allocation, "miner.allocation", true, "offer this machine for allocation as a Docker container")
	fs.BoolVar(&o.AllocationRequire, "miner.allocation.required", false, "exit at start when Docker cannot run lease containers (default: serve with allocation disabled)")
	fs.BoolVar(&o.RequireHashedAllocate, "miner.allocate.require_body_hash", false, "refuse Allocate requests whose signed body hash does not cover public_key, ssh_key and the other fields (this project's renters cover them; the original subnet's Python renters do not)")
	fs.DurationVar(&o.SyncInterval, "miner.sync.interval", miner.DefaultSyncInterval, "how often the metagraph is refreshed and the served axon checked")
}

func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// config turns the flags into a miner.Config.
func (o *minerOptions) config(netuid uint16, wo *walletOptions) (miner.Config, error) {
	dataDir := o.DataDir
	if dataDir == "" {
		var err error
		if dataDir, err = miner.DefaultDataDir(wo.Name, wo.Hotkey, netuid); err != nil {
			return miner.Config{}, err
		}
	}
	return miner.Config{
		Netuid:       netuid,
		AxonIP:       o.AxonIP,
		AxonPort:     o.AxonPort,
		ExternalIP:   o.ExternalIP,
		ExternalPort: o.ExternalPort,
		Policy: miner.PolicyConfig{
			BlacklistHotkeys:        cleanList(o.BlacklistHot),
			BlacklistColdkeys:       cleanList(o.BlacklistCold),
			WhitelistHotkeys:        cleanList(o.WhitelistHot),
			WhitelistColdkeys:       cleanList(o.WhitelistCold),
			BlacklistExploiters:     o.BlacklistExploiters,
			WhitelistNotEnoughStake: o.NotEnoughStake,
			WhitelistNotUpdated:     o.NotUpdated,
			UpdatedThreshold:        o.UpdatedThreshold,
			RequireHashedAllocate:   o.RequireHashedAllocate,
		},
		Solver:             o.Solver,
		Hashcat:            hashcat.Options{Path: o.HashcatPath, WorkloadProfile: o.HashcatProfile, ExtendedOptions: o.HashcatExtended},
		Allocation:         o.Allocation,
		AllocationRequired: o.AllocationRequire,
		Image:              o.Image,
		SSHPort:            o.SSHPort,
		SSHBindIP:          o.SSHBindIP,
		DataDir:            dataDir,
		SyncInterval:       o.SyncInterval,
	}, nil
}

func newMinerCommand(g *globalOptions) *cobra.Command {
	var (
		co chainOptions
		wo walletOptions
		mo minerOptions
		uo updateOptions
	)
	cmd := &cobra.Command{
		Use:   "miner",
		Short: "Run a miner: serve Specs, Challenge and Allocate on an axon",
		Long: `miner serves this machine to the subnet: its specs, proof-of-work challenges and
allocations as Docker containers reachable by SSH on --ssh.port. The hotkey must be
registered on --netuid (see compute register). Metrics are served on --metrics.addr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.Logger(cmd.ErrOrStderr())
			cfg, err := mo.config(co.Netuid, &wo)
			if err != nil {
				return err
			}
			if err := uo.config().Validate(); err != nil {
				return err
			}
			cfg.LocalChain = co.local()
			hotkey, err := wo.Open().Hotkey()
			if err != nil {
				return fmt.Errorf("hotkey: %w", err)
			}
			c, err := co.Open(cmd, log)
			if err != nil {
				return err
			}
			gate := update.NewGate()
			return uo.runUpdating(ctx, log, gate, func(ctx context.Context) error {
				return runMiner(ctx, log, cfg, miner.Deps{Chain: c, Hotkey: hotkey, Log: log, Gate: gate}, mo.MetricsAddr)
			})
		},
	}
	co.AddFlags(cmd.Flags())
	wo.AddFlags(cmd.Flags())
	mo.AddFlags(cmd.Flags())
	uo.AddFlags(cmd.Flags(), true)
	cmd.AddCommand(newMinerImageCommand())
	return cmd
}

// runMiner opens the axon's listener on --axon.ip and --axon.port, serves
// the miner's metrics on metricsAddr ("" for none) and runs the miner until
// ctx ends. Stop order: the miner returns (its axon listener closed), then
// the metrics listener closes.
func runMiner(ctx context.Context, log *slog.Logger, cfg miner.Config, deps miner.Deps, metricsAddr string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.AxonListenAddr())
	if err != nil {
		return fmt.Errorf("axon: listen on port %d: %w (choose another --axon.port)", cfg.AxonPort, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(buildInfo())
	deps.Listener, deps.Registry = ln, reg
	m, err := miner.New(cfg, deps)
	if err != nil {
		ln.Close()
		return err
	}
	if metricsAddr != "" {
		stop, err := serveMetrics(ctx, log, metricsAddr, reg)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	return m.Run(ctx)
}

func newMinerImageCommand() *cobra.Command {
	image := &cobra.Command{Use: "image", Short: "Prepare the lease image allocations run"}
	var tag, base string
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the lease image from the embedded Dockerfile (needs the base image's registry)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cli, err := container.Dial(ctx)
			if err != nil {
				return err
			}
			defer cli.Close()
			args := map[string]string{}
			if base != "" {
				args["BASE"] = base
			}
			if err := container.BuildImage(ctx, cli, docker.Context, tag, args, cmd.ErrOrStderr()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lease image %s built\n", tag)
			return nil
		},
	}
	build.Flags().StringVar(&tag, "miner.image", container.DefaultImage, "tag of the image to build")
	build.Flags().StringVar(&base, "base", "", "base image (default the Dockerfile's CUDA base)")
	var itag string
	imp := &cobra.Command{
		Use:   "import ROOTFS.tar",
		Short: "Import a root filesystem tarball (as scripts/build-test-image.sh makes) as the lease image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			cli, err := container.Dial(ctx)
			if err != nil {
				return err
			}
			defer cli.Close()
			if err := container.ImportRootfs(ctx, cli, f, itag, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lease image %s imported\n", itag)
			return nil
		},
	}
	imp.Flags().StringVar(&itag, "miner.image", container.DefaultImage, "tag of the imported image")
	image.AddCommand(build, imp)
	return image
}
