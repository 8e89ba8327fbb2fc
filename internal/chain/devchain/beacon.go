package devchain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/tlock"
)

// Beacon defaults. The local beacon uses drand quicknet's scheme (unchained
// BLS signatures on G1 over BLS12-381, public key on G2) with its own key.
const (
	DefaultBeaconPeriod = 3 * time.Second
	// DefaultKeepPulses keeps one day of 3 s pulses on chain.
	DefaultKeepPulses = 28_800
	// MaxPulsesPerBlock bounds the pulses stored by one block, as the drand
	// pallet's offchain worker fetches at most 50 rounds at a time.
	MaxPulsesPerBlock = 50
	// BeaconName names the local beacon in chain.Beacon.
	BeaconName = "devchain-local"
	// BeaconScheme is drand's name for the signature scheme.
	BeaconScheme = "bls-unchained-g1-rfc9380"
)

// Pulse is one beacon round in drand's JSON shape (hex strings).
// Randomness is sha256 of the signature, as drand defines it.
type Pulse struct {
	Round      uint64 `json:"round"`
	Signature  string `json:"signature"`
	Randomness string `json:"randomness"`
}

// BeaconInfo is the local beacon as GET /v1/beacon shows it: chain.Beacon
// plus the scheme, the latest round published by the clock and the latest
// round stored on chain.
type BeaconInfo struct {
	chain.Beacon
	Scheme          string `json:"scheme"`
	PublicKeyHex    string `json:"public_key_hex"`
	LatestRound     uint64 `json:"latest_round"`
	LastStoredRound uint64 `json:"last_stored_round"`
}

// loadBeacon reads the beacon key from the state, creating it (with genesis
// now, whole seconds as drand has it) on first use.
func (c *Chain) loadBeacon(ctx context.Context, cfg Config) error {
	if cfg.BeaconPeriod < 0 || cfg.BeaconPeriod > time.Hour {
		return fmt.Errorf("beacon period %v must be between 0 and 1h", cfg.BeaconPeriod)
	}
	var (
		secret, pub         []byte
		genesisNS, periodNS int64
	)
	err := c.db.QueryRowContext(ctx, `SELECT secret, public_key, genesis_ns, period_ns FROM beacon WHERE id = 1`).
		Scan(&secret, &pub, &genesisNS, &periodNS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		entropy := cfg.Rand
		if entropy == nil {
			entropy = rand.Reader
		}
		b, err := tlock.NewBeacon(entropy)
		if err != nil {
			return fmt.Errorf("create the dev chain beacon key: %w", err)
		}
		period := cfg.BeaconPeriod
		if period == 0 {
			period = DefaultBeaconPeriod
		}
		genesis := c.now().Truncate(time.Second)
		secret, pub, genesisNS, periodNS = b.Secret(), b.PublicKey(), genesis.UnixNano(), int64(period)
		if _, err := c.db.ExecContext(ctx, `INSERT INTO beacon (id, secret, public_key, genesis_ns, period_ns) VALUES (1, ?, ?, ?, ?)`,
			secret, pub, genesisNS, periodNS); err != nil {
			return fmt.Errorf("store the dev chain beacon key: %w", err)
		}
		c.beacon = b
		c.log.Info("beacon created", "genesis", genesis, "period", period, "public_key", hex.EncodeToString(pub))
	case err != nil:
		return fmt.Errorf("read the dev chain beacon key: %w", err)
	default:
		b, err := tlock.BeaconFromSecret(secret)
		if err != nil {
			return fmt.Errorf("dev chain beacon key in the state is unusable: %w", err)
		}
		c.beacon = b
		if cfg.BeaconPeriod != 0 && int64(cfg.BeaconPeriod) != periodNS {
			c.log.Warn("beacon period is fixed when the state is created; keeping the stored one",
				"stored", time.Duration(periodNS), "configured", cfg.BeaconPeriod)
		}
	}
	if periodNS <= 0 {
		return fmt.Errorf("dev chain beacon period %v in the state is not positive", time.Duration(periodNS))
	}
	c.info = chain.Beacon{Name: BeaconName, PublicKey: pub, GenesisTime: time.Unix(0, genesisNS).UTC(), Period: time.Duration(periodNS)}
	return nil
}

// storePulses is the beacon's part of producing block: it stores the pulses
// published by the clock since the last stored round, at most
// MaxPulsesPerBlock, and prunes those older than the kept window. Like the
// drand pallet it starts at the current round on first use; after a long
// stop it skips rounds no pending commit waits for.
func (c *Chain) storePulses(ctx context.Context, tx *sql.Tx, block uint64) error {
	current := c.info.RoundAt(c.now())
	var last uint64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'last_stored_round'`).Scan(&last); err != nil {
		return fmt.Errorf("read last stored round: %w", err)
	}
	if current <= last {
		return nil
	}
	from := last + 1
	if last == 0 {
		from = current
	}
	if current-from >= MaxPulsesPerBlock {
		jump := current - MaxPulsesPerBlock + 1
		var need sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(reveal_round) FROM timelocked_commits WHERE reveal_round >= ?`, from).Scan(&need); err != nil {
			return fmt.Errorf("read pending reveal rounds: %w", err)
		}
		if need.Valid && uint64(need.Int64) < jump {
			jump = uint64(need.Int64)
		}
		from = jump
	}
	to := min(current, from+MaxPulsesPerBlock-1)
	for r := from; r <= to; r++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pulses (round, signature, block) VALUES (?, ?, ?) ON CONFLICT(round) DO NOTHING`,
			r, c.beacon.Sign(r), block); err != nil {
			return fmt.Errorf("store pulse %d: %w", r, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'last_stored_round'`, to); err != nil {
		return fmt.Errorf("update last stored round: %w", err)
	}
	if to > c.keep {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pulses WHERE round <= ?`, to-c.keep); err != nil {
			return fmt.Errorf("prune pulses: %w", err)
		}
	}
	return nil
}

// Beacon returns the local beacon's description.
func (c *Chain) Beacon(ctx context.Context) (BeaconInfo, error) {
	bi := BeaconInfo{Beacon: c.beaconCopy(), Scheme: BeaconScheme, PublicKeyHex: hex.EncodeToString(c.info.PublicKey),
		LatestRound: c.info.RoundAt(c.now())}
	if err := c.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'last_stored_round'`).Scan(&bi.LastStoredRound); err != nil {
		return bi, fmt.Errorf("read last stored round: %w", err)
	}
	return bi, nil
}

func (c *Chain) beaconCopy() chain.Beacon {
	b := c.info
	b.PublicKey = append([]byte(nil), b.PublicKey...)
	return b
}

// Pulse returns the beacon's pulse for round, as drand's HTTP API serves it:
// any round already published by the clock, whether or not it is stored on
// chain; a future round (or round 0) is chain.ErrNotFound.
func (c *Chain) Pulse(ctx context.Context, round uint64) (Pulse, error) {
	if err := ctx.Err(); err != nil {
		return Pulse{}, err
	}
	latest := c.info.RoundAt(c.now())
	if round == 0 || round > latest {
		return Pulse{}, fmt.Errorf("%w: beacon round %d is not published yet (latest %d)", chain.ErrNotFound, round, latest)
	}
	return makePulse(round, c.beacon.Sign(round)), nil
}

// StoredPulse returns the pulse for round if it is stored on chain.
func (c *Chain) StoredPulse(ctx context.Context, round uint64) (Pulse, error) {
	var sig []byte
	err := c.db.QueryRowContext(ctx, `SELECT signature FROM pulses WHERE round = ?`, round).Scan(&sig)
	if errors.Is(err, sql.ErrNoRows) {
		return Pulse{}, fmt.Errorf("%w: beacon round %d is not stored on chain", chain.ErrNotFound, round)
	}
	if err != nil {
		return Pulse{}, fmt.Errorf("read pulse %d: %w", round, err)
	}
	return makePulse(round, sig), nil
}

func makePulse(round uint64, sig []byte) Pulse {
	rnd := sha256.Sum256(sig)
	return Pulse{Round: round, Signature: hex.EncodeToString(sig), Randomness: hex.EncodeToString(rnd[:])}
}
