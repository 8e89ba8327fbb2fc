package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrWebhookNotFound: no webhook delivery has that id.
var ErrWebhookNotFound = errors.New("no such webhook delivery")

// WebhookDelivery is one event to deliver to an API key's webhook, kept
// until it is delivered or given up (the outbox of the webhook dispatcher).
type WebhookDelivery struct {
	ID    int64
	Owner string // the API key id whose webhook receives it
	Event string // rental.allocated, rental.released, ...
	// Payload is the event as the dispatcher stored it (a JSON object).
	Payload     json.RawMessage
	Attempts    int
	NextAt      time.Time // when the next attempt is due
	DeliveredAt time.Time // zero: not delivered
	FailedAt    time.Time // zero: not given up
	LastError   string
	CreatedAt   time.Time
}

// Pending reports whether the delivery is still to be attempted.
func (d WebhookDelivery) Pending() bool { return d.DeliveredAt.IsZero() && d.FailedAt.IsZero() }

const webhookColumns = `id, owner, event, payload, attempts, next_at, delivered_at, failed_at, last_error, created_at`

func scanWebhook(sc rowScanner) (WebhookDelivery, error) {
	var d WebhookDelivery
	var payload string
	var next, delivered, failed, created int64
	if err := sc.Scan(&d.ID, &d.Owner, &d.Event, &payload, &d.Attempts, &next, &delivered, &failed, &d.LastError, &created); err != nil {
		return d, err
	}
	d.Payload = json.RawMessage(payload)
	d.NextAt, d.DeliveredAt, d.FailedAt, d.CreatedAt = time.UnixMilli(next), timeOrZero(delivered), timeOrZero(failed), time.UnixMilli(created)
	return d, nil
}

func (v *Validator) queryWebhooks(ctx context.Context, query string, args ...any) ([]WebhookDelivery, error) {
	return queryAll(ctx, v.db, "webhook deliveries", scanWebhook, query, args...)
}

// EnqueueWebhook stores a delivery due at once and returns its id.
func (v *Validator) EnqueueWebhook(ctx context.Context, owner, event string, payload json.RawMessage, at time.Time) (int64, error) {
	if event == "" {
		return 0, errors.New("enqueue webhook: the delivery has no event")
	}
	if !json.Valid(payload) {
		return 0, fmt.Errorf("enqueue webhook %s: the payload is not valid JSON", event)
	}
	res, err := v.db.ExecContext(ctx, `INSERT INTO webhook_deliveries (owner, event, payload, next_at, created_at)
		VALUES (?1, ?2, ?3, ?4, ?4)`, owner, event, string(payload), at.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("enqueue webhook %s: %w", event, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("enqueue webhook %s: %w", event, err)
	}
	return id, nil
}

// WebhookDelivery returns the delivery with id; ErrWebhookNotFound when none.
func (v *Validator) WebhookDelivery(ctx context.Context, id int64) (WebhookDelivery, error) {
	d, err := scanWebhook(v.db.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM webhook_deliveries WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("webhook delivery %d: %w", id, ErrWebhookNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("read webhook delivery %d: %w", id, err)
	}
	return d, nil
}

// WebhookDeliveries lists the deliveries of owner ("" : every owner's),
// newest first, at most limit (0: all).
func (v *Validator) WebhookDeliveries(ctx context.Context, owner string, limit int) ([]WebhookDelivery, error) {
	q := "SELECT " + webhookColumns + " FROM webhook_deliveries WHERE ?1 = '' OR owner = ?1 ORDER BY id DESC"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return v.queryWebhooks(ctx, q, owner)
}

// DueWebhooks lists the pending deliveries due at or before now, oldest
// due first, at most limit (0: all).
func (v *Validator) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error) {
	q := "SELECT " + webhookColumns + ` FROM webhook_deliveries INDEXED BY webhook_due
		WHERE delivered_at = 0 AND failed_at = 0 AND next_at <= ? ORDER BY next_at, id`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return v.queryWebhooks(ctx, q, now.UnixMilli())
}

// NextWebhookDue returns when the earliest pending delivery is due; ok is
// false when none is pending.
func (v *Validator) NextWebhookDue(ctx context.Context) (next time.Time, ok bool, err error) {
	var ms sql.NullInt64
	if err := v.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM webhook_deliveries INDEXED BY webhook_due
		WHERE delivered_at = 0 AND failed_at = 0`).Scan(&ms); err != nil {
		return time.Time{}, false, fmt.Errorf("read webhook deliveries: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// WebhookAttempt is the outcome of one delivery attempt.
type WebhookAttempt struct {
	At        time.Time
	Delivered bool      // the receiver answered 2xx
	Error     string    // why it failed
	NextAt    time.Time // when to try again (a failure not given up)
	GiveUp    bool      // no more attempts
}

// RecordWebhookAttempt counts an attempt of a pending delivery and stores
// its outcome: delivered, due again at NextAt, or given up. A delivery no
// longer pending is left alone; ErrWebhookNotFound when none.
func (v *Validator) RecordWebhookAttempt(ctx context.Context, id int64, a WebhookAttempt) error {
	var q string
	var args []any
	switch {
	case a.Delivered:
		q, args = "delivered_at = ?, last_error = ''", []any{a.At.UnixMilli()}
	case a.GiveUp:
		q, args = "failed_at = ?, last_error = ?", []any{a.At.UnixMilli(), a.Error}
	case a.NextAt.IsZero():
		return fmt.Errorf("record webhook attempt %d: a failed attempt needs a next time or to give up", id)
	default:
		q, args = "next_at = ?, last_error = ?", []any{a.NextAt.UnixMilli(), a.Error}
	}
	res, err := v.db.ExecContext(ctx, "UPDATE webhook_deliveries SET attempts = attempts + 1, "+q+
		" WHERE id = ? AND delivered_at = 0 AND failed_at = 0", append(args, id)...)
	if err != nil {
		return fmt.Errorf("record webhook attempt %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		_, err := v.WebhookDelivery(ctx, id)
		return err
	}
	return nil
}

// PruneWebhooks deletes the deliveries delivered or given up before before
// and returns how many went; pending ones stay.
func (v *Validator) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	res, err := v.db.ExecContext(ctx, `DELETE FROM webhook_deliveries
		WHERE (delivered_at > 0 AND delivered_at < ?1) OR (failed_at > 0 AND failed_at < ?1)`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
