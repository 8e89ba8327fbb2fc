package connect

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor"
)

// openSubtensor returns a subtensor client for cfg.Endpoint, or for the named network
// (finney, test, archive, local, or a ws(s):// URL) when no endpoint is given. The
// websocket is dialled lazily; the first call checks that the node answers.
func openSubtensor(ctx context.Context, cfg Config, log *slog.Logger) (chain.Chain, error) {
	url, err := subtensor.Endpoint(cfg.Network, cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	c, err := subtensor.New(subtensor.Config{Endpoint: url, BeaconPublicKey: cfg.BeaconKey}, log)
	if err != nil {
		return nil, err
	}
	if _, err := c.Block(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("connect to subtensor at %s: %w", url, err)
	}
	return c, nil
}
