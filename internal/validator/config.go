package validator

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/version"
)

// Config holds every interval, batch size and policy of the validator loop.
// Start from [DefaultConfig]; block intervals count chain blocks.
type Config struct {
	// Netuid is the subnet the validator serves.
	Netuid uint16
	// Score holds the score weights, the difficulty bounds and the challenge
	// timeout (Score.Timeout).
	Score score.Config

	// A challenge round starts every ChallengeMinBlocks..ChallengeMaxBlocks
	// blocks, chosen at random after each round (50..80).
	ChallengeMinBlocks uint64
	ChallengeMaxBlocks uint64
	// SpecsEvery: hardware specs query interval (150).
	SpecsEvery uint64
	// StatusEvery: metagraph status sync (registration, deregistered miners,
	// versions) interval (25).
	StatusEvery uint64
	// WeightsEvery: weights interval (100); never faster than the subnet's
	// weights rate limit.
	WeightsEvery uint64
	// PruneEvery: history retention interval (300).
	PruneEvery uint64

	// ChallengeBatchSize miners are challenged concurrently (256).
	ChallengeBatchSize int
	// SpecsBatchSize miners are asked for specs concurrently (64).
	SpecsBatchSize int
	// SpecsTimeout bounds one specs query (60 s).
	SpecsTimeout time.Duration
	// PerformHardwareQuery turns the specs query on (true).
	PerformHardwareQuery bool

	// ChainTimeout bounds every chain call (30 s); WaitBlock gets twice as long.
	ChainTimeout time.Duration
	// WeightsAttempts is how many times a transient set_weights failure is
	// tried (4), waiting WeightsBackoff, doubled each time, in between (2 s).
	WeightsAttempts int
	WeightsBackoff  time.Duration

	// MaxMinerStake: neurons with at least this total stake (TAO) are
	// validators and are neither queried nor weighted (1024).
	MaxMinerStake float64
	// Filter is the blacklist, whitelist and version policy.
	Filter FilterConfig
	// VersionKey is sent with the weights (version.Int).
	VersionKey uint64
	// Shared is the allocation and penalty state shared through the chain.
	Shared SharedConfig
}

// FilterConfig decides which miners are queried.
type FilterConfig struct {
	BlacklistHotkeys  []string
	BlacklistColdkeys []string
	// Exploiters are hotkeys suspected of exploiting the subnet; blocked like
	// the blacklist.
	Exploiters        []string
	WhitelistHotkeys  []string // never blacklisted, never version-filtered
	WhitelistColdkeys []string // never blacklisted, never version-filtered
	// WhitelistUnrecognized exempts miners whose axon announces no version
	// (0) from the version filter.
	WhitelistUnrecognized bool
	// UpdatedThreshold: when more than this percentage (60) of the served
	// miners run at least MinMinerVersion, only those are queried.
	UpdatedThreshold float64
	// MinMinerVersion is the oldest axon version accepted once the quorum
	// is reached (version.Int).
	MinMinerVersion uint32
	// OnePerIP keeps one uid per axon IP, the lowest (true). Local networks,
	// where every miner listens on 127.0.0.1, turn it off.
	OnePerIP bool
}

// DefaultConfig returns the subnet's defaults for netuid 27.
func DefaultConfig() Config {
	return Config{
		Netuid:               27,
		Score:                score.DefaultConfig(),
		ChallengeMinBlocks:   50,
		ChallengeMaxBlocks:   80,
		SpecsEvery:           150,
		StatusEvery:          25,
		WeightsEvery:         100,
		PruneEvery:           300,
		ChallengeBatchSize:   256,
		SpecsBatchSize:       64,
		SpecsTimeout:         60 * time.Second,
		PerformHardwareQuery: true,
		ChainTimeout:         30 * time.Second,
		WeightsAttempts:      4,
		WeightsBackoff:       2 * time.Second,
		MaxMinerStake:        1024,
		Filter: FilterConfig{
			UpdatedThreshold: 60,
			MinMinerVersion:  version.Int,
			OnePerIP:         true,
		},
		VersionKey: version.Int,
		Shared:     DefaultSharedConfig(),
	}
}

// Validate reports the first setting that cannot work as a *config.FieldError.
func (c Config) Validate() error {
	if err := c.Score.Validate(); err != nil {
		return err
	}
	if err := c.Shared.Validate(); err != nil {
		return err
	}
	if c.Score.MaxDifficulty > 18 {
		return config.Errorf("validator.Config.Score.MaxDifficulty", "must be at most 18, got %d", c.Score.MaxDifficulty)
	}
	switch {
	case c.ChallengeMinBlocks < 1:
		return config.Errorf("validator.Config.ChallengeMinBlocks", "must be at least 1")
	case c.ChallengeMaxBlocks < c.ChallengeMinBlocks:
		return config.Errorf("validator.Config.ChallengeMaxBlocks", "(%d) must be at least the fewest blocks between challenge rounds (%d)",
			c.ChallengeMaxBlocks, c.ChallengeMinBlocks)
	case c.SpecsEvery < 1:
		return config.Errorf("validator.Config.SpecsEvery", "must be at least 1")
	case c.StatusEvery < 1:
		return config.Errorf("validator.Config.StatusEvery", "must be at least 1")
	case c.WeightsEvery < 1:
		return config.Errorf("validator.Config.WeightsEvery", "must be at least 1")
	case c.PruneEvery < 1:
		return config.Errorf("validator.Config.PruneEvery", "must be at least 1")
	case c.ChallengeBatchSize < 1 || c.ChallengeBatchSize > 4096:
		return config.Errorf("validator.Config.ChallengeBatchSize", "must be between 1 and 4096, got %d", c.ChallengeBatchSize)
	case c.SpecsBatchSize < 1 || c.SpecsBatchSize > 4096:
		return config.Errorf("validator.Config.SpecsBatchSize", "must be between 1 and 4096, got %d", c.SpecsBatchSize)
	case c.SpecsTimeout <= 0:
		return config.Errorf("validator.Config.SpecsTimeout", "must be positive")
	case c.ChainTimeout <= 0:
		return config.Errorf("validator.Config.ChainTimeout", "must be positive")
	case c.WeightsAttempts < 1:
		return config.Errorf("validator.Config.WeightsAttempts", "must be at least 1")
	case c.WeightsBackoff < 0:
		return config.Errorf("validator.Config.WeightsBackoff", "must not be negative")
	case c.MaxMinerStake <= 0:
		return config.Errorf("validator.Config.MaxMinerStake", "the miner stake limit must be positive")
	case c.Filter.UpdatedThreshold < 0 || c.Filter.UpdatedThreshold > 100:
		return config.Errorf("validator.Config.Filter.UpdatedThreshold", "must be a percentage 0..100, got %v", c.Filter.UpdatedThreshold)
	}
	return nil
}

// roundDeadline bounds a whole challenge round: every batch may take the
// full timeout, plus a margin for verification and the store.
func (c Config) roundDeadline(miners int) time.Duration {
	batches := (miners + c.ChallengeBatchSize - 1) / c.ChallengeBatchSize
	return time.Duration(max(batches, 1))*(c.Score.Timeout+5*time.Second) + 30*time.Second
}

func (c Config) specsDeadline(miners int) time.Duration {
	batches := (miners + c.SpecsBatchSize - 1) / c.SpecsBatchSize
	return time.Duration(max(batches, 1))*(c.SpecsTimeout+5*time.Second) + 30*time.Second
}

// StoreConfig is the store configuration matching c: failures and the
// average difficulty are read over the score's failure window, so a
// different --validator.failure.window changes both the penalty's divisor
// and the challenges counted.
func (c Config) StoreConfig() store.ValidatorConfig {
	sc := store.DefaultValidatorConfig()
	if c.Score.FailureWindow > 0 {
		sc.RecentChallenges = c.Score.FailureWindow
	}
	sc.MaxPerMiner = max(sc.MaxPerMiner, sc.RecentChallenges)
	return sc
}

// DefaultMetricsAddr is where `compute validator` serves /metrics.
const DefaultMetricsAddr = "127.0.0.1:9101"

// DefaultDataDir is ~/.bittensor/compute/validator/<wallet>/<hotkey>/netuid<N>.
func DefaultDataDir(walletName, hotkey string, netuid uint16) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory for the validator's default data directory: %w", err)
	}
	return filepath.Join(home, ".bittensor", "compute", "validator", walletName, hotkey, fmt.Sprintf("netuid%d", netuid)), nil
}
