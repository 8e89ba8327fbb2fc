package wallet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// interopKDF matches the cheap costs testdata/interop/make.py used for the
// PyNaCl and Fernet files; the vault files use the real 10000 rounds.
var interopKDF = kdfParams{argonTime: 3, argonMemKiB: 64, fernetIter: 1000, vaultIter: 10_000}

// TestInterop opens keyfiles made by PyNaCl, cryptography's Fernet and
// ansible-vault (the libraries btcli uses); see testdata/interop/make.py.
func TestInterop(t *testing.T) {
	files := []string{"btcli693.json", "nacl.keyfile", "fernet.keyfile", "vault.keyfile", "vault_binary.keyfile"}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "interop", name))
			if err != nil {
				t.Fatal(err)
			}
			kp, err := decodeKeyfile(data, pwConst(testPassword), interopKDF)
			if err != nil {
				t.Fatal(err)
			}
			if kp.SS58Address() != leopardSS58 || kp.Mnemonic() != leopard || !kp.HasSecret() {
				t.Errorf("got %s %q", kp.SS58Address(), kp.Mnemonic())
			}
			if detectFormat(data).encrypted() {
				if _, err := decodeKeyfile(data, pwConst("nope"), interopKDF); !errors.Is(err, ErrWrongPassword) {
					t.Errorf("wrong password: %v", err)
				}
			}
		})
	}
}
