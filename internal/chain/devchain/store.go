package devchain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// migrations are applied in order, each once, in its own transaction; the
// applied versions are recorded in schema_migrations. Append only.
var migrations = []string{
	// 1: initial schema.
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
	INSERT INTO meta (key, value) VALUES ('block', 0);
	CREATE TABLE accounts (
		address TEXT PRIMARY KEY,
		balance INTEGER NOT NULL DEFAULT 0,
		nonce   INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE hotkey_owner (hotkey TEXT PRIMARY KEY, coldkey TEXT NOT NULL);
	CREATE TABLE stakes (
		hotkey  TEXT NOT NULL,
		coldkey TEXT NOT NULL,
		amount  INTEGER NOT NULL,
		PRIMARY KEY (hotkey, coldkey)
	);
	CREATE TABLE subnets (
		netuid        INTEGER PRIMARY KEY,
		owner         TEXT NOT NULL,
		params        TEXT NOT NULL,
		created_block INTEGER NOT NULL
	);
	CREATE TABLE neurons (
		netuid           INTEGER NOT NULL,
		uid              INTEGER NOT NULL,
		hotkey           TEXT NOT NULL,
		coldkey          TEXT NOT NULL,
		registered_block INTEGER NOT NULL,
		last_update      INTEGER NOT NULL DEFAULT 0,
		active           INTEGER NOT NULL DEFAULT 1,
		rank             INTEGER NOT NULL DEFAULT 0,
		trust            INTEGER NOT NULL DEFAULT 0,
		consensus        INTEGER NOT NULL DEFAULT 0,
		incentive        INTEGER NOT NULL DEFAULT 0,
		dividends        INTEGER NOT NULL DEFAULT 0,
		validator_trust  INTEGER NOT NULL DEFAULT 0,
		emission         INTEGER NOT NULL DEFAULT 0,
		validator_permit INTEGER NOT NULL DEFAULT 0,
		pruning_score    INTEGER NOT NULL DEFAULT 0,
		axon             TEXT NOT NULL DEFAULT '',
		axon_block       INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (netuid, uid),
		UNIQUE (netuid, hotkey)
	);
	CREATE TABLE weights (
		netuid INTEGER NOT NULL, uid INTEGER NOT NULL, dest INTEGER NOT NULL, value INTEGER NOT NULL,
		PRIMARY KEY (netuid, uid, dest)
	);
	CREATE TABLE bonds (
		netuid INTEGER NOT NULL, uid INTEGER NOT NULL, dest INTEGER NOT NULL, value INTEGER NOT NULL,
		PRIMARY KEY (netuid, uid, dest)
	);
	CREATE TABLE commitments (
		netuid       INTEGER NOT NULL,
		hotkey       TEXT NOT NULL,
		block        INTEGER NOT NULL,
		data         BLOB NOT NULL,
		window_start INTEGER NOT NULL,
		window_used  INTEGER NOT NULL,
		PRIMARY KEY (netuid, hotkey)
	);`,
	// 2: commit-reveal: each subnet's epoch-schedule state, the local beacon's
	// key, the pulses stored on chain, timelocked commits and chain events.
	`ALTER TABLE subnets ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
	INSERT INTO meta (key, value) VALUES ('last_stored_round', 0);
	CREATE TABLE beacon (
		id         INTEGER PRIMARY KEY CHECK (id = 1),
		secret     BLOB NOT NULL,
		public_key BLOB NOT NULL,
		genesis_ns INTEGER NOT NULL,
		period_ns  INTEGER NOT NULL
	);
	CREATE TABLE pulses (
		round     INTEGER PRIMARY KEY,
		signature BLOB NOT NULL,
		block     INTEGER NOT NULL
	);
	CREATE TABLE timelocked_commits (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		netuid       INTEGER NOT NULL,
		hotkey       TEXT NOT NULL,
		commit_epoch INTEGER NOT NULL,
		commit_block INTEGER NOT NULL,
		reveal_round INTEGER NOT NULL,
		ciphertext   BLOB NOT NULL
	);
	CREATE INDEX timelocked_commits_epoch ON timelocked_commits (netuid, commit_epoch);
	CREATE INDEX timelocked_commits_hotkey ON timelocked_commits (netuid, hotkey);
	CREATE TABLE events (
		id     INTEGER PRIMARY KEY AUTOINCREMENT,
		block  INTEGER NOT NULL,
		netuid INTEGER NOT NULL,
		kind   TEXT NOT NULL,
		hotkey TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_netuid ON events (netuid, id);`,
}

// openDB opens (or creates) the SQLite database at path (":memory:" for a
// throw-away one) and applies pending migrations.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	memory := path == "" || path == ":memory:"
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	if memory {
		dsn = "file::memory:?_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open dev chain state %q: %w", path, err)
	}
	// One connection: a memory database lives in its connection, and the dev
	// chain's writes are serialised anyway.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open dev chain state %q: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate dev chain state %q: %w", path, err)
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return err
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("state schema version %d is newer than this binary knows (%d)", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

// inTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dev chain state: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dev chain state: commit: %w", err)
	}
	return nil
}
