package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Lease actions: what the lease holder may ask of its lease while it runs (the
// Allocate synapse's docker_action, sent with docker_change).
const (
	// ActionRestart restarts the lease container; the lease, its files, disk,
	// network and firewall rules stay.
	ActionRestart = "restart"
	// ActionExchangeKey replaces the renter's SSH keys (authorized_keys of root).
	ActionExchangeKey = "exchange_key"
	// ActionExtend moves the lease's end: the timeline is then the new length of
	// the whole lease, counted from its start.
	ActionExtend = "extend"
)

// Errors of lease actions.
var (
	ErrInvalidAction = errors.New("container: invalid lease action")
	ErrWrongHotkey   = errors.New("container: the lease was allocated by another validator hotkey")
	ErrLastKey       = errors.New("container: a key-only lease keeps at least one SSH key")
)

// MaxSSHKeys bounds the renter's SSH keys on one lease.
const MaxSSHKeys = 32

// restartGrace is how long a restart lets the container's processes stop after
// SIGTERM before Docker kills them.
const restartGrace = 10

// maxLeaseInfoBytes bounds /etc/lease and the motd read back from a container
// (the renter is root there and may have made them anything).
const maxLeaseInfoBytes = 64 << 10

// NormalizeSSHKeys parses the renter's SSH keys, one a line in authorized_keys
// syntax (blank lines are skipped), as NormalizeSSHKey does each, and returns
// them canonical and without repeats, in their order. At most MaxSSHKeys.
func NormalizeSSHKeys(s string) ([]string, error) {
	if len(s) > MaxSSHKeys*(maxSSHKeyBytes+1) {
		return nil, fmt.Errorf("%w: %d bytes of SSH keys, more than %d keys can hold", ErrInvalidPublicKey, len(s), MaxSSHKeys)
	}
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return normalizeKeys(lines)
}

// normalizeKeys is NormalizeSSHKeys over a list.
func normalizeKeys(keys []string) ([]string, error) {
	out := make([]string, 0, len(keys))
	seen := map[string]bool{}
	for i, k := range keys {
		n, err := NormalizeSSHKey(k)
		if err != nil {
			return nil, fmt.Errorf("SSH key %d of %d: %w", i+1, len(keys), err)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) > MaxSSHKeys {
		return nil, fmt.Errorf("%w: %d SSH keys, at most %d are accepted", ErrInvalidPublicKey, len(out), MaxSSHKeys)
	}
	return out, nil
}

// beginAction checks that publicKey (and, when the lease records one, hotkey)
// is the holder of the running lease, and marks op in progress; the caller ends
// it with finishAction. It returns a copy of the lease.
func (m *Manager) beginAction(op operation, publicKey, hotkey string) (Lease, error) {
	k, err := ParseRequesterKey(publicKey)
	if err != nil {
		return Lease{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return Lease{}, ErrClosed
	case m.busy != opNone:
		return Lease{}, ErrBusy
	case m.lease == nil:
		return Lease{}, ErrNotAllocated
	case m.lease.RequesterFingerprint != k.Fingerprint:
		return Lease{}, ErrWrongKey
	case m.lease.ValidatorHotkey != "" && m.lease.ValidatorHotkey != hotkey:
		return Lease{}, ErrWrongHotkey
	case !m.cfg.Now().Before(m.lease.Expiry):
		return Lease{}, fmt.Errorf("%w: the lease ended at %s", ErrNotAllocated, m.lease.Expiry.UTC().Format(time.RFC3339))
	}
	m.startLocked(op)
	return *m.lease, nil
}

func (m *Manager) finishAction() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finishLocked()
}

// Restart restarts the lease container of the holder of publicKey (and hotkey,
// see beginAction) and waits until sshd answers again. The lease, its files,
// volume, network and firewall rules stay as they are.
func (m *Manager) Restart(ctx context.Context, publicKey, hotkey string) error {
	l, err := m.beginAction(opRestart, publicKey, hotkey)
	if err != nil {
		return err
	}
	defer m.finishAction()
	t0 := time.Now()
	grace := restartGrace
	if _, err := m.engine.ContainerRestart(ctx, l.ContainerID, client.ContainerRestartOptions{Timeout: &grace}); err != nil {
		return classify("restart lease container", err)
	}
	if err := m.ready(ctx, l.ContainerID); err != nil {
		return err
	}
	m.log.Info("lease restarted", "lease", l.ID, "container", shortID(l.ContainerID), "elapsed", time.Since(t0).Round(time.Millisecond))
	return nil
}

// SetSSHKeys replaces the renter's SSH keys in the lease container of the holder
// of publicKey (and hotkey, see beginAction): root's authorized_keys then holds
// exactly keys, each checked by NormalizeSSHKey. sshd reads the file at every
// login, so the change needs no restart. A key-only lease keeps at least one
// key (ErrLastKey); a password lease keeps its password whatever the keys.
func (m *Manager) SetSSHKeys(ctx context.Context, publicKey, hotkey string, keys []string) error {
	keys, err := normalizeKeys(keys)
	if err != nil {
		return err
	}
	l, err := m.beginAction(opKeys, publicKey, hotkey)
	if err != nil {
		return err
	}
	defer m.finishAction()
	if l.KeyOnly && len(keys) == 0 {
		return ErrLastKey
	}
	body := ""
	if len(keys) > 0 {
		body = strings.Join(keys, "\n") + "\n"
	}
	// As deliverFiles: files copied in as root, never a command line.
	err = m.copyFiles(ctx, l.ContainerID, "/root",
		[]tarEntry{{name: ".ssh/", mode: 0o700}, {name: ".ssh/authorized_keys", body: body, mode: 0o600}})
	if err != nil {
		return err
	}
	m.log.Info("lease SSH keys set", "lease", l.ID, "keys", len(keys))
	return nil
}

// Extend moves the end of the lease of the holder of publicKey (and hotkey, see
// beginAction) to timeline units (days) after its start, 1 to MaxTimeline. A
// lease is never shortened: an end before the current one is refused, the same
// end is accepted again (a retried request changes nothing). The new end is
// stored before the timer is re-armed, so a miner restart keeps it, and the
// lease's /etc/lease and motd say it.
func (m *Manager) Extend(ctx context.Context, publicKey, hotkey string, timeline int) (Lease, error) {
	if timeline <= 0 || timeline > m.cfg.MaxTimeline {
		return Lease{}, fmt.Errorf("%w: an extended lease lasts 1 to %d days from its start, got %d", ErrInvalidTimeline, m.cfg.MaxTimeline, timeline)
	}
	l, err := m.beginAction(opExtend, publicKey, hotkey)
	if err != nil {
		return Lease{}, err
	}
	expiry := l.Start.Add(time.Duration(timeline) * m.cfg.TimelineUnit)
	if expiry.Before(l.Expiry) {
		m.finishAction()
		return Lease{}, fmt.Errorf("%w: %d days from its start end the lease at %s, before its current end %s (a lease is extended, never shortened)",
			ErrInvalidTimeline, timeline, expiry.UTC().Format(time.RFC3339), l.Expiry.UTC().Format(time.RFC3339))
	}
	old := l.Expiry
	l.Expiry = expiry
	if err := saveState(m.path, &l); err != nil {
		m.finishAction()
		return Lease{}, err
	}
	m.mu.Lock()
	if m.lease != nil && m.lease.ID == l.ID {
		m.lease.Expiry = expiry
		m.armLocked(m.lease)
	}
	m.mu.Unlock()
	// What the lease says of itself follows; the stored end is what counts.
	if err := m.rewriteLeaseInfo(ctx, &l); err != nil {
		m.log.Warn("lease extended, but its /etc/lease and motd still state the old end", "lease", l.ID, "err", err)
	}
	m.finishAction()
	m.log.Info("lease extended", "lease", l.ID, "from", old, "to", expiry)
	return l, nil
}

// rewriteLeaseInfo rewrites the line stating the lease's end in the container's
// /etc/lease and motd, reading them back first so that the rest (the limits the
// lease was given) stays as written at allocation.
func (m *Manager) rewriteLeaseInfo(ctx context.Context, l *Lease) error {
	var files []tarEntry
	for _, f := range []struct {
		path string
		motd bool
	}{{leaseInfoPath, false}, {motdPath, true}} {
		text, err := m.readFile(ctx, l.ContainerID, f.path)
		if err != nil {
			return err
		}
		if text, ok := withExpiry(text, l, f.motd); ok {
			files = append(files, tarEntry{name: strings.TrimPrefix(f.path, "/etc/"), body: text, mode: 0o644})
		}
	}
	if len(files) == 0 {
		return nil
	}
	return m.copyFiles(ctx, l.ContainerID, "/etc", files)
}

// readFile reads one regular file of at most maxLeaseInfoBytes from a container.
func (m *Manager) readFile(ctx context.Context, id, path string) (string, error) {
	res, err := m.engine.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return "", classify("read "+path+" of the lease container", err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	h, err := tr.Next()
	if err != nil {
		return "", fmt.Errorf("read %s of the lease container: %w", path, err)
	}
	if h.Typeflag != tar.TypeReg || h.Size > maxLeaseInfoBytes {
		return "", fmt.Errorf("read %s of the lease container: not a regular file of at most %d bytes", path, maxLeaseInfoBytes)
	}
	b, err := io.ReadAll(io.LimitReader(tr, maxLeaseInfoBytes))
	if err != nil {
		return "", fmt.Errorf("read %s of the lease container: %w", path, err)
	}
	return string(b), nil
}

// tarEntry is a file (or, with a name ending in "/", a directory) copied into a
// container, owned by root.
type tarEntry struct {
	name, body string
	mode       int64
}

// copyFiles copies entries into the container under dir.
func (m *Manager) copyFiles(ctx context.Context, id, dir string, entries []tarEntry) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := m.cfg.Now()
	for _, e := range entries {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Size: int64(len(e.body)), ModTime: now}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("pack files for the lease container: %w", err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			return fmt.Errorf("pack files for the lease container: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack files for the lease container: %w", err)
	}
	if _, err := m.engine.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: &buf}); err != nil {
		return classify("copy files into the lease container", err)
	}
	return nil
}

// actionReason is the reason sent to the caller with a refused action: the
// refusals a renter can act on say what they are, anything else only that the
// miner failed (its log says why; Docker's messages stay on the miner).
func actionReason(err error) string {
	if err == nil {
		return ""
	}
	for _, e := range []error{ErrWrongKey, ErrWrongHotkey, ErrNotAllocated, ErrBusy, ErrClosed, ErrLastKey, ErrNotReady} {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "container: ")
		}
	}
	return "the miner failed to carry out the action (its log says why)"
}

// handleAction serves a lease action (Request.DockerChange). A malformed one
// (unknown action, bad keys or timeline) is an error that the miner answers as
// a bad request; a refusal is status false with Reason.
func (m *Manager) handleAction(ctx context.Context, r Request) Response {
	var err error
	switch r.Action {
	case ActionRestart:
		err = m.Restart(ctx, r.PublicKey, r.ValidatorHotkey)
	case ActionExchangeKey:
		if r.ActionKeyType != "" && r.ActionKeyType != "user" {
			err = fmt.Errorf("%w: key_type %q is not served (this miner replaces the renter's keys: leave key_type empty)", ErrInvalidAction, truncate(r.ActionKeyType, 32))
			break
		}
		var keys []string
		if keys, err = NormalizeSSHKeys(r.ActionSSHKeys); err == nil {
			err = m.SetSSHKeys(ctx, r.PublicKey, r.ValidatorHotkey, keys)
		}
	case ActionExtend:
		_, err = m.Extend(ctx, r.PublicKey, r.ValidatorHotkey, r.Timeline)
	default:
		err = fmt.Errorf("%w: unknown action %q (this miner serves %s, %s and %s)", ErrInvalidAction, truncate(r.Action, 32), ActionRestart, ActionExchangeKey, ActionExtend)
	}
	return Response{Status: err == nil, Action: r.Action, Reason: actionReason(err), Err: err}
}
