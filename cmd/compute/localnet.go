package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/wallet"
)

// subnetOptions are the hyperparameters settable when creating a dev subnet.
type subnetOptions struct {
	Tempo             uint16
	WeightsRateLimit  uint64
	WeightsVersionKey uint64
	MinAllowedWeights uint16
	MaxAllowedUIDs    uint16
	ImmunityPeriod    uint64
	BurnTAO           float64
	MinValidatorStake float64
	CommitReveal      bool
	RevealPeriod      uint64
}

func (o *subnetOptions) AddFlags(fs *pflag.FlagSet) {
	d := devchain.DefaultParams()
	fs.Uint16Var(&o.Tempo, "tempo", 99, "blocks between epochs")
	fs.Uint64Var(&o.WeightsRateLimit, "weights-rate-limit", d.WeightsRateLimit, "blocks between two set_weights of one hotkey")
	fs.Uint64Var(&o.WeightsVersionKey, "weights-version-key", d.WeightsVersionKey, "minimum weights version key (0 = any)")
	fs.Uint16Var(&o.MinAllowedWeights, "min-allowed-weights", d.MinAllowedWeights, "minimum number of weights per set_weights")
	fs.Uint16Var(&o.MaxAllowedUIDs, "max-allowed-uids", d.MaxAllowedUIDs, "subnet size; a full subnet prunes on registration")
	fs.Uint64Var(&o.ImmunityPeriod, "immunity-period", d.ImmunityPeriod, "blocks a new neuron cannot be pruned")
	fs.Float64Var(&o.BurnTAO, "burn", float64(d.BurnRao)/devchain.RaoPerTAO, "registration cost in TAO")
	fs.Float64Var(&o.MinValidatorStake, "min-validator-stake", float64(d.MinValidatorStakeRao)/devchain.RaoPerTAO, "stake in TAO needed for a validator permit")
	fs.BoolVar(&o.CommitReveal, "commit-reveal", d.CommitRevealEnabled, "weights go through timelocked commits revealed by the localnet's beacon, as on finney (--commit-reveal=false allows plain set_weights)")
	fs.Uint64Var(&o.RevealPeriod, "reveal-period", d.RevealPeriodEpochs, "epochs between a commit and its reveal (1..100)")
}

func (o *subnetOptions) params() (devchain.Params, error) {
	p := devchain.DefaultParams()
	burn, err := taoToRao(o.BurnTAO, "--burn")
	if err != nil {
		return p, err
	}
	minStake, err := taoToRao(o.MinValidatorStake, "--min-validator-stake")
	if err != nil {
		return p, err
	}
	p.Tempo, p.WeightsRateLimit, p.WeightsVersionKey = o.Tempo, o.WeightsRateLimit, o.WeightsVersionKey
	p.MinAllowedWeights, p.MaxAllowedUIDs, p.ImmunityPeriod = o.MinAllowedWeights, o.MaxAllowedUIDs, o.ImmunityPeriod
	p.BurnRao, p.MinValidatorStakeRao = burn, minStake
	if o.RevealPeriod < 1 || o.RevealPeriod > devchain.MaxRevealPeriodEpochs {
		return p, fmt.Errorf("flag '--reveal-period' must be in 1..%d, got %d", devchain.MaxRevealPeriodEpochs, o.RevealPeriod)
	}
	p.CommitRevealEnabled, p.RevealPeriodEpochs = o.CommitReveal, o.RevealPeriod
	return p, nil
}

func taoToRao(tao float64, flag string) (uint64, error) {
	if math.IsNaN(tao) || tao < 0 || tao > 1e9 {
		return 0, fmt.Errorf("flag '%s' must be between 0 and 1e9 TAO, got %v", flag, tao)
	}
	return uint64(math.Round(tao * devchain.RaoPerTAO)), nil
}

func newLocalnetCommand(g *globalOptions) *cobra.Command {
	var (
		listen       string
		state        string
		blockTime    time.Duration
		beaconPeriod time.Duration
		createNetuid uint16
		fund         []string
		faucetTAO    float64
		accountCap   float64
		totalCap     float64
		so           subnetOptions
	)
	cmd := &cobra.Command{
		Use:   "localnet",
		Short: "Run the embedded development chain",
		Long: `localnet runs the development chain as a long-running process serving the HTTP/JSON API
described in docs/localnet-api.md. Other processes reach it with
--subtensor.chain_endpoint http://HOST:PORT (or --subtensor.network dev for the default address).
State lives in --state (SQLite) and survives restarts; an empty --state keeps it in memory.
The sudo key is //Alice. Subnet 27, every command's default --netuid, is created at start
unless it exists (--create-netuid picks another, 0 none).

As on finney, new subnets use commit-reveal v4: validators commit weights timelocked to a round
of the localnet's own beacon (drand quicknet's scheme with a key kept in --state, a pulse every
--beacon-period), and the chain reveals and applies them one epoch later. Create a subnet with
--commit-reveal=false for plain set_weights.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := g.Logger(cmd.ErrOrStderr()).With("component", "localnet")
			params, err := so.params()
			if err != nil {
				return err
			}
			faucet, err := taoToRao(faucetTAO, "--faucet-amount")
			if err != nil {
				return err
			}
			caps := [2]uint64{}
			for i, c := range []struct {
				tao  float64
				flag string
			}{{accountCap, "--faucet-account-cap"}, {totalCap, "--faucet-total-cap"}} {
				if caps[i], err = taoToRao(c.tao, c.flag); err != nil {
					return err
				}
				if caps[i] == 0 {
					return fmt.Errorf("flag '%s' must be above 0 TAO", c.flag)
				}
			}
			return runLocalnet(cmd.Context(), log, localnetConfig{
				Listen: listen, State: state, BlockTime: blockTime, BeaconPeriod: beaconPeriod, CreateNetuid: createNetuid,
				Params: params, Fund: fund, FaucetRao: faucet, FaucetAccountCapRao: caps[0], FaucetTotalCapRao: caps[1],
			}, func(addr string) { fmt.Fprintf(cmd.OutOrStdout(), "localnet listening on http://%s\n", addr) })
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&listen, "listen", "127.0.0.1:9946", "address of the HTTP API")
	fs.StringVar(&state, "state", "localnet.db", "SQLite state file (\"\" = in memory)")
	fs.DurationVar(&blockTime, "block-time", devchain.DefaultBlockTime, "block interval (e.g. 250ms for a fast devnet)")
	fs.DurationVar(&beaconPeriod, "beacon-period", devchain.DefaultBeaconPeriod, "interval between beacon pulses; fixed when --state is created")
	fs.Uint16Var(&createNetuid, "create-netuid", defaultNetuid, "create this subnet at start (owned by //Alice) unless it exists; 0 creates none")
	fs.StringSliceVar(&fund, "fund", nil, "SS58 addresses to fund with --faucet-amount at start")
	fs.Float64Var(&faucetTAO, "faucet-amount", 10_000, "TAO given by each --fund and by default by compute localnet fund")
	fs.Float64Var(&accountCap, "faucet-account-cap", float64(devchain.DefaultFaucetAccountCapRao)/devchain.RaoPerTAO,
		"TAO the faucet gives one account over the chain's life")
	fs.Float64Var(&totalCap, "faucet-total-cap", float64(devchain.DefaultFaucetTotalCapRao)/devchain.RaoPerTAO,
		"TAO the faucet mints in all (the real chain's supply by default)")
	so.AddFlags(fs)
	cmd.AddCommand(newLocalnetSubnetCommand(), newLocalnetFundCommand(), newLocalnetStakeCommand())
	return cmd
}

type localnetConfig struct {
	Listen       string
	State        string
	BlockTime    time.Duration
	BeaconPeriod time.Duration
	CreateNetuid uint16
	Params       devchain.Params
	Fund         []string
	FaucetRao    uint64
	// FaucetAccountCapRao and FaucetTotalCapRao cap the faucet (the dev
	// chain's defaults when 0).
	FaucetAccountCapRao uint64
	FaucetTotalCapRao   uint64
}

// runLocalnet serves the dev chain until ctx ends. Stop order: the HTTP server
// stops accepting (5 s grace), then the block producer, then the state closes.
func runLocalnet(ctx context.Context, log *slog.Logger, cfg localnetConfig, ready func(addr string)) error {
	c, err := devchain.Open(ctx, devchain.Config{Path: cfg.State, BlockTime: cfg.BlockTime, BeaconPeriod: cfg.BeaconPeriod, Log: log,
		FaucetAccountCapRao: cfg.FaucetAccountCapRao, FaucetTotalCapRao: cfg.FaucetTotalCapRao})
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.CreateNetuid != 0 {
		sudo, err := wallet.FromURI(devchain.SudoURI)
		if err != nil {
			return err
		}
		err = c.CreateSubnet(ctx, sudo, cfg.CreateNetuid, &cfg.Params)
		switch {
		case errors.Is(err, devchain.ErrSubnetExists):
			log.Info("subnet already exists", "netuid", cfg.CreateNetuid)
		case err != nil:
			return fmt.Errorf("create netuid %d: %w", cfg.CreateNetuid, err)
		}
	}
	for _, addr := range cfg.Fund {
		err := c.Fund(ctx, addr, cfg.FaucetRao)
		switch {
		case errors.Is(err, devchain.ErrFaucetCap) || errors.Is(err, devchain.ErrOverflow):
			// A restart on a state that already paid this account must
			// not refuse to start.
			log.Warn("--fund skipped: the faucet is capped", "address", addr, "err", err)
		case err != nil:
			return fmt.Errorf("flag '--fund' %s: %w", addr, err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("flag '--listen' %s: %w", cfg.Listen, err)
	}
	srv, err := devchain.NewServer(devchain.DefaultServerConfig(), devchain.ServerDeps{Chain: c, Listener: ln, Log: log})
	if err != nil {
		ln.Close()
		return err
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
		log.Warn("the localnet API listens beyond this host: anyone who reaches it can fund accounts through /v1/dev/fund", "listen", ln.Addr().String())
	}
	// The producer outlives the server, so that long polls in flight end
	// with the grace period rather than with the chain.
	prodCtx, stopProducing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProducing()
	produced := make(chan error, 1)
	go func() { produced <- c.Run(prodCtx) }()
	srvCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- srv.Run(srvCtx) }()
	b, _ := c.Block(ctx)
	bi, err := c.Beacon(ctx)
	if err != nil {
		stopServing()
		<-served
		stopProducing()
		<-produced
		return err
	}
	log.Info("localnet started", "listen", ln.Addr().String(), "state", cfg.State, "block_time", cfg.BlockTime, "block", b,
		"beacon_period", bi.Period, "beacon_genesis", bi.GenesisTime, "beacon_public_key", bi.PublicKeyHex)
	if ready != nil {
		ready(ln.Addr().String())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-produced:
		produced <- runErr
	case runErr = <-served:
		served <- runErr
	}
	stopServing()
	if err := <-served; err != nil && runErr == nil {
		runErr = err
	}
	stopProducing()
	if err := <-produced; err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return runErr
	}
	log.Info("localnet stopped")
	return nil
}

func newLocalnetSubnetCommand() *cobra.Command {
	sub := &cobra.Command{Use: "subnet", Short: "Manage subnets of a running localnet"}
	var (
		co     chainOptions
		so     subnetOptions
		keyURI string
		update bool
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a subnet (or with --update, replace its hyperparameters)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := co.openDev(ctx)
			if err != nil {
				return err
			}
			p, err := so.params()
			if err != nil {
				return err
			}
			signer, err := wallet.FromURI(keyURI)
			if err != nil {
				return fmt.Errorf("flag '--key-uri': %w", err)
			}
			if update {
				err = c.SetParams(ctx, signer, co.Netuid, p)
			} else {
				err = c.CreateSubnet(ctx, signer, co.Netuid, &p)
			}
			if err != nil {
				return fmt.Errorf("netuid %d: %w", co.Netuid, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "netuid %d: tempo %d, weights rate limit %d, version key %d, commit-reveal %v (reveal period %d)\n",
				co.Netuid, p.Tempo, p.WeightsRateLimit, p.WeightsVersionKey, p.CommitRevealEnabled, p.RevealPeriodEpochs)
			return nil
		},
	}
	co.AddFlags(create.Flags())
	so.AddFlags(create.Flags())
	create.Flags().StringVar(&keyURI, "key-uri", devchain.SudoURI, "secret URI of the signer (owner or sudo)")
	create.Flags().BoolVar(&update, "update", false, "replace the hyperparameters of an existing subnet")
	create.Flags().Lookup("subtensor.network").DefValue = "dev"
	co.Network = "dev"
	sub.AddCommand(create)
	return sub
}

func newLocalnetFundCommand() *cobra.Command {
	var (
		co      chainOptions
		wo      walletOptions
		address string
		amount  float64
	)
	cmd := &cobra.Command{
		Use:   "fund",
		Short: "Credit TAO to an address (or a wallet's coldkey) from the localnet faucet",
		Example: `  compute localnet fund --wallet.name miner
  compute localnet fund --address 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY --amount 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rao, err := taoToRao(amount, "--amount")
			if err != nil {
				return usageError{err}
			}
			if address == "" {
				if !cmd.Flags().Changed("wallet.name") {
					return usageError{errors.New("give --address SS58 or --wallet.name NAME (its coldkey is funded)")}
				}
				pub, err := wo.Open().ColdkeyPub()
				if err != nil {
					return fmt.Errorf("coldkey of wallet %q: %w", wo.Name, err)
				}
				address = pub.SS58Address()
			} else if cmd.Flags().Changed("wallet.name") {
				return usageError{errors.New("give either --address or --wallet.name, not both")}
			}
			c, err := co.openDev(ctx)
			if err != nil {
				return err
			}
			if err := c.Fund(ctx, address, rao); err != nil {
				if errors.Is(err, devchain.ErrFaucetCap) {
					return fmt.Errorf("%w (compute localnet --faucet-account-cap and --faucet-total-cap set the caps)", err)
				}
				return err
			}
			acct, err := c.Account(ctx, address)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s balance %.9f TAO\n", address, float64(acct.BalanceRao)/devchain.RaoPerTAO)
			return nil
		},
	}
	co.AddFlags(cmd.Flags())
	co.Network = "dev"
	cmd.Flags().Lookup("subtensor.network").DefValue = "dev"
	_ = cmd.Flags().MarkHidden("netuid") // balances are not per subnet
	wo.AddFlags(cmd.Flags())
	_ = cmd.Flags().MarkHidden("wallet.hotkey") // only the coldkey is funded
	cmd.Flags().StringVar(&address, "address", "", "SS58 address to fund")
	cmd.Flags().Float64Var(&amount, "amount", 10_000, "TAO to credit")
	return cmd
}

func newLocalnetStakeCommand() *cobra.Command {
	var (
		co     chainOptions
		wo     walletOptions
		keys   devKeyOptions
		amount float64
	)
	cmd := &cobra.Command{
		Use:   "stake",
		Short: "Stake TAO from the wallet's coldkey to its hotkey on a localnet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rao, err := taoToRao(amount, "--amount")
			if err != nil {
				return err
			}
			hotkey, err := keys.hotkeyAddress(&wo)
			if err != nil {
				return fmt.Errorf("hotkey: %w", err)
			}
			c, err := co.openDev(ctx)
			if err != nil {
				return err
			}
			cold, err := keys.coldkey(cmd, &wo)
			if err != nil {
				return fmt.Errorf("coldkey: %w", err)
			}
			if err := c.AddStake(ctx, cold, hotkey, rao); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "staked %.9f TAO to %s\n", amount, hotkey)
			return nil
		},
	}
	co.AddFlags(cmd.Flags())
	co.Network = "dev"
	cmd.Flags().Lookup("subtensor.network").DefValue = "dev"
	wo.AddFlags(cmd.Flags())
	keys.addColdkey(cmd)
	keys.addHotkey(cmd)
	cmd.Flags().Float64Var(&amount, "amount", 2000, "TAO to stake")
	return cmd
}

var _ chain.Chain = (*devchain.Client)(nil)
