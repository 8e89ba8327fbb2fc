package config

import (
	"errors"
	"testing"
)

func TestFieldError(t *testing.T) {
	cause := errors.New("no key found")
	for _, tc := range []struct {
		err   error
		field string
		text  string
	}{
		{Errorf("miner.Config.AxonPort", "%d is not a port", 70000), "miner.Config.AxonPort", "miner.Config.AxonPort: 70000 is not a port"},
		{Errorf("renter.Request.SSHKey", "%w", cause), "renter.Request.SSHKey", "renter.Request.SSHKey: no key found"},
	} {
		var fe *FieldError
		if !errors.As(tc.err, &fe) || fe.Field != tc.field || tc.err.Error() != tc.text {
			t.Errorf("got %v (field %v), want %q naming %s", tc.err, fe, tc.text, tc.field)
		}
	}
	if !errors.Is(Errorf("x.Config.Y", "bad: %w", cause), cause) {
		t.Error("the cause is not wrapped")
	}
}
