package main

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/wallet"
)

// TestCanaryFlags: the canary flags reach canary.Config; --validator.canary=false turns it off.
func TestCanaryFlags(t *testing.T) {
	t.Run("disk cap", func(t *testing.T) {
		var o validatorOptions
		fs := pflag.NewFlagSet("v", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse([]string{"--validator.canary.max_disk=2GiB"}); err != nil {
			t.Fatal(err)
		}
		if cfg, err := o.Canary.config(27); err != nil || cfg.MaxDisk != 2<<30 {
			t.Fatalf("config %+v, %v", cfg, err)
		}
		if err := fs.Parse([]string{"--validator.canary.max_disk=-1GiB"}); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Canary.config(27); err == nil || exitCode(context.Background(), err) != exitUsage {
			t.Fatalf("a negative disk cap: %v", err)
		}
	})
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
			cfg, err := o.Canary.config(27)
			if err != nil {
				t.Fatal(err)
			}
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

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestValidatorRunsTheCanary: runValidator starts the canary beside the
// loop on a dev chain and both stop cleanly when the context ends.
func TestValidatorRunsTheCanary(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no OpenSSH client")
	}
	ctx := context.Background()
	c, err := devchain.Open(ctx, devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sudo, _ := wallet.FromURI(devchain.SudoURI)
	cold, _ := wallet.FromURI("//Bob")
	hot, _ := wallet.FromURI("//Bob//validator")
	if err := c.CreateSubnet(ctx, sudo, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Fund(ctx, cold.SS58Address(), 10_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, 1, cold, hot.SS58Address()); err != nil {
		t.Fatal(err)
	}
	cfg := validator.DefaultConfig()
	cfg.Netuid = 1
	var o canaryOptions
	fs := pflag.NewFlagSet("v", pflag.ContinueOnError)
	o.AddFlags(fs)
	ccfg, err := o.config(1)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Tick = 50 * time.Millisecond
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err = runValidator(rctx, log, cfg, validatorRun{DataDir: t.TempDir(), Deps: validator.Deps{Chain: c, Hotkey: hot}, Canary: ccfg})
	if err != nil {
		t.Fatalf("runValidator: %v\n%s", err, logs.String())
	}
	for _, want := range []string{"canary leases on", "validator stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}
