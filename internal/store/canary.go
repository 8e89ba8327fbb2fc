package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// canarySchema is migration 3: the canary leases' runs, each miner's
// verification state and the GPU UUIDs its last lease showed.
const canarySchema = `
CREATE TABLE canary_runs (
	id          INTEGER PRIMARY KEY,
	hotkey      TEXT    NOT NULL,
	uid         INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	detail      TEXT    NOT NULL DEFAULT '',
	login_ms    INTEGER NOT NULL DEFAULT 0,
	measured    TEXT    NOT NULL DEFAULT '{}',
	specs_hash  TEXT    NOT NULL DEFAULT '',
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL
);
CREATE INDEX canary_runs_miner ON canary_runs (hotkey, id);

CREATE TABLE canary_status (
	hotkey      TEXT    PRIMARY KEY,
	state       TEXT    NOT NULL CHECK (state IN ('verified', 'failed', 'pending')),
	reason      TEXT    NOT NULL,
	detail      TEXT    NOT NULL DEFAULT '',
	strikes     INTEGER NOT NULL DEFAULT 0,
	specs_hash  TEXT    NOT NULL DEFAULT '',
	checked_at  INTEGER NOT NULL,
	verified_at INTEGER NOT NULL DEFAULT 0,
	failed_at   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE canary_gpus (
	hotkey  TEXT    NOT NULL,
	uuid    TEXT    NOT NULL,
	seen_at INTEGER NOT NULL,
	PRIMARY KEY (hotkey, uuid)
);
CREATE INDEX canary_gpus_uuid ON canary_gpus (uuid);
`

// Verification states of a miner's specs (canary_status.state).
const (
	CanaryVerified = "verified" // the last canary lease delivered what the specs claim
	CanaryFailed   = "failed"   // a canary lease failed: the specs are unverified
	CanaryPending  = "pending"  // checked, but no verdict yet (a first refusal, say)
)

// canaryRunsKept is how many runs per miner the log keeps.
const canaryRunsKept = 50

// CanaryRun is one canary lease of a miner and its outcome.
type CanaryRun struct {
	ID     int64
	Hotkey string
	UID    uint16
	// Reason is the outcome's code (ok, allocate_refused, ssh_login, ...).
	Reason string
	Detail string
	// LoginTime is from the Allocate request to the first shell command's
	// answer; zero when the login did not happen.
	LoginTime time.Duration
	// Measured is what was seen inside the container (JSON).
	Measured json.RawMessage
	// SpecsHash identifies the specs report the run checked.
	SpecsHash string
	// GPUUUIDs are the GPUs the container showed; nil leaves the miner's
	// recorded set as it was (the run did not get that far).
	GPUUUIDs []string
	Started  time.Time
	Finished time.Time
}

// CanaryStatus is a miner's verification state.
type CanaryStatus struct {
	Hotkey string
	State  string // CanaryVerified, CanaryFailed or CanaryPending
	Reason string
	Detail string
	// Strikes counts consecutive refusals (a busy miner is not failed on the first).
	Strikes   int
	SpecsHash string // of the specs last checked
	CheckedAt time.Time
	// VerifiedAt and FailedAt are the last pass and the last failure (zero: never).
	VerifiedAt time.Time
	FailedAt   time.Time
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// RecordCanary appends a run to the canary log (keeping the newest runs
// per miner), sets the miner's verification state and, when the run saw
// GPUs, replaces the miner's recorded GPU UUIDs, in one transaction.
func (v *Validator) RecordCanary(ctx context.Context, run CanaryRun, st CanaryStatus) error {
	if run.Hotkey == "" || st.Hotkey != run.Hotkey {
		return fmt.Errorf("record canary run: hotkeys %q and %q do not match", run.Hotkey, st.Hotkey)
	}
	if err := checkState(st.State); err != nil {
		return fmt.Errorf("record canary run of %s: %w", run.Hotkey, err)
	}
	measured := run.Measured
	if len(measured) == 0 {
		measured = json.RawMessage("{}")
	}
	if !json.Valid(measured) {
		return fmt.Errorf("record canary run of %s: the measurements are not valid JSON", run.Hotkey)
	}
	return inTx(ctx, v.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO canary_runs (hotkey, uid, reason, detail, login_ms, measured,
			specs_hash, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			run.Hotkey, int(run.UID), run.Reason, run.Detail, run.LoginTime.Milliseconds(), string(measured),
			run.SpecsHash, run.Started.UnixMilli(), run.Finished.UnixMilli()); err != nil {
			return fmt.Errorf("record canary run of %s: %w", run.Hotkey, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM canary_runs WHERE hotkey = ?1 AND id < COALESCE((
			SELECT id FROM canary_runs WHERE hotkey = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2 - 1), 0)`,
			run.Hotkey, canaryRunsKept); err != nil {
			return fmt.Errorf("prune canary runs of %s: %w", run.Hotkey, err)
		}
		if err := putStatus(ctx, tx, st); err != nil {
			return err
		}
		if run.GPUUUIDs == nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM canary_gpus WHERE hotkey = ?", run.Hotkey); err != nil {
			return fmt.Errorf("record GPUs of %s: %w", run.Hotkey, err)
		}
		for _, u := range run.GPUUUIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO canary_gpus (hotkey, uuid, seen_at) VALUES (?, ?, ?)
				ON CONFLICT (hotkey, uuid) DO UPDATE SET seen_at = excluded.seen_at`,
				run.Hotkey, u, run.Finished.UnixMilli()); err != nil {
				return fmt.Errorf("record GPUs of %s: %w", run.Hotkey, err)
			}
		}
		return nil
	})
}

func checkState(s string) error {
	switch s {
	case CanaryVerified, CanaryFailed, CanaryPending:
		return nil
	}
	return fmt.Errorf("unknown verification state %q", s)
}

func putStatus(ctx context.Context, tx *sql.Tx, st CanaryStatus) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO canary_status (hotkey, state, reason, detail, strikes, specs_hash,
		checked_at, verified_at, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hotkey) DO UPDATE SET state = excluded.state, reason = excluded.reason,
			detail = excluded.detail, strikes = excluded.strikes, specs_hash = excluded.specs_hash,
			checked_at = excluded.checked_at, verified_at = excluded.verified_at, failed_at = excluded.failed_at`,
		st.Hotkey, st.State, st.Reason, st.Detail, st.Strikes, st.SpecsHash,
		msOrZero(st.CheckedAt), msOrZero(st.VerifiedAt), msOrZero(st.FailedAt))
	if err != nil {
		return fmt.Errorf("record verification state of %s: %w", st.Hotkey, err)
	}
	return nil
}

// FailCanary marks the specs of hotkeys failed with a reason (a finding
// that concerns several miners, such as one GPU under two hotkeys) and
// returns the hotkeys whose state changed.
func (v *Validator) FailCanary(ctx context.Context, hotkeys []string, reason, detail string, at time.Time) ([]string, error) {
	var changed []string
	err := inTx(ctx, v.db, func(tx *sql.Tx) error {
		changed = changed[:0]
		for _, hk := range hotkeys {
			var state, oldReason string
			err := tx.QueryRowContext(ctx, "SELECT state, reason FROM canary_status WHERE hotkey = ?", hk).Scan(&state, &oldReason)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read verification state of %s: %w", hk, err)
			}
			if state == CanaryFailed && oldReason == reason {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO canary_status (hotkey, state, reason, detail, checked_at, failed_at)
				VALUES (?1, 'failed', ?2, ?3, ?4, ?4)
				ON CONFLICT (hotkey) DO UPDATE SET state = 'failed', reason = excluded.reason, detail = excluded.detail,
					failed_at = excluded.failed_at`, hk, reason, detail, at.UnixMilli()); err != nil {
				return fmt.Errorf("mark %s unverified: %w", hk, err)
			}
			changed = append(changed, hk)
		}
		return nil
	})
	return changed, err
}

// CanaryStatuses returns every miner's verification state, keyed by hotkey.
func (v *Validator) CanaryStatuses(ctx context.Context) (map[string]CanaryStatus, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT hotkey, state, reason, detail, strikes, specs_hash, checked_at,
		verified_at, failed_at FROM canary_status`)
	if err != nil {
		return nil, fmt.Errorf("read verification states: %w", err)
	}
	defer rows.Close()
	out := make(map[string]CanaryStatus)
	for rows.Next() {
		var s CanaryStatus
		var checked, verified, failed int64
		if err := rows.Scan(&s.Hotkey, &s.State, &s.Reason, &s.Detail, &s.Strikes, &s.SpecsHash, &checked, &verified, &failed); err != nil {
			return nil, fmt.Errorf("read verification states: %w", err)
		}
		s.CheckedAt, s.VerifiedAt, s.FailedAt = timeOrZero(checked), timeOrZero(verified), timeOrZero(failed)
		out[s.Hotkey] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read verification states: %w", err)
	}
	return out, nil
}

// Unverified returns the hotkeys whose specs a canary lease failed, with
// the reason; `compute allocate` leaves them out and the weights penalise them.
func (v *Validator) Unverified(ctx context.Context) (map[string]string, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT hotkey, reason FROM canary_status WHERE state = 'failed'")
	if err != nil {
		return nil, fmt.Errorf("read unverified miners: %w", err)
	}
	defer rows.Close()
	out := make(map[string]string)
	for rows.Next() {
		var hk, reason string
		if err := rows.Scan(&hk, &reason); err != nil {
			return nil, fmt.Errorf("read unverified miners: %w", err)
		}
		out[hk] = reason
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read unverified miners: %w", err)
	}
	return out, nil
}

// CanaryRuns returns the newest runs first, at most limit (0: all kept), of
// one miner or, with hotkey "", of every miner.
func (v *Validator) CanaryRuns(ctx context.Context, hotkey string, limit int) ([]CanaryRun, error) {
	q := `SELECT id, hotkey, uid, reason, detail, login_ms, measured, specs_hash, started_at, finished_at
		FROM canary_runs WHERE ?1 = '' OR hotkey = ?1 ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := v.db.QueryContext(ctx, q, hotkey)
	if err != nil {
		return nil, fmt.Errorf("read canary runs: %w", err)
	}
	defer rows.Close()
	var out []CanaryRun
	for rows.Next() {
		var r CanaryRun
		var uid int
		var loginMS, started, finished int64
		var measured string
		if err := rows.Scan(&r.ID, &r.Hotkey, &uid, &r.Reason, &r.Detail, &loginMS, &measured, &r.SpecsHash, &started, &finished); err != nil {
			return nil, fmt.Errorf("read canary runs: %w", err)
		}
		r.UID = uint16(uid)
		r.LoginTime = time.Duration(loginMS) * time.Millisecond
		r.Measured = json.RawMessage(measured)
		r.Started, r.Finished = time.UnixMilli(started), time.UnixMilli(finished)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read canary runs: %w", err)
	}
	return out, nil
}

// GPUOwners returns, for each of uuids, the hotkeys other than except
// whose last canary lease showed that GPU.
func (v *Validator) GPUOwners(ctx context.Context, uuids []string, except string) (map[string][]string, error) {
	out := make(map[string][]string)
	if len(uuids) == 0 {
		return out, nil
	}
	st, err := v.db.PrepareContext(ctx, "SELECT hotkey FROM canary_gpus WHERE uuid = ? AND hotkey <> ? ORDER BY hotkey")
	if err != nil {
		return nil, fmt.Errorf("read GPU owners: %w", err)
	}
	defer st.Close()
	for _, u := range slices.Compact(slices.Sorted(slices.Values(uuids))) {
		rows, err := st.QueryContext(ctx, u, except)
		if err != nil {
			return nil, fmt.Errorf("read GPU owners: %w", err)
		}
		for rows.Next() {
			var hk string
			if err := rows.Scan(&hk); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read GPU owners: %w", err)
			}
			out[u] = append(out[u], hk)
		}
		err = errors.Join(rows.Err(), rows.Close())
		if err != nil {
			return nil, fmt.Errorf("read GPU owners: %w", err)
		}
	}
	return out, nil
}

// ForgetCanary deletes the canary records of hotkeys that left the subnet
// (their GPUs no longer count as seen elsewhere).
func (v *Validator) ForgetCanary(ctx context.Context, hotkeys []string) error {
	if len(hotkeys) == 0 {
		return nil
	}
	hotkeys = slices.Compact(slices.Sorted(slices.Values(hotkeys)))
	marks := strings.TrimSuffix(strings.Repeat("?,", len(hotkeys)), ",")
	args := make([]any, len(hotkeys))
	for i, h := range hotkeys {
		args[i] = h
	}
	return inTx(ctx, v.db, func(tx *sql.Tx) error {
		for _, table := range []string{"canary_gpus", "canary_status", "canary_runs"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE hotkey IN ("+marks+")", args...); err != nil {
				return fmt.Errorf("forget canary records: %w", err)
			}
		}
		return nil
	})
}
