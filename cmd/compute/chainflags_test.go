package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestChainOptionsEnvironment: Bittensor's BT_SUBTENSOR_NETWORK and
// BT_SUBTENSOR_CHAIN_ENDPOINT choose the chain when no flag does; either
// flag wins over both; the built-in default is announced.
func TestChainOptionsEnvironment(t *testing.T) {
	tests := []struct {
		name         string
		flags        []string
		env          map[string]string
		network      string
		endpoint     string
		source       string
		announced    bool
		wantErr      string
		announceText string
	}{
		{name: "default", network: "finney", source: "default", announced: true, announceText: "using the finney chain, the default"},
		{name: "env network", env: map[string]string{envNetwork: "dev"}, network: "dev", source: "env"},
		{name: "env endpoint", env: map[string]string{envEndpoint: "http://127.0.0.1:1234"}, network: "finney", endpoint: "http://127.0.0.1:1234", source: "env"},
		{name: "env both", env: map[string]string{envNetwork: "test", envEndpoint: "ws://127.0.0.1:9944"}, network: "test", endpoint: "ws://127.0.0.1:9944", source: "env"},
		{name: "network flag wins over env", flags: []string{"--subtensor.network", "test"}, env: map[string]string{envNetwork: "dev", envEndpoint: "http://127.0.0.1:1234"}, network: "test", source: "flag"},
		{name: "endpoint flag wins over env", flags: []string{"--subtensor.chain_endpoint", "http://127.0.0.1:5"}, env: map[string]string{envNetwork: "test"}, network: "finney", endpoint: "http://127.0.0.1:5", source: "flag"},
		{name: "explicit finney flag", flags: []string{"--subtensor.network", "finney"}, network: "finney", source: "flag"},
		{name: "unknown env network", env: map[string]string{envNetwork: "mainnet"}, wantErr: "$BT_SUBTENSOR_NETWORK \"mainnet\" is unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			var o chainOptions
			o.AddFlags(fs)
			o.getenv = func(k string) string { return tc.env[k] }
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			_, err := o.config()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitCode(context.Background(), err) != exitUsage {
					t.Fatalf("got %v, want a usage error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Network != tc.network || o.Endpoint != tc.endpoint || o.source != tc.source {
				t.Fatalf("network %q endpoint %q source %q; want %q %q %q", o.Network, o.Endpoint, o.source, tc.network, tc.endpoint, tc.source)
			}
			var b bytes.Buffer
			o.announce(&b)
			if got := b.Len() > 0; got != tc.announced || !strings.Contains(b.String(), tc.announceText) {
				t.Fatalf("announced %v %q, want %v", got, b.String(), tc.announced)
			}
		})
	}
}

// TestChainFromEnvironmentInCommands: with BT_SUBTENSOR_CHAIN_ENDPOINT
// naming a localnet, commands without a chain flag use it (a chain command,
// a localnet helper and the miner's local-chain test) and announce nothing.
func TestChainFromEnvironmentInCommands(t *testing.T) {
	ctx := context.Background()
	url := startLocalnet(t, filepath.Join(t.TempDir(), "localnet.db"))
	t.Setenv(envEndpoint, url)
	t.Setenv(envNetwork, "")
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"metagraph", "--netuid", "1"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("metagraph: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "Metagraph: netuid 1") || errOut.Len() != 0 {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	out.Reset()
	root = newRootCommand()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"localnet", "fund", "--address", mustKey(t, "//Alice").SS58Address(), "--amount", "1"})
	if err := root.ExecuteContext(ctx); err != nil || !strings.Contains(out.String(), "balance") {
		t.Fatalf("localnet fund: %v\n%s%s", err, out.String(), errOut.String())
	}

	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var o chainOptions
	o.AddFlags(fs)
	if !o.local() {
		t.Fatalf("endpoint %q from the environment is not seen as a local chain", url)
	}
}
