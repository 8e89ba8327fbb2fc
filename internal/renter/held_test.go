package renter

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestAllocateAlreadyHeld: asking again for a miner this validator holds
// says so with a HeldError naming it (the command adds how to list or
// release it), without asking the miner; by requirement, held miners are skipped, and when only
// held ones meet it the error names them.
func TestAllocateAlreadyHeld(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3})
	if err != nil || a.Hotkey != cl.b.hotkey {
		t.Fatalf("first allocation %+v, %v", a, err)
	}
	_, checksBefore, _, _ := cl.b.state()

	_, err = cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3, Hotkey: cl.b.hotkey})
	if !errors.Is(err, ErrAlreadyHeld) {
		t.Fatalf("by hotkey: got %v, want ErrAlreadyHeld", err)
	}
	var held *HeldError
	if !errors.As(err, &held) || held.Hotkey != cl.b.hotkey || !strings.Contains(err.Error(), cl.b.hotkey) {
		t.Errorf("error %q is not a HeldError naming %s", err, cl.b.hotkey)
	}
	if _, checks, _, _ := cl.b.state(); checks != checksBefore {
		t.Fatal("the held miner was asked again")
	}

	// By requirement: A is the next best, B is skipped.
	a2, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3})
	if err != nil || a2.Hotkey != cl.a.hotkey {
		t.Fatalf("second allocation %+v, %v; want miner A", a2, err)
	}
	// Now both miners that meet it are held.
	_, err = cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3})
	if !errors.Is(err, ErrNoneAvailable) || !errors.Is(err, ErrAllHeld) || !strings.Contains(err.Error(), "already leased to you") ||
		!strings.Contains(err.Error(), cl.a.hotkey) {
		t.Fatalf("got %v, want ErrNoneAvailable naming the held miners", err)
	}
}

// TestAllocateRecordsIdentityFile: a key-only lease keeps the renter's SSH
// private key file, and its ssh command names it with -i (quoted when the
// path needs it); a password lease never does.
func TestAllocateRecordsIdentityFile(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	id := "/home/renter/my keys/id_ed25519"
	a, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3, Hotkey: cl.c.hotkey, SSHKey: testSSHKey, IdentityFile: id})
	if err != nil {
		t.Fatal(err)
	}
	want := "ssh -i '/home/renter/my keys/id_ed25519' root@127.0.0.1 -p 4444"
	if got := a.SSHCommand(); got != want {
		t.Fatalf("ssh command %q, want %q", got, want)
	}
	list, err := recorded(ctx, cl.r)
	if err != nil || len(list) != 1 {
		t.Fatalf("list %+v, %v", list, err)
	}
	if got := list[0].SSHCommand(); got != want {
		t.Fatalf("recorded ssh command %q, want %q", got, want)
	}
	b, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 3, Hotkey: cl.a.hotkey, IdentityFile: id})
	if err != nil {
		t.Fatal(err)
	}
	if b.IdentityFile != "" || strings.Contains(b.SSHCommand(), "-i") {
		t.Fatalf("password lease %q names an identity", b.SSHCommand())
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/home/a/.ssh/id_ed25519": "/home/a/.ssh/id_ed25519",
		"/tmp/my key":             "'/tmp/my key'",
		"/tmp/it's":               `'/tmp/it'\''s'`,
		"":                        "''",
		"/tmp/$(reboot)":          "'/tmp/$(reboot)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
