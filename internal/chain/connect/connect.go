package connect

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/config"
)

// DevEndpoint is where `compute localnet` listens by default; --subtensor.network dev means it.
const DevEndpoint = "http://127.0.0.1:9946"

// Config selects a chain: Endpoint wins over Network when set.
type Config struct {
	Network  string // finney | test | archive | local | dev
	Endpoint string // http(s):// (localnet) or ws(s):// (subtensor)
	// BeaconKey replaces, on a subtensor chain, drand quicknet's public key
	// (96-byte compressed G2) that commits are encrypted to; a localnet
	// serves its own beacon's key and refuses an override.
	BeaconKey []byte
}

// localnet returns the localnet URL cfg names, or false for subtensor.
func (cfg Config) localnet() (string, bool, error) {
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" {
			return "", false, config.Errorf("connect.Config.Endpoint", "%q is not a URL (want http://host:port for a localnet or ws(s)://host:port for subtensor)", cfg.Endpoint)
		}
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			return cfg.Endpoint, true, nil
		case "ws", "wss":
			return "", false, nil
		default:
			return "", false, config.Errorf("connect.Config.Endpoint", "scheme %q is not supported (http, https, ws, wss)", u.Scheme)
		}
	}
	switch cfg.Network {
	case "dev":
		return DevEndpoint, true, nil
	case "finney", "test", "archive", "local":
		return "", false, nil
	case "":
		return "", false, config.Errorf("connect.Config.Network", "no chain given: name a network (finney, test, archive, local, dev) or give an endpoint")
	default:
		return "", false, config.Errorf("connect.Config.Network", "%q is unknown (finney, test, archive, local, dev)", cfg.Network)
	}
}

// Open connects to the chain cfg names.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (chain.Chain, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	endpoint, dev, err := cfg.localnet()
	if err != nil {
		return nil, err
	}
	if dev {
		if len(cfg.BeaconKey) != 0 {
			return nil, fmt.Errorf("a beacon key cannot be set for a localnet: it reveals commits with its own beacon")
		}
		c, err := devchain.Dial(ctx, endpoint)
		if err != nil {
			return nil, err
		}
		log.Debug("connected to localnet", "endpoint", endpoint)
		return c, nil
	}
	return openSubtensor(ctx, cfg, log)
}

// OpenDev connects to a localnet and returns its dev helpers too; it refuses
// a subtensor target.
func OpenDev(ctx context.Context, cfg Config) (devchain.Dev, error) {
	endpoint, dev, err := cfg.localnet()
	if err != nil {
		return nil, err
	}
	if !dev {
		return nil, fmt.Errorf("this command needs a localnet (network dev or an http(s):// endpoint), not a subtensor node")
	}
	return devchain.Dial(ctx, endpoint)
}
