package container

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Deallocate ends the lease when publicKey is the key that allocated it. The container is
// removed first; when Docker fails the lease is kept so that a retry can finish the job.
func (m *Manager) Deallocate(ctx context.Context, publicKey string) error {
	k, err := ParseRequesterKey(publicKey)
	if err != nil {
		return err
	}
	m.mu.Lock()
	switch {
	case m.closed:
		err = ErrClosed
	case m.busy != opNone:
		err = ErrBusy
	case m.lease == nil:
		err = ErrNotAllocated
	case m.lease.RequesterFingerprint != k.Fingerprint:
		err = ErrWrongKey
	}
	if err != nil {
		m.mu.Unlock()
		return err
	}
	l := m.endingLocked()
	m.mu.Unlock()
	return m.end(ctx, l, "deallocated")
}

// endingLocked marks the active lease as being removed and returns it. The lease stays
// active (a checking request still finds it) until end has removed it.
func (m *Manager) endingLocked() *Lease {
	m.startLocked(opEnd)
	return m.lease
}

// end removes the lease's container and what goes with it, then forgets the lease; the
// removal runs without the lock. When it fails the lease is kept, so that a retry can
// finish the job.
func (m *Manager) end(ctx context.Context, l *Lease, why string) error {
	err := m.teardown(ctx, l)
	if err == nil {
		err = saveState(m.path, nil)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finishLocked()
	if err != nil {
		return fmt.Errorf("end lease %s: %w", l.ID, err)
	}
	m.stopTimerLocked()
	m.lease = nil
	m.log.Info("lease ended", "lease", l.ID, "reason", why, "container", shortID(l.ContainerID))
	return nil
}

// remove force-removes a container; one that is already gone counts as removed.
func (m *Manager) remove(ctx context.Context, id string) error {
	_, err := m.engine.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return classify("remove container "+shortID(id), err)
	}
	return nil
}

// armLocked (re)arms the expiry timer of l.
func (m *Manager) armLocked(l *Lease) {
	m.armAfterLocked(l.ID, l.Expiry.Sub(m.cfg.Now()))
}

func (m *Manager) armAfterLocked(id string, d time.Duration) {
	m.stopTimerLocked()
	if m.closed {
		return
	}
	if d < 0 {
		d = 0
	}
	m.wg.Add(1)
	m.timer = time.AfterFunc(d, func() {
		defer m.wg.Done()
		m.expire(id)
	})
}

func (m *Manager) stopTimerLocked() {
	if m.timer != nil && m.timer.Stop() {
		m.wg.Done() // the callback will never run
	}
	m.timer = nil
}

// expiryRetry is how long a failed expiry waits before it tries again.
const expiryRetry = time.Minute

// expire ends the lease id when its time is over. It holds the lock only to look at the
// state and to record the outcome; the removal (up to 2 minutes) runs without it.
func (m *Manager) expire(id string) {
	m.mu.Lock()
	if m.closed || m.lease == nil || m.lease.ID != id {
		m.mu.Unlock()
		return
	}
	if m.busy != opNone {
		// A deallocation is removing the lease: look again later, in case it fails.
		m.armAfterLocked(id, expiryRetry)
		m.mu.Unlock()
		return
	}
	l := m.endingLocked()
	m.mu.Unlock()
	// The timer outlives every request: expiry gets its own bounded context.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.end(ctx, l, "expired"); err != nil {
		m.log.Error("lease expiry failed; will retry", "lease", id, "retry_in", expiryRetry, "err", err)
		m.mu.Lock()
		m.armAfterLocked(id, expiryRetry)
		m.mu.Unlock()
	}
}
