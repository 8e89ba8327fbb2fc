package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/api"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/wallet"
)

// runCompute runs the root command in process and returns stdout, the
// operator's message and the exit code.
func runCompute(ctx context.Context, args ...string) (string, string, int) {
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return out.String(), "", 0
	}
	return out.String(), operatorMessage(err), exitCode(ctx, err)
}

func TestAPIKeysCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := "--validator.data_dir=" + dir
	out, msg, code := runCompute(ctx, "api", "keys", "list", d)
	if code != 0 || !strings.Contains(out, "no API keys") {
		t.Fatalf("empty list: %d %s %s", code, out, msg)
	}
	out, msg, code = runCompute(ctx, "api", "keys", "create", d, "--name", "ci", "--scopes", "read,rent",
		"--webhook", "https://ci.example.com/hooks", "--rate", "30")
	if code != 0 {
		t.Fatalf("create: %d %s", code, msg)
	}
	token := regexp.MustCompile(`(?m)^Key\s+(cpk_[0-9a-f_]+)$`).FindStringSubmatch(out)
	id := regexp.MustCompile(`(?m)^ID\s+([0-9a-f]+)$`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`(?m)^Webhook secret\s+(whsec_[0-9a-f]+)$`).FindStringSubmatch(out)
	if token == nil || id == nil || secret == nil || !strings.Contains(out, "30 requests a minute") || !strings.Contains(out, "shown only this once") {
		t.Fatalf("create printed:\n%s", out)
	}
	out, _, code = runCompute(ctx, "api", "keys", "create", d, "--name", "admin", "--scopes", "admin", "--json")
	var created struct {
		ID     string   `json:"id"`
		Key    string   `json:"key"`
		Scopes []string `json:"scopes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || !strings.HasPrefix(created.Key, "cpk_"+created.ID+"_") {
		t.Fatalf("create --json: %d %s", code, out)
	}

	out, _, code = runCompute(ctx, "api", "keys", "list", d)
	if code != 0 || !strings.Contains(out, id[1]) || !strings.Contains(out, "read,rent") || !strings.Contains(out, "30/min") ||
		!strings.Contains(out, created.ID) || strings.Count(out, "live") != 2 {
		t.Fatalf("list:\n%s", out)
	}
	out, _, _ = runCompute(ctx, "api", "keys", "list", d, "--json")
	if strings.Contains(out, token[1][17:]) || strings.Contains(out, secret[1]) || strings.Contains(out, "hash") {
		t.Fatalf("list --json shows a secret:\n%s", out)
	}

	out, msg, code = runCompute(ctx, "api", "keys", "revoke", d, id[1])
	if code != 0 || !strings.Contains(out, "revoked API key "+id[1]+" (ci)") {
		t.Fatalf("revoke: %d %s %s", code, out, msg)
	}
	out, _, _ = runCompute(ctx, "api", "keys", "list", d)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
	if _, msg, code := runCompute(ctx, "api", "keys", "revoke", d, "nope"); code != exitError || !strings.Contains(msg, "no such API key") {
		t.Errorf("revoke unknown: %d %s", code, msg)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "x", "--scopes", "root"}, "flag 'scopes': unknown scope"},
		{[]string{"--scopes", "read"}, "flag 'name'"},
		{[]string{"--name", "x", "--webhook", "http://example.com/h"}, "flag 'webhook'"},
		{[]string{"--name", "x", "--rate", "-5"}, "flag 'rate'"},
	} {
		_, msg, code := runCompute(ctx, append([]string{"api", "keys", "create", d}, tc.args...)...)
		if code != exitUsage || !strings.Contains(msg, tc.want) {
			t.Errorf("create %v: %d %q, want usage error with %q", tc.args, code, msg, tc.want)
		}
	}
}

// TestAPIRefusesPlainOffLoopback: plain HTTP off loopback is refused before
// anything opens, naming the TLS flags.
func TestAPIRefusesPlainOffLoopback(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"api", "--api.addr", "0.0.0.0:8080", "--validator.data_dir", t.TempDir()},
		{"validator", "--api.addr", "0.0.0.0:8080", "--validator.data_dir", t.TempDir()},
		{"api", "--api.addr", "203.0.113.1:443", "--api.tls.key", "k.pem", "--validator.data_dir", t.TempDir()},
	} {
		_, msg, code := runCompute(ctx, args...)
		if code != exitUsage || !strings.Contains(msg, "flag 'api.tls.cert'") {
			t.Errorf("%v: %d %q", args, code, msg)
		}
	}
	_, msg, _ := runCompute(ctx, "validator", "--api.addr", "0.0.0.0:8080", "--validator.data_dir", t.TempDir())
	if !strings.Contains(msg, "--api.tls.key") || !strings.Contains(msg, "loopback") {
		t.Errorf("the message does not say what to do: %q", msg)
	}
	_, msg, code := runCompute(ctx, "api", "--api.tls.client_ca", "ca.pem", "--validator.data_dir", t.TempDir())
	if code != exitUsage || !strings.Contains(msg, "flag 'api.tls.client_ca'") {
		t.Errorf("client CA without TLS: %d %q", code, msg)
	}
}

// TestAPIHealthFlags: bad health-check settings are refused before
// anything opens, naming their flags.
func TestAPIHealthFlags(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"api", "--api.health.interval", "10ms"}, "api.health.interval"},
		{[]string{"validator", "--api.addr", "127.0.0.1:0", "--api.health.misses", "-1"}, "api.health.misses"},
		{[]string{"api", "--api.health.timeout", "1ms"}, "api.health.timeout"},
	} {
		args := append(tc.args, "--validator.data_dir", t.TempDir())
		_, msg, code := runCompute(ctx, args...)
		if code != exitUsage || !strings.Contains(msg, "flag '"+tc.flag+"'") {
			t.Errorf("%v: %d %q", args, code, msg)
		}
	}
}

// devValidator is a dev chain with netuid 1 and a registered validator hotkey.
func devValidator(t *testing.T) (*devchain.Chain, *wallet.Keypair) {
	t.Helper()
	ctx := context.Background()
	c, err := devchain.Open(ctx, devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
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
	return c, hot
}

// waitHTTP polls url until it answers 200 and returns the body.
func waitHTTP(t *testing.T, url string, done <-chan error) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
			err = fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		select {
		case e := <-done:
			t.Fatalf("stopped before serving %s: %v", url, e)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestValidatorServesTheAPI: with --api.addr, runValidator serves the API
// beside its loop, and both stop when the context ends.
func TestValidatorServesTheAPI(t *testing.T) {
	c, hot := devValidator(t)
	cfg := validator.DefaultConfig()
	cfg.Netuid = 1
	var o apiOptions
	fs := pflag.NewFlagSet("v", pflag.ContinueOnError)
	o.AddFlags(fs, "")
	if err := fs.Parse([]string{"--api.addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "--api.public-read"}); err != nil {
		t.Fatal(err)
	}
	acfg, err := o.config(1, cfg.Score)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runValidator(ctx, slog.New(slog.DiscardHandler), cfg, validatorRun{DataDir: t.TempDir(),
			Deps: validator.Deps{Chain: c, Hotkey: hot}, API: &acfg})
	}()
	body := waitHTTP(t, "http://"+acfg.Addr+"/v1/status", done)
	var st struct {
		Netuid          uint16 `json:"netuid"`
		ValidatorHotkey string `json:"validator_hotkey"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Netuid != 1 || st.ValidatorHotkey != hot.SS58Address() {
		t.Errorf("status %s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runValidator: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runValidator did not return")
	}
	if resp, err := http.Get("http://" + acfg.Addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the API still answers after the validator stopped")
	}
}

// TestValidatorAPIPortBusy: a busy --api.addr is an error naming the flag.
func TestValidatorAPIPortBusy(t *testing.T) {
	c, hot := devValidator(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := validator.DefaultConfig()
	cfg.Netuid = 1
	acfg := api.DefaultConfig()
	acfg.Addr, acfg.Netuid = ln.Addr().String(), 1
	err = runValidator(context.Background(), slog.New(slog.DiscardHandler), cfg, validatorRun{DataDir: t.TempDir(),
		Deps: validator.Deps{Chain: c, Hotkey: hot}, API: &acfg})
	if err == nil || !strings.Contains(err.Error(), "--api.addr") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("busy port: %v", err)
	}
}

// TestAPICommand runs `compute api` over a localnet and a validator's data
// directory: public reads, a key made by `compute api keys create` while it
// runs, and rentals answered 501 (no rentals service yet).
func TestAPICommand(t *testing.T) {
	url := startLocalnet(t, filepath.Join(t.TempDir(), "localnet.db"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hk := "//Bob//validator"
	if out := runCLI(t, ctx, "register", "--subtensor.chain_endpoint="+url, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", hk); !strings.Contains(out, "uid 0") {
		t.Fatalf("register: %s", out)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	done := make(chan error, 1)
	go func() {
		_, msg, code := runCompute(ctx, "api", "--subtensor.chain_endpoint="+url, "--netuid", "1", "--hotkey-uri", hk,
			"--validator.data_dir", dir, "--api.addr", addr, "--api.public-read")
		if code != 0 {
			done <- errors.New(msg)
			return
		}
		done <- nil
	}()
	body := waitHTTP(t, "http://"+addr+"/v1/status", done)
	if !strings.Contains(string(body), `"validator_hotkey":"`+mustKey(t, hk).SS58Address()+`"`) || !strings.Contains(string(body), `"netuid":1`) {
		t.Errorf("status %s", body)
	}
	out, msg, code := runCompute(ctx, "api", "keys", "create", "--validator.data_dir", dir, "--name", "t", "--scopes", "rent", "--json")
	var k struct{ Key string }
	if code != 0 || json.Unmarshal([]byte(out), &k) != nil {
		t.Fatalf("keys create: %d %s %s", code, out, msg)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/rentals", nil)
	req.Header.Set("Authorization", "Bearer "+k.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The rentals service is wired: the key's list, empty.
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != `{"rentals":[]}` {
		t.Errorf("rentals: %d %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("compute api: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("compute api did not stop")
	}
}
