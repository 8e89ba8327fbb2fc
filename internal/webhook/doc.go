// Package webhook delivers the rentals' events (rentals.Event) to the
// webhook of the API key that owns each rental.
//
// Deliveries go through an outbox, the validator store's webhook_deliveries
// table: Notify stores one (when the owner has a webhook), the Dispatcher's
// Run sends the due ones as a signed POST and records each attempt; a
// failure (no answer within Config.Timeout, a non-2xx status, a redirect:
// none is followed) is retried after an exponential backoff, and a delivery
// failing MaxAttempts times is given up (failed_at set, logged). A restart
// of the server resumes the outbox as stored. A receiver's answer is read
// up to a small limit, so a slow or hostile receiver holds one delivery
// slot for at most Timeout and never the dispatcher.
//
// Each POST carries X-Compute-Event, X-Compute-Delivery (the same on every
// attempt: receivers deduplicate with it), X-Compute-Timestamp (Unix
// seconds) and X-Compute-Signature: "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" keyed with the owner's webhook secret. Verify checks
// all of it for a receiver. See docs/rentals.md.
package webhook
