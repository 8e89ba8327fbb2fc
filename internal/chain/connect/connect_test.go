package connect

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/chain/devchain"
)

func TestOpen(t *testing.T) {
	c, err := devchain.Open(context.Background(), devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(devchain.NewHandler(c, nil))
	defer srv.Close()

	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"http endpoint is a localnet", Config{Network: "finney", Endpoint: srv.URL}, ""},
		{"bad scheme", Config{Endpoint: "ftp://x:1"}, "scheme"},
		{"not a url", Config{Endpoint: "::"}, "not a URL"},
		{"unknown network", Config{Network: "mars"}, "unknown"},
		{"nothing", Config{}, "no chain given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := Open(context.Background(), tc.cfg, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ch.Block(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
	if _, err := OpenDev(context.Background(), Config{Network: "finney"}); err == nil {
		t.Fatal("OpenDev accepted finney")
	}
	if _, err := OpenDev(context.Background(), Config{Endpoint: srv.URL}); err != nil {
		t.Fatal(err)
	}
}

// TestBeaconKeyRefusedForLocalnet: a localnet reveals with its own beacon,
// so an overriding key is refused before dialling.
func TestBeaconKeyRefusedForLocalnet(t *testing.T) {
	_, err := Open(context.Background(), Config{Network: "dev", BeaconKey: make([]byte, 96)}, nil)
	if err == nil || !strings.Contains(err.Error(), "beacon key cannot be set for a localnet") {
		t.Fatalf("err = %v", err)
	}
}
