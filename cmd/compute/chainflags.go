package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/connect"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/tlock"
)

// Bittensor's environment variables for the chain, read when the flags are not given.
const (
	envNetwork  = "BT_SUBTENSOR_NETWORK"
	envEndpoint = "BT_SUBTENSOR_CHAIN_ENDPOINT"
)

// networks are the --subtensor.network names.
var networks = map[string]bool{"finney": true, "test": true, "archive": true, "local": true, "dev": true}

// chainOptions are the Bittensor chain flags shared by every command that
// talks to a chain.
type chainOptions struct {
	Network   string
	Endpoint  string
	Netuid    uint16
	BeaconKey string

	fs       *pflag.FlagSet
	getenv   func(string) string // os.Getenv when nil
	resolved bool
	source   string // where the chain comes from: "flag", "env" or "default"
}

// defaultNetuid is the Compute Subnet's uid: every command's --netuid, and
// the subnet `compute localnet` creates unless told otherwise.
const defaultNetuid = 27

// AddFlags registers --subtensor.network, --subtensor.chain_endpoint and --netuid.
func (o *chainOptions) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVar(&o.Network, "subtensor.network", "finney", "chain to use: finney, test, archive, local (ws://127.0.0.1:9944) or dev (localnet at "+connect.DevEndpoint+"); default $"+envNetwork+" when set")
	fs.StringVar(&o.Endpoint, "subtensor.chain_endpoint", "", "chain endpoint overriding --subtensor.network: ws(s):// for subtensor, http(s):// for a localnet; default $"+envEndpoint+" when set")
	fs.Uint16Var(&o.Netuid, "netuid", defaultNetuid, "subnet uid")
	fs.StringVar(&o.BeaconKey, "subtensor.beacon_key", "", "hex public key of the drand beacon that reveals weights commits (default: quicknet's, as finney and test use; a localnet serves its own)")
}

// resolve applies Bittensor's environment variables: when neither
// --subtensor.network nor --subtensor.chain_endpoint is given,
// $BT_SUBTENSOR_NETWORK and $BT_SUBTENSOR_CHAIN_ENDPOINT choose the chain;
// a flag always wins over both. It runs once; later calls return nil.
func (o *chainOptions) resolve() error {
	if o.resolved {
		return nil
	}
	o.resolved = true
	// Options built in code (no flag set) are explicit too.
	if o.fs == nil || o.fs.Changed("subtensor.network") || o.fs.Changed("subtensor.chain_endpoint") {
		o.source = "flag"
		return nil
	}
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	network, endpoint := getenv(envNetwork), getenv(envEndpoint)
	if network == "" && endpoint == "" {
		o.source = "default"
		return nil
	}
	o.source = "env"
	if network != "" {
		if !networks[network] {
			return usageError{fmt.Errorf("$%s %q is unknown (finney, test, archive, local, dev)", envNetwork, network)}
		}
		o.Network = network
	}
	if endpoint != "" {
		o.Endpoint = endpoint
	}
	return nil
}

// describe names the chain the options resolve to, for people: "dev
// (http://127.0.0.1:9946)", "finney", or the endpoint.
func (o *chainOptions) describe() string {
	switch {
	case o.Endpoint != "":
		return o.Endpoint
	case o.Network == "dev":
		return "dev (localnet at " + connect.DevEndpoint + ")"
	default:
		return o.Network
	}
}

// announce tells the operator on w which chain a command talks to when no
// flag and no environment variable chose it, so that a walkthrough on a
// local chain never reaches finney unnoticed because one command lacked
// a flag.
func (o *chainOptions) announce(w io.Writer) {
	if o.source != "default" || w == nil {
		return
	}
	fmt.Fprintf(w, "compute: using the %s chain, the default: neither --subtensor.network, --subtensor.chain_endpoint, $%s nor $%s is set (for a localnet: --subtensor.network dev, or export %s=dev)\n",
		o.describe(), envNetwork, envEndpoint, envNetwork)
}

func (o *chainOptions) config() (connect.Config, error) {
	if err := o.resolve(); err != nil {
		return connect.Config{}, err
	}
	cfg := connect.Config{Network: o.Network, Endpoint: o.Endpoint}
	if o.BeaconKey != "" {
		key, err := hexFlag("subtensor.beacon_key", o.BeaconKey, tlock.PublicKeySize)
		if err != nil {
			return cfg, err
		}
		cfg.BeaconKey = key
	}
	return cfg, nil
}

// Open connects to the chain the flags (or Bittensor's environment
// variables) name; when neither chose it, it says so on the command's
// stderr first.
func (o *chainOptions) Open(cmd *cobra.Command, log *slog.Logger) (chain.Chain, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	o.announce(cmd.ErrOrStderr())
	return connect.Open(cmd.Context(), cfg, log)
}

// openDev connects to a localnet, for the dev helpers.
func (o *chainOptions) openDev(ctx context.Context) (devchain.Dev, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	return connect.OpenDev(ctx, cfg)
}

// local reports whether the flags name a local or development chain: the
// localnet (dev, or an http(s):// endpoint), the local subtensor, or an
// endpoint on a loopback address.
func (o *chainOptions) local() bool {
	_ = o.resolve() // an unknown $BT_SUBTENSOR_NETWORK is reported by Open
	if o.Endpoint == "" {
		return o.Network == "dev" || o.Network == "local"
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
