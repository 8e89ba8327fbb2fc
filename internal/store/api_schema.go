package store

// apiSchema is migration 4: the renter API's keys and audit log. Keys are
// stored as the SHA-256 of their secret, never the secret itself.
const apiSchema = `
CREATE TABLE api_keys (
	id              TEXT    PRIMARY KEY,
	name            TEXT    NOT NULL,
	hash            BLOB    NOT NULL,
	scopes          TEXT    NOT NULL,
	webhook_url     TEXT    NOT NULL DEFAULT '',
	webhook_secret  TEXT    NOT NULL DEFAULT '',
	rate_per_minute INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	last_used_at    INTEGER NOT NULL DEFAULT 0,
	revoked_at      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_audit (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	key_id  TEXT    NOT NULL,
	method  TEXT    NOT NULL,
	path    TEXT    NOT NULL,
	status  INTEGER NOT NULL,
	remote  TEXT    NOT NULL DEFAULT '',
	detail  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX api_audit_at ON api_audit (at);
CREATE INDEX api_audit_key ON api_audit (key_id, id);
`

// rentalsSchema is migration 5: rentals made through the API (who owns which
// lease, its SSH keys and health), the idempotency keys of allocation
// requests, and the outbox of webhook deliveries.
const rentalsSchema = `
CREATE TABLE rentals (
	id         TEXT    PRIMARY KEY,
	owner      TEXT    NOT NULL,
	hotkey     TEXT    NOT NULL,
	status     TEXT    NOT NULL CHECK (status IN ('active', 'unhealthy', 'released', 'expired')),
	details    TEXT    NOT NULL DEFAULT '{}',
	misses     INTEGER NOT NULL DEFAULT 0,
	checked_at INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	ended_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rentals_owner ON rentals (owner, created_at);
CREATE UNIQUE INDEX rentals_live_hotkey ON rentals (hotkey) WHERE status IN ('active', 'unhealthy');

CREATE TABLE idempotency_keys (
	owner        TEXT    NOT NULL,
	key          TEXT    NOT NULL,
	request_hash TEXT    NOT NULL,
	state        TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
	status       INTEGER NOT NULL DEFAULT 0,
	response     TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_created ON idempotency_keys (created_at);

CREATE TABLE webhook_deliveries (
	id           INTEGER PRIMARY KEY,
	owner        TEXT    NOT NULL,
	event        TEXT    NOT NULL,
	payload      TEXT    NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	delivered_at INTEGER NOT NULL DEFAULT 0,
	failed_at    INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
);
CREATE INDEX webhook_due ON webhook_deliveries (delivered_at, failed_at, next_at);
`
