// Package testnet builds a dev-chain subnet with funded, registered and staked keys:
// the network the role tests and `compute devnet` run on.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/gpu"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/wallet"
)

// Config describes a test network.
type Config struct {
	// Netuid is the subnet created on the chain.
	Netuid uint16
	// Chain opens the dev chain (zero: in memory).
	Chain devchain.Config
	// Params are the subnet's hyperparameters (nil: Params()).
	Params *devchain.Params
}

// Net is a dev chain holding one subnet.
type Net struct {
	Chain  *devchain.Chain
	Netuid uint16
}

// Params returns the dev chain's default hyperparameters with serving unthrottled, the
// base every test network adjusts.
func Params() devchain.Params {
	p := devchain.DefaultParams()
	p.ServingRateLimit = 0
	return p
}

// Open opens the dev chain and creates the subnet; a subnet that exists already (a
// devnet started again on its data) is kept.
func Open(ctx context.Context, cfg Config) (*Net, error) {
	c, err := devchain.Open(ctx, cfg.Chain)
	if err != nil {
		return nil, err
	}
	p := Params()
	if cfg.Params != nil {
		p = *cfg.Params
	}
	sudo, err := wallet.FromURI(devchain.SudoURI)
	if err != nil {
		c.Close()
		return nil, err
	}
	if err := c.CreateSubnet(ctx, sudo, cfg.Netuid, &p); err != nil && !errors.Is(err, devchain.ErrSubnetExists) {
		c.Close()
		return nil, fmt.Errorf("create netuid %d: %w", cfg.Netuid, err)
	}
	return &Net{Chain: c, Netuid: cfg.Netuid}, nil
}

// Close closes the chain.
func (n *Net) Close() error { return n.Chain.Close() }

// Join registers hot under cold, first funding cold with fundTAO (none when 0), unless
// hot is registered already; then it stakes stakeTAO (none when 0) on hot.
func (n *Net) Join(ctx context.Context, cold, hot *wallet.Keypair, fundTAO, stakeTAO uint64) error {
	registered, err := n.Chain.IsRegistered(ctx, n.Netuid, hot.SS58Address())
	if err != nil {
		return err
	}
	if !registered {
		if fundTAO > 0 {
			if err := n.Chain.Fund(ctx, cold.SS58Address(), fundTAO*devchain.RaoPerTAO); err != nil {
				return fmt.Errorf("fund %s: %w", cold.SS58Address(), err)
			}
		}
		if _, err := n.Chain.Register(ctx, n.Netuid, cold, hot.SS58Address()); err != nil {
			return fmt.Errorf("register %s: %w", hot.SS58Address(), err)
		}
	}
	if stakeTAO > 0 {
		if err := n.Chain.AddStake(ctx, cold, hot.SS58Address(), stakeTAO*devchain.RaoPerTAO); err != nil {
			return fmt.Errorf("stake on %s: %w", hot.SS58Address(), err)
		}
	}
	return nil
}

// New is Open for a test: it fails t on error and closes the chain when t ends.
func New(t testing.TB, cfg Config) *Net {
	t.Helper()
	n, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// MustJoin is Join failing t on error.
func (n *Net) MustJoin(t testing.TB, cold, hot *wallet.Keypair, fundTAO, stakeTAO uint64) {
	t.Helper()
	if err := n.Join(context.Background(), cold, hot, fundTAO, stakeTAO); err != nil {
		t.Fatal(err)
	}
}

// Key derives the keypair of a dev URI ("//Alice", "//Bob//miner"), failing t on error.
func Key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	kp, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// FixedSpecs is a miner's specs source that reports a made-up machine, so
// that selection and checks by specs can run on one host.
type FixedSpecs struct{ Specs specs.Specs }

// Collect returns the made-up report.
func (f FixedSpecs) Collect(context.Context) (specs.Specs, error) { return f.Specs, nil }

// NoGPUs is a miner's GPU inventory on a machine without GPUs.
func NoGPUs(context.Context) (gpu.Inventory, error) {
	return gpu.Inventory{Reason: "test machine"}, nil
}
