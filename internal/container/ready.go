package container

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/moby/moby/client"
)

// waitSSH waits until the mapped port answers with an SSH banner.
func (m *Manager) waitSSH(ctx context.Context, id string) error {
	host := m.cfg.BindAddress
	if !host.IsValid() || host.IsUnspecified() {
		host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	addr := net.JoinHostPort(host.String(), strconv.Itoa(m.cfg.SSHPort))
	deadline := time.Now().Add(m.cfg.ReadyTimeout)
	var lastErr error
	for attempt := 0; ; attempt++ {
		if lastErr = sshBanner(ctx, addr); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		if attempt%20 == 19 { // about once a second, make sure the container still runs
			if res, err := m.engine.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil &&
				res.Container.State != nil && !res.Container.State.Running {
				return fmt.Errorf("%w: container exited with code %d", ErrNotReady, res.Container.State.ExitCode)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: no SSH banner on %s within %s: %v", ErrNotReady, addr, m.cfg.ReadyTimeout, lastErr)
}

func sshBanner(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "SSH-" {
		return fmt.Errorf("unexpected banner %q", buf)
	}
	return nil
}
