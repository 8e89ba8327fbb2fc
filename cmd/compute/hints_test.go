package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/wallet"
)

// TestHints: the packages' typed errors reach the operator with the command
// line or flag that helps, once, and keep their type and exit code.
func TestHints(t *testing.T) {
	hk := "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX"
	for _, tc := range []struct {
		err    error
		is     error
		want   []string
		noHint bool
	}{
		{&renter.HeldError{Hotkey: hk, UID: 3, Since: time.Now(), Until: time.Now().Add(time.Hour)}, renter.ErrAlreadyHeld,
			[]string{hk + " (uid 3)", "`compute allocate list` shows its login", "`compute allocate release --hotkey " + hk + "` ends it"}, false},
		{fmt.Errorf("%w: %w (1 GPU): %s", renter.ErrNoneAvailable, renter.ErrAllHeld, hk), renter.ErrAllHeld,
			[]string{"already leased to you", "`compute allocate list` shows their logins", "`compute allocate release --hotkey HOTKEY` ends a lease"}, false},
		{&renter.ReleaseError{Hotkey: hk, Err: renter.ErrRefused}, renter.ErrRefused,
			[]string{"release " + hk + ": the miner refused", "use --force to forget the local record anyway"}, false},
		{fmt.Errorf("miner: %w", &miner.NotRegisteredError{Hotkey: hk, Netuid: 27}), miner.ErrNotRegistered,
			[]string{"holds no uid on netuid 27", "register it first with `compute register --netuid 27 --wallet.name <wallet> --wallet.hotkey <hotkey>`"}, false},
		{fmt.Errorf("%w: /w/coldkey", wallet.ErrKeyExists), wallet.ErrKeyExists, []string{"/w/coldkey", "pass --overwrite to replace it"}, false},
		{fmt.Errorf("load hotkey: %w: /w/hotkeys/h", wallet.ErrKeyfileNotFound), wallet.ErrKeyfileNotFound,
			[]string{"/w/hotkeys/h", "check --wallet.path, --wallet.name and --wallet.hotkey"}, false},
		{renter.ErrNoCandidate, renter.ErrNoCandidate, []string{"no miner meets the requirement"}, true},
	} {
		err := withHint(tc.err)
		if !errors.Is(err, tc.is) {
			t.Errorf("%v: lost its type", err)
		}
		msg := operatorMessage(withHint(err))
		for _, w := range tc.want {
			if strings.Count(msg, w) != 1 {
				t.Errorf("%q: want %q once", msg, w)
			}
		}
		if tc.noHint != (err == tc.err) {
			t.Errorf("%q: hinted %v, want %v", msg, err != tc.err, !tc.noHint)
		}
		if exitCode(context.Background(), err) != exitCode(context.Background(), tc.err) {
			t.Errorf("%q: exit code changed", msg)
		}
	}
}
