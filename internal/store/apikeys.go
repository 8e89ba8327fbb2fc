package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrAPIKeyNotFound: no API key has that id.
var ErrAPIKeyNotFound = errors.New("no such API key")

// ErrAPIKeyExists: an API key with that id is stored already.
var ErrAPIKeyExists = errors.New("an API key with this id exists")

// APIKey is a key of the renter API. Its secret is never stored: Hash is
// the SHA-256 of the whole token the client sends.
type APIKey struct {
	ID     string
	Name   string
	Hash   []byte
	Scopes []string
	// WebhookURL receives the key's rental events, signed with WebhookSecret
	// (both empty: none).
	WebhookURL    string
	WebhookSecret string
	// RatePerMinute is the key's request rate limit; 0 takes the server's default.
	RatePerMinute int
	CreatedAt     time.Time
	LastUsedAt    time.Time // zero: never used
	RevokedAt     time.Time // zero: live
}

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// CreateAPIKey stores a new key; ErrAPIKeyExists when its id is taken.
func (v *Validator) CreateAPIKey(ctx context.Context, k APIKey) error {
	if k.ID == "" || len(k.Hash) == 0 {
		return errors.New("store API key: the key has no id or no hash")
	}
	if k.CreatedAt.IsZero() {
		return fmt.Errorf("store API key %s: the key has no creation time", k.ID)
	}
	for _, s := range k.Scopes {
		if s == "" || strings.Contains(s, ",") {
			return fmt.Errorf("store API key %s: scope %q is empty or holds a comma", k.ID, s)
		}
	}
	res, err := v.db.ExecContext(ctx, `INSERT INTO api_keys (id, name, hash, scopes, webhook_url, webhook_secret,
		rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Name, k.Hash, strings.Join(k.Scopes, ","), k.WebhookURL, k.WebhookSecret, k.RatePerMinute,
		k.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store API key %s: %w", k.ID, err)
	}
	// ON CONFLICT DO NOTHING changes no row when the id is taken.
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store API key %s: %w", k.ID, ErrAPIKeyExists)
	}
	return nil
}

const apiKeyColumns = `id, name, hash, scopes, webhook_url, webhook_secret, rate_per_minute, created_at,
	last_used_at, revoked_at`

func scanAPIKey(sc rowScanner) (APIKey, error) {
	var k APIKey
	var scopes string
	var created, used, revoked int64
	if err := sc.Scan(&k.ID, &k.Name, &k.Hash, &scopes, &k.WebhookURL, &k.WebhookSecret, &k.RatePerMinute,
		&created, &used, &revoked); err != nil {
		return k, err
	}
	if scopes != "" {
		k.Scopes = strings.Split(scopes, ",")
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = time.UnixMilli(created), timeOrZero(used), timeOrZero(revoked)
	return k, nil
}

// APIKey returns the key with id, revoked or not; ErrAPIKeyNotFound when none.
func (v *Validator) APIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanAPIKey(v.db.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("API key %s: %w", id, ErrAPIKeyNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("read API key %s: %w", id, err)
	}
	return k, nil
}

// APIKeys lists every key, revoked ones included, oldest first.
func (v *Validator) APIKeys(ctx context.Context) ([]APIKey, error) {
	return queryAll(ctx, v.db, "API keys", scanAPIKey, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY created_at, id")
}

// RevokeAPIKey revokes the key with id at the given time and returns it; a
// key revoked before keeps its first revocation time. ErrAPIKeyNotFound
// when there is no such key.
func (v *Validator) RevokeAPIKey(ctx context.Context, id string, at time.Time) (APIKey, error) {
	if _, err := v.db.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0",
		at.UnixMilli(), id); err != nil {
		return APIKey{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return v.APIKey(ctx, id)
}

// TouchAPIKey records that the key was used at the given time (never moving
// the time back).
func (v *Validator) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if _, err := v.db.ExecContext(ctx, "UPDATE api_keys SET last_used_at = MAX(last_used_at, ?) WHERE id = ?",
		at.UnixMilli(), id); err != nil {
		return fmt.Errorf("record use of API key %s: %w", id, err)
	}
	return nil
}

// WebhookTarget returns where the events of the rentals owned by a key go:
// its webhook URL and signing secret; ok is false when the key has none or
// is revoked or unknown.
func (v *Validator) WebhookTarget(ctx context.Context, owner string) (url, secret string, ok bool, err error) {
	k, err := v.APIKey(ctx, owner)
	if errors.Is(err, ErrAPIKeyNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	if k.Revoked() || k.WebhookURL == "" {
		return "", "", false, nil
	}
	return k.WebhookURL, k.WebhookSecret, true, nil
}

// AuditEntry is one write request to the API and its outcome.
type AuditEntry struct {
	ID     int64
	At     time.Time
	KeyID  string // "" when no valid key was given
	Method string
	Path   string
	Status int
	Remote string // the client's address
	Detail string // what went wrong, for an error status
}

// RecordAudit appends an entry to the audit log.
func (v *Validator) RecordAudit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		return errors.New("record audit entry: the entry has no time")
	}
	if _, err := v.db.ExecContext(ctx, `INSERT INTO api_audit (at, key_id, method, path, status, remote, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), e.KeyID, e.Method, e.Path, e.Status, e.Remote, e.Detail); err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// Audit returns the newest entries first, at most limit, of one key or,
// with keyID "", of every key.
func (v *Validator) Audit(ctx context.Context, keyID string, limit int) ([]AuditEntry, error) {
	if limit < 1 {
		return []AuditEntry{}, nil
	}
	q := `SELECT id, at, key_id, method, path, status, remote, detail FROM api_audit ORDER BY id DESC LIMIT ?`
	args := []any{limit}
	if keyID != "" {
		q = `SELECT id, at, key_id, method, path, status, remote, detail FROM api_audit INDEXED BY api_audit_key
			WHERE key_id = ? ORDER BY id DESC LIMIT ?`
		args = []any{keyID, limit}
	}
	rows, err := v.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.KeyID, &e.Method, &e.Path, &e.Status, &e.Remote, &e.Detail); err != nil {
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	return out, nil
}

// PruneAudit deletes the audit entries older than before and returns how many.
func (v *Validator) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := v.db.ExecContext(ctx, "DELETE FROM api_audit WHERE at < ?", before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune the audit log: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
