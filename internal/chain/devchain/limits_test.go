package devchain

import (
	"net/http"
	"testing"
	"time"
)

// The localnet API server bounds slow and idle clients; its write timeout
// leaves room for the longest long poll.
func TestHTTPServerLimits(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
		t.Fatalf("unbounded server: %+v", s)
	}
	if s.WriteTimeout < maxWait+5*time.Second {
		t.Fatalf("write timeout %v cuts a %v long poll", s.WriteTimeout, maxWait)
	}
}
