package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/store"
)

func TestConfigValidate(t *testing.T) {
	tls := func(c *Config) { c.TLSCert, c.TLSKey = "cert.pem", "key.pem" }
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // "" : valid
	}{
		{"default", func(*Config) {}, ""},
		{"ipv6 loopback", func(c *Config) { c.Addr = "[::1]:8080" }, ""},
		{"localhost", func(c *Config) { c.Addr = "localhost:80" }, ""},
		{"127.0.0.2", func(c *Config) { c.Addr = "127.0.0.2:0" }, ""},
		{"all addresses without TLS", func(c *Config) { c.Addr = "0.0.0.0:8080" }, "api.Config.TLSCert"},
		{"no host without TLS", func(c *Config) { c.Addr = ":8080" }, "api.Config.TLSCert"},
		{"public address without TLS", func(c *Config) { c.Addr = "203.0.113.5:443" }, "api.Config.TLSCert"},
		{"all addresses with TLS", func(c *Config) { c.Addr = "0.0.0.0:8443"; tls(c) }, ""},
		{"mutual TLS", func(c *Config) { c.Addr = "0.0.0.0:8443"; tls(c); c.ClientCA = "ca.pem" }, ""},
		{"client CA without TLS", func(c *Config) { c.ClientCA = "ca.pem" }, "api.Config.ClientCA"},
		{"certificate without key", func(c *Config) { c.TLSCert = "cert.pem" }, "api.Config.TLSKey"},
		{"key without certificate", func(c *Config) { c.TLSKey = "key.pem" }, "api.Config.TLSCert"},
		{"no port", func(c *Config) { c.Addr = "127.0.0.1" }, "api.Config.Addr"},
		{"bad port", func(c *Config) { c.Addr = "127.0.0.1:http" }, "api.Config.Addr"},
		{"zero rate", func(c *Config) { c.Rate = 0 }, "api.Config.Rate"},
		{"zero read timeout", func(c *Config) { c.ReadTimeout = 0 }, "api.Config.ReadTimeout"},
		{"zero write timeout", func(c *Config) { c.WriteTimeout = 0 }, "api.Config.WriteTimeout"},
		{"negative grace", func(c *Config) { c.ShutdownGrace = -1 }, "api.Config.ShutdownGrace"},
		{"negative metagraph reuse", func(c *Config) { c.MetagraphTTL = -1 }, "api.Config.MetagraphTTL"},
		{"no audit age", func(c *Config) { c.AuditMaxAge = 0 }, "api.Config.AuditMaxAge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			var fe *config.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("error %v, want one on %s", err, tc.field)
			}
		})
	}
	c := DefaultConfig()
	c.Addr = "0.0.0.0:8080"
	err := c.Validate()
	if !errors.Is(err, ErrPlainOffLoopback) || !strings.Contains(err.Error(), "0.0.0.0:8080") {
		t.Errorf("plain HTTP off loopback: %v", err)
	}
}

// pki is a certificate authority and the files of a server and a client
// certificate it signed.
type pki struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	client                    tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	p.caFile = write("ca.pem", "CERTIFICATE", caDER)
	srvDER, srvKey := issue(2, x509.ExtKeyUsageServerAuth)
	p.certFile = write("server.pem", "CERTIFICATE", srvDER)
	p.keyFile = write("server.key", "EC PRIVATE KEY", keyDER(srvKey))
	cliDER, cliKey := issue(3, x509.ExtKeyUsageClientAuth)
	p.client = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return p
}

// runServer runs the API with cfg on a loopback listener until the test ends.
func runServer(t *testing.T, cfg Config) string {
	t.Helper()
	n := testNetwork(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	cfg.Netuid = testNetuid
	s, err := New(cfg, Deps{Store: n.store, Chain: n.net.Chain, Hotkey: n.validator.SS58Address(), Listener: ln, Log: testLog()})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return s.URL()
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	cfg.TLSCert, cfg.TLSKey = p.certFile, p.keyFile
	base := runServer(t, cfg)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("URL %s", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	if a := doRequest(t, client, base, request{path: "/healthz"}); a.status != http.StatusOK || string(a.body) != "{\"ok\":true}\n" {
		t.Errorf("healthz over TLS: %d %s", a.status, a.body)
	}
	// Plain HTTP to the TLS port is refused.
	resp, err := http.Get("http" + strings.TrimPrefix(base, "https") + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served on the TLS port")
		}
	}
	// An unknown certificate authority fails the handshake.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server's certificate was accepted without its CA")
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	cfg.TLSCert, cfg.TLSKey, cfg.ClientCA = p.certFile, p.keyFile, p.caFile
	base := runServer(t, cfg)
	with := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}}}}
	if a := doRequest(t, with, base, request{path: "/healthz"}); a.status != http.StatusOK {
		t.Errorf("with a client certificate: %d %s", a.status, a.body)
	}
	without := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	resp, err := without.Get(base + "/healthz")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("served without a client certificate: %d", resp.StatusCode)
	}
	// A client certificate from another authority is refused too.
	other := newPKI(t)
	stranger := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{other.client}}}}
	if resp, err := stranger.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("served a client certificate of another CA: %d", resp.StatusCode)
	}
}

func TestNewRefusesBadTLSFiles(t *testing.T) {
	n := testNetwork(t)
	p := newPKI(t)
	deps := Deps{Store: n.store, Chain: n.net.Chain, Log: testLog()}
	for _, tc := range []struct {
		name           string
		cert, key, cas string
	}{
		{"missing certificate", filepath.Join(t.TempDir(), "none.pem"), p.keyFile, ""},
		{"key of another certificate", p.certFile, newPKI(t).keyFile, ""},
		{"missing client CA", p.certFile, p.keyFile, filepath.Join(t.TempDir(), "none.pem")},
		{"client CA without certificates", p.certFile, p.keyFile, p.keyFile},
	} {
		cfg := DefaultConfig()
		cfg.TLSCert, cfg.TLSKey, cfg.ClientCA = tc.cert, tc.key, tc.cas
		if _, err := New(cfg, deps); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestRunStops(t *testing.T) {
	n := testNetwork(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Addr = ln.Addr().String()
	s, err := New(cfg, Deps{Store: n.store, Chain: n.net.Chain, Listener: ln, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the listener is still open after Run")
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
}

func TestRunRefusesPlainOffLoopback(t *testing.T) {
	n := testNetwork(t)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on all addresses: %v", err)
	}
	cfg := DefaultConfig() // validated as loopback; the listener says otherwise
	s, err := New(cfg, Deps{Store: n.store, Chain: n.net.Chain, Listener: ln, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrPlainOffLoopback) {
		t.Errorf("Run on %s without TLS: %v", ln.Addr(), err)
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"read", []string{"read"}, true},
		{" read, RENT ,", []string{"read", "rent"}, true},
		{"admin", []string{"admin"}, true},
		{"", nil, false},
		{"read,root", nil, false},
	} {
		got, err := ParseScopes(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) {
			t.Errorf("ParseScopes(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, tc := range []struct {
		spec  KeySpec
		field string
	}{
		{KeySpec{Name: "ci", Scopes: []string{"read"}}, ""},
		{KeySpec{Name: "ci", Scopes: []string{"rent"}, Webhook: "https://example.com/hook", Rate: 120}, ""},
		{KeySpec{Name: "ci", Scopes: []string{"rent"}, Webhook: "http://127.0.0.1:9000/hook"}, ""},
		{KeySpec{Name: "", Scopes: []string{"read"}}, "api.KeySpec.Name"},
		{KeySpec{Name: strings.Repeat("n", 65), Scopes: []string{"read"}}, "api.KeySpec.Name"},
		{KeySpec{Name: "a\x1bb", Scopes: []string{"read"}}, "api.KeySpec.Name"},
		{KeySpec{Name: "ci"}, "api.KeySpec.Scopes"},
		{KeySpec{Name: "ci", Scopes: []string{"write"}}, "api.KeySpec.Scopes"},
		{KeySpec{Name: "ci", Scopes: []string{"read"}, Rate: -1}, "api.KeySpec.Rate"},
		{KeySpec{Name: "ci", Scopes: []string{"read"}, Webhook: "http://example.com/hook"}, "api.KeySpec.Webhook"},
		{KeySpec{Name: "ci", Scopes: []string{"read"}, Webhook: "ftp://example.com/hook"}, "api.KeySpec.Webhook"},
		{KeySpec{Name: "ci", Scopes: []string{"read"}, Webhook: "https://user:pw@example.com/"}, "api.KeySpec.Webhook"},
		{KeySpec{Name: "ci", Scopes: []string{"read"}, Webhook: "/hook"}, "api.KeySpec.Webhook"},
	} {
		err := tc.spec.Validate()
		var fe *config.FieldError
		if (tc.field == "") != (err == nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != tc.field)) {
			t.Errorf("%+v: %v, want field %q", tc.spec, err, tc.field)
		}
	}

	n := testNetwork(t)
	nk, err := CreateKey(context.Background(), n.store, KeySpec{Name: " ci ", Scopes: []string{"rent"}, Webhook: "https://example.com/h"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, ok := parseToken(nk.Token)
	sum := sha256.Sum256([]byte(nk.Token))
	stored, err := n.store.APIKey(context.Background(), nk.Key.ID)
	if !ok || id != nk.Key.ID || err != nil || string(stored.Hash) != string(sum[:]) || stored.Name != "ci" ||
		!strings.HasPrefix(nk.WebhookSecret, "whsec_") || stored.WebhookSecret != nk.WebhookSecret {
		t.Errorf("created %+v (token %q), stored %+v, %v", nk, nk.Token, stored, err)
	}
	if strings.Contains(string(stored.Hash), nk.Token) {
		t.Error("the token is stored")
	}
	for _, bad := range []string{"", "cpk_", nk.Token + "0", nk.Token[:len(nk.Token)-1], strings.ToUpper(nk.Token),
		strings.Replace(nk.Token, "_", "-", 2), "xyz_" + nk.Token[4:]} {
		if _, ok := parseToken(bad); ok {
			t.Errorf("parseToken(%q) accepted", bad)
		}
	}
	if _, err := CreateKey(context.Background(), n.store, KeySpec{Name: "x"}, time.Now()); err == nil {
		t.Error("a key without scopes was created")
	}
	var _ KeyStore = (*store.Validator)(nil)
}
