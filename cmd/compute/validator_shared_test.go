package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestSharedStateFlags: the shared-state flags reach validator.Config.Shared
// and bad values are refused naming their flag.
func TestSharedStateFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"custom", []string{"--validator.shared.publish=false", "--validator.shared.age.blocks=100",
			"--validator.shared.penalty.share=0.25", "--validator.shared.penalty=0.5"}, ""},
		{"share of one", []string{"--validator.shared.penalty.share=1"}, "validator.shared.penalty.share"},
		{"penalty above one", []string{"--validator.shared.penalty=1.5"}, "validator.shared.penalty'"},
		{"age zero", []string{"--validator.shared.age.blocks=0"}, "validator.shared.age.blocks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o validatorOptions
			fs := pflag.NewFlagSet("v", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := o.config(27)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(operatorMessage(err), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "custom" && (cfg.Shared.Publish || cfg.Shared.MaxAgeBlocks != 100 ||
				cfg.Shared.PenaltyShare != 0.25 || cfg.Shared.Penalty != 0.5) {
				t.Fatalf("shared config %+v", cfg.Shared)
			}
			if tc.name == "defaults" && (!cfg.Shared.Publish || cfg.Shared.MaxAgeBlocks != 21600) {
				t.Fatalf("shared config %+v", cfg.Shared)
			}
		})
	}
}
