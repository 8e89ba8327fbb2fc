package api

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/score"
)

// ErrPlainOffLoopback marks an address off loopback given without a
// certificate: the API is served in plain HTTP on loopback only.
var ErrPlainOffLoopback = errors.New("plain HTTP is served on loopback addresses only")

// Limits of a request, set in code.
const (
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 64 << 10
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 32 << 10
	// readHeaderTimeout, readBodyTimeout and idleTimeout are the server's
	// connection deadlines.
	readHeaderTimeout = 10 * time.Second
	readBodyTimeout   = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Config configures the API server.
type Config struct {
	// Addr is the address the API is served on (host:port). The caller opens
	// the listener on it; Validate checks it against the TLS settings.
	Addr string
	// TLSCert and TLSKey are the PEM files of the server's certificate
	// (chain) and its private key: both or neither. Without them the API is
	// plain HTTP, served on a loopback address only.
	TLSCert, TLSKey string
	// ClientCA, when set, is a PEM file of the certificate authorities whose
	// client certificates every connection must present (mutual TLS).
	ClientCA string
	// PublicRead opens the read endpoints to requests without a key.
	PublicRead bool
	// Rate is the default request rate, per minute, of a key without its
	// own, and of each client address sending no key (60).
	Rate int
	// ReadTimeout is the deadline of a read request (30 s).
	ReadTimeout time.Duration
	// WriteTimeout is the deadline of a write request (5 min): an allocation
	// asks miners in turn until one grants the lease.
	WriteTimeout time.Duration
	// Netuid is the subnet the validator works on.
	Netuid uint16
	// Score is the score formula (the validator's).
	Score score.Config
	// MetagraphTTL is how long a metagraph read is reused (12 s, a block).
	MetagraphTTL time.Duration
	// ShutdownGrace is how long requests in flight may finish when Run
	// stops (10 s; set in code).
	ShutdownGrace time.Duration
	// AuditMaxAge is how long audit entries are kept (90 days).
	AuditMaxAge time.Duration
}

// DefaultConfig returns the defaults: loopback, port 8080, 60 requests a
// minute, 30 s reads, 5 min writes.
func DefaultConfig() Config {
	return Config{
		Addr:          "127.0.0.1:8080",
		Rate:          60,
		ReadTimeout:   30 * time.Second,
		WriteTimeout:  5 * time.Minute,
		Score:         score.DefaultConfig(),
		MetagraphTTL:  12 * time.Second,
		ShutdownGrace: 10 * time.Second,
		AuditMaxAge:   90 * 24 * time.Hour,
	}
}

// TLS reports whether the API is served over TLS.
func (c Config) TLS() bool { return c.TLSCert != "" }

// Validate reports the first setting the server cannot run with.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return config.Errorf("api.Config.Addr", "%q is not host:port: %w", c.Addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return config.Errorf("api.Config.Addr", "%q is not a port", port)
	}
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return config.Errorf("api.Config.TLSKey", "the certificate %s needs its private key", c.TLSCert)
	case c.TLSKey != "" && c.TLSCert == "":
		return config.Errorf("api.Config.TLSCert", "the private key %s needs its certificate", c.TLSKey)
	case c.ClientCA != "" && !c.TLS():
		return config.Errorf("api.Config.ClientCA", "client certificates need TLS: give the server's certificate and key too")
	case !c.TLS() && !Loopback(host):
		return config.Errorf("api.Config.TLSCert", "a certificate and its key are required to serve on %s: %w", c.Addr, ErrPlainOffLoopback)
	case c.Rate < 1:
		return config.Errorf("api.Config.Rate", "must be at least 1 request a minute, got %d", c.Rate)
	case c.ReadTimeout <= 0:
		return config.Errorf("api.Config.ReadTimeout", "must be positive, got %v", c.ReadTimeout)
	case c.WriteTimeout <= 0:
		return config.Errorf("api.Config.WriteTimeout", "must be positive, got %v", c.WriteTimeout)
	case c.MetagraphTTL < 0:
		return config.Errorf("api.Config.MetagraphTTL", "must not be negative, got %v", c.MetagraphTTL)
	case c.ShutdownGrace < 0:
		return config.Errorf("api.Config.ShutdownGrace", "must not be negative, got %v", c.ShutdownGrace)
	case c.AuditMaxAge <= 0:
		return config.Errorf("api.Config.AuditMaxAge", "must be positive, got %v", c.AuditMaxAge)
	}
	if err := c.Score.Validate(); err != nil {
		return fmt.Errorf("score formula: %w", err)
	}
	return nil
}

// Loopback reports whether host (a name or an IP, without port) is a
// loopback address: localhost, 127.0.0.0/8 or ::1.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
