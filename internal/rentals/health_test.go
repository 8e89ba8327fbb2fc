package rentals

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/store"
)

// sshServer is an SSH server (golang.org/x/crypto/ssh) on loopback that
// lets one key in as root and runs every command as a success.
type sshServer struct {
	ln    net.Listener
	port  int
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startSSH serves on 127.0.0.1:port (0: any free port) with host key host,
// letting allowed in.
func startSSH(t *testing.T, port int, host ssh.Signer, allowed ssh.PublicKey) *sshServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &sshServer{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if c.User() == "root" && bytes.Equal(k.Marshal(), allowed.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("denied")
	}}
	cfg.AddHostKey(host)
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			srv.mu.Lock()
			srv.conns = append(srv.conns, conn)
			srv.mu.Unlock()
			srv.wg.Add(1)
			go func() {
				defer srv.wg.Done()
				serveSSH(conn, cfg)
			}()
		}
	}()
	t.Cleanup(srv.stop)
	return srv
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range creqs {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				req.Reply(true, nil)
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
				ch.Close()
			}
		}()
	}
}

func (s *sshServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestProbe(t *testing.T) {
	health := newSigner(t)
	host := newSigner(t)
	other := newSigner(t)
	open := startSSH(t, 0, host, health.PublicKey())
	refusing := startSSH(t, 0, host, other.PublicKey())
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	closed := startSSH(t, 0, host, health.PublicKey())
	closed.stop()

	for _, tc := range []struct {
		name    string
		port    int
		hostKey string
		want    string // in the error; "" : passes
	}{
		{"first login, host key learnt", open.port, "", ""},
		{"known host key", open.port, authorized(host.PublicKey()), ""},
		{"host key changed", open.port, authorized(other.PublicKey()), "host key changed"},
		{"health key refused", refusing.port, "", "health check key was refused"},
		{"nothing listens", closed.port, "", "tcp connect"},
		{"no answer", silent.Addr().(*net.TCPAddr).Port, "", "no answer within"},
	} {
		start := time.Now()
		met, err := probe(context.Background(), details{Host: "127.0.0.1", Port: tc.port, Username: "root", HostKey: tc.hostKey}, health, time.Second)
		switch {
		case tc.want == "" && (err != nil || met != authorized(host.PublicKey())):
			t.Errorf("%s: %v (host key %q)", tc.name, err, met)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.want)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s: the probe took %v", tc.name, d)
		}
	}
	var hke *HostKeyError
	_, err = probe(context.Background(), details{Host: "127.0.0.1", Port: open.port, Username: "root", HostKey: authorized(other.PublicKey())}, health, time.Second)
	if !errors.As(err, &hke) || hke.Was != ssh.FingerprintSHA256(other.PublicKey()) || hke.Now != ssh.FingerprintSHA256(host.PublicKey()) {
		t.Fatalf("host key change: %v", err)
	}
}

// TestHealthChecks: passes keep a rental active and learn its host key;
// MaxMisses misses in a row make it unhealthy (one event); a pass makes it
// active again; another host key on its address is a miss that says so.
func TestHealthChecks(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{MaxMisses: 2, ProbeTimeout: 2 * time.Second})
	hk, err := s.healthKey()
	if err != nil {
		t.Fatal(err)
	}
	host := newSigner(t)
	srv := startSSH(t, 0, host, hk.signer.PublicKey())
	_, key := renterKey(t)
	now := time.Now()
	seed(t, e.store, "r_1", "k1", "5Mone", "127.0.0.1", srv.port, []string{key}, now, now.Add(24*time.Hour))
	ctx := context.Background()
	state := func() store.Rental {
		t.Helper()
		rec, err := e.store.Rental(ctx, "r_1")
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}

	s.Tick(ctx)
	rec := state()
	d, _ := decodeDetails(rec)
	if rec.Status != store.RentalActive || rec.Misses != 0 || rec.CheckedAt.IsZero() || d.HostKey != authorized(host.PublicKey()) {
		t.Fatalf("after a pass: %+v (host key %q)", rec, d.HostKey)
	}

	srv.stop()
	steps := []struct {
		status string
		misses int
	}{{store.RentalActive, 1}, {store.RentalUnhealthy, 2}, {store.RentalUnhealthy, 3}}
	for i, st := range steps {
		s.Tick(ctx)
		rec = state()
		if rec.Status != st.status || rec.Misses != st.misses || !strings.Contains(rec.LastError, "tcp connect") {
			t.Fatalf("miss %d: %+v", i+1, rec)
		}
	}
	if got := e.events.of("r_1"); len(got) != 1 || got[0] != EventUnhealthy {
		t.Fatalf("events %v, want one rental.unhealthy", got)
	}
	if r, _ := s.Get(ctx, "k1", "r_1"); r.Health.Misses != 3 || r.Health.CheckedAt == nil || r.Health.LastError == "" {
		t.Fatalf("health shown %+v", r.Health)
	}

	// Back, with the same host key: active again.
	srv = startSSH(t, srv.port, host, hk.signer.PublicKey())
	s.Tick(ctx)
	if rec = state(); rec.Status != store.RentalActive || rec.Misses != 0 || rec.LastError != "" {
		t.Fatalf("after recovering: %+v", rec)
	}
	// Another machine on the address: a miss naming the host key.
	srv.stop()
	startSSH(t, srv.port, newSigner(t), hk.signer.PublicKey())
	s.Tick(ctx)
	if rec = state(); rec.Misses != 1 || !strings.Contains(rec.LastError, "host key changed") {
		t.Fatalf("another host key: %+v", rec)
	}
	if got := e.events.of("r_1"); len(got) != 1 {
		t.Fatalf("events %v", got)
	}
}

// TestHealthReleasesUnhealthy: with ReleaseUnhealthy, a rental that turns
// unhealthy is released (its miner cannot confirm: the lease is forgotten).
func TestHealthReleasesUnhealthy(t *testing.T) {
	e := newEnv(t, nil)
	s := e.service(Config{MaxMisses: 1, ReleaseUnhealthy: true, ProbeTimeout: time.Second})
	srv := startSSH(t, 0, newSigner(t), newSigner(t).PublicKey())
	srv.stop()
	_, key := renterKey(t)
	now := time.Now()
	seed(t, e.store, "r_1", "k1", "5Mone", "127.0.0.1", srv.port, []string{key}, now, now.Add(24*time.Hour))
	// The renter's record of the lease, whose release the miner cannot
	// confirm (its allocation key is gone).
	if err := e.store.SaveAllocation(context.Background(), store.Allocation{Hotkey: "5Mone", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		Details: []byte(`{"key_file":"` + filepath.Join(t.TempDir(), "gone.pem") + `"}`)}); err != nil {
		t.Fatal(err)
	}
	s.Tick(context.Background())
	if recs, _ := e.store.Allocations(context.Background()); len(recs) != 0 {
		t.Fatalf("the renter's record was kept: %+v", recs)
	}
	r, err := s.Get(context.Background(), "k1", "r_1")
	if err != nil || r.Status != StatusReleased || r.ReleasedAt == nil {
		t.Fatalf("%+v, %v", r, err)
	}
	if got := e.events.of("r_1"); len(got) != 2 || got[0] != EventUnhealthy || got[1] != EventReleased {
		t.Fatalf("events %v", got)
	}
	live, _ := e.store.LiveRentals(context.Background())
	if len(live) != 0 {
		t.Fatalf("live %+v", live)
	}
}
