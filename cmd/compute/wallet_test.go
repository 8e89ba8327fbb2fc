package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/wallet"
)

const (
	testAliceSS58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	testLeopard   = "old leopard transfer rib spatial phone calm indicate online fire caution review"
	testLeoSS58   = "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX"
)

// runWallet runs `compute wallet <args>` in-process with a non-terminal stdin.
func runWallet(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetIn(strings.NewReader(""))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"wallet"}, args...))
	err := cmd.Execute()
	return out.String(), err
}

// clearPasswordEnv removes every password source the wallet reads.
func clearPasswordEnv(t *testing.T) {
	t.Helper()
	t.Setenv(wallet.EnvPassword, "")
	t.Setenv(wallet.EnvColdPasswordPrefix+"DEFAULT", "")
	t.Setenv(wallet.EnvColdPasswordPrefix+"W", "")
}

func TestWalletInspectURI(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"alice", []string{"inspect", "--uri", "//Alice"}, testAliceSS58},
		{"alice public key", []string{"inspect", "--uri", "//Alice"}, "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"},
		{"mnemonic", []string{"inspect", "--mnemonic", testLeopard}, testLeoSS58},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runWallet(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %s:\n%s", tc.want, out)
			}
		})
	}
	out, err := runWallet(t, "inspect", "--uri", "//Alice", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v keyView
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.SS58Address != testAliceSS58 {
		t.Errorf("json %q: %v", out, err)
	}
}

func TestWalletUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"regen without source", []string{"regen", "--wallet.path", dir}},
		{"regen two sources", []string{"regen", "--wallet.path", dir, "--uri", "//Alice", "--mnemonic", testLeopard}},
		{"regen bad seed", []string{"regen", "--wallet.path", dir, "--seed", "0x12"}},
		{"regen bad mnemonic", []string{"regen", "--wallet.path", dir, "--mnemonic", "not a phrase"}},
		{"new bad word count", []string{"new", "--wallet.path", dir, "--no-password", "--n-words", "13"}},
		{"inspect bad uri", []string{"inspect", "--uri", "//"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runWallet(t, tc.args...)
			var ec exitCoder
			if !errors.As(err, &ec) || ec.ExitCode() != exitUsage {
				t.Fatalf("err = %v, want exit code %d", err, exitUsage)
			}
		})
	}
}

func TestWalletNewListInspectPlain(t *testing.T) {
	clearPasswordEnv(t)
	dir := t.TempDir()
	flags := []string{"--wallet.path", dir, "--wallet.name", "w", "--wallet.hotkey", "h"}

	// No password source and no --no-password: a clear error, nothing written.
	_, err := runWallet(t, append([]string{"new"}, flags...)...)
	if !errors.Is(err, wallet.ErrNoPassword) || !strings.Contains(err.Error(), "--no-password") {
		t.Fatalf("new without password: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "w", "coldkey")); !os.IsNotExist(err) {
		t.Fatal("coldkey written although new failed")
	}

	out, err := runWallet(t, append([]string{"new", "--no-password", "--n-words", "24"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "IMPORTANT") || !strings.Contains(out, "NOT encrypted") {
		t.Errorf("new output:\n%s", out)
	}
	w := wallet.New(dir, "w", "h")
	cold, err := w.Coldkey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, cold.Mnemonic()) || len(strings.Fields(cold.Mnemonic())) != 24 {
		t.Errorf("coldkey mnemonic not printed or wrong length:\n%s", out)
	}
	hot, err := w.Hotkey()
	if err != nil {
		t.Fatal(err)
	}

	// Nothing is overwritten without --overwrite.
	_, err = runWallet(t, append([]string{"new", "--no-password"}, flags...)...)
	if !errors.Is(err, wallet.ErrKeyExists) || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("second new: %v", err)
	}
	_, err = runWallet(t, append([]string{"regen", "--no-password", "--uri", "//Alice"}, flags...)...)
	if !errors.Is(err, wallet.ErrKeyExists) {
		t.Fatalf("regen over existing: %v", err)
	}
	_, err = runWallet(t, append([]string{"new-hotkey"}, flags...)...)
	if !errors.Is(err, wallet.ErrKeyExists) {
		t.Fatalf("new-hotkey over existing: %v", err)
	}
	if again, _ := w.Coldkey(nil); again.SS58Address() != cold.SS58Address() {
		t.Fatal("coldkey changed without --overwrite")
	}

	out, err = runWallet(t, append([]string{"inspect"}, flags...)...)
	if err != nil || !strings.Contains(out, cold.SS58Address()) || !strings.Contains(out, hot.SS58Address()) {
		t.Fatalf("inspect: %v\n%s", err, out)
	}

	// A second hotkey, then a restored one.
	if _, err := runWallet(t, "new-hotkey", "--wallet.path", dir, "--wallet.name", "w", "--wallet.hotkey", "second"); err != nil {
		t.Fatal(err)
	}
	out, err = runWallet(t, "regen", "--hotkey", "--uri", "//Alice", "--wallet.path", dir, "--wallet.name", "w", "--wallet.hotkey", "alice")
	if err != nil || !strings.Contains(out, testAliceSS58) {
		t.Fatalf("regen --hotkey: %v\n%s", err, out)
	}

	out, err = runWallet(t, "list", "--wallet.path", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"WALLET", "w", cold.SS58Address(), "h", hot.SS58Address(), "second", "alice", testAliceSS58} {
		if !strings.Contains(out, s) {
			t.Errorf("list lacks %q:\n%s", s, out)
		}
	}

	// Overwrite with a restored coldkey.
	out, err = runWallet(t, append([]string{"regen", "--no-password", "--overwrite", "--mnemonic", testLeopard}, flags...)...)
	if err != nil || !strings.Contains(out, testLeoSS58) {
		t.Fatalf("regen --overwrite: %v\n%s", err, out)
	}
	if pub, _ := w.ColdkeyPub(); pub.SS58Address() != testLeoSS58 {
		t.Error("coldkeypub.txt not replaced")
	}
	if out, err := runWallet(t, "list", "--wallet.path", filepath.Join(dir, "none")); err != nil || !strings.Contains(out, "No wallets") {
		t.Errorf("empty list: %v %q", err, out)
	}
}

// TestWalletNewEncrypted is the "done when" check with the real $NACL
// KDF: about 3 s and 512 MiB per derivation, three derivations (about twice
// that under -race, where CI runs it; Argon2i's core is assembly).
func TestWalletNewEncrypted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real Argon2i KDF three times (about 10 s); skipped with -short")
	}
	clearPasswordEnv(t)
	dir := t.TempDir()
	flags := []string{"--wallet.path", dir}
	t.Setenv(wallet.EnvPassword, "correct horse")
	out, err := runWallet(t, append([]string{"new"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "(encrypted)") {
		t.Errorf("new output:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "default", "coldkey"))
	if err != nil || !bytes.HasPrefix(data, []byte("$NACL")) {
		t.Fatalf("coldkey is not $NACL: %v", err)
	}
	out, err = runWallet(t, append([]string{"inspect", "--unlock", "--json"}, flags...)...)
	if err != nil {
		t.Fatalf("unlock with the right password: %v", err)
	}
	var v struct {
		Unlocked bool      `json:"unlocked"`
		Keys     []keyView `json:"keys"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || !v.Unlocked || len(v.Keys) != 2 {
		t.Fatalf("inspect json %q: %v", out, err)
	}
	t.Setenv(wallet.EnvPassword, "wrong horse")
	_, err = runWallet(t, append([]string{"inspect", "--unlock"}, flags...)...)
	if !errors.Is(err, wallet.ErrWrongPassword) || !strings.Contains(err.Error(), wallet.EnvPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	t.Setenv(wallet.EnvPassword, "")
	_, err = runWallet(t, append([]string{"inspect", "--unlock"}, flags...)...)
	if !errors.Is(err, wallet.ErrNoPassword) {
		t.Fatalf("no password: %v", err)
	}
}

func TestWalletRegenSeed(t *testing.T) {
	clearPasswordEnv(t)
	dir := t.TempDir()
	pub, _ := hex.DecodeString("0e563c7dcb4446c0ed7e7a9d9f0a3a3d41c8767a87f205bd48fb8ef5db066b6b") // wire notes vector 6
	want, err := wallet.SS58Encode(pub, wallet.DefaultSS58Prefix)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--wallet.path", dir, "--seed", "0xf30eb58ad9bde4a702da3c723709cbfaf7030b22d5e4d16bcbf733c9c09bf6bd"}
	for _, args := range [][]string{{"regen", "--no-password"}, {"regen", "--hotkey"}} {
		out, err := runWallet(t, append(args, flags...)...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	w := wallet.New(dir, "default", "default")
	for name, load := range map[string]func() (*wallet.Keypair, error){
		"coldkey": func() (*wallet.Keypair, error) { return w.Coldkey(nil) },
		"hotkey":  w.Hotkey,
	} {
		kp, err := load()
		if err != nil || kp.SS58Address() != want {
			t.Errorf("%s read back: %v, %v", name, kp, err)
		}
	}
}
