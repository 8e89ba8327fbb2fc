// Package rentals keeps the rentals made through the renter API: which API
// key owns which lease, idempotent creation, lease actions, health checks,
// expiry, and their events.
//
// A rental is a lease of the renter core (internal/renter) recorded in the
// validator store's rentals table with its owner, the API key id. A key
// sees and acts on its own rentals only (another key's rental is
// ErrNotFound); owner "" is the administrator, who sees every rental.
//
// Creation is idempotent per (owner, Idempotency-Key): the key is claimed
// in the idempotency_keys table in one write transaction (two requests
// cannot both claim it), the allocation runs once, and its answer (the
// rental, or the failure) is stored with the key, the rental and the key's
// answer in one transaction. A retry with the same key and body gets that
// answer again and allocates nothing; one arriving while the first runs
// waits for it; another body with the same key is refused. A key claimed by
// an earlier run of the server that stopped during the request is answered
// ErrInterrupted. Keys are kept IdempotencyTTL (24 h).
//
// The API allocates key-only leases: the renter's SSH keys plus the
// service's own health check key (ed25519, HealthKeyFile under the data
// directory, made once, 0600), so that Run can log in: every
// HealthInterval each live rental is probed (TCP connect, SSH login with
// the health key, `true`, within ProbeTimeout; the host key met at the first
// pass must be met again). MaxMisses misses in a row make it unhealthy
// (rental.unhealthy), and with ReleaseUnhealthy its lease is released
// (rental.released); a pass makes it active again. Rentals past their end
// expire (rental.expired). See docs/rentals.md.
package rentals
