package renter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/wire"
)

// ErrUnsupported: the miner does not know lease actions (an older miner of this
// implementation, or the original subnet's Python miner); nothing was changed.
var ErrUnsupported = errors.New("the miner does not support lease actions")

// Lease actions go to the miner as an Allocate with docker_change and
// docker_action, signed with the allocation's RSA public key as a release is.
// They are sent with checking set: a miner that does not know docker_change
// takes the request for a check and changes nothing, where a plain request
// would be a new allocation (the original's Python miners kill the running
// container for one) or, with timeline 0, a deallocation. A miner that knows
// lease actions acts whatever checking says and names the action in its
// output; an answer without that name is a miner that does not know them
// (ErrUnsupported). So is a 500: the body hash covers docker_change and
// docker_action, which an older miner leaves out of its own hash, so it finds
// a mismatch and refuses before acting.

// Lookup returns the allocation recorded for hotkey (ErrNotRecorded when none).
func (r *Renter) Lookup(ctx context.Context, hotkey string) (*Allocation, error) {
	a, ok, err := r.lookup(ctx, hotkey)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s (see `compute allocate list`)", ErrNotRecorded, hotkey)
	}
	return &a, nil
}

// Restart restarts the container of the lease recorded for hotkey and returns
// once the miner says sshd answers again; the lease and its files stay.
func (r *Renter) Restart(ctx context.Context, hotkey string) error {
	a, err := r.Lookup(ctx, hotkey)
	if err != nil {
		return err
	}
	if err := r.act(ctx, a, wire.DockerAction{Action: wire.ActionRestart}, 0); err != nil {
		return err
	}
	r.log.Info("lease restarted", "hotkey", hotkey)
	return nil
}

// Extend adds days to the lease recorded for hotkey: the miner moves its end, and
// the record's ExpiresAt and Timeline follow. The whole lease, counted from its
// start, lasts at most MaxTimeline days.
func (r *Renter) Extend(ctx context.Context, hotkey string, days int) (*Allocation, error) {
	if days < 1 || days > MaxTimeline {
		return nil, config.Errorf("renter.Extend.Days", "must be between 1 and %d days, got %d", MaxTimeline, days)
	}
	a, err := r.Lookup(ctx, hotkey)
	if err != nil {
		return nil, err
	}
	now := r.now()
	if !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now) {
		return nil, fmt.Errorf("%w: the lease of %s ended at %s", ErrRefused, hotkey, a.ExpiresAt.Local().Format(time.DateTime))
	}
	current := a.Timeline
	if current < 1 && !a.ExpiresAt.IsZero() {
		// A record without its length: the days between its dates.
		current = int(math.Round(a.ExpiresAt.Sub(a.CreatedAt).Hours() / 24))
	}
	total := current + days
	if total > MaxTimeline {
		return nil, config.Errorf("renter.Extend.Days", "%d more days make the lease %d days long from its start; a lease lasts at most %d (at most %d more for this one)",
			days, total, MaxTimeline, max(MaxTimeline-current, 0))
	}
	if err := r.act(ctx, a, wire.DockerAction{Action: wire.ActionExtend}, total); err != nil {
		return nil, err
	}
	a.Timeline = total
	a.ExpiresAt = a.CreatedAt.Add(time.Duration(total) * 24 * time.Hour)
	if err := r.save(ctx, a); err != nil {
		return a, fmt.Errorf("the miner extended the lease of %s to %s but it could not be recorded: %w", hotkey, a.ExpiresAt.Local().Format(time.DateTime), err)
	}
	r.log.Info("lease extended", "hotkey", hotkey, "days", total, "expires", a.ExpiresAt.Format(time.RFC3339))
	return a, nil
}

// SetSSHKeys replaces the renter's SSH keys on the lease recorded for hotkey
// (root's authorized_keys in the container) with keys, and records them. A
// key-only lease keeps at least one key; a password lease keeps its password,
// keys or none.
func (r *Renter) SetSSHKeys(ctx context.Context, hotkey string, keys []string) error {
	norm, err := normalizeKeys(keys)
	if err != nil {
		return config.Errorf("renter.SetSSHKeys.Keys", "%w", err)
	}
	a, err := r.Lookup(ctx, hotkey)
	if err != nil {
		return err
	}
	if a.KeyOnly && len(norm) == 0 {
		return config.Errorf("renter.SetSSHKeys.Keys", "the lease of %s allows key login only: it keeps at least one SSH key", hotkey)
	}
	if err := r.act(ctx, a, wire.DockerAction{Action: wire.ActionExchangeKey, SSHKey: strings.Join(norm, "\n")}, 0); err != nil {
		return err
	}
	a.SSHKeys = norm
	if err := r.save(ctx, a); err != nil {
		return fmt.Errorf("the miner set the SSH keys of %s but they could not be recorded: %w", hotkey, err)
	}
	r.log.Info("lease SSH keys set", "hotkey", hotkey, "keys", len(norm))
	return nil
}

// act sends a lease action for a, with the allocation's RSA key, and reads the
// miner's answer (see the comment above Lookup).
func (r *Renter) act(ctx context.Context, a *Allocation, action wire.DockerAction, timeline int) error {
	key, err := loadKey(a.KeyFile)
	if err != nil {
		return err
	}
	n, err := r.neuron(ctx, a.Hotkey)
	if err != nil {
		return err
	}
	syn := &wire.Allocate{Timeline: int64(timeline), Checking: true, PublicKey: key.publicPEM, DockerChange: true, DockerAction: &action}
	res := wire.Call(ctx, r.dendrite, wire.NeuronTarget(*n), syn, r.cfg.AllocateTimeout)
	who := fmt.Sprintf("%s (uid %d)", a.Hotkey, n.UID)
	switch {
	case res.StatusCode == http.StatusInternalServerError:
		return fmt.Errorf("%w: %s could not check the request's signed body hash, as a miner that does not know lease actions cannot (%s); nothing was changed",
			ErrUnsupported, who, peerText(res.StatusMessage, 200))
	case res.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("%w: %s: %s", ErrRefused, who, peerText(res.StatusMessage, 300))
	case !res.OK():
		return fmt.Errorf("%w: %s: %d %s", ErrUnreachable, who, res.StatusCode, peerText(res.StatusMessage, 200))
	}
	out := res.Synapse.Output
	if out.Action != action.Action {
		return fmt.Errorf("%w: %s answered as a miner that does not know lease actions (an older version, or the original subnet's miner); nothing was changed", ErrUnsupported, who)
	}
	if !out.Status {
		reason := peerText(out.Reason, 200)
		if reason == "" {
			reason = "no reason given"
		}
		return fmt.Errorf("%w: %s refused to %s the lease: %s", ErrRefused, who, verb(action.Action), reason)
	}
	return nil
}

func verb(action string) string {
	if action == wire.ActionExchangeKey {
		return "set the SSH keys of"
	}
	return action
}

// normalizeKeys checks renter SSH keys (empty ones are skipped) and returns them
// canonical, without repeats, in their order.
func normalizeKeys(keys []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if strings.TrimSpace(k) == "" {
			continue
		}
		n, err := container.NormalizeSSHKey(k)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) > container.MaxSSHKeys {
		return nil, fmt.Errorf("%d SSH keys, at most %d are accepted", len(out), container.MaxSSHKeys)
	}
	return out, nil
}

// peerText is text a miner sent, made safe to print: clipped, with control and
// other unprintable characters replaced.
func peerText(s string, n int) string {
	s = clip.String(s, n)
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

// SSHKeyFingerprint is the SHA-256 fingerprint of an SSH public key as
// `ssh-keygen -l` prints it ("SHA256:..."), for listing and choosing keys.
func SSHKeyFingerprint(key string) (string, error) {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", fmt.Errorf("SSH key: %w", err)
	}
	return ssh.FingerprintSHA256(k), nil
}
