package devchain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

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
	// 3: checked amounts: the issuance counters, each account's faucet
	// total, and triggers refusing any amount that is not an integer in
	// 0..2^63-1 (what SQLite makes of an overflowing addition). Holdings of
	// an older state count as minted; repairIssuance fixes amounts an older
	// version let overflow.
	`ALTER TABLE accounts ADD COLUMN faucet INTEGER NOT NULL DEFAULT 0;
	INSERT INTO meta (key, value) VALUES ('minted', 0), ('emitted', 0), ('burned', 0);
	CREATE TRIGGER accounts_amounts_insert BEFORE INSERT ON accounts
	WHEN typeof(NEW.balance) <> 'integer' OR NEW.balance < 0 OR typeof(NEW.faucet) <> 'integer' OR NEW.faucet < 0
	BEGIN SELECT RAISE(ABORT, 'account amount out of range'); END;
	CREATE TRIGGER accounts_amounts_update BEFORE UPDATE OF balance, faucet ON accounts
	WHEN typeof(NEW.balance) <> 'integer' OR NEW.balance < 0 OR typeof(NEW.faucet) <> 'integer' OR NEW.faucet < 0
	BEGIN SELECT RAISE(ABORT, 'account amount out of range'); END;
	CREATE TRIGGER stakes_amount_insert BEFORE INSERT ON stakes
	WHEN typeof(NEW.amount) <> 'integer' OR NEW.amount < 0
	BEGIN SELECT RAISE(ABORT, 'stake amount out of range'); END;
	CREATE TRIGGER stakes_amount_update BEFORE UPDATE OF amount ON stakes
	WHEN typeof(NEW.amount) <> 'integer' OR NEW.amount < 0
	BEGIN SELECT RAISE(ABORT, 'stake amount out of range'); END;
	CREATE TRIGGER meta_value_update BEFORE UPDATE OF value ON meta
	WHEN typeof(NEW.value) <> 'integer' OR NEW.value < 0
	BEGIN SELECT RAISE(ABORT, 'chain counter out of range'); END;`,
}

// afterMigration is the Go part of migration v, run in its transaction
// after its SQL (nil when there is none).
func afterMigration(v int) func(context.Context, *sql.Tx, *slog.Logger) error {
	if v == 3 {
		return repairIssuance
	}
	return nil
}

// openDB opens (or creates) the SQLite database at path (":memory:" for a
// throw-away one) and applies pending migrations.
func openDB(ctx context.Context, path string, log *slog.Logger) (*sql.DB, error) {
	memory := path == "" || path == ":memory:"
	// A URI filename: '%', '?' and '#' in the path are escaped, or SQLite
	// would read them as an escape, the query or a fragment and open
	// another file.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
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
	if err := migrate(ctx, db, log); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate dev chain state %q: %w", path, err)
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
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
		if fn := afterMigration(v); fn != nil {
			if err := fn(ctx, tx, log); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %d: %w", v, err)
			}
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

// repairIssuance starts the issuance counters of a state written before they
// existed: its balances and stakes count as minted. Amounts an older version
// let overflow (a REAL where an INTEGER belongs, a negative value, or rows
// whose sum leaves the INTEGER range) are brought back into range, each
// logged: the amounts in range are kept first, in table and row order, as
// long as their sum fits; then each of the others gets what is left, up to
// its own value (a negative or non-number amount gets 0). Every later sum
// then stays in range.
func repairIssuance(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	type row struct {
		table, column string
		rowid         int64
		name          string
		old           any
		want          uint64 // the amount it asks for, in u64
	}
	var all []row
	for _, t := range []struct{ table, column, name string }{
		{"accounts", "balance", "address"},
		{"stakes", "amount", "hotkey || ' from ' || coldkey"},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT rowid, `+t.name+`, `+t.column+` FROM `+t.table+` ORDER BY rowid`)
		if err != nil {
			return fmt.Errorf("read %s: %w", t.table, err)
		}
		for rows.Next() {
			r := row{table: t.table, column: t.column}
			if err := rows.Scan(&r.rowid, &r.name, &r.old); err != nil {
				rows.Close()
				return fmt.Errorf("read %s: %w", t.table, err)
			}
			switch x := r.old.(type) {
			case int64:
				r.want = uint64(max(x, 0))
			case float64:
				if x > 0 {
					r.want = uint64(math.Min(x, MaxIssuanceRao))
				}
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", t.table, err)
		}
	}
	var total uint64
	var rest []row
	for _, r := range all {
		if x, ok := r.old.(int64); ok && x >= 0 && uint64(x) <= MaxIssuanceRao-total {
			total += uint64(x)
			continue
		}
		rest = append(rest, r)
	}
	for _, r := range rest {
		to := min(r.want, MaxIssuanceRao-total)
		total += to
		log.Warn("dev chain state: an amount written out of range by an older version was brought back into range",
			"table", r.table, "row", r.name, "was", r.old, "now_rao", to)
		if _, err := tx.ExecContext(ctx, `UPDATE `+r.table+` SET `+r.column+` = ? WHERE rowid = ?`, to, r.rowid); err != nil {
			return fmt.Errorf("repair %s: %w", r.table, err)
		}
	}
	return storeIssuance(ctx, tx, Issuance{MintedRao: total})
}
