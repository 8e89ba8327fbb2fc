package renter

import (
	"context"
	"testing"

	"github.com/sn27/compute/internal/container"
)

// A hostile miner's credentials never reach the renter's ssh command line or
// terminal: the lease is given back and the next miner is tried.
func TestAllocateRefusesHostileCredentials(t *testing.T) {
	tests := []struct {
		name  string
		creds container.Credentials
	}{
		{"ssh option as user", container.Credentials{Username: "-oProxyCommand=sh${IFS}-c${IFS}id", Password: "pw", Port: 4444}},
		{"user with host part", container.Credentials{Username: "root@evil.example", Password: "pw", Port: 4444}},
		{"empty user", container.Credentials{Username: "", Password: "pw", Port: 4444}},
		{"terminal escape in password", container.Credentials{Username: "root", Password: "\x1b]2;owned\x07", Port: 4444}},
		{"newline in password", container.Credentials{Username: "root", Password: "a\nb", Port: 4444}},
		{"empty password", container.Credentials{Username: "root", Password: "", Port: 4444}},
		{"port out of range", container.Credentials{Username: "root", Password: "pw", Port: 70000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newCluster(t)
			cl.b.creds = &tt.creds
			a, err := cl.r.Allocate(context.Background(), Request{Requirement: need(2, 4), Timeline: 3})
			if err != nil || a.Hotkey != cl.a.hotkey {
				t.Fatalf("allocation %+v, %v; want A after B's credentials were refused", a, err)
			}
			if owner, _, _, rel := cl.b.state(); owner != "" || rel < 1 {
				t.Fatalf("B's lease was not given back (owner %q, releases %d)", owner, rel)
			}
		})
	}
}

func TestUserName(t *testing.T) {
	for s, want := range map[string]bool{
		"root": true, "_apt": true, "ubuntu-1.x": true, "A": true,
		"": false, "-o": false, "1root": false, ".x": false, "a b": false, "a@b": false, "a/b": false,
		"abcdefghijklmnopqrstuvwxyz0123456": false,
	} {
		if got := userName(s); got != want {
			t.Errorf("userName(%q) = %v, want %v", s, got, want)
		}
	}
}
