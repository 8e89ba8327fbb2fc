// Package api is the renter API: one HTTP server over a validator's store
// and chain, served by `compute validator --api.addr`, `compute api` and
// `compute devnet --api.addr` (docs/api.md).
//
// Routes (routes(), mirrored by openapi.json and held to it by a test):
// /healthz and /openapi.json are public; the read endpoints under /v1
// (status, miners, a miner and its history, GPUs, available miners,
// allocations, rounds, weights) need a key with the read scope, or none
// with Config.PublicRead; the rentals under /v1/rentals need the rent scope
// and go to the Rentals service (internal/rentals), 501 without one.
// Everything else is the dashboard (package web) at /.
//
// Every API request goes through serveRoute: a request id, a deadline
// (Config.ReadTimeout, or Config.WriteTimeout for writes, which may wait
// for an allocation), the bearer key (SHA-256 compared with the stored
// hash; revoked keys refused), the route's scope (admin implies all), a
// token bucket per key or, without a key, per client address (429 with
// Retry-After), the body's type and size (415, 413: MaxBodyBytes), the
// handler, then the request metrics on Deps.Registry and, for a write, an
// entry in the audit log. Errors are application/problem+json (Problem):
// 400s name the field, 500s say nothing of their cause, which is logged
// with the request id.
//
// TLS: with Config.TLSCert and TLSKey the server speaks TLS only; with
// ClientCA it requires client certificates from those authorities. Plain
// HTTP is served on loopback only (Config.Validate, and Run checks the
// listener).
//
// The caller opens the listener (Deps.Listener) and the store; Run serves
// until its context ends, lets the requests in flight finish for
// ShutdownGrace, and closes the listener.
package api
