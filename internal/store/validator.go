package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sn27/compute/internal/score"
)

// validatorMigrations is the validator's schema. Times are Unix milliseconds.
var validatorMigrations = []Migration{{
	Version: 1,
	Name:    "validator history",
	SQL: `
CREATE TABLE miners (
	hotkey     TEXT    PRIMARY KEY,
	uid        INTEGER NOT NULL,
	coldkey    TEXT    NOT NULL DEFAULT '',
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL
);
CREATE INDEX miners_uid ON miners (uid);

CREATE TABLE rounds (
	id         INTEGER PRIMARY KEY,
	block      INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	challenges INTEGER NOT NULL
);
CREATE INDEX rounds_created ON rounds (created_at);

CREATE TABLE challenge_details (
	id           INTEGER PRIMARY KEY,
	round_id     INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
	uid          INTEGER NOT NULL,
	ss58_address TEXT    NOT NULL REFERENCES miners (hotkey) ON DELETE CASCADE,
	success      INTEGER NOT NULL CHECK (success IN (0, 1)),
	elapsed_time REAL    NOT NULL,
	difficulty   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	error        TEXT    NOT NULL DEFAULT ''
);
-- Last N per miner: (ss58_address, id) via the implicit rowid.
CREATE INDEX challenge_miner ON challenge_details (ss58_address);
-- Time window per miner and retention by age.
CREATE INDEX challenge_miner_time ON challenge_details (ss58_address, created_at);
CREATE INDEX challenge_round ON challenge_details (round_id);
CREATE INDEX challenge_time ON challenge_details (created_at);

CREATE TABLE miner_details (
	hotkey         TEXT    PRIMARY KEY,
	details        TEXT    NOT NULL DEFAULT '{}',
	no_specs_count INTEGER NOT NULL DEFAULT 0,
	updated_at     INTEGER NOT NULL
);

CREATE TABLE allocations (
	hotkey     TEXT    PRIMARY KEY,
	details    TEXT    NOT NULL DEFAULT '{}',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
);
`,
}, {
	Version: 2,
	Name:    "weights log",
	SQL: `
CREATE TABLE weights_log (
	id             INTEGER PRIMARY KEY,
	netuid         INTEGER NOT NULL,
	hotkey         TEXT    NOT NULL,
	mode           TEXT    NOT NULL CHECK (mode IN ('set', 'commit')),
	block          INTEGER NOT NULL,
	reveal_round   INTEGER NOT NULL DEFAULT 0,
	reveal_block   INTEGER NOT NULL DEFAULT 0,
	uids           TEXT    NOT NULL,
	weights        TEXT    NOT NULL,
	version_key    INTEGER NOT NULL,
	status         TEXT    NOT NULL CHECK (status IN ('set', 'pending', 'revealed', 'superseded', 'missed')),
	revealed_block INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL
);
CREATE INDEX weights_log_key ON weights_log (netuid, hotkey, id);
`,
}, {
	Version: 3,
	Name:    "canary leases",
	SQL:     canarySchema,
}, {
	Version: 4,
	Name:    "renter API keys and audit",
	SQL:     apiSchema,
}, {
	Version: 5,
	Name:    "API rentals, idempotency keys and webhooks",
	SQL:     rentalsSchema,
}}

// ValidatorConfig sets the windows and the retention policy.
type ValidatorConfig struct {
	// StatsWindow is how far back attempts, successes and elapsed times go.
	StatsWindow time.Duration
	// RecentChallenges is the number of a miner's last challenges the
	// failure count and the average difficulty look at.
	RecentChallenges int
	// MaxAge: challenge rows older than this are deleted by Prune.
	MaxAge time.Duration
	// MaxPerMiner: Prune keeps at most this many rows per miner.
	MaxPerMiner int
}

// DefaultValidatorConfig: 12 hours, last 20, 7 days, 5000 rows per miner
// (a round every 10 minutes gives about 1000 a week).
func DefaultValidatorConfig() ValidatorConfig {
	return ValidatorConfig{
		StatsWindow:      12 * time.Hour,
		RecentChallenges: 20,
		MaxAge:           7 * 24 * time.Hour,
		MaxPerMiner:      5000,
	}
}

func (c ValidatorConfig) validate() error {
	switch {
	case c.StatsWindow <= 0:
		return fmt.Errorf("stats window must be positive, got %v", c.StatsWindow)
	case c.RecentChallenges < 1:
		return fmt.Errorf("recent challenge count must be at least 1, got %d", c.RecentChallenges)
	case c.MaxAge < c.StatsWindow:
		return fmt.Errorf("retention %v is shorter than the stats window %v", c.MaxAge, c.StatsWindow)
	case c.MaxPerMiner < c.RecentChallenges:
		return fmt.Errorf("per-miner cap %d is below the recent challenge count %d", c.MaxPerMiner, c.RecentChallenges)
	}
	return nil
}

// Validator is the validator's history. Safe for concurrent use.
type Validator struct {
	db  *sql.DB
	cfg ValidatorConfig
	// beforeResult, when set (tests), runs before each challenge row of a
	// round is written; an error aborts the round.
	beforeResult func(i int) error
}

// ValidatorFile is the validator database's name inside the validator's data
// directory; `compute allocate` records its allocations there too.
const ValidatorFile = "validator.db"

// OpenValidator opens the validator database at path.
func OpenValidator(ctx context.Context, path string, cfg ValidatorConfig) (*Validator, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("validator store: %w", err)
	}
	db, err := Open(ctx, path, validatorMigrations)
	if err != nil {
		return nil, err
	}
	return &Validator{db: db, cfg: cfg}, nil
}

// Close closes the database.
func (v *Validator) Close() error { return v.db.Close() }

// Miner identifies a neuron in the metagraph.
type Miner struct {
	UID     uint16
	Hotkey  string
	Coldkey string
}

// ChallengeResult is one miner's outcome in a round.
type ChallengeResult struct {
	Miner
	Success    bool
	Elapsed    time.Duration
	Difficulty int
	Error      string // why it failed; empty on success
}

// Round is one challenge round: every result is written together or not at all.
type Round struct {
	Block   uint64
	At      time.Time
	Results []ChallengeResult
}

// RecordRound writes a whole round (and refreshes its miners) in one
// transaction and returns the round id. When it returns nil the round is
// durable; when it fails nothing of the round is kept.
func (v *Validator) RecordRound(ctx context.Context, r Round) (int64, error) {
	if r.At.IsZero() {
		return 0, errors.New("record round: the round has no time")
	}
	for i, res := range r.Results {
		if res.Hotkey == "" {
			return 0, fmt.Errorf("record round: result %d (uid %d) has no hotkey", i, res.UID)
		}
	}
	at := r.At.UnixMilli()
	var id int64
	err := inTx(ctx, v.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO rounds (block, created_at, challenges) VALUES (?, ?, ?)",
			int64(r.Block), at, len(r.Results))
		if err != nil {
			return fmt.Errorf("record round: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("record round: %w", err)
		}
		upsert, err := tx.PrepareContext(ctx, upsertMinerSQL)
		if err != nil {
			return fmt.Errorf("record round: %w", err)
		}
		defer upsert.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO challenge_details
			(round_id, uid, ss58_address, success, elapsed_time, difficulty, created_at, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("record round: %w", err)
		}
		defer ins.Close()
		for i, c := range r.Results {
			if v.beforeResult != nil {
				if err := v.beforeResult(i); err != nil {
					return err
				}
			}
			if _, err := upsert.ExecContext(ctx, c.Hotkey, int(c.UID), c.Coldkey, at); err != nil {
				return fmt.Errorf("record round: miner %s: %w", c.Hotkey, err)
			}
			if _, err := ins.ExecContext(ctx, id, int(c.UID), c.Hotkey, c.Success,
				c.Elapsed.Seconds(), c.Difficulty, at, c.Error); err != nil {
				return fmt.Errorf("record round: result of %s: %w", c.Hotkey, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

const upsertMinerSQL = `INSERT INTO miners (hotkey, uid, coldkey, first_seen, last_seen)
	VALUES (?1, ?2, ?3, ?4, ?4)
	ON CONFLICT (hotkey) DO UPDATE SET
		uid = excluded.uid,
		coldkey = CASE WHEN excluded.coldkey = '' THEN miners.coldkey ELSE excluded.coldkey END,
		last_seen = MAX(miners.last_seen, excluded.last_seen)`

// UpsertMiners records miners seen in the metagraph at the given time.
func (v *Validator) UpsertMiners(ctx context.Context, at time.Time, miners []Miner) error {
	return inTx(ctx, v.db, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, upsertMinerSQL)
		if err != nil {
			return fmt.Errorf("record miners: %w", err)
		}
		defer st.Close()
		for _, m := range miners {
			if _, err := st.ExecContext(ctx, m.Hotkey, int(m.UID), m.Coldkey, at.UnixMilli()); err != nil {
				return fmt.Errorf("record miner %s: %w", m.Hotkey, err)
			}
		}
		return nil
	})
}

// PurgeMiner deletes everything known about a hotkey: its challenge
// history, specs and the miner row. Allocations are kept (a renter may still
// hold one and must release it).
func (v *Validator) PurgeMiner(ctx context.Context, hotkey string) error {
	return inTx(ctx, v.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM miners WHERE hotkey = ?", hotkey); err != nil {
			return fmt.Errorf("purge miner %s: %w", hotkey, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM miner_details WHERE hotkey = ?", hotkey); err != nil {
			return fmt.Errorf("purge miner %s: %w", hotkey, err)
		}
		return nil
	})
}

// PurgeReplaced compares the stored miners with the metagraph (uid ->
// hotkey) and purges every hotkey whose uid is now held by another hotkey or
// no longer exists. It returns the purged hotkeys.
func (v *Validator) PurgeReplaced(ctx context.Context, current map[uint16]string) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT hotkey, uid FROM miners")
	if err != nil {
		return nil, fmt.Errorf("list miners: %w", err)
	}
	var gone []string
	for rows.Next() {
		var hk string
		var uid int
		if err := rows.Scan(&hk, &uid); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list miners: %w", err)
		}
		if uid < 0 || uid > 0xffff || current[uint16(uid)] != hk {
			gone = append(gone, hk)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list miners: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list miners: %w", err)
	}
	for _, hk := range gone {
		if err := v.PurgeMiner(ctx, hk); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

// statsSQL computes, for every miner in one statement, the figures of the
// stats window (?1 = since, ms) and of its last ?2 challenges (by recording
// order), using the per-miner indexes.
const statsSQL = `
WITH w AS (
	SELECT m.hotkey AS hotkey, COUNT(c.id) AS attempts, COALESCE(SUM(c.success), 0) AS successes,
		COALESCE(AVG(CASE WHEN c.success = 1 THEN c.elapsed_time END), 0) AS avg_elapsed
	FROM miners m LEFT JOIN challenge_details c INDEXED BY challenge_miner_time
		ON c.ss58_address = m.hotkey AND c.created_at >= ?1
	GROUP BY m.hotkey
), r AS (
	SELECT m.hotkey AS hotkey, COALESCE(SUM(1 - c.success), 0) AS failures,
		COALESCE(AVG(CASE WHEN c.success = 1 THEN c.difficulty END), 0) AS avg_difficulty
	FROM miners m LEFT JOIN challenge_details c INDEXED BY challenge_miner
		ON c.ss58_address = m.hotkey AND c.id >= COALESCE((
			SELECT c2.id FROM challenge_details c2 INDEXED BY challenge_miner
			WHERE c2.ss58_address = m.hotkey ORDER BY c2.id DESC LIMIT 1 OFFSET ?2 - 1), 0)
	GROUP BY m.hotkey
)
SELECT w.hotkey, w.attempts, w.successes, w.avg_elapsed, r.failures, r.avg_difficulty
FROM w JOIN r ON r.hotkey = w.hotkey`

// Stats returns the score figures of every known miner, keyed by hotkey:
// attempts, successes and the average elapsed time of successes within the
// stats window before now; failures and the average difficulty of
// successes among its last RecentChallenges challenges, in recording order
// (so a clock that jumps back cannot reorder them). Miners known from the
// metagraph but never challenged have zero stats.
func (v *Validator) Stats(ctx context.Context, now time.Time) (map[string]score.Stats, error) {
	since := now.Add(-v.cfg.StatsWindow).UnixMilli()
	rows, err := v.db.QueryContext(ctx, statsSQL, since, v.cfg.RecentChallenges)
	if err != nil {
		return nil, fmt.Errorf("read miner stats: %w", err)
	}
	defer rows.Close()
	out := make(map[string]score.Stats)
	for rows.Next() {
		var hk string
		var s score.Stats
		if err := rows.Scan(&hk, &s.Attempts, &s.Successes, &s.AvgElapsed, &s.RecentFailures, &s.RecentAvgDifficulty); err != nil {
			return nil, fmt.Errorf("read miner stats: %w", err)
		}
		out[hk] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read miner stats: %w", err)
	}
	return out, nil
}

// pruneCapSQL deletes, per miner, the rows older than its ?1-th newest
// (CROSS JOIN keeps miners as the outer loop: one index range per miner).
const pruneCapSQL = `DELETE FROM challenge_details WHERE id IN (
	SELECT c.id FROM miners m CROSS JOIN challenge_details c INDEXED BY challenge_miner
		ON c.ss58_address = m.hotkey
		AND c.id < (SELECT c2.id FROM challenge_details c2 INDEXED BY challenge_miner
			WHERE c2.ss58_address = m.hotkey ORDER BY c2.id DESC LIMIT 1 OFFSET ?1 - 1))`

// Prune applies the retention policy at now: challenge rows older than
// MaxAge go, then each miner keeps at most its MaxPerMiner newest rows;
// rounds left without rows go too. It returns the number of challenge rows
// deleted.
func (v *Validator) Prune(ctx context.Context, now time.Time) (int64, error) {
	cutoff := now.Add(-v.cfg.MaxAge).UnixMilli()
	var deleted int64
	err := inTx(ctx, v.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM challenge_details WHERE created_at < ?", cutoff)
		if err != nil {
			return fmt.Errorf("prune by age: %w", err)
		}
		n, _ := res.RowsAffected()
		deleted += n
		res, err = tx.ExecContext(ctx, pruneCapSQL, v.cfg.MaxPerMiner)
		if err != nil {
			return fmt.Errorf("prune per miner: %w", err)
		}
		n, _ = res.RowsAffected()
		deleted += n
		if _, err := tx.ExecContext(ctx, `DELETE FROM rounds WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM challenge_details c WHERE c.round_id = rounds.id)`, cutoff); err != nil {
			return fmt.Errorf("prune rounds: %w", err)
		}
		return nil
	})
	return deleted, err
}

// MinerSpecs are the last specs a miner reported.
type MinerSpecs struct {
	Hotkey       string
	Details      json.RawMessage
	NoSpecsCount int
	UpdatedAt    time.Time
}

// SaveSpecs stores a miner's reported specs (a JSON document) and resets
// its count of missed specs queries.
func (v *Validator) SaveSpecs(ctx context.Context, hotkey string, details json.RawMessage, at time.Time) error {
	if !json.Valid(details) {
		return fmt.Errorf("save specs of %s: the details are not valid JSON", hotkey)
	}
	_, err := v.db.ExecContext(ctx, `INSERT INTO miner_details (hotkey, details, no_specs_count, updated_at)
		VALUES (?, ?, 0, ?)
		ON CONFLICT (hotkey) DO UPDATE SET details = excluded.details, no_specs_count = 0,
			updated_at = excluded.updated_at`, hotkey, string(details), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("save specs of %s: %w", hotkey, err)
	}
	return nil
}

// MissedSpecs counts a specs query the miner did not answer and returns the
// new count.
func (v *Validator) MissedSpecs(ctx context.Context, hotkey string, at time.Time) (int, error) {
	var n int
	err := v.db.QueryRowContext(ctx, `INSERT INTO miner_details (hotkey, details, no_specs_count, updated_at)
		VALUES (?, '{}', 1, ?)
		ON CONFLICT (hotkey) DO UPDATE SET no_specs_count = miner_details.no_specs_count + 1,
			updated_at = excluded.updated_at
		RETURNING no_specs_count`, hotkey, at.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count missed specs of %s: %w", hotkey, err)
	}
	return n, nil
}

// Specs returns the stored specs of every miner, keyed by hotkey.
func (v *Validator) Specs(ctx context.Context) (map[string]MinerSpecs, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT hotkey, details, no_specs_count, updated_at FROM miner_details")
	if err != nil {
		return nil, fmt.Errorf("read specs: %w", err)
	}
	defer rows.Close()
	out := make(map[string]MinerSpecs)
	for rows.Next() {
		var s MinerSpecs
		var details string
		var at int64
		if err := rows.Scan(&s.Hotkey, &details, &s.NoSpecsCount, &at); err != nil {
			return nil, fmt.Errorf("read specs: %w", err)
		}
		s.Details = json.RawMessage(details)
		s.UpdatedAt = time.UnixMilli(at)
		out[s.Hotkey] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read specs: %w", err)
	}
	return out, nil
}

// Allocation is a miner machine held by this validator's renter.
type Allocation struct {
	Hotkey    string
	Details   json.RawMessage // resource, address, user; never the password
	CreatedAt time.Time
	ExpiresAt time.Time // zero: unknown
}

// SaveAllocation records (or replaces) the allocation of a hotkey.
func (v *Validator) SaveAllocation(ctx context.Context, a Allocation) error {
	if !json.Valid(a.Details) {
		return fmt.Errorf("save allocation of %s: the details are not valid JSON", a.Hotkey)
	}
	var expires int64
	if !a.ExpiresAt.IsZero() {
		expires = a.ExpiresAt.UnixMilli()
	}
	_, err := v.db.ExecContext(ctx, `INSERT INTO allocations (hotkey, details, created_at, expires_at, updated_at)
		VALUES (?1, ?2, ?3, ?4, ?3)
		ON CONFLICT (hotkey) DO UPDATE SET details = excluded.details, created_at = excluded.created_at,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		a.Hotkey, string(a.Details), a.CreatedAt.UnixMilli(), expires)
	if err != nil {
		return fmt.Errorf("save allocation of %s: %w", a.Hotkey, err)
	}
	return nil
}

// DeleteAllocation forgets the allocation of a hotkey; it reports whether
// there was one.
func (v *Validator) DeleteAllocation(ctx context.Context, hotkey string) (bool, error) {
	res, err := v.db.ExecContext(ctx, "DELETE FROM allocations WHERE hotkey = ?", hotkey)
	if err != nil {
		return false, fmt.Errorf("delete allocation of %s: %w", hotkey, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Allocations lists the recorded allocations, oldest first.
func (v *Validator) Allocations(ctx context.Context) ([]Allocation, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT hotkey, details, created_at, expires_at FROM allocations ORDER BY created_at, hotkey")
	if err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	defer rows.Close()
	var out []Allocation
	for rows.Next() {
		var a Allocation
		var details string
		var created, expires int64
		if err := rows.Scan(&a.Hotkey, &details, &created, &expires); err != nil {
			return nil, fmt.Errorf("read allocations: %w", err)
		}
		a.Details = json.RawMessage(details)
		a.CreatedAt = time.UnixMilli(created)
		if expires != 0 {
			a.ExpiresAt = time.UnixMilli(expires)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	return out, nil
}

// Allocated returns the set of hotkeys with a recorded allocation that has
// not expired at now.
func (v *Validator) Allocated(ctx context.Context, now time.Time) (map[string]bool, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT hotkey FROM allocations WHERE expires_at = 0 OR expires_at > ?", now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	defer rows.Close()
	out := make(map[string]bool)
	for rows.Next() {
		var hk string
		if err := rows.Scan(&hk); err != nil {
			return nil, fmt.Errorf("read allocations: %w", err)
		}
		out[hk] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	return out, nil
}

// CheckIntegrity runs SQLite's integrity and foreign key checks.
func (v *Validator) CheckIntegrity(ctx context.Context) error {
	var res string
	if err := v.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	rows, err := v.db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("foreign key check: dangling references found")
	}
	return rows.Err()
}
