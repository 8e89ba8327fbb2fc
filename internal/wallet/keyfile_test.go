package wallet

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fernet/fernet-go"
)

// cheapKDF keeps unit tests fast; the real parameters run once in TestKDFVectors.
var cheapKDF = kdfParams{argonTime: 1, argonMemKiB: 64, fernetIter: 1000, vaultIter: 100}

const (
	testPassword = "thisisafakepassword"
	leopard      = "old leopard transfer rib spatial phone calm indicate online fire caution review"
	leopardSS58  = "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX"
	leopardPub   = "e4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446"
	leopardSeed  = "da3cf5b1e9144931a0f0db65664aab662673b099415a7f8121b7245fb0be4143"
	leopardPriv  = "1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e"
	aliceSS58    = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
)

// encryptFernetForTest writes a legacy Fernet keyfile (btcli never writes them any more).
func encryptFernetForTest(t testing.TB, plain []byte, password string, p kdfParams) []byte {
	t.Helper()
	key, err := fernetKey(password, p)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := fernet.EncryptAndSign(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// encryptVaultForTest writes an Ansible Vault 1.1 AES256 document.
func encryptVaultForTest(t testing.TB, plain []byte, password string, p kdfParams) []byte {
	t.Helper()
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	aesKey, macKey, iv, err := vaultKeys(password, salt, p)
	if err != nil {
		t.Fatal(err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(n)}, n)...)
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(padded))
	cipher.NewCTR(block, iv).XORKeyStream(ct, padded)
	h := hmac.New(sha256.New, macKey)
	h.Write(ct)
	inner := hex.EncodeToString(salt) + "\n" + hex.EncodeToString(h.Sum(nil)) + "\n" + hex.EncodeToString(ct)
	outer := hex.EncodeToString([]byte(inner))
	var b strings.Builder
	b.WriteString("$ANSIBLE_VAULT;1.1;AES256\n")
	for len(outer) > 80 {
		b.WriteString(outer[:80] + "\n")
		outer = outer[80:]
	}
	b.WriteString(outer + "\n")
	return []byte(b.String())
}

func pwConst(s string) func() (string, error) { return func() (string, error) { return s, nil } }

func mustURI(t testing.TB, uri string) *Keypair {
	t.Helper()
	kp, err := FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// TestKDFVectors runs the real, format-fixed KDFs once against vectors 9 and 10.
func TestKDFVectors(t *testing.T) {
	if testing.Short() {
		t.Skip("real KDFs take seconds and 512 MiB; skipped with -short")
	}
	t.Run("nacl argon2i (vector 9)", func(t *testing.T) {
		t.Parallel()
		key := naclKey(testPassword, standardKDF())
		if got := hex.EncodeToString(key[:]); got != "a17c46ecafdd501ecb1da0651d35abfecf60df14bffa8e949f58aaecd75cb3c8" {
			t.Fatalf("key = %s", got)
		}
	})
	t.Run("fernet pbkdf2 (vector 10)", func(t *testing.T) {
		t.Parallel()
		if raceEnabled {
			// 10M PBKDF2 rounds take about 1.5 s, but 12 s to over a minute
			// under -race: check the vector in a race-free `go test` instead.
			runWithoutRace(t, "^TestKDFVectors$/^fernet_pbkdf2")
			return
		}
		key, err := fernetKey(testPassword, standardKDF())
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.URLEncoding.EncodeToString(key[:]); got != "4DiROv-QqItONUqzP4YrhHXxSHgHPMFUuyufUYNBcMA=" {
			t.Fatalf("key = %s", got)
		}
	})
}

func TestKeyVectorsThroughKeyfiles(t *testing.T) {
	cases := []struct {
		name, file, pub, ss58, priv string
		secret                      bool
	}{
		{
			name: "vector 1 alice, bittensor-wallet privateKey only",
			file: `{"privateKey": "0x` + hex.EncodeToString(must(mustURI(t, "//Alice").PrivateKey())) + `", "ss58Address": "` + aliceSS58 + `"}`,
			pub:  "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", ss58: aliceSS58, secret: true,
		},
		{
			name: "vector 3 btcli 6.9.3 shape",
			file: `{"accountId": "0x` + leopardPub + `", "publicKey": "0x` + leopardPub + `", "secretPhrase": "` + leopard +
				`", "secretSeed": "0x` + leopardSeed + `", "ss58Address": "` + leopardSS58 + `"}`,
			pub: leopardPub, ss58: leopardSS58, priv: leopardPriv, secret: true,
		},
		{
			name: "vector 3 bittensor-wallet shape",
			file: `{"ss58Address":"` + leopardSS58 + `","secretPhrase":"` + leopard + `","privateKey":"0x` + leopardPriv +
				`","publicKey":"0x` + leopardPub + `","accountId":"0x` + leopardPub + `","secretSeed":"0x` + leopardSeed + `"}`,
			pub: leopardPub, ss58: leopardSS58, priv: leopardPriv, secret: true,
		},
		{
			name: "vector 3 phrase only",
			file: `{"secretPhrase": "  Old leopard transfer rib spatial phone calm indicate online fire caution review "}`,
			pub:  leopardPub, ss58: leopardSS58, priv: leopardPriv, secret: true,
		},
		{
			name: "vector 6 seed only",
			file: `{"secretSeed": "0xf30eb58ad9bde4a702da3c723709cbfaf7030b22d5e4d16bcbf733c9c09bf6bd", "secretPhrase": null}`,
			pub:  "0e563c7dcb4446c0ed7e7a9d9f0a3a3d41c8767a87f205bd48fb8ef5db066b6b", secret: true,
		},
		{
			name: "6.9.3 coldkeypub.txt",
			file: `{"accountId": "0x` + leopardPub + `", "publicKey": "0x` + leopardPub + `", "secretPhrase": null, "secretSeed": null, "ss58Address": "` + leopardSS58 + `"}`,
			pub:  leopardPub, ss58: leopardSS58,
		},
		{
			name: "legacy hex coldkeypub",
			file: "0x" + leopardPub + "\n",
			pub:  leopardPub, ss58: leopardSS58,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := decodeKeyfile([]byte(tc.file), nil, cheapKDF)
			if err != nil {
				t.Fatal(err)
			}
			pub := kp.PublicKey()
			if got := hex.EncodeToString(pub[:]); got != tc.pub {
				t.Errorf("pub = %s, want %s", got, tc.pub)
			}
			if tc.ss58 != "" && kp.SS58Address() != tc.ss58 {
				t.Errorf("ss58 = %s, want %s", kp.SS58Address(), tc.ss58)
			}
			if kp.HasSecret() != tc.secret {
				t.Fatalf("HasSecret = %v, want %v", kp.HasSecret(), tc.secret)
			}
			if tc.priv != "" {
				pk, _ := kp.PrivateKey()
				if hex.EncodeToString(pk) != tc.priv {
					t.Errorf("privateKey = %x", pk)
				}
			}
			if tc.secret {
				// vector 2 style check: signatures verify against the loaded public key.
				sig, err := kp.Sign([]byte{0xde, 0xad, 0xbe, 0xef})
				if err != nil {
					t.Fatal(err)
				}
				if !Verify(pub, []byte{0xde, 0xad, 0xbe, 0xef}, sig) {
					t.Error("signature does not verify")
				}
			}
		})
	}
}

func must[T any](v T, _ bool) T { return v }

func TestReadPriority(t *testing.T) {
	alice := mustURI(t, "//Alice")
	alicePriv := hex.EncodeToString(must(alice.PrivateKey()))
	// 6.9.3 shape (no privateKey): seed beats phrase.
	f693 := `{"secretSeed": "0x` + leopardSeed + `", "secretPhrase": "` + DevPhrase + `"}`
	kp, err := decodeKeyfile([]byte(f693), nil, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if kp.SS58Address() != leopardSS58 {
		t.Errorf("6.9.3 priority: got %s, want the seed's key", kp.SS58Address())
	}
	if kp.Mnemonic() != "" {
		t.Error("a phrase that disagrees with the seed must not be attached")
	}
	// bittensor-wallet shape: phrase beats seed beats privateKey.
	fbtw := `{"privateKey": "0x` + alicePriv + `", "secretSeed": "0x` + leopardSeed + `"}`
	kp, err = decodeKeyfile([]byte(fbtw), nil, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if kp.SS58Address() != leopardSS58 {
		t.Errorf("bittensor-wallet priority: got %s, want the seed's key", kp.SS58Address())
	}
	kp, err = decodeKeyfile([]byte(`{"privateKey": "0x`+alicePriv+`"}`), nil, cheapKDF)
	if err != nil || kp.SS58Address() != aliceSS58 {
		t.Errorf("privateKey only: %v %v", kp, err)
	}
	// A seed-loaded key keeps an agreeing phrase.
	kp, err = decodeKeyfile([]byte(`{"secretSeed": "0x`+leopardSeed+`", "secretPhrase": "`+leopard+`"}`), nil, cheapKDF)
	if err != nil || kp.Mnemonic() != leopard {
		t.Errorf("agreeing phrase not kept: %v", err)
	}
}

func TestEncryptedRoundTrips(t *testing.T) {
	kp, err := FromMnemonic(leopard, "")
	if err != nil {
		t.Fatal(err)
	}
	plain := encodeKeyfile(kp, false)
	formats := []struct {
		name string
		seal func(t *testing.T, pw string) []byte
	}{
		{"plain", func(*testing.T, string) []byte { return plain }},
		{"nacl", func(t *testing.T, pw string) []byte {
			b, err := encryptNaCl(plain, pw, cheapKDF)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"ansible vault", func(t *testing.T, pw string) []byte { return encryptVaultForTest(t, plain, pw, cheapKDF) }},
		{"ansible vault !!binary", func(t *testing.T, pw string) []byte {
			y := "!!binary |\n  " + base64.StdEncoding.EncodeToString(plain) + "\n"
			return encryptVaultForTest(t, []byte(y), pw, cheapKDF)
		}},
		{"ansible vault yaml mapping", func(t *testing.T, pw string) []byte {
			y := "accountId: '0x" + leopardPub + "'\nsecretPhrase: " + leopard + "\nsecretSeed: '0x" + leopardSeed + "'\nss58Address: " + leopardSS58 + "\nprivateKey: null\n"
			return encryptVaultForTest(t, []byte(y), pw, cheapKDF)
		}},
		{"fernet", func(t *testing.T, pw string) []byte { return encryptFernetForTest(t, plain, pw, cheapKDF) }},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			data := f.seal(t, testPassword)
			got, err := decodeKeyfile(data, pwConst(testPassword), cheapKDF)
			if err != nil {
				t.Fatal(err)
			}
			if got.SS58Address() != leopardSS58 || got.Mnemonic() != leopard {
				t.Errorf("got %s %q", got.SS58Address(), got.Mnemonic())
			}
			if hex.EncodeToString(must(got.PrivateKey())) != leopardPriv {
				t.Error("private key differs")
			}
			if !detectFormat(data).encrypted() {
				return
			}
			_, err = decodeKeyfile(data, pwConst("not the password"), cheapKDF)
			if !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: err = %v, want ErrWrongPassword", err)
			}
			_, err = decodeKeyfile(data, nil, cheapKDF)
			if !errors.Is(err, ErrNoPassword) {
				t.Errorf("no password: err = %v, want ErrNoPassword", err)
			}
		})
	}
}

func TestKeyfileEncodingHasEveryField(t *testing.T) {
	kp, _ := FromMnemonic(leopard, "")
	got := string(encodeKeyfile(kp, false))
	for _, f := range []string{`"accountId":"0x` + leopardPub, `"publicKey":"0x` + leopardPub, `"privateKey":"0x` + leopardPriv,
		`"secretPhrase":"` + leopard, `"secretSeed":"0x` + leopardSeed, `"ss58Address":"` + leopardSS58} {
		if !strings.Contains(got, f) {
			t.Errorf("missing %s in %s", f, got)
		}
	}
	pub := string(encodeKeyfile(kp, true))
	for _, f := range []string{`"privateKey":null`, `"secretPhrase":null`, `"secretSeed":null`, `"ss58Address":"` + leopardSS58} {
		if !strings.Contains(pub, f) {
			t.Errorf("missing %s in %s", f, pub)
		}
	}
}

func TestBadKeyfiles(t *testing.T) {
	kp, _ := FromMnemonic(leopard, "")
	plain := encodeKeyfile(kp, false)
	nacl, err := encryptNaCl(plain, testPassword, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	vault := encryptVaultForTest(t, plain, testPassword, cheapKDF)
	fern := encryptFernetForTest(t, plain, testPassword, cheapKDF)
	flipped := append([]byte{}, nacl...)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrUnsupportedKeyfile},
		{"garbage", "\x00\x01binary garbage", ErrUnsupportedKeyfile},
		{"truncated json", string(plain[:len(plain)/2]), ErrCorruptKeyfile},
		{"json array", "{]", ErrCorruptKeyfile},
		{"empty object", "{}", ErrCorruptKeyfile},
		{"bad mnemonic", `{"secretPhrase": "not a real phrase at all"}`, ErrCorruptKeyfile},
		{"short seed", `{"secretSeed": "0x1234"}`, ErrCorruptKeyfile},
		{"bad private key", `{"privateKey": "0xzz"}`, ErrCorruptKeyfile},
		{"bad address", `{"ss58Address": "5Foo"}`, ErrCorruptKeyfile},
		{"address mismatch", `{"secretPhrase": "` + leopard + `", "ss58Address": "` + aliceSS58 + `"}`, ErrCorruptKeyfile},
		{"public key mismatch", `{"secretSeed": "0x` + leopardSeed + `", "publicKey": "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"}`, ErrCorruptKeyfile},
		{"legacy pub short", "0x1234", ErrCorruptKeyfile},
		{"nacl truncated", string(nacl[:20]), ErrCorruptKeyfile},
		{"nacl tampered", string(flipped), ErrWrongPassword},
		{"vault truncated", string(vault[:40]), ErrCorruptKeyfile},
		{"vault bad header", "$ANSIBLE_VAULT;9.9;XOR\n00", ErrUnsupportedKeyfile},
		{"vault not hex", "$ANSIBLE_VAULT;1.1;AES256\nzz", ErrCorruptKeyfile},
		{"fernet truncated", string(fern[:30]), ErrCorruptKeyfile},
		{"too large", "{" + strings.Repeat(" ", maxKeyfileSize) + "}", ErrCorruptKeyfile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeKeyfile([]byte(tc.data), pwConst(testPassword), cheapKDF)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewMnemonic(t *testing.T) {
	for _, n := range []int{12, 15, 18, 21, 24} {
		m, err := NewMnemonic(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(strings.Fields(m)); got != n {
			t.Errorf("%d words asked, got %d", n, got)
		}
		if _, err := FromMnemonic(m, ""); err != nil {
			t.Errorf("generated phrase does not load: %v", err)
		}
		m2, _ := NewMnemonic(n)
		if m == m2 {
			t.Error("two phrases are equal")
		}
	}
	for _, n := range []int{0, 11, 13, 25} {
		if _, err := NewMnemonic(n); err == nil {
			t.Errorf("%d words accepted", n)
		}
	}
}

// runWithoutRace runs the tests of this package that pattern selects in a
// child `go test` without the race detector (the package's parent test runs
// under -race, as CI runs every test) and fails unless they ran and passed.
// Without a go command it skips, or fails under COMPUTE_REQUIRE_REAL=1.
func runWithoutRace(t *testing.T, pattern string) {
	t.Helper()
	const childEnv = "COMPUTE_WALLET_NORACE_CHILD"
	if os.Getenv(childEnv) != "" {
		t.Fatal("the child go test runs with the race detector too (is -race in GOFLAGS?)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("COMPUTE_REQUIRE_REAL") == "1" {
			t.Fatalf("no go command to run %s without -race (COMPUTE_REQUIRE_REAL=1): %v", pattern, err)
		}
		t.Skipf("no go command to run %s without -race: %v", pattern, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "test", "-count=1", "-v", "-run", pattern, ".")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -run %s without -race: %v\n%s", pattern, err, out)
	}
	if !strings.Contains(string(out), "--- PASS") || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("go test -run %s without -race ran nothing or skipped:\n%s", pattern, out)
	}
	t.Logf("checked without -race in %v", time.Since(start).Round(time.Millisecond))
}
