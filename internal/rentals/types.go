// Package rentals keeps the rentals made through the renter API: who owns
// which lease, idempotent creation, the lease actions, health and events.
//
// This file holds the types the HTTP layer (internal/api) uses; the
// service itself builds on them.
package rentals

import (
	"context"
	"errors"
	"time"

	"github.com/sn27/compute/internal/container"
)

// Errors the service returns; the HTTP layer maps them to statuses.
var (
	// ErrNotFound: no rental with that id is visible to the owner (404).
	ErrNotFound = errors.New("no such rental")
	// ErrIdempotencyMismatch: the idempotency key was used before with another request body (422).
	ErrIdempotencyMismatch = errors.New("the idempotency key was used with a different request")
	// ErrInProgress: a request with the same idempotency key is still running (409).
	ErrInProgress = errors.New("a request with this idempotency key is in progress")
	// ErrEnded: the rental is released or expired (409).
	ErrEnded = errors.New("the rental has ended")
	// ErrLastKey: removing the rental's last SSH key would lock everyone out (409).
	ErrLastKey = errors.New("the rental's last SSH key cannot be removed")
)

// Rental statuses.
const (
	StatusActive    = "active"
	StatusUnhealthy = "unhealthy"
	StatusReleased  = "released"
	StatusExpired   = "expired"
)

// Event types.
const (
	EventAllocated = "rental.allocated"
	EventUnhealthy = "rental.unhealthy"
	EventExpired   = "rental.expired"
	EventReleased  = "rental.released"
)

// Rental is a lease made through the API, as the API shows it.
type Rental struct {
	ID         string                `json:"id"`
	Owner      string                `json:"owner"` // the id of the API key that made it
	Hotkey     string                `json:"hotkey"`
	UID        uint16                `json:"uid"`
	Host       string                `json:"host"`
	Port       int                   `json:"port"`
	Username   string                `json:"username"`
	SSHCommand string                `json:"ssh_command"`
	SSHKeys    []SSHKey              `json:"ssh_keys"`
	Resource   container.Requirement `json:"resource"`
	Status     string                `json:"status"`
	Health     Health                `json:"health"`
	CreatedAt  time.Time             `json:"created_at"`
	ExpiresAt  time.Time             `json:"expires_at"`
	ReleasedAt *time.Time            `json:"released_at"`
}

// SSHKey is one public key that may log in to a rental.
type SSHKey struct {
	// Fingerprint is as ssh-keygen -l prints it: SHA256:<base64, unpadded>.
	Fingerprint string `json:"fingerprint"`
	Key         string `json:"key"`
}

// Health is the last probes' outcome.
type Health struct {
	Misses    int        `json:"misses"` // failed probes in a row
	CheckedAt *time.Time `json:"checked_at"`
	LastError string     `json:"last_error"`
}

// CreateRequest is a rental to make: by requirement or, with Hotkey, on
// that miner; Timeline in days; the SSH keys that may log in.
type CreateRequest struct {
	Requirement *container.Requirement `json:"requirement,omitempty"`
	Hotkey      string                 `json:"hotkey,omitempty"`
	Timeline    int                    `json:"timeline"`
	SSHKeys     []string               `json:"ssh_keys"`
}

// Event is something that happened to a rental, sent to its owner.
type Event struct {
	Type   string    `json:"type"` // EventAllocated, EventUnhealthy, EventExpired or EventReleased
	Rental Rental    `json:"rental"`
	Time   time.Time `json:"time"`
}

// Notifier receives the events (a webhook dispatcher).
type Notifier interface {
	Notify(ctx context.Context, owner string, ev Event)
}
