package wallet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testWallet is a wallet in a temp dir with cheap KDFs and no password in the environment.
func testWallet(t *testing.T, name, hotkey string) *Wallet {
	t.Helper()
	t.Setenv(EnvPassword, "")
	t.Setenv(EnvColdPasswordPrefix+strings.ToUpper(name), "")
	w := New(t.TempDir(), name, hotkey)
	w.kdf = cheapKDF
	return w
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvWalletPath, "")
	t.Setenv("HOME", "/home/op")
	if got := New("", "a", "b").Path; got != "/home/op/.bittensor/wallets" {
		t.Errorf("default path = %s", got)
	}
	t.Setenv(EnvWalletPath, "~/w")
	if got := New("", "a", "b").Path; got != "/home/op/w" {
		t.Errorf("env path = %s", got)
	}
	if got := New("/explicit", "a", "b").Path; got != "/explicit" {
		t.Errorf("explicit path = %s", got)
	}
}

func TestColdkeyWriteRead(t *testing.T) {
	cases := []struct {
		name     string
		password string
	}{
		{"encrypted", testPassword},
		{"plaintext", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := testWallet(t, "cold", "hot")
			kp, _ := FromMnemonic(leopard, "")
			if err := w.WriteColdkey(kp, tc.password, false); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(w.ColdkeyPath())
			if enc := strings.HasPrefix(string(data), naclPrefix); enc != (tc.password != "") {
				t.Errorf("encrypted = %v", enc)
			}
			if m := mode(t, w.ColdkeyPath()); m != 0o600 {
				t.Errorf("coldkey mode %o", m)
			}
			if m := mode(t, w.ColdkeyPubPath()); m != 0o600 {
				t.Errorf("coldkeypub mode %o", m)
			}
			if m := mode(t, w.Dir()); m != 0o700 {
				t.Errorf("wallet dir mode %o", m)
			}
			pub, err := w.ColdkeyPub()
			if err != nil || pub.SS58Address() != leopardSS58 || pub.HasSecret() {
				t.Fatalf("ColdkeyPub = %v, %v", pub, err)
			}
			asked := 0
			got, err := w.Coldkey(func(string) (string, error) { asked++; return tc.password, nil })
			if err != nil {
				t.Fatal(err)
			}
			if got.SS58Address() != leopardSS58 || !got.HasSecret() || got.Mnemonic() != leopard {
				t.Errorf("Coldkey = %s", got.SS58Address())
			}
			if want := map[bool]int{true: 1, false: 0}[tc.password != ""]; asked != want {
				t.Errorf("password asked %d times, want %d", asked, want)
			}
			if tc.password == "" {
				return
			}
			_, err = w.Coldkey(func(string) (string, error) { return "wrong", nil })
			if !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: %v", err)
			}
			if _, err = w.Coldkey(nil); !errors.Is(err, ErrNoPassword) {
				t.Errorf("no password source: %v", err)
			}
		})
	}
}

func TestColdkeyEnvPassword(t *testing.T) {
	w := testWallet(t, "my-wallet", "hot")
	kp, _ := FromMnemonic(leopard, "")
	if err := w.WriteColdkey(kp, testPassword, false); err != nil {
		t.Fatal(err)
	}
	prompt := func(string) (string, error) { t.Error("prompted although the env has a password"); return "", nil }

	t.Setenv(EnvPassword, testPassword)
	if _, err := w.Coldkey(prompt); err != nil {
		t.Fatalf("COMPUTE_WALLET_PASSWORD: %v", err)
	}
	t.Setenv(EnvPassword, "")
	t.Setenv("BT_COLD_PW_MY-WALLET", testPassword)
	if _, err := w.Coldkey(prompt); err != nil {
		t.Fatalf("BT_COLD_PW_: %v", err)
	}
	t.Setenv("BT_COLD_PW_MY-WALLET", "wrong")
	_, err := w.Coldkey(prompt)
	if !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), "BT_COLD_PW_MY-WALLET") {
		t.Fatalf("wrong env password: %v", err)
	}
}

func TestHotkeyWriteRead(t *testing.T) {
	w := testWallet(t, "cold", "hot")
	kp := mustURI(t, "//Alice")
	if err := w.WriteHotkey(kp, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{w.HotkeyPath(), w.HotkeyPubPath()} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s mode %o", p, m)
		}
	}
	if m := mode(t, filepath.Dir(w.HotkeyPath())); m != 0o700 {
		t.Errorf("hotkeys dir mode %o", m)
	}
	hk, err := w.Hotkey()
	if err != nil || hk.SS58Address() != aliceSS58 || !hk.HasSecret() {
		t.Fatalf("Hotkey = %v, %v", hk, err)
	}
	sig, _ := hk.Sign([]byte("x"))
	if !VerifySS58(aliceSS58, []byte("x"), sig) {
		t.Error("loaded hotkey signs wrongly")
	}
	pub, err := w.HotkeyPub()
	if err != nil || pub.SS58Address() != aliceSS58 || pub.HasSecret() {
		t.Fatalf("HotkeyPub = %v, %v", pub, err)
	}
	// A 6.9.3 hotkey has no pub file: HotkeyPub falls back to the hotkey.
	if err := os.Remove(w.HotkeyPubPath()); err != nil {
		t.Fatal(err)
	}
	if pub, err := w.HotkeyPub(); err != nil || pub.SS58Address() != aliceSS58 {
		t.Fatalf("HotkeyPub fallback = %v, %v", pub, err)
	}
}

func TestEncryptedHotkey(t *testing.T) {
	w := testWallet(t, "cold", "hot")
	kp, _ := FromMnemonic(leopard, "")
	data, err := encryptNaCl(encodeKeyfile(kp, false), testPassword, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(w.HotkeyPath(), data, false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Hotkey(); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("no env password: %v", err)
	}
	if _, err := w.HotkeyPub(); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("HotkeyPub must not decrypt: %v", err)
	}
	t.Setenv(EnvPassword, testPassword)
	if hk, err := w.Hotkey(); err != nil || hk.SS58Address() != leopardSS58 {
		t.Fatalf("env password: %v", err)
	}
}

func TestNoOverwrite(t *testing.T) {
	w := testWallet(t, "cold", "hot")
	first, _ := FromMnemonic(leopard, "")
	second := mustURI(t, "//Alice")
	if err := w.WriteColdkey(first, "", false); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHotkey(first, false); err != nil {
		t.Fatal(err)
	}
	err := w.WriteColdkey(second, "", false)
	if !errors.Is(err, ErrKeyExists) || !strings.Contains(err.Error(), w.ColdkeyPath()) {
		t.Fatalf("coldkey overwrite: %v", err)
	}
	if err := w.WriteHotkey(second, false); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("hotkey overwrite: %v", err)
	}
	// Only coldkeypub.txt present: still refused, and coldkey is not created.
	w2 := testWallet(t, "other", "hot")
	if err := writeFileAtomic(w2.ColdkeyPubPath(), encodeKeyfile(first, true), false); err != nil {
		t.Fatal(err)
	}
	if err := w2.WriteColdkey(second, "", false); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("pub present: %v", err)
	}
	if _, err := os.Stat(w2.ColdkeyPath()); !os.IsNotExist(err) {
		t.Error("coldkey written although the wallet was refused")
	}
	if kp, _ := w.ColdkeyPub(); kp.SS58Address() != leopardSS58 {
		t.Error("coldkeypub changed")
	}
	// With overwrite the keys are replaced, and no temp files are left.
	if err := w.WriteColdkey(second, "", true); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHotkey(second, true); err != nil {
		t.Fatal(err)
	}
	if kp, _ := w.Coldkey(nil); kp.SS58Address() != aliceSS58 {
		t.Error("coldkey not replaced")
	}
	if kp, _ := w.Hotkey(); kp.SS58Address() != aliceSS58 {
		t.Error("hotkey not replaced")
	}
	for _, dir := range []string{w.Dir(), filepath.Dir(w.HotkeyPath())} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temp file left: %s", e.Name())
			}
		}
	}
}

func TestMissingAndInvalid(t *testing.T) {
	w := testWallet(t, "cold", "hot")
	for name, f := range map[string]func() error{
		"coldkey":    func() error { _, err := w.Coldkey(nil); return err },
		"coldkeypub": func() error { _, err := w.ColdkeyPub(); return err },
		"hotkey":     func() error { _, err := w.Hotkey(); return err },
		"hotkeypub":  func() error { _, err := w.HotkeyPub(); return err },
	} {
		if err := f(); !errors.Is(err, ErrKeyfileNotFound) {
			t.Errorf("%s: %v, want ErrKeyfileNotFound", name, err)
		}
	}
	for _, name := range []string{"", "..", "a/b"} {
		bad := New(t.TempDir(), name, name)
		if _, err := bad.ColdkeyPub(); err == nil || errors.Is(err, ErrKeyfileNotFound) {
			t.Errorf("name %q accepted: %v", name, err)
		}
		if err := bad.WriteHotkey(mustURI(t, "//Bob"), false); err == nil {
			t.Errorf("name %q accepted for writing", name)
		}
	}
	pubOnly, _ := FromSS58(aliceSS58)
	if err := w.WriteHotkey(pubOnly, false); !errors.Is(err, ErrNoSecret) {
		t.Errorf("public-only hotkey written: %v", err)
	}
	// A public-only hotkey file cannot sign.
	if err := writeFileAtomic(w.HotkeyPath(), encodeKeyfile(mustURI(t, "//Bob"), true), false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Hotkey(); !errors.Is(err, ErrNoSecret) {
		t.Errorf("public-only hotkey: %v", err)
	}
	// Garbage coldkey.
	if err := writeFileAtomic(w.ColdkeyPath(), []byte("hello"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Coldkey(nil); !errors.Is(err, ErrUnsupportedKeyfile) || !strings.Contains(err.Error(), w.ColdkeyPath()) {
		t.Errorf("garbage coldkey: %v", err)
	}
}

func TestListWallets(t *testing.T) {
	root := t.TempDir()
	t.Setenv(EnvPassword, "")
	a := New(root, "alpha", "h1")
	a.kdf = cheapKDF
	leo, _ := FromMnemonic(leopard, "")
	if err := a.WriteColdkey(leo, testPassword, false); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h1", "h2"} {
		a.HotkeyName = h
		if err := a.WriteHotkey(mustURI(t, "//"+h), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "broken"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := ListWallets(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "alpha" || got[1].Name != "broken" {
		t.Fatalf("wallets = %+v", got)
	}
	if got[0].ColdkeyAddress != leopardSS58 || len(got[0].Hotkeys) != 2 {
		t.Fatalf("alpha = %+v", got[0])
	}
	if got[0].Hotkeys[0].Address != mustURI(t, "//h1").SS58Address() {
		t.Errorf("h1 = %+v", got[0].Hotkeys[0])
	}
	if got[1].ColdkeyAddress != "" || !errors.Is(got[1].Err, ErrKeyfileNotFound) {
		t.Errorf("broken = %+v", got[1])
	}
	if none, err := ListWallets(filepath.Join(root, "missing")); err != nil || len(none) != 0 {
		t.Errorf("missing root: %v %v", none, err)
	}
}
