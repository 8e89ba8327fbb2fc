package wallet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeKeyfile feeds arbitrary bytes through every keyfile format
// (with cheap KDFs): it must return a keypair or an error, never panic.
func FuzzDecodeKeyfile(f *testing.F) {
	kp, _ := FromMnemonic(leopard, "")
	plain := encodeKeyfile(kp, false)
	nacl, _ := encryptNaCl(plain, testPassword, cheapKDF)
	seeds := [][]byte{
		plain,
		encodeKeyfile(kp, true),
		nacl,
		encryptVaultForTest(f, plain, testPassword, cheapKDF),
		encryptFernetForTest(f, plain, testPassword, cheapKDF),
		[]byte("0x" + leopardPub),
		[]byte(`{"secretSeed": "0x` + leopardSeed + `", "ss58Address": null}`),
		[]byte(`{"privateKey": "0x` + leopardPriv + `"}`),
		[]byte("$ANSIBLE_VAULT;1.1;AES256\n6162"),
		[]byte("gAAAAAB"),
		[]byte("$NACL"),
		{},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	interop, _ := filepath.Glob(filepath.Join("testdata", "interop", "*.keyfile"))
	for _, name := range interop {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kp, err := decodeKeyfile(data, pwConst(testPassword), cheapKDF)
		if err == nil && kp == nil {
			t.Fatal("nil keypair without an error")
		}
		if err != nil && kp != nil {
			t.Fatal("keypair with an error")
		}
		if err != nil && !errors.Is(err, ErrCorruptKeyfile) && !errors.Is(err, ErrUnsupportedKeyfile) &&
			!errors.Is(err, ErrWrongPassword) && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}

// FuzzSS58Decode checks that decoding never panics and that what decodes re-encodes identically.
func FuzzSS58Decode(f *testing.F) {
	for _, s := range []string{aliceSS58, leopardSS58, "16ADqpMa4yzfmWs3nuTSMhfZ2ckeGtvqhPWCNqECEGDcGgU2",
		"HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F", "", "1", "0OIl", "5Grwva"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		pub, prefix, err := SS58Decode(addr)
		if err != nil {
			return
		}
		again, err := SS58Encode(pub[:], prefix)
		if err != nil {
			t.Fatalf("decoded %q but cannot re-encode: %v", addr, err)
		}
		if p2, pre2, err := SS58Decode(again); err != nil || p2 != pub || pre2 != prefix {
			t.Fatalf("round trip of %q changed: %q", addr, again)
		}
	})
}

// FuzzFromURI checks that URI parsing never panics.
func FuzzFromURI(f *testing.F) {
	for _, s := range []string{"//Alice", "//Alice//stash", "//Alice/soft/1", leopard + "//hard///pw",
		"0x" + leopardSeed + "//x", "///", "/", "//", "0x", "0xzz//a", "bottom drive//a/b//c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if len(uri) > 512 {
			return
		}
		kp, err := FromURI(uri)
		if err == nil && kp == nil {
			t.Fatal("nil keypair without an error")
		}
	})
}
