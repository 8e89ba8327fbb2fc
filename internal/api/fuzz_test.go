package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/wallet"
)

// FuzzParseCreateRequest: any body of POST /v1/rentals is either a request
// that holds together or a 400 problem naming what is wrong; never a panic.
func FuzzParseCreateRequest(f *testing.F) {
	key, _ := sshKey(f, 1)
	for _, s := range []string{
		`{"requirement":{"cpu":{"count":1},"gpu":{"count":0},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + key + `"]}`,
		`{"hotkey":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","timeline":60,"ssh_keys":["` + key + `"]}`,
		`{"requirement":{"cpu":{"count":2},"gpu":{"count":1,"capacity":24576,"type":"4090"},"ram":{"capacity":1.073741824e9}},"timeline":7,"ssh_keys":["` + key + `","` + key + `"]}`,
		`{"requirement":null,"hotkey":"","timeline":0,"ssh_keys":[]}`,
		`{"timeline":1e400}`, `{"ssh_keys":[1,2]}`, `{"requirement":"x"}`, `[]`, `null`, `{}`, ``, `{"a":1}{}`,
		`{"requirement":{"cpu":{"count":1},"ram":{"capacity":-1}},"timeline":1,"ssh_keys":["` + key + `"]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := ParseCreateRequest(strings.NewReader(body))
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest || p.Field == "" || p.Detail == "" {
				t.Fatalf("error %v (%T): want a 400 problem naming a field", err, err)
			}
			return
		}
		if req.Requirement == nil && req.Hotkey == "" {
			t.Fatal("accepted with neither a requirement nor a hotkey")
		}
		if req.Requirement != nil {
			if err := req.Requirement.Validate(); err != nil {
				t.Fatalf("accepted an invalid requirement: %v", err)
			}
		}
		if req.Hotkey != "" {
			if _, _, err := wallet.SS58Decode(req.Hotkey); err != nil {
				t.Fatalf("accepted hotkey %q: %v", req.Hotkey, err)
			}
		}
		if renter.CheckTimeline(req.Timeline) != nil {
			t.Fatalf("accepted timeline %d", req.Timeline)
		}
		if len(req.SSHKeys) < 1 || len(req.SSHKeys) > maxSSHKeys {
			t.Fatalf("accepted %d keys", len(req.SSHKeys))
		}
		for _, k := range req.SSHKeys {
			if n, err := container.NormalizeSSHKey(k); err != nil || n != k {
				t.Fatalf("key %q is not normalised: %q, %v", k, n, err)
			}
		}
	})
}
