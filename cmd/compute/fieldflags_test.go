package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/config"
)

// TestFieldFlagsCoverFields: every field a package names in a
// config.Errorf has a flag here, and every entry here is named by a package.
func TestFieldFlagsCoverFields(t *testing.T) {
	named := map[string]bool{}
	literal := regexp.MustCompile(`"((?:[a-z]+)\.[A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)*)"`)
	err := filepath.WalkDir(filepath.Join("..", "..", "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(src), "config.Errorf(") {
			return err
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			named[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Fields set in code, never from a flag.
	unflagged := map[string]bool{
		// The updater's limits.
		"update.Config.Timeout": true, "update.Config.DrainTimeout": true, "update.Config.MaxSize": true,

		"validator.Config.MaxMinerStake": true, "canary.Config.Jitter": true, "canary.Config.RetryAfter": true,
		"canary.Config.ReleaseTimeout": true, "canary.Config.Tick": true, "canary.Config.Margin": true,
		"canary.Config.Strikes": true, "canary.Config.Timeline": true,
		"devchain.ServerConfig.ShutdownGrace": true,
		"api.Config.MetagraphTTL":             true, "api.Config.ShutdownGrace": true, "api.Config.AuditMaxAge": true,

		// The webhook dispatcher's settings.
		"webhook.Config.MaxAttempts": true, "webhook.Config.BaseBackoff": true, "webhook.Config.MaxBackoff": true,
		"webhook.Config.Timeout": true, "webhook.Config.Concurrency": true, "webhook.Config.Retention": true,

		// Fields of the renter API's requests: the API names them by their JSON names.
		"rentals.CreateRequest.Requirement": true, "rentals.CreateRequest.Hotkey": true, "rentals.CreateRequest.Timeline": true,
		"rentals.CreateRequest.SSHKeys": true, "rentals.Create.IdempotencyKey": true, "rentals.Extend.Days": true,
		"rentals.AddSSHKey.Key": true,
	}
	flags := fieldFlags()
	for f := range named {
		if _, ok := flags[f]; !ok && !unflagged[f] {
			t.Errorf("field %s has no flag in fieldFlags", f)
		}
	}
	for f := range flags {
		if !named[f] && !strings.HasPrefix(f, "renter.Resources.") {
			t.Errorf("fieldFlags names %s, which no package reports", f)
		}
	}
}

func TestFieldErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
		code int
	}{
		{config.Errorf("miner.Config.AxonPort", "%d is not a port", 70000), "flag 'axon.port': 70000 is not a port", exitUsage},
		{fmt.Errorf("validator: %w", config.Errorf("validator.Config.SpecsEvery", "must be at least 1")), "flag 'validator.specs.blocks': must be at least 1", exitUsage},
		{fmt.Errorf("renter: %w", config.Errorf("renter.Resources.RAM", "%w", fmt.Errorf("renter: invalid size %q", "x"))), `flag 'ram': invalid size "x"`, exitUsage},
		{config.Errorf("canary.Config.Tick", "must be positive"), "canary.Config.Tick: must be positive", exitUsage},
	} {
		if got := operatorMessage(tc.err); got != tc.want {
			t.Errorf("operatorMessage(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if got := exitCode(context.Background(), tc.err); got != tc.code {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}
