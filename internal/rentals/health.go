package rentals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
)

// probeConcurrency bounds the probes running at once.
const probeConcurrency = 16

// Run checks the live rentals' health every HealthInterval and ends the
// expired ones, until ctx ends; it returns after its probes have. A health
// key that cannot be read or made is returned at once.
func (s *Service) Run(ctx context.Context) error {
	if _, err := s.healthKey(); err != nil {
		return err
	}
	s.log.Info("rentals health checks running", "interval", s.cfg.HealthInterval, "max_misses", s.cfg.MaxMisses,
		"release_unhealthy", s.cfg.ReleaseUnhealthy)
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick is one round of Run: expired rentals end, old Idempotency-Keys go,
// and every live rental is probed once.
func (s *Service) Tick(ctx context.Context) {
	s.expire(ctx)
	if n, err := s.store.PurgeIdempotencyKeys(ctx, s.now().Add(-IdempotencyTTL)); err != nil {
		s.log.Warn("old Idempotency-Keys not purged", "err", err)
	} else if n > 0 {
		s.log.Debug("old Idempotency-Keys purged", "count", n)
	}
	s.checkAll(ctx)
}

// expire ends the live rentals past their expiry, and forgets their leases
// in the renter (the miner ended them itself).
func (s *Service) expire(ctx context.Context) {
	due, err := s.store.DueRentals(ctx, s.now())
	if err != nil {
		s.log.Warn("expired rentals not read", "err", err)
		return
	}
	for _, rec := range due {
		if ctx.Err() != nil {
			return
		}
		s.expireOne(ctx, rec)
	}
}

func (s *Service) expireOne(ctx context.Context, rec store.Rental) {
	unlock := s.lock(rec.ID)
	defer unlock()
	moved, newer, err := s.followExtension(ctx, rec)
	if err != nil {
		s.log.Warn("expired rental not ended: its lease record is unreadable", "id", rec.ID, "err", err)
		return
	}
	if moved {
		return
	}
	_, ended, err := s.end(ctx, rec, store.RentalExpired)
	if err != nil {
		s.log.Warn("expired rental not ended", "id", rec.ID, "err", err)
		return
	}
	if !ended || newer {
		return // a newer lease on the miner is not this rental's to forget
	}
	if err := s.renter.Release(ctx, rec.Hotkey, renter.ReleaseOptions{Force: true}); err != nil && !errors.Is(err, renter.ErrNotRecorded) {
		s.log.Warn("the lease of an expired rental was not forgotten", "id", rec.ID, "hotkey", rec.Hotkey, "err", err)
	}
}

// followExtension moves the end of rec to its lease's when the lease was
// extended outside the API (`compute allocate extend` records a later
// ExpiresAt on the allocation); moved reports whether it did. The lease is
// the allocation of rec's hotkey made no later than rec; newer reports an
// allocation of the miner made after rec (another lease).
func (s *Service) followExtension(ctx context.Context, rec store.Rental) (moved, newer bool, err error) {
	all, err := s.store.Allocations(ctx)
	if err != nil {
		return false, false, err
	}
	for _, a := range all {
		if a.Hotkey != rec.Hotkey {
			continue
		}
		if a.CreatedAt.After(rec.CreatedAt) {
			return false, true, nil
		}
		if !a.ExpiresAt.After(rec.ExpiresAt) || !a.ExpiresAt.After(s.now()) {
			return false, false, nil
		}
		d, err := decodeDetails(rec)
		if err != nil {
			return false, false, err
		}
		d.Timeline = int(math.Round(a.ExpiresAt.Sub(rec.CreatedAt).Hours() / 24))
		if err := s.store.UpdateRental(ctx, rec.ID, encodeDetails(d), a.ExpiresAt); err != nil {
			if errors.Is(err, store.ErrRentalEnded) {
				return true, false, nil // ended meanwhile: nothing to expire
			}
			return false, false, err
		}
		s.log.Info("rental end moved to its extended lease's", "id", rec.ID, "owner", rec.Owner, "hotkey", rec.Hotkey,
			"was", rec.ExpiresAt.UTC().Format(time.RFC3339), "expires", a.ExpiresAt.UTC().Format(time.RFC3339))
		return true, false, nil
	}
	return false, false, nil
}

// checkAll probes every live rental, a few at a time.
func (s *Service) checkAll(ctx context.Context) {
	live, err := s.store.LiveRentals(ctx)
	if err != nil {
		s.log.Warn("live rentals not read", "err", err)
		return
	}
	sem := make(chan struct{}, probeConcurrency)
	var wg sync.WaitGroup
	for _, rec := range live {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.check(ctx, rec)
		}()
	}
	wg.Wait()
}

// check probes one rental and records the outcome: a pass resets its
// misses (an unhealthy rental is active again), MaxMisses misses in a row
// make it unhealthy, and then, with ReleaseUnhealthy, released.
func (s *Service) check(ctx context.Context, rec store.Rental) {
	d, err := decodeDetails(rec)
	if err != nil {
		s.log.Warn("rental not checked", "id", rec.ID, "err", err)
		return
	}
	hk, err := s.healthKey()
	if err != nil {
		s.log.Warn("rental not checked", "id", rec.ID, "err", err)
		return
	}
	hostKey, perr := probe(ctx, d, hk.signer, s.cfg.ProbeTimeout)
	if ctx.Err() != nil {
		return // stopping: a cut probe is no miss
	}
	c := store.RentalCheck{At: s.now(), Status: store.RentalActive}
	if perr == nil {
		if d.HostKey == "" {
			d.HostKey = hostKey
			c.Details = encodeDetails(d)
		}
	} else {
		c.Misses = rec.Misses + 1
		c.LastError = clip.String(perr.Error(), 300)
		c.Status = rec.Status
		if c.Misses >= s.cfg.MaxMisses {
			c.Status = store.RentalUnhealthy
		}
	}
	prev, err := s.store.RecordRentalCheck(ctx, rec.ID, c)
	if errors.Is(err, store.ErrRentalEnded) || errors.Is(err, store.ErrRentalNotFound) {
		return // ended meanwhile
	}
	if err != nil {
		s.log.Warn("health check not recorded", "id", rec.ID, "err", err)
		return
	}
	rec.Status, rec.Misses, rec.CheckedAt, rec.LastError = c.Status, c.Misses, c.At, c.LastError
	if c.Details != nil {
		rec.Details = c.Details
	}
	switch {
	case perr == nil && prev == store.RentalUnhealthy:
		s.log.Info("rental recovered", "id", rec.ID, "owner", rec.Owner, "hotkey", rec.Hotkey)
	case perr != nil && c.Status == store.RentalUnhealthy && prev == store.RentalActive:
		s.log.Warn("rental unhealthy", "id", rec.ID, "owner", rec.Owner, "hotkey", rec.Hotkey, "misses", c.Misses, "err", perr)
		s.notify(ctx, EventUnhealthy, rec)
	case perr != nil:
		s.log.Info("rental health check missed", "id", rec.ID, "hotkey", rec.Hotkey, "misses", c.Misses, "err", perr)
	}
	if c.Status == store.RentalUnhealthy && s.cfg.ReleaseUnhealthy {
		s.releaseUnhealthy(ctx, rec.ID)
	}
}

// releaseUnhealthy releases an unhealthy rental's lease (forgetting it when
// the miner cannot confirm).
func (s *Service) releaseUnhealthy(ctx context.Context, id string) {
	unlock := s.lock(id)
	defer unlock()
	rec, err := s.store.Rental(ctx, id)
	if err != nil || rec.Status != store.RentalUnhealthy {
		return // recovered or ended meanwhile
	}
	if err := s.release(ctx, rec, true); err != nil {
		s.log.Warn("unhealthy rental not released; trying again at the next check", "id", id, "err", err)
		return
	}
	if _, _, err := s.end(ctx, rec, store.RentalReleased); err != nil {
		s.log.Warn("released unhealthy rental not recorded as ended", "id", id, "err", err)
	}
}

// HostKeyError is a lease whose SSH host key is not the one its first
// passed health check met: another machine answers on its address.
type HostKeyError struct{ Was, Now string }

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("the SSH host key changed (was %s, now %s): the lease's address no longer reaches its container", e.Was, e.Now)
}

// probe connects to the lease's SSH port, logs in with the health key and
// runs `true`, all within timeout. It returns the host key met
// (authorized_keys form). A host key other than d.HostKey (when set) fails
// the probe with a *HostKeyError.
func probe(ctx context.Context, d details, signer ssh.Signer, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("tcp connect to %s: %w", addr, err)
	}
	defer conn.Close()
	// The connection closes when ctx ends: every read and write after
	// fails, and ctx says why.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var want ssh.PublicKey
	if d.HostKey != "" {
		if want, _, _, _, err = ssh.ParseAuthorizedKey([]byte(d.HostKey)); err != nil {
			return "", fmt.Errorf("the recorded SSH host key is unreadable: %w", err)
		}
	}
	var met ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: d.Username,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			met = key
			if want != nil && !bytes.Equal(want.Marshal(), key.Marshal()) {
				return &HostKeyError{Was: ssh.FingerprintSHA256(want), Now: ssh.FingerprintSHA256(key)}
			}
			return nil
		},
		Timeout: timeout,
	}
	if want != nil {
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(want.Type())
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		var hke *HostKeyError
		switch {
		case errors.As(err, &hke):
			return "", hke
		case strings.Contains(err.Error(), "unable to authenticate"):
			return "", fmt.Errorf("ssh login as %s at %s: the health check key was refused (was it removed from the lease's authorized_keys?): %w", d.Username, addr, err)
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("ssh login as %s at %s: no answer within %v", d.Username, addr, timeout)
		}
		return "", fmt.Errorf("ssh login as %s at %s: %w", d.Username, addr, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("ssh session at %s: %w", addr, err)
	}
	defer sess.Close()
	if err := sess.Run("true"); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("`true` at %s: no answer within %v", addr, timeout)
		}
		return "", fmt.Errorf("`true` at %s: %w", addr, err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(met))), nil
}

// hostKeyAlgorithms are the signature algorithms that a host key of type
// keyType signs with, so that the server presents that key.
func hostKeyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
