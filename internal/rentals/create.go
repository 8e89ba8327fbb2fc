package rentals

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
)

// maxIdempotencyKey bounds an Idempotency-Key's length.
const maxIdempotencyKey = 255

// createRequest is a checked CreateRequest.
type createRequest struct {
	requirement container.Requirement
	hotkey      string
	timeline    int
	keys        []string // normalised, with comments
}

// check validates req and fills its defaults.
func check(req CreateRequest) (createRequest, error) {
	var c createRequest
	if req.Requirement != nil {
		c.requirement = *req.Requirement
	} else {
		r, err := renter.DefaultResources().Requirement()
		if err != nil {
			return c, err
		}
		c.requirement = r
	}
	if err := c.requirement.Validate(); err != nil {
		return c, config.Errorf("rentals.CreateRequest.Requirement", "%w", err)
	}
	if req.Hotkey != "" {
		if _, _, err := wallet.SS58Decode(req.Hotkey); err != nil {
			return c, config.Errorf("rentals.CreateRequest.Hotkey", "%s is not an SS58 address: %w", clipID(req.Hotkey), err)
		}
		c.hotkey = req.Hotkey
	}
	if req.Timeline < 1 || req.Timeline > renter.MaxTimeline {
		return c, config.Errorf("rentals.CreateRequest.Timeline", "must be between 1 and %d days, got %d", renter.MaxTimeline, req.Timeline)
	}
	c.timeline = req.Timeline
	if len(req.SSHKeys) == 0 {
		return c, config.Errorf("rentals.CreateRequest.SSHKeys", "at least one SSH public key is required (rentals allow key login only)")
	}
	if len(req.SSHKeys) > maxRenterKeys {
		return c, config.Errorf("rentals.CreateRequest.SSHKeys", "%d SSH keys, at most %d are accepted", len(req.SSHKeys), maxRenterKeys)
	}
	for i, k := range req.SSHKeys {
		n, err := normalizeKey(k, "rentals.CreateRequest.SSHKeys")
		if err != nil {
			return c, fmt.Errorf("key %d: %w", i+1, err)
		}
		dup := false
		for _, have := range c.keys {
			dup = dup || sameKey(have, n)
		}
		if !dup {
			c.keys = append(c.keys, n)
		}
	}
	return c, nil
}

// hash identifies a checked request: the same body (after defaults) hashes
// the same.
func (c createRequest) hash() string {
	b, err := json.Marshal(struct {
		Requirement container.Requirement `json:"requirement"`
		Hotkey      string                `json:"hotkey"`
		Timeline    int                   `json:"timeline"`
		Keys        []string              `json:"keys"`
	}{c.requirement, c.hotkey, c.timeline, c.keys})
	if err != nil {
		panic(err) // plain fields only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func checkIdempotencyKey(key string) error {
	if key == "" {
		return config.Errorf("rentals.Create.IdempotencyKey", "an Idempotency-Key is required")
	}
	if len(key) > maxIdempotencyKey {
		return config.Errorf("rentals.Create.IdempotencyKey", "at most %d characters, got %d", maxIdempotencyKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return config.Errorf("rentals.Create.IdempotencyKey", "visible ASCII characters only")
		}
	}
	return nil
}

// Create leases a miner for owner and records the rental, once per
// Idempotency-Key: the first request with a key runs the allocation; a
// later one with the same key and the same body gets the same rental (as it
// is now) with replayed true, or the first one's failure again, and never
// allocates. A request arriving while the first is still running waits for
// it (until ctx ends: ErrInProgress). The same key with another body is
// ErrIdempotencyMismatch. Keys are remembered for IdempotencyTTL.
//
// The allocation itself runs apart from ctx: a client that goes away does
// not cut a lease in half; its outcome is stored for the retry.
func (s *Service) Create(ctx context.Context, owner, idempotencyKey string, req CreateRequest) (Rental, bool, error) {
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return Rental{}, false, err
	}
	c, err := check(req)
	if err != nil {
		return Rental{}, false, err
	}
	if _, err := s.healthKey(); err != nil {
		return Rental{}, false, err
	}
	hash := c.hash()
	name := owner + "\x00" + idempotencyKey
	now := s.now()

	s.mu.Lock()
	rec, claimed, err := s.store.ClaimIdempotencyKey(ctx, owner, idempotencyKey, hash, now, now.Add(-IdempotencyTTL))
	if err != nil {
		s.mu.Unlock()
		return Rental{}, false, err
	}
	running := s.inflight[name]
	if claimed {
		running = &call{done: make(chan struct{})}
		s.inflight[name] = running
	}
	s.mu.Unlock()

	if claimed {
		go s.run(context.WithoutCancel(ctx), owner, idempotencyKey, c, running)
		return s.await(ctx, running, false)
	}
	if rec.RequestHash != hash {
		return Rental{}, false, fmt.Errorf("%w: use a new key for a new request", ErrIdempotencyMismatch)
	}
	switch rec.State {
	case store.IdempotencyDoneState:
		r, err := s.replay(ctx, rec)
		return r, true, err
	case store.IdempotencyFailed:
		return Rental{}, true, replayedFailure(rec.Response)
	}
	if running == nil {
		// Pending, but not running here: a previous run of the server was
		// stopped during the request.
		resp := failure(ErrInterrupted)
		if err := s.store.FinishIdempotencyKey(ctx, owner, idempotencyKey, store.IdempotencyFailed, HTTPStatus(ErrInterrupted), resp); err != nil {
			return Rental{}, true, err
		}
		s.log.Warn("an allocation request was interrupted by a restart; its outcome is unknown (see `compute allocate list`)", "owner", owner)
		return Rental{}, true, replayedFailure(resp)
	}
	return s.await(ctx, running, true)
}

// await waits for a creation in flight.
func (s *Service) await(ctx context.Context, c *call, replayed bool) (Rental, bool, error) {
	select {
	case <-c.done:
		if c.err != nil && replayed {
			return Rental{}, true, &ReplayedError{Err: c.err}
		}
		return c.rental, replayed, c.err
	case <-ctx.Done():
		return Rental{}, replayed, fmt.Errorf("%w (it goes on; retry with the same key for its outcome): %w", ErrInProgress, ctx.Err())
	}
}

// replay returns the rental a done key's request made, as it is now.
func (s *Service) replay(ctx context.Context, rec store.IdempotencyKey) (Rental, error) {
	var first Rental
	if err := json.Unmarshal(rec.Response, &first); err != nil || first.ID == "" {
		return Rental{}, fmt.Errorf("the stored answer of this Idempotency-Key is unreadable: %v", err)
	}
	cur, err := s.store.Rental(ctx, first.ID)
	if err != nil {
		return first, nil
	}
	return view(cur), nil
}

// run is the allocation of a claimed key: it stores the outcome with the
// key, then wakes the waiters.
func (s *Service) run(ctx context.Context, owner, key string, c createRequest, cl *call) {
	cl.rental, cl.err = s.allocate(ctx, owner, key, c)
	if cl.err != nil {
		s.log.Info("allocation failed", "owner", owner, "err", cl.err)
		if err := s.store.FinishIdempotencyKey(ctx, owner, key, store.IdempotencyFailed, HTTPStatus(cl.err), failure(cl.err)); err != nil {
			s.log.Error("the failure of an allocation request could not be stored with its Idempotency-Key", "owner", owner, "err", err)
		}
	}
	s.mu.Lock()
	delete(s.inflight, owner+"\x00"+key)
	s.mu.Unlock()
	close(cl.done)
}

// allocate leases a miner and records the rental with the key's answer.
func (s *Service) allocate(ctx context.Context, owner, key string, c createRequest) (Rental, error) {
	hk, err := s.healthKey()
	if err != nil {
		return Rental{}, err
	}
	a, err := s.renter.Allocate(ctx, renter.Request{Requirement: c.requirement, Timeline: c.timeline, Hotkey: c.hotkey,
		SSHKeys: leaseKeys(c.keys, hk)})
	if err != nil {
		if a != nil {
			// Granted, but the renter could not record it: it cannot be
			// acted on through the API.
			s.log.Error("a miner granted a lease the renter could not record", "hotkey", a.Hotkey, "err", err)
		}
		return Rental{}, err
	}
	id, err := newID()
	if err != nil {
		s.giveBack(ctx, a.Hotkey, err)
		return Rental{}, err
	}
	rec := store.Rental{ID: id, Owner: owner, Hotkey: a.Hotkey, Status: store.RentalActive, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt,
		Details: encodeDetails(details{UID: a.UID, Host: a.IP, Port: a.Port, Username: a.Username, SSHKeys: c.keys, Health: true,
			Resource: a.Requirement, Timeline: a.Timeline})}
	r := view(rec)
	resp, err := json.Marshal(r)
	if err != nil {
		s.giveBack(ctx, a.Hotkey, err)
		return Rental{}, err
	}
	old, err := s.store.CreateRental(ctx, rec, store.IdempotencyDone{Key: key, Status: http.StatusCreated, Response: resp})
	if err != nil {
		s.giveBack(ctx, a.Hotkey, err)
		return Rental{}, fmt.Errorf("leased %s but could not record the rental (the lease was released): %w", a.Hotkey, err)
	}
	for _, o := range old {
		s.log.Info("rental ended: its miner was leased again", "id", o.ID, "owner", o.Owner, "hotkey", o.Hotkey)
		s.notify(ctx, EventReleased, o)
	}
	s.log.Info("rental allocated", "id", id, "owner", owner, "hotkey", a.Hotkey, "uid", a.UID, "expires", a.ExpiresAt.UTC().Format(time.RFC3339))
	s.notify(ctx, EventAllocated, rec)
	return r, nil
}

// giveBack releases a lease that could not become a rental.
func (s *Service) giveBack(ctx context.Context, hotkey string, cause error) {
	err := s.renter.Release(ctx, hotkey, renter.ReleaseOptions{})
	if err != nil && !errors.Is(err, renter.ErrNotRecorded) {
		err = s.renter.Release(ctx, hotkey, renter.ReleaseOptions{Force: true})
	}
	s.log.Error("a lease that could not be recorded as a rental was released", "hotkey", hotkey, "cause", cause, "release_err", err)
}
