package wire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/wallet"
)

// A caller refused before verification that declares a body and never sends
// it gets its answer and a closed connection within HeaderTimeout; before,
// the server drained the declared body with no deadline (unknown route) or
// until the unsigned timeout header (blacklisted), holding the connection.
func TestRefusedSlowBodyIsCut(t *testing.T) {
	e := newEnv(t, func(c *AxonConfig) { c.HeaderTimeout = 300 * time.Millisecond })
	charlie, err := wallet.FromURI("//Charlie")
	must(t, err)
	blocked := charlie.SS58Address()
	e.mu.Lock()
	e.blocked[blocked] = true
	e.mu.Unlock()
	tests := []struct {
		name, path string
		headers    string
		status     int
	}{
		{"unknown route", "/Nope", "", http.StatusNotFound},
		{"blacklisted", "/Specs", "bt_header_dendrite_hotkey: " + blocked + "\r\ntimeout: 600\r\n", http.StatusForbidden},
		{"unverified", "/Specs", "bt_header_dendrite_hotkey: " + e.callKP.SS58Address() + "\r\nbt_header_dendrite_nonce: 1\r\ntimeout: 600\r\n", http.StatusUnauthorized},
		{"bad headers", "/Specs", "timeout: nan\r\n", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", e.addr)
			must(t, err)
			defer c.Close()
			must(t, c.SetDeadline(time.Now().Add(5*time.Second)))
			start := time.Now()
			_, err = io.WriteString(c, "POST "+tt.path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+tt.headers+"Content-Length: 1000\r\n\r\n{")
			must(t, err)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !resp.Close {
				t.Error("refused caller was offered keep-alive")
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("connection not closed by the axon: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("refusal took %v", d)
			}
		})
	}
	e.stillServes()
}

// A peer holding MaxConnsPerIP connections cannot open more; closing one
// frees its place.
func TestConnectionsPerIPCapped(t *testing.T) {
	e := newEnv(t, func(c *AxonConfig) { c.MaxConnsPerIP = 2 })
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", e.addr)
		must(t, err)
		held = append(held, c)
	}
	over, err := net.Dial("tcp", e.addr)
	must(t, err)
	defer over.Close()
	must(t, over.SetDeadline(time.Now().Add(3*time.Second)))
	_, _ = io.WriteString(over, "GET /Synapse HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := over.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection over the per-IP cap was served")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection over the per-IP cap was left open")
	}
	for _, c := range held {
		c.Close()
	}
	// The places are freed once the server notices the closes.
	deadline := time.Now().Add(3 * time.Second)
	for {
		r := Call(context.Background(), e.dendrite(StyleModern, e.callKP), e.target, &Specs{}, time.Second)
		if r.OK() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("axon does not serve after the held connections closed: %d %v", r.StatusCode, r.Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"192.0.2.7:4000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1", "2001:db8:1:2::"},
		{"[2001:db8:1:2::1]:2", "2001:db8:1:2::"},
	}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		must(t, err)
		got, ok := sourceKey(a)
		if !ok || got.String() != tt.want {
			t.Errorf("sourceKey(%s) = %v %v, want %s", tt.addr, got, ok, tt.want)
		}
	}
}

// Verified requests beyond MaxQueued are refused at once instead of piling up.
func TestQueueBound(t *testing.T) {
	s := newScheduler(1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, s.acquire(ctx, 0))
	waited := make(chan error, 1)
	go func() { waited <- s.acquire(ctx, 0) }()
	for {
		s.mu.Lock()
		n := len(s.waiters)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.acquire(ctx, 100); !errors.Is(err, errQueueFull) {
		t.Fatalf("third acquire: %v, want errQueueFull", err)
	}
	s.release()
	must(t, <-waited)
	s.release()
	if s.free != 1 || len(s.waiters) != 0 {
		t.Fatalf("scheduler not back to idle: free %d waiters %d", s.free, len(s.waiters))
	}
}

func TestQueueFullAnswers503(t *testing.T) {
	e := newEnv(t, func(c *AxonConfig) { c.MaxConcurrency, c.MaxQueued = 1, 1 })
	e.mu.Lock()
	e.block, e.entered = make(chan struct{}), make(chan struct{}, 1)
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		close(e.block)
		e.block = nil
		e.mu.Unlock()
	}()
	ctx := context.Background()
	go Call(ctx, e.dendrite(StyleModern, e.callKP), e.target, &Specs{}, 5*time.Second)
	<-e.entered
	go Call(ctx, e.dendrite(StyleModern, e.callKP), e.target, &Specs{}, 5*time.Second)
	deadline := time.Now().Add(3 * time.Second)
	for {
		e.ax.sched.mu.Lock()
		n := len(e.ax.sched.waiters)
		e.ax.sched.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second request never queued")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := Call(ctx, e.dendrite(StyleModern, e.callKP), e.target, &Specs{}, 5*time.Second)
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.StatusMessage, "too many requests") {
		t.Fatalf("third request: %d %q %v", r.StatusCode, r.StatusMessage, r.Err)
	}
}
