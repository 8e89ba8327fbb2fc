package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Statuses of a rental made through the API (rentals.status).
const (
	RentalActive    = "active"    // leased, and the last health checks passed (or none ran yet)
	RentalUnhealthy = "unhealthy" // leased, but the last health checks failed
	RentalReleased  = "released"  // ended by a release
	RentalExpired   = "expired"   // ended by its timeline
)

// Errors of the rental accessors, for errors.Is.
var (
	// ErrRentalNotFound: no rental has that id.
	ErrRentalNotFound = errors.New("no such rental")
	// ErrRentalEnded: the rental was released or expired; it changes no more.
	ErrRentalEnded = errors.New("the rental has ended")
	// ErrRentalExists: a rental with that id is stored already.
	ErrRentalExists = errors.New("a rental with this id exists")
)

// Rental is a lease made through the API, owned by an API key.
type Rental struct {
	ID     string
	Owner  string // the API key id
	Hotkey string // the miner's
	Status string // RentalActive, RentalUnhealthy, RentalReleased or RentalExpired
	// Details is the rest of the rental (address, user, keys, resources) as
	// the rentals package writes it: a JSON object.
	Details   json.RawMessage
	Misses    int       // failed health checks in a row
	CheckedAt time.Time // last health check (zero: none yet)
	LastError string    // why the last health check failed
	CreatedAt time.Time
	ExpiresAt time.Time
	EndedAt   time.Time // released or expired (zero: live)
}

// Live reports whether the rental still holds its lease.
func (r Rental) Live() bool { return r.Status == RentalActive || r.Status == RentalUnhealthy }

const rentalColumns = `id, owner, hotkey, status, details, misses, checked_at, last_error, created_at, expires_at, ended_at`

const liveSQL = `status IN ('active', 'unhealthy')`

func scanRental(sc rowScanner) (Rental, error) {
	var r Rental
	var details string
	var checked, created, expires, ended int64
	if err := sc.Scan(&r.ID, &r.Owner, &r.Hotkey, &r.Status, &details, &r.Misses, &checked, &r.LastError,
		&created, &expires, &ended); err != nil {
		return r, err
	}
	r.Details = json.RawMessage(details)
	r.CheckedAt, r.CreatedAt, r.ExpiresAt, r.EndedAt = timeOrZero(checked), time.UnixMilli(created), time.UnixMilli(expires), timeOrZero(ended)
	return r, nil
}

func queryRentals(ctx context.Context, q queryer, query string, args ...any) ([]Rental, error) {
	return queryAll(ctx, q, "rentals", scanRental, query, args...)
}

// IdempotencyDone is the outcome stored with a request's idempotency key.
type IdempotencyDone struct {
	Key      string // the client's Idempotency-Key ("" : none)
	Status   int    // the answer's status code
	Response []byte // the answer's body
}

// CreateRental stores a new live rental and, when done.Key is set, marks
// the owner's idempotency key done with the answer, in one transaction. A
// live rental of the same miner stored before (its lease replaced: the
// renter leases a miner again only when its record of the old lease expired
// or was released elsewhere) is ended as released and returned.
func (v *Validator) CreateRental(ctx context.Context, r Rental, done IdempotencyDone) (superseded []Rental, err error) {
	if err := checkNewRental(r); err != nil {
		return nil, err
	}
	err = inTx(ctx, v.db, func(tx *sql.Tx) error {
		old, err := queryRentals(ctx, tx, "SELECT "+rentalColumns+" FROM rentals WHERE hotkey = ? AND "+liveSQL, r.Hotkey)
		if err != nil {
			return err
		}
		at := r.CreatedAt.UnixMilli()
		for i := range old {
			if _, err := tx.ExecContext(ctx, "UPDATE rentals SET status = 'released', ended_at = ? WHERE id = ?", at, old[i].ID); err != nil {
				return fmt.Errorf("end rental %s: %w", old[i].ID, err)
			}
			old[i].Status, old[i].EndedAt = RentalReleased, r.CreatedAt
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO rentals (id, owner, hotkey, status, details, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			r.ID, r.Owner, r.Hotkey, r.Status, string(r.Details), at, r.ExpiresAt.UnixMilli())
		if err != nil {
			return fmt.Errorf("store rental %s: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("store rental %s: %w", r.ID, ErrRentalExists)
		}
		if done.Key != "" {
			if err := finishKey(ctx, tx, r.Owner, done.Key, IdempotencyDoneState, done.Status, done.Response); err != nil {
				return err
			}
		}
		superseded = old
		return nil
	})
	if err != nil {
		return nil, err
	}
	return superseded, nil
}

func checkNewRental(r Rental) error {
	switch {
	case r.ID == "" || r.Hotkey == "":
		return errors.New("store rental: the rental has no id or no miner")
	case r.Status != RentalActive && r.Status != RentalUnhealthy:
		return fmt.Errorf("store rental %s: a new rental is live, not %q", r.ID, r.Status)
	case r.CreatedAt.IsZero() || r.ExpiresAt.IsZero():
		return fmt.Errorf("store rental %s: the rental has no creation or expiry time", r.ID)
	case !json.Valid(r.Details):
		return fmt.Errorf("store rental %s: the details are not valid JSON", r.ID)
	}
	return nil
}

// Rental returns the rental with id; ErrRentalNotFound when none.
func (v *Validator) Rental(ctx context.Context, id string) (Rental, error) {
	r, err := scanRental(v.db.QueryRowContext(ctx, "SELECT "+rentalColumns+" FROM rentals WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("rental %s: %w", id, ErrRentalNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read rental %s: %w", id, err)
	}
	return r, nil
}

// Rentals lists the rentals of owner ("" : every owner's), oldest first.
func (v *Validator) Rentals(ctx context.Context, owner string) ([]Rental, error) {
	return queryRentals(ctx, v.db, "SELECT "+rentalColumns+" FROM rentals WHERE ?1 = '' OR owner = ?1 ORDER BY created_at, id", owner)
}

// LiveRentals lists the rentals that still hold their lease (active or
// unhealthy), oldest first.
func (v *Validator) LiveRentals(ctx context.Context) ([]Rental, error) {
	return queryRentals(ctx, v.db, "SELECT "+rentalColumns+" FROM rentals WHERE "+liveSQL+" ORDER BY created_at, id")
}

// UpdateRental replaces a live rental's details and expiry (after a lease
// action); ErrRentalEnded when it has ended, ErrRentalNotFound when none.
func (v *Validator) UpdateRental(ctx context.Context, id string, details json.RawMessage, expiresAt time.Time) error {
	if !json.Valid(details) {
		return fmt.Errorf("update rental %s: the details are not valid JSON", id)
	}
	if expiresAt.IsZero() {
		return fmt.Errorf("update rental %s: no expiry time", id)
	}
	return v.updateLive(ctx, id, "UPDATE rentals SET details = ?, expires_at = ? WHERE id = ? AND "+liveSQL,
		string(details), expiresAt.UnixMilli(), id)
}

// RentalCheck is the outcome of a health check of a rental.
type RentalCheck struct {
	At        time.Time
	Status    string // RentalActive or RentalUnhealthy
	Misses    int
	LastError string
	// Details, when set, replace the rental's details (a host key learnt).
	Details json.RawMessage
}

// RecordRentalCheck stores a health check's outcome on a live rental and
// returns the status the rental had before; ErrRentalEnded when it ended
// meanwhile (nothing is changed), ErrRentalNotFound when none.
func (v *Validator) RecordRentalCheck(ctx context.Context, id string, c RentalCheck) (previous string, err error) {
	if c.Status != RentalActive && c.Status != RentalUnhealthy {
		return "", fmt.Errorf("record health of rental %s: status %q is not a live one", id, c.Status)
	}
	if c.Details != nil && !json.Valid(c.Details) {
		return "", fmt.Errorf("record health of rental %s: the details are not valid JSON", id)
	}
	err = inTx(ctx, v.db, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT status FROM rentals WHERE id = ?", id).Scan(&previous); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rental %s: %w", id, ErrRentalNotFound)
		} else if err != nil {
			return fmt.Errorf("read rental %s: %w", id, err)
		}
		if previous != RentalActive && previous != RentalUnhealthy {
			return fmt.Errorf("rental %s: %w (%s)", id, ErrRentalEnded, previous)
		}
		q := "UPDATE rentals SET status = ?, misses = ?, checked_at = ?, last_error = ?"
		args := []any{c.Status, c.Misses, c.At.UnixMilli(), c.LastError}
		if c.Details != nil {
			q += ", details = ?"
			args = append(args, string(c.Details))
		}
		if _, err := tx.ExecContext(ctx, q+" WHERE id = ?", append(args, id)...); err != nil {
			return fmt.Errorf("record health of rental %s: %w", id, err)
		}
		return nil
	})
	return previous, err
}

// EndRental ends a live rental with status (RentalReleased or RentalExpired)
// at the given time; ErrRentalEnded when it had ended already (so that
// one end is reported once), ErrRentalNotFound when none.
func (v *Validator) EndRental(ctx context.Context, id, status string, at time.Time) error {
	if status != RentalReleased && status != RentalExpired {
		return fmt.Errorf("end rental %s: %q is not an end status", id, status)
	}
	return v.updateLive(ctx, id, "UPDATE rentals SET status = ?, ended_at = ? WHERE id = ? AND "+liveSQL,
		status, at.UnixMilli(), id)
}

// updateLive runs an update of one live rental and tells why nothing changed.
func (v *Validator) updateLive(ctx context.Context, id, query string, args ...any) error {
	res, err := v.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update rental %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	r, err := v.Rental(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("rental %s: %w (%s)", id, ErrRentalEnded, r.Status)
}

// DueRentals lists the live rentals whose expiry is at or before now.
func (v *Validator) DueRentals(ctx context.Context, now time.Time) ([]Rental, error) {
	return queryRentals(ctx, v.db, "SELECT "+rentalColumns+" FROM rentals WHERE "+liveSQL+" AND expires_at <= ? ORDER BY expires_at, id", now.UnixMilli())
}

// States of an idempotency key (idempotency_keys.state).
const (
	IdempotencyPending   = "pending" // the first request is running
	IdempotencyDoneState = "done"    // it succeeded; Response is its answer
	IdempotencyFailed    = "failed"  // it failed; Response says how
)

// IdempotencyKey is a client's Idempotency-Key and what became of its first request.
type IdempotencyKey struct {
	Owner       string
	Key         string
	RequestHash string // identifies the request body the key was first used with
	State       string // IdempotencyPending, IdempotencyDoneState or IdempotencyFailed
	Status      int
	Response    []byte
	CreatedAt   time.Time
}

// ClaimIdempotencyKey takes owner's key for a request whose body hashes to
// hash: when the key is new (or its record is older than staleBefore, and
// replaced) it is stored pending and claimed is true: the caller runs the
// request and then finishes the key. Otherwise the stored record is
// returned as it is, whatever its hash. Two concurrent claims of one key
// never both succeed.
func (v *Validator) ClaimIdempotencyKey(ctx context.Context, owner, key, hash string, at, staleBefore time.Time) (rec IdempotencyKey, claimed bool, err error) {
	if key == "" || hash == "" {
		return rec, false, errors.New("claim idempotency key: no key or no request hash")
	}
	err = inTx(ctx, v.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND created_at < ?",
			owner, key, staleBefore.UnixMilli()); err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (owner, key, request_hash, state, created_at)
			VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (owner, key) DO NOTHING`, owner, key, hash, at.UnixMilli())
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		claimed = n == 1
		rec, err = readKey(ctx, tx, owner, key)
		return err
	})
	return rec, claimed, err
}

func readKey(ctx context.Context, tx *sql.Tx, owner, key string) (IdempotencyKey, error) {
	k := IdempotencyKey{Owner: owner, Key: key}
	var resp string
	var created int64
	err := tx.QueryRowContext(ctx, `SELECT request_hash, state, status, response, created_at FROM idempotency_keys
		WHERE owner = ? AND key = ?`, owner, key).Scan(&k.RequestHash, &k.State, &k.Status, &resp, &created)
	if err != nil {
		return k, fmt.Errorf("read idempotency key: %w", err)
	}
	k.Response, k.CreatedAt = []byte(resp), time.UnixMilli(created)
	return k, nil
}

// FinishIdempotencyKey records the outcome of a claimed key's request:
// state IdempotencyDoneState or IdempotencyFailed, with the answer.
func (v *Validator) FinishIdempotencyKey(ctx context.Context, owner, key, state string, status int, response []byte) error {
	return inTx(ctx, v.db, func(tx *sql.Tx) error { return finishKey(ctx, tx, owner, key, state, status, response) })
}

func finishKey(ctx context.Context, tx *sql.Tx, owner, key, state string, status int, response []byte) error {
	if state != IdempotencyDoneState && state != IdempotencyFailed {
		return fmt.Errorf("finish idempotency key: %q is not a final state", state)
	}
	res, err := tx.ExecContext(ctx, "UPDATE idempotency_keys SET state = ?, status = ?, response = ? WHERE owner = ? AND key = ?",
		state, status, string(response), owner, key)
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errors.New("finish idempotency key: the key is not stored (purged while its request ran?)")
	}
	return nil
}

// PurgeIdempotencyKeys deletes the keys created before before and returns
// how many went.
func (v *Validator) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := v.db.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
