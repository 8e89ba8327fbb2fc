package main

import (
	"testing"

	"github.com/sn27/compute/internal/validator"
)

// TestRenterAndValidatorShareTheStore: with the same wallet, hotkey and
// netuid, `compute allocate` and `compute validator` open the same store
// file by default, so allocations made by the renter count in the
// validator's weights.
func TestRenterAndValidatorShareTheStore(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct {
		wallet, hotkey string
		netuid         uint16
	}{{"default", "default", 27}, {"owner", "val1", 15}} {
		a := allocateOptions{co: chainOptions{Netuid: tc.netuid}, wo: walletOptions{Name: tc.wallet, Hotkey: tc.hotkey}}
		got, err := a.dir()
		if err != nil {
			t.Fatal(err)
		}
		want, err := validator.DefaultDataDir(tc.wallet, tc.hotkey, tc.netuid)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%+v: allocate uses %s, the validator %s", tc, got, want)
		}
	}
}
