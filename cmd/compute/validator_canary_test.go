package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestCanaryFlags: the canary flags reach canary.Config; --validator.canary=false turns it off.
func TestCanaryFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		off  bool
		iv   time.Duration
		conc int
	}{
		{"defaults", nil, false, 6 * time.Hour, 2},
		{"custom", []string{"--validator.canary.interval=10m", "--validator.canary.concurrency=4",
			"--validator.canary.timeout=2m", "--validator.canary.login.timeout=30s"}, false, 10 * time.Minute, 4},
		{"off", []string{"--validator.canary=false"}, true, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o validatorOptions
			fs := pflag.NewFlagSet("v", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg := o.Canary.config(27)
			if tc.off {
				if cfg != nil {
					t.Fatalf("canary on: %+v", cfg)
				}
				return
			}
			if cfg == nil || cfg.Netuid != 27 || cfg.Interval != tc.iv || cfg.Concurrency != tc.conc {
				t.Fatalf("config %+v", cfg)
			}
			cfg.DataDir = t.TempDir()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
