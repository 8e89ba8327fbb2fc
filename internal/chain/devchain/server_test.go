package devchain

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sn27/compute/internal/config"
)

// TestServerRun serves the API on a listener the caller opened, answers a
// request, and on the end of its context stops, closing the listener.
func TestServerRun(t *testing.T) {
	c, _ := memChain(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(DefaultServerConfig(), ServerDeps{Chain: c, Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr().String() != ln.Addr().String() || srv.Handler() == nil {
		t.Fatalf("Addr %v, want %v", srv.Addr(), ln.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	cl := dial(t, "http://"+ln.Addr().String())
	if _, err := cl.Block(context.Background()); err != nil {
		t.Fatalf("Block through the server: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/v1/block"); err == nil {
		t.Fatal("the listener still answers after Run returned")
	}
}

func TestNewServerChecks(t *testing.T) {
	c, _ := memChain(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name  string
		cfg   ServerConfig
		deps  ServerDeps
		field string
	}{
		{"no chain", DefaultServerConfig(), ServerDeps{Listener: ln}, ""},
		{"no listener", DefaultServerConfig(), ServerDeps{Chain: c}, ""},
		{"negative grace", ServerConfig{ShutdownGrace: -time.Second}, ServerDeps{Chain: c, Listener: ln}, "devchain.ServerConfig.ShutdownGrace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServer(tc.cfg, tc.deps)
			if err == nil {
				t.Fatal("NewServer accepted it")
			}
			var fe *config.FieldError
			if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
				t.Fatalf("err %v, want a field error on %s", err, tc.field)
			}
		})
	}
}
