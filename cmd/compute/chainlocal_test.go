package main

import "testing"

func TestChainOptionsLocal(t *testing.T) {
	tests := []struct {
		network, endpoint string
		want              bool
	}{
		{"dev", "", true},
		{"local", "", true},
		{"finney", "", false},
		{"test", "", false},
		{"finney", "http://10.1.2.3:9946", true},
		{"finney", "ws://127.0.0.1:9944", true},
		{"finney", "ws://localhost:9944", true},
		{"finney", "ws://[::1]:9944", true},
		{"dev", "wss://entrypoint-finney.opentensor.ai:443", false},
		{"dev", "ws://10.0.0.2:9944", false},
		{"dev", "::bad", false},
	}
	for _, tc := range tests {
		o := chainOptions{Network: tc.network, Endpoint: tc.endpoint}
		if got := o.local(); got != tc.want {
			t.Errorf("network %q endpoint %q: local %v, want %v", tc.network, tc.endpoint, got, tc.want)
		}
	}
}
