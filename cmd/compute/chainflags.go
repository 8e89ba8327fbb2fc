package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/connect"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/tlock"
)

// chainOptions are the Bittensor chain flags shared by every command that
// talks to a chain.
type chainOptions struct {
	Network   string
	Endpoint  string
	Netuid    uint16
	BeaconKey string
}

// AddFlags registers --subtensor.network, --subtensor.chain_endpoint and --netuid.
func (o *chainOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Network, "subtensor.network", "finney", "chain to use: finney, test, archive, local (ws://127.0.0.1:9944) or dev (localnet at "+connect.DevEndpoint+")")
	fs.StringVar(&o.Endpoint, "subtensor.chain_endpoint", "", "chain endpoint overriding --subtensor.network: ws(s):// for subtensor, http(s):// for a localnet")
	fs.Uint16Var(&o.Netuid, "netuid", 27, "subnet uid")
	fs.StringVar(&o.BeaconKey, "subtensor.beacon_key", "", "hex public key of the drand beacon that reveals weights commits (default: quicknet's, as finney and test use; a localnet serves its own)")
}

func (o *chainOptions) config() (connect.Config, error) {
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

// Open connects to the chain the flags name.
func (o *chainOptions) Open(ctx context.Context, log *slog.Logger) (chain.Chain, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	return connect.Open(ctx, cfg, log)
}

// openDev connects to a localnet, for the dev helpers.
func (o *chainOptions) openDev(ctx context.Context) (devchain.Dev, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	return connect.OpenDev(ctx, cfg)
}
