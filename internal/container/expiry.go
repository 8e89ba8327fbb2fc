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
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.lease == nil {
		return ErrNotAllocated
	}
	if m.lease.RequesterFingerprint != k.Fingerprint {
		return ErrWrongKey
	}
	return m.endLocked(ctx, "deallocated")
}

// endLocked removes the lease's container, then forgets the lease.
func (m *Manager) endLocked(ctx context.Context, why string) error {
	l := m.lease
	if err := m.teardown(ctx, l); err != nil {
		return fmt.Errorf("end lease %s: %w", l.ID, err)
	}
	if err := saveState(m.path, nil); err != nil {
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

func (m *Manager) expire(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.lease == nil || m.lease.ID != id {
		return
	}
	// The timer outlives every request: expiry gets its own bounded context.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.endLocked(ctx, "expired"); err != nil {
		m.log.Error("lease expiry failed; will retry", "lease", id, "retry_in", expiryRetry, "err", err)
		m.armAfterLocked(id, expiryRetry)
	}
}
