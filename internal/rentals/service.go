package rentals

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
)

// Renter is what the Service needs of the renter core; *renter.Renter
// implements it.
type Renter interface {
	Allocate(ctx context.Context, req renter.Request) (*renter.Allocation, error)
	Release(ctx context.Context, hotkey string, opts renter.ReleaseOptions) error
	Restart(ctx context.Context, hotkey string) error
	Extend(ctx context.Context, hotkey string, days int) (*renter.Allocation, error)
	SetSSHKeys(ctx context.Context, hotkey string, keys []string) error
}

var _ Renter = (*renter.Renter)(nil)

// Config configures a Service. Zero durations and counts take the defaults.
type Config struct {
	// HealthInterval is how often each live rental is probed (default 2m).
	HealthInterval time.Duration
	// MaxMisses is how many failed probes in a row make a rental unhealthy (default 3).
	MaxMisses int
	// ReleaseUnhealthy releases a rental's lease when it turns unhealthy.
	ReleaseUnhealthy bool
	// ProbeTimeout bounds one probe: TCP connect, SSH login and `true` (default 20s).
	ProbeTimeout time.Duration
	// DataDir is the validator's data directory; the health check's SSH key
	// lives there (HealthKeyFile). Required.
	DataDir string
}

// DefaultConfig returns the defaults; DataDir is left to the caller.
func DefaultConfig() Config {
	return Config{HealthInterval: 2 * time.Minute, MaxMisses: 3, ProbeTimeout: 20 * time.Second}
}

// Validate reports the first setting the Service refuses.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return config.Errorf("rentals.Config.DataDir", "a data directory is required")
	case c.HealthInterval < 0 || (c.HealthInterval > 0 && c.HealthInterval < time.Second):
		return config.Errorf("rentals.Config.HealthInterval", "must be at least 1s, got %v", c.HealthInterval)
	case c.MaxMisses < 0 || c.MaxMisses > 1000:
		return config.Errorf("rentals.Config.MaxMisses", "must be between 1 and 1000, got %d", c.MaxMisses)
	case c.ProbeTimeout < 0 || (c.ProbeTimeout > 0 && c.ProbeTimeout < 100*time.Millisecond):
		return config.Errorf("rentals.Config.ProbeTimeout", "must be at least 100ms, got %v", c.ProbeTimeout)
	}
	return nil
}

// Deps are the Service's collaborators, opened by the caller.
type Deps struct {
	// Store holds the rentals, idempotency keys and webhook outbox; the
	// caller opens and closes it. Required.
	Store *store.Validator
	// Renter leases and acts on miners (a *renter.Renter on the same store). Required.
	Renter Renter
	// Notifier receives the events; nil: none.
	Notifier Notifier
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// Service keeps the rentals made through the API: who owns which lease,
// idempotent creation, lease actions, health checks and expiry, and their
// events. Safe for concurrent use: mu guards the in-flight creations and
// the health key; each rental's changes are serialised by its own lock.
type Service struct {
	cfg      Config
	store    *store.Validator
	renter   Renter
	notifier Notifier
	log      *slog.Logger
	now      func() time.Time

	mu       sync.Mutex
	inflight map[string]*call // owner + "\x00" + Idempotency-Key -> the creation running here
	health   *healthKey
	locks    map[string]*rentalLock // rental id -> its lock, while someone holds or waits for it
}

// call is a creation in flight; done is closed when rental and err are set.
type call struct {
	done   chan struct{}
	rental Rental
	err    error
}

type rentalLock struct {
	mu    sync.Mutex
	users int
}

// New checks cfg and deps; it opens and contacts nothing (the health key is
// made or read on first use, or by Run).
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := DefaultConfig()
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = def.HealthInterval
	}
	if cfg.MaxMisses == 0 {
		cfg.MaxMisses = def.MaxMisses
	}
	if cfg.ProbeTimeout == 0 {
		cfg.ProbeTimeout = def.ProbeTimeout
	}
	if deps.Store == nil || deps.Renter == nil {
		return nil, errors.New("rentals: a store and a renter are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Service{cfg: cfg, store: deps.Store, renter: deps.Renter, notifier: deps.Notifier,
		log: deps.Log.With("component", "rentals"), now: deps.Now,
		inflight: map[string]*call{}, locks: map[string]*rentalLock{}}, nil
}

// healthKey returns the health check's key, reading or making it once.
func (s *Service) healthKey() (*healthKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.health == nil {
		k, err := loadHealthKey(s.cfg.DataDir)
		if err != nil {
			return nil, err
		}
		s.health = k
	}
	return s.health, nil
}

// HealthPublicKey is the health check's public key (authorized_keys form),
// installed on every rental's lease.
func (s *Service) HealthPublicKey() (string, error) {
	k, err := s.healthKey()
	if err != nil {
		return "", err
	}
	return k.public, nil
}

// lock serialises the changes of one rental; the returned func unlocks.
func (s *Service) lock(id string) func() {
	s.mu.Lock()
	l := s.locks[id]
	if l == nil {
		l = &rentalLock{}
		s.locks[id] = l
	}
	l.users++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.locks, id)
		}
		s.mu.Unlock()
	}
}

// details is what a rental's record keeps beyond its columns (JSON in
// rentals.details).
type details struct {
	UID      uint16                `json:"uid"`
	Host     string                `json:"host"`
	Port     int                   `json:"port"`
	Username string                `json:"username"`
	SSHKeys  []string              `json:"ssh_keys"` // the renter's, as given (canonical, with a comment when it had a clean one)
	Health   bool                  `json:"health_key"`
	Resource container.Requirement `json:"resource"`
	Timeline int                   `json:"timeline"`
	// HostKey is the lease's SSH host key (authorized_keys form), learnt at
	// the first passed health check; a later probe meeting another is a miss.
	HostKey string `json:"host_key,omitempty"`
}

func decodeDetails(rec store.Rental) (details, error) {
	var d details
	if err := json.Unmarshal(rec.Details, &d); err != nil {
		return d, fmt.Errorf("rental %s: stored details unreadable: %w", rec.ID, err)
	}
	return d, nil
}

func encodeDetails(d details) json.RawMessage {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // plain fields only
	}
	return b
}

// view is the rental as the API shows it.
func view(rec store.Rental) Rental {
	d, _ := decodeDetails(rec) // unreadable: the columns still say what they can
	r := Rental{
		ID: rec.ID, Owner: rec.Owner, Hotkey: rec.Hotkey, UID: d.UID, Host: d.Host, Port: d.Port, Username: d.Username,
		SSHKeys: []SSHKey{}, HealthKey: d.Health, Resource: d.Resource, Timeline: d.Timeline, Status: rec.Status,
		Health:    Health{Misses: rec.Misses, LastError: rec.LastError},
		CreatedAt: rec.CreatedAt.UTC(), ExpiresAt: rec.ExpiresAt.UTC(),
	}
	if d.Host != "" {
		r.SSHCommand = fmt.Sprintf("ssh %s@%s -p %d", d.Username, d.Host, d.Port)
	}
	for _, k := range d.SSHKeys {
		fp, _ := renter.SSHKeyFingerprint(k)
		r.SSHKeys = append(r.SSHKeys, SSHKey{Fingerprint: fp, Key: k})
	}
	if !rec.CheckedAt.IsZero() {
		t := rec.CheckedAt.UTC()
		r.Health.CheckedAt = &t
	}
	if !rec.EndedAt.IsZero() {
		t := rec.EndedAt.UTC()
		r.ReleasedAt = &t
	}
	return r
}

// newID returns a fresh rental id, "r_" and 20 hex digits.
func newID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a rental id: %w", err)
	}
	return "r_" + hex.EncodeToString(b), nil
}

// visible returns the rental id if owner may see it ("" : every rental).
func (s *Service) visible(ctx context.Context, owner, id string) (store.Rental, error) {
	rec, err := s.store.Rental(ctx, id)
	if errors.Is(err, store.ErrRentalNotFound) || (err == nil && owner != "" && rec.Owner != owner) {
		return store.Rental{}, fmt.Errorf("%w: %s", ErrNotFound, clipID(id))
	}
	return rec, err
}

// clipID makes an id from a request safe to put in a message.
func clipID(id string) string {
	id = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, id)
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return fmt.Sprintf("%q", id)
}

// List returns owner's rentals ("" : everyone's), oldest first.
func (s *Service) List(ctx context.Context, owner string) ([]Rental, error) {
	recs, err := s.store.Rentals(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]Rental, 0, len(recs))
	for _, rec := range recs {
		out = append(out, view(rec))
	}
	return out, nil
}

// Get returns the rental id when owner may see it ("" : any).
func (s *Service) Get(ctx context.Context, owner, id string) (Rental, error) {
	rec, err := s.visible(ctx, owner, id)
	if err != nil {
		return Rental{}, err
	}
	return view(rec), nil
}

// notify hands an event to the notifier, if any.
func (s *Service) notify(ctx context.Context, typ string, rec store.Rental) {
	if s.notifier == nil {
		return
	}
	s.notifier.Notify(context.WithoutCancel(ctx), rec.Owner, Event{Type: typ, Rental: view(rec), Time: s.now().UTC()})
}

// end marks a live rental ended with status and reports it; false when it
// had ended already (someone else reported it).
func (s *Service) end(ctx context.Context, rec store.Rental, status string) (store.Rental, bool, error) {
	at := s.now()
	if err := s.store.EndRental(ctx, rec.ID, status, at); errors.Is(err, store.ErrRentalEnded) {
		cur, err := s.store.Rental(ctx, rec.ID)
		return cur, false, err
	} else if err != nil {
		return rec, false, err
	}
	rec.Status, rec.EndedAt = status, at
	ev := EventReleased
	if status == store.RentalExpired {
		ev = EventExpired
	}
	s.log.Info("rental ended", "id", rec.ID, "owner", rec.Owner, "hotkey", rec.Hotkey, "status", status)
	s.notify(ctx, ev, rec)
	return rec, true, nil
}

// live returns the rental id for an action by owner: ErrNotFound, or
// ErrEnded with the rental when it has ended.
func (s *Service) live(ctx context.Context, owner, id string) (store.Rental, error) {
	rec, err := s.visible(ctx, owner, id)
	if err != nil {
		return rec, err
	}
	if !rec.Live() {
		return rec, fmt.Errorf("%w: rental %s is %s", ErrEnded, rec.ID, rec.Status)
	}
	return rec, nil
}

// gone handles a renter that no longer records the rental's lease (released
// or replaced outside the API): the rental is ended as released.
func (s *Service) gone(ctx context.Context, rec store.Rental, cause error) (Rental, error) {
	cur, _, err := s.end(ctx, rec, store.RentalReleased)
	if err != nil {
		return view(rec), err
	}
	return view(cur), fmt.Errorf("%w: the lease of rental %s was released outside the API: %w", ErrEnded, rec.ID, cause)
}

// Release ends the rental's lease. A miner that says it holds no such lease
// any more, or the lease of an unhealthy rental that cannot be confirmed,
// is forgotten anyway; an unreachable miner of a healthy rental is an error
// (try again, or wait for the health check).
func (s *Service) Release(ctx context.Context, owner, id string) (Rental, error) {
	unlock := s.lock(id)
	defer unlock()
	rec, err := s.live(ctx, owner, id)
	if err != nil {
		if errors.Is(err, ErrEnded) {
			return view(rec), err
		}
		return Rental{}, err
	}
	force := rec.Status == store.RentalUnhealthy
	if err := s.release(ctx, rec, force); err != nil {
		return view(rec), err
	}
	cur, _, err := s.end(ctx, rec, store.RentalReleased)
	if err != nil {
		return view(rec), err
	}
	return view(cur), nil
}

// release ends the lease through the renter. Without force, only a miner's
// refusal (it holds no lease for the key: it ended) lets the record go.
func (s *Service) release(ctx context.Context, rec store.Rental, force bool) error {
	err := s.renter.Release(ctx, rec.Hotkey, renter.ReleaseOptions{})
	switch {
	case err == nil, errors.Is(err, renter.ErrNotRecorded):
		return nil
	case force || errors.Is(err, renter.ErrRefused):
		s.log.Warn("the miner did not confirm the release; the lease is forgotten", "id", rec.ID, "hotkey", rec.Hotkey, "err", err)
		if err := s.renter.Release(ctx, rec.Hotkey, renter.ReleaseOptions{Force: true}); err != nil && !errors.Is(err, renter.ErrNotRecorded) {
			return fmt.Errorf("release rental %s: %w", rec.ID, err)
		}
		return nil
	}
	return fmt.Errorf("release rental %s: %w", rec.ID, err)
}

// Extend adds days to the rental's lease (the whole lease lasts at most
// renter.MaxTimeline days from its start).
func (s *Service) Extend(ctx context.Context, owner, id string, days int) (Rental, error) {
	if days < 1 || days > renter.MaxTimeline {
		return Rental{}, config.Errorf("rentals.Extend.Days", "must be between 1 and %d, got %d", renter.MaxTimeline, days)
	}
	unlock := s.lock(id)
	defer unlock()
	rec, err := s.live(ctx, owner, id)
	if err != nil {
		return s.failed(rec, err)
	}
	a, err := s.renter.Extend(ctx, rec.Hotkey, days)
	if errors.Is(err, renter.ErrNotRecorded) {
		return s.gone(ctx, rec, err)
	}
	if a == nil {
		return view(rec), fmt.Errorf("extend rental %s: %w", rec.ID, err)
	}
	// a with err: the miner extended the lease, the renter did not record it.
	d, derr := decodeDetails(rec)
	if derr != nil {
		return view(rec), derr
	}
	d.Timeline = a.Timeline
	if uerr := s.store.UpdateRental(ctx, rec.ID, encodeDetails(d), a.ExpiresAt); uerr != nil {
		return view(rec), errors.Join(err, uerr)
	}
	cur, gerr := s.store.Rental(ctx, rec.ID)
	if gerr != nil {
		return view(rec), gerr
	}
	if err != nil {
		return view(cur), fmt.Errorf("extend rental %s: %w", rec.ID, err)
	}
	s.log.Info("rental extended", "id", rec.ID, "owner", rec.Owner, "days", a.Timeline, "expires", a.ExpiresAt.UTC().Format(time.RFC3339))
	return view(cur), nil
}

// failed returns an action's early error with the rental when it ended
// (so that the caller may show it), or alone.
func (s *Service) failed(rec store.Rental, err error) (Rental, error) {
	if errors.Is(err, ErrEnded) {
		return view(rec), err
	}
	return Rental{}, err
}

// Restart restarts the rental's container; it returns once the miner says
// SSH answers again. The lease and its files stay.
func (s *Service) Restart(ctx context.Context, owner, id string) (Rental, error) {
	unlock := s.lock(id)
	defer unlock()
	rec, err := s.live(ctx, owner, id)
	if err != nil {
		return s.failed(rec, err)
	}
	if err := s.renter.Restart(ctx, rec.Hotkey); errors.Is(err, renter.ErrNotRecorded) {
		return s.gone(ctx, rec, err)
	} else if err != nil {
		return view(rec), fmt.Errorf("restart rental %s: %w", rec.ID, err)
	}
	s.log.Info("rental restarted", "id", rec.ID, "owner", rec.Owner)
	return view(rec), nil
}

// AddSSHKey adds a renter key to the rental (a key already there changes nothing).
func (s *Service) AddSSHKey(ctx context.Context, owner, id, key string) (Rental, error) {
	k, err := normalizeKey(key, "rentals.AddSSHKey.Key")
	if err != nil {
		return Rental{}, err
	}
	return s.changeKeys(ctx, owner, id, func(keys []string) ([]string, error) {
		for _, have := range keys {
			if sameKey(have, k) {
				return nil, nil
			}
		}
		if len(keys) >= maxRenterKeys {
			return nil, config.Errorf("rentals.AddSSHKey.Key", "the rental has %d SSH keys, the most it may hold", len(keys))
		}
		return append(keys, k), nil
	})
}

// RemoveSSHKey removes the renter key with the fingerprint (SHA256:..., as
// ssh-keygen -l prints it); the last one stays (ErrLastKey).
func (s *Service) RemoveSSHKey(ctx context.Context, owner, id, fingerprint string) (Rental, error) {
	return s.changeKeys(ctx, owner, id, func(keys []string) ([]string, error) {
		var out []string
		for _, k := range keys {
			if fp, _ := renter.SSHKeyFingerprint(k); fp != fingerprint {
				out = append(out, k)
			}
		}
		switch {
		case len(out) == len(keys):
			return nil, fmt.Errorf("%w: no SSH key with fingerprint %s on rental %s", ErrNotFound, clipID(fingerprint), id)
		case len(out) == 0:
			return nil, fmt.Errorf("%w (rental %s): add another first", ErrLastKey, id)
		}
		return out, nil
	})
}

// changeKeys replaces the rental's renter keys with change's answer (nil:
// no change) on the lease, the health key always with them, and records them.
func (s *Service) changeKeys(ctx context.Context, owner, id string, change func([]string) ([]string, error)) (Rental, error) {
	unlock := s.lock(id)
	defer unlock()
	rec, err := s.live(ctx, owner, id)
	if err != nil {
		return s.failed(rec, err)
	}
	d, err := decodeDetails(rec)
	if err != nil {
		return view(rec), err
	}
	keys, err := change(d.SSHKeys)
	if err != nil || keys == nil {
		return view(rec), err
	}
	hk, err := s.healthKey()
	if err != nil {
		return view(rec), err
	}
	if err := s.renter.SetSSHKeys(ctx, rec.Hotkey, leaseKeys(keys, hk)); errors.Is(err, renter.ErrNotRecorded) {
		return s.gone(ctx, rec, err)
	} else if err != nil {
		return view(rec), fmt.Errorf("set the SSH keys of rental %s: %w", rec.ID, err)
	}
	d.SSHKeys, d.Health = keys, true
	if err := s.store.UpdateRental(ctx, rec.ID, encodeDetails(d), rec.ExpiresAt); err != nil {
		return view(rec), err
	}
	cur, err := s.store.Rental(ctx, rec.ID)
	if err != nil {
		return view(rec), err
	}
	s.log.Info("rental SSH keys set", "id", rec.ID, "owner", rec.Owner, "keys", len(keys))
	return view(cur), nil
}

// leaseKeys are the keys installed on a lease: the renter's (without
// comments) and the health check's.
func leaseKeys(keys []string, hk *healthKey) []string {
	out := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, bareKey(k))
	}
	return append(out, hk.public)
}
