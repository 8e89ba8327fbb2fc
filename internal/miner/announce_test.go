package miner

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestDefaultRouteIP(t *testing.T) {
	tests := []struct {
		axonIP, externalIP string
		want               bool
	}{
		{"", "", true},
		{"0.0.0.0", "", true},
		{"::", "", true},
		{"127.0.0.1", "", false},
		{"", "10.0.0.5", false},
		{"0.0.0.0", "127.0.0.1", false},
	}
	for _, tc := range tests {
		if got := defaultRouteIP(Config{AxonIP: tc.axonIP, ExternalIP: tc.externalIP}); got != tc.want {
			t.Errorf("axon.ip %q external_ip %q: %v, want %v", tc.axonIP, tc.externalIP, got, tc.want)
		}
	}
}

// TestLocalChainAnnounceLog: on a local chain without --axon.external_ip the
// start log names the announced IP and the flag that changes it, once.
func TestLocalChainAnnounceLog(t *testing.T) {
	if _, err := outboundIP(); err != nil {
		t.Skipf("no default route on this machine: %v", err)
	}
	n := newNetwork(t)
	tests := []struct {
		name       string
		local      bool
		externalIP string
		want       bool
	}{
		{"local chain, default route", true, "", true},
		{"local chain, external ip given", true, "127.0.0.1", false},
		{"public chain", false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := testConfig(t, t.TempDir())
			cfg.AxonIP, cfg.ExternalIP, cfg.LocalChain = "", tc.externalIP, tc.local
			r := startMiner(t, n, cfg, Deps{Log: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
			r.stop(t)
			out := logs.String()
			got := strings.Count(out, "announcing the default route interface's IP")
			if tc.want && (got != 1 || !strings.Contains(out, "--axon.external_ip") || !strings.Contains(out, "ip="+r.m.announce.IP)) {
				t.Fatalf("want one line naming the IP and --axon.external_ip:\n%s", out)
			}
			if !tc.want && got != 0 {
				t.Fatalf("unexpected announce line:\n%s", out)
			}
		})
	}
}
