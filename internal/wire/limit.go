package wire

import (
	"net"
	"net/netip"
	"sync"
)

// ipLimitListener caps the connections open at once from one source: an IPv4
// address or an IPv6 /64 (one host usually holds a whole /64). A connection
// over the cap is closed as soon as it is accepted, before any byte is read,
// so that a single peer cannot hold all of the process's file descriptors and
// lock validators out. Safe for concurrent use.
type ipLimitListener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[netip.Addr]int
	// refused counts connections closed at accept (for tests and logs).
	refused uint64
}

func newIPLimitListener(ln net.Listener, max int) *ipLimitListener {
	return &ipLimitListener{Listener: ln, max: max, open: map[netip.Addr]int{}}
}

// sourceKey is the accounting key of a remote address: the IPv4 address, or
// the /64 prefix of an IPv6 one. ok is false for non-IP addresses.
func sourceKey(a net.Addr) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err != nil {
			return netip.Addr{}, false
		}
		return p.Addr(), true
	}
	return ip, true
}

// Accept returns the next connection within its source's cap; connections
// over the cap are closed and skipped.
func (l *ipLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := sourceKey(c.RemoteAddr())
		if !ok {
			return c, nil
		}
		l.mu.Lock()
		if l.open[key] >= l.max {
			l.refused++
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, key: key}, nil
	}
}

func (l *ipLimitListener) done(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

func (l *ipLimitListener) refusedCount() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

type limitedConn struct {
	net.Conn
	l    *ipLimitListener
	key  netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.done(c.key) })
	return err
}
