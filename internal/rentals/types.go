package rentals

import (
	"context"
	"errors"
	"time"

	"github.com/sn27/compute/internal/container"
)

// Errors of the Service, for errors.Is. Errors of the renter core
// (renter.ErrNoCandidate, renter.ErrNoneAvailable, renter.ErrRefused,
// renter.ErrUnreachable, renter.ErrUnsupported, *config.FieldError ...)
// come through wrapped; HTTPStatus says how each is best answered.
var (
	// ErrNotFound: no rental with that id is visible to the owner (another
	// key's rental is not found either), or no key with that fingerprint.
	ErrNotFound = errors.New("no such rental")
	// ErrIdempotencyMismatch: the Idempotency-Key was used before with
	// another request body.
	ErrIdempotencyMismatch = errors.New("the Idempotency-Key was used with another request")
	// ErrInProgress: the first request with this Idempotency-Key is still
	// running; retry later with the same key.
	ErrInProgress = errors.New("a request with this Idempotency-Key is still running")
	// ErrInterrupted: the first request with this Idempotency-Key was cut
	// short by a restart of the server; whether it leased a miner is
	// unknown (see the rentals list). The key is not run again.
	ErrInterrupted = errors.New("the request with this Idempotency-Key was interrupted by a restart")
	// ErrEnded: the rental was released or has expired.
	ErrEnded = errors.New("the rental has ended")
	// ErrLastKey: the rental's only SSH key cannot be removed.
	ErrLastKey = errors.New("the rental's last SSH key cannot be removed")
)

// Statuses of a rental.
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

// CreateRequest is a rental to make: a miner meeting Requirement (nil: one
// CPU and 1 GiB of RAM), or the miner Hotkey names, for Timeline days, with
// the renter's SSH keys (at least one; the lease allows key login only).
type CreateRequest struct {
	Requirement *container.Requirement `json:"requirement,omitempty"`
	Hotkey      string                 `json:"hotkey,omitempty"`
	Timeline    int                    `json:"timeline"`
	SSHKeys     []string               `json:"ssh_keys"`
}

// Rental is a lease made through the API, as the API shows it.
type Rental struct {
	ID       string `json:"id"`
	Owner    string `json:"owner"` // the API key id that made it
	Hotkey   string `json:"hotkey"`
	UID      uint16 `json:"uid"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	// SSHCommand logs in with one of SSHKeys.
	SSHCommand string   `json:"ssh_command"`
	SSHKeys    []SSHKey `json:"ssh_keys"`
	// HealthKey: the service's own health-check key is installed on the
	// lease too (always, for rentals made through the API).
	HealthKey bool                  `json:"health_key"`
	Resource  container.Requirement `json:"resource"`
	Timeline  int                   `json:"timeline"` // days, from CreatedAt
	Status    string                `json:"status"`
	Health    Health                `json:"health"`
	CreatedAt time.Time             `json:"created_at"`
	ExpiresAt time.Time             `json:"expires_at"`
	// ReleasedAt is when the rental ended, released or expired (nil: live).
	ReleasedAt *time.Time `json:"released_at"`
}

// SSHKey is one of the renter's keys on a rental.
type SSHKey struct {
	Fingerprint string `json:"fingerprint"` // SHA256:..., as ssh-keygen -l prints it
	Key         string `json:"key"`         // authorized_keys line, with its comment when it had one
}

// Health is the outcome of a rental's health checks.
type Health struct {
	Misses    int        `json:"misses"`     // failed checks in a row
	CheckedAt *time.Time `json:"checked_at"` // nil: not checked yet
	LastError string     `json:"last_error"` // why the last check failed ("" : it passed)
}

// Event is something that happened to a rental, for its owner.
type Event struct {
	Type   string    `json:"type"` // EventAllocated, EventUnhealthy, EventExpired or EventReleased
	Rental Rental    `json:"rental"`
	Time   time.Time `json:"time"`
}

// Notifier receives the rentals' events (webhook.Dispatcher implements it).
// Notify must not block for long: it queues.
type Notifier interface {
	Notify(ctx context.Context, owner string, ev Event)
}
