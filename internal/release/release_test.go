package release

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/compute/internal/testutil"
)

const goodSum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func feedJSON(version, assets string) string {
	return `{"format":1,"version":"` + version + `","assets":[` + assets + `]}`
}

func asset(platform, name string, size int, sum string) string {
	return `{"platform":"` + platform + `","name":"` + name + `","size":` + itoa(size) + `,"sha256":"` + sum + `"}`
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseFeed(t *testing.T) {
	good := asset("linux-amd64", "compute-1.5.0-linux-amd64", 1234, goodSum)
	tests := []struct {
		name, doc string
		want      string // "" for accepted, else a part of the error
	}{
		{"good", feedJSON("1.5.0", good), ""},
		{"two platforms", feedJSON("1.5.0", good+","+asset("linux-arm64-nogpu", "compute-1.5.0-linux-arm64-nogpu", 1, goodSum)), ""},
		{"unknown field kept for later formats", `{"format":1,"notes":"x","version":"1.5.0","assets":[` + good + `]}`, ""},
		{"newer format", `{"format":2,"version":"1.5.0","assets":[` + good + `]}`, "newer than this build reads"},
		{"no format", `{"version":"1.5.0","assets":[` + good + `]}`, "format 0"},
		{"bad version", feedJSON("v1.5", good), "version"},
		{"no assets", feedJSON("1.5.0", ""), "no assets"},
		{"duplicate platform", feedJSON("1.5.0", good+","+good), "listed twice"},
		{"path in name", feedJSON("1.5.0", asset("linux-amd64", "../compute", 1, goodSum)), "plain file name"},
		{"slash in name", feedJSON("1.5.0", asset("linux-amd64", "a/compute", 1, goodSum)), "plain file name"},
		{"hidden name", feedJSON("1.5.0", asset("linux-amd64", ".compute", 1, goodSum)), "plain file name"},
		{"bad platform", feedJSON("1.5.0", asset("Linux/amd64", "c", 1, goodSum)), "platform"},
		{"zero size", feedJSON("1.5.0", asset("linux-amd64", "c", 0, goodSum)), "size 0"},
		{"negative size", feedJSON("1.5.0", asset("linux-amd64", "c", -5, goodSum)), "size -5"},
		{"huge size", feedJSON("1.5.0", `{"platform":"linux-amd64","name":"c","size":99999999999,"sha256":"`+goodSum+`"}`), "size"},
		{"short sum", feedJSON("1.5.0", asset("linux-amd64", "c", 1, "abc")), "sha256"},
		{"upper-case sum", feedJSON("1.5.0", asset("linux-amd64", "c", 1, strings.ToUpper(goodSum))), "sha256"},
		{"non-hex sum", feedJSON("1.5.0", asset("linux-amd64", "c", 1, strings.Repeat("g", 64))), "sha256"},
		{"trailing data", feedJSON("1.5.0", good) + "{}", "after the JSON"},
		{"not JSON", "<html>", "invalid"},
		{"string size", `{"format":1,"version":"1.5.0","assets":[{"platform":"linux-amd64","name":"c","size":"1","sha256":"` + goodSum + `"}]}`, "invalid"},
		{"too large", `{"format":1,"pad":"` + strings.Repeat("x", MaxFeedSize) + `"}`, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFeed([]byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted %+v", f)
			case tc.want != "" && (!errors.Is(err, ErrInvalidFeed) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %q, want ErrInvalidFeed mentioning %q", err, tc.want)
			}
		})
	}
	f, err := ParseFeed([]byte(feedJSON("1.5.0", good)))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := f.Asset("linux-amd64"); !ok || a.Size != 1234 || a.Name != "compute-1.5.0-linux-amd64" {
		t.Fatalf("Asset(linux-amd64) = %+v, %v", a, ok)
	}
	if _, ok := f.Asset("linux-arm64"); ok {
		t.Fatal("found an asset for a platform the feed lacks")
	}
}

func newKey(t testing.TB) (minisign.PublicKey, minisign.PrivateKey) {
	t.Helper()
	pk, sk, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pk, sk
}

func TestSignVerify(t *testing.T) {
	pk, sk := newKey(t)
	otherPK, otherSK := newKey(t)
	data := []byte(feedJSON("1.5.0", asset("linux-amd64", "c", 1, goodSum)))
	sig := Sign(sk, FeedFile, data, time.Unix(1700000000, 0))
	if !bytes.Contains(sig, []byte("trusted comment: timestamp:1700000000\tfile:release.json\thashed\n")) {
		t.Fatalf("signature text:\n%s", sig)
	}
	if err := Verify(pk, data, sig); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	tampered := bytes.Replace(data, []byte("1.5.0"), []byte("1.5.1"), 1)
	badComment := bytes.Replace(sig, []byte("file:release.json"), []byte("file:other.json"), 1)
	for _, tc := range []struct {
		name      string
		pk        minisign.PublicKey
		data, sig []byte
		want      string
	}{
		{"tampered data", pk, tampered, sig, "does not match"},
		{"another key's signature", pk, data, Sign(otherSK, FeedFile, data, time.Now()), "not by the trusted key"},
		{"another trusted key", otherPK, data, sig, "not by the trusted key"},
		{"changed trusted comment", pk, data, badComment, "does not match"},
		{"garbage", pk, data, []byte("not a signature"), "invalid signature"},
		{"empty", pk, data, nil, "invalid signature"},
		{"huge", pk, data, bytes.Repeat([]byte("a"), MaxSignatureSize+1), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.pk, tc.data, tc.sig)
			if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify: %v, want ErrBadSignature mentioning %q", err, tc.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	pk, sk := newKey(t)
	dir := t.TempDir()
	text, err := EncodeSecretKey(sk, "")
	if err != nil {
		t.Fatal(err)
	}
	skPath := filepath.Join(dir, "compute.key")
	if err := WriteFile(skPath, text, 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(skPath, text, 0o600, false); !errors.Is(err, ErrExists) {
		t.Fatalf("a second write without overwrite: %v", err)
	}
	back, err := ReadSecretKey(skPath, "")
	if err != nil || !back.Equal(sk) {
		t.Fatalf("ReadSecretKey: %v", err)
	}
	pubPath := filepath.Join(dir, "compute.pub")
	if err := WriteFile(pubPath, EncodePublicKey(pk), 0o644, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{pk.String(), " " + pk.String() + "\n", string(EncodePublicKey(pk)), pubPath} {
		got, err := LoadPublicKey(s)
		if err != nil || !got.Equal(pk) {
			t.Errorf("LoadPublicKey(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "RWnotakey", filepath.Join(dir, "missing.pub"), skPath} {
		if _, err := LoadPublicKey(s); err == nil {
			t.Errorf("LoadPublicKey(%q) accepted it", s)
		}
	}
	if _, err := ReadSecretKey(pubPath, ""); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("a public key read as the secret key: %v", err)
	}
}

// TestEncryptedKey: an encrypted secret key (testdata/encrypted.key, made by
// EncodeSecretKey with the password "correct horse") needs its password.
// Decrypting runs minisign's scrypt (1 GiB), which takes seconds, and minutes
// under the race detector, where it is skipped.
func TestEncryptedKey(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "encrypted.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join("testdata", "encrypted.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSecretKey(text, ""); !errors.Is(err, ErrKeyEncrypted) {
		t.Fatalf("no password: %v", err)
	}
	if testing.Short() || raceEnabled {
		t.Skip("scrypt with 1 GiB")
	}
	sk, err := ParseSecretKey(text, "correct horse")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	pk, err := LoadPublicKey(string(pub))
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(pk, []byte("x"), Sign(sk, "x", []byte("x"), time.Now())); err != nil {
		t.Fatalf("the decrypted key does not sign for its public key: %v", err)
	}
}

// TestManifest writes a release's feed and checksums, signs both, checks
// them with sha256sum (the real tool) and VerifyFile, and reads the feed
// back.
func TestManifest(t *testing.T) {
	dir := t.TempDir()
	bins := []Binary{{"linux-amd64", "compute-1.5.0-linux-amd64"}, {"linux-amd64-nogpu", "compute-1.5.0-linux-amd64-nogpu"}}
	for i, b := range bins {
		if err := os.WriteFile(filepath.Join(dir, b.Name), bytes.Repeat([]byte{byte(i)}, 1000+i), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := WriteManifest(dir, "1.5.0", bins)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Assets) != 2 || f.Assets[1].Size != 1001 {
		t.Fatalf("feed %+v", f)
	}
	if _, err := WriteManifest(dir, "dev", bins); err == nil {
		t.Fatal("a manifest for version dev")
	}
	if _, err := WriteManifest(dir, "1.5.0", []Binary{{"linux-amd64", "missing"}}); err == nil {
		t.Fatal("a manifest naming a missing file")
	}
	if sha256sum, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha256sum, "-c", ChecksumsFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
	}
	sums, err := os.ReadFile(filepath.Join(dir, ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := f.Assets[0].SHA256 + "  " + bins[0].Name + "\n"; !strings.HasPrefix(string(sums), want) {
		t.Fatalf("%s:\n%s", ChecksumsFile, sums)
	}
	pk, sk := newKey(t)
	for _, name := range []string{FeedFile, ChecksumsFile} {
		if err := SignFile(sk, filepath.Join(dir, name), time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := VerifyFile(pk, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, FeedFile))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseFeed(data)
	if err != nil || back.Version != "1.5.0" || len(back.Assets) != 2 {
		t.Fatalf("feed read back: %+v %v", back, err)
	}
	// One byte changed in the checksums file breaks its signature.
	sums[0] ^= 1
	if err := os.WriteFile(filepath.Join(dir, ChecksumsFile), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(pk, filepath.Join(dir, ChecksumsFile)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed checksums: %v", err)
	}
}

// FuzzParseFeed: no input makes ParseFeed panic or hang, and what it accepts
// marshals back to a feed that parses the same.
func FuzzParseFeed(f *testing.F) {
	f.Add([]byte(feedJSON("1.5.0", asset("linux-amd64", "compute-1.5.0-linux-amd64", 1234, goodSum))))
	f.Add([]byte(feedJSON("1.6.0-rc.1", asset("linux-arm64-nogpu", "c", 1, goodSum)+","+asset("linux-amd64", "d", 2, goodSum))))
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := ParseFeed(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidFeed) {
				t.Fatalf("error %v does not wrap ErrInvalidFeed", err)
			}
			return
		}
		out, err := feed.Marshal()
		if err != nil {
			t.Fatalf("an accepted feed does not marshal: %v", err)
		}
		again, err := ParseFeed(out)
		if err != nil || again.Version != feed.Version || len(again.Assets) != len(feed.Assets) {
			t.Fatalf("round trip: %+v %v", again, err)
		}
		for i := range feed.Assets {
			if again.Assets[i] != feed.Assets[i] {
				t.Fatalf("asset %d: %+v then %+v", i, feed.Assets[i], again.Assets[i])
			}
		}
	})
}

// TestMinisignInterop: the minisign tool verifies what Sign signs, and
// Verify what minisign signs, with keys made by each.
func TestMinisignInterop(t *testing.T) {
	testutil.Tools(t, "minisign")
	dir := t.TempDir()
	data := []byte(feedJSON("1.5.0", asset("linux-amd64", "c", 1, goodSum)))
	file := filepath.Join(dir, FeedFile)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("minisign", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("minisign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// compute signs, minisign verifies.
	pk, sk := newKey(t)
	if err := SignFile(sk, file, time.Now()); err != nil {
		t.Fatal(err)
	}
	if out := run("-V", "-P", pk.String(), "-m", file); !strings.Contains(out, "Signature and comment signature verified") {
		t.Fatalf("minisign -V:\n%s", out)
	}

	// minisign signs (an unencrypted key, -W), compute verifies and reads its keys.
	pub, key := filepath.Join(dir, "m.pub"), filepath.Join(dir, "m.key")
	run("-G", "-W", "-p", pub, "-s", key)
	run("-S", "-s", key, "-m", file)
	mpk, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(mpk, file); err != nil {
		t.Fatalf("a minisign signature: %v", err)
	}
	msk, err := ReadSecretKey(key, "")
	if err != nil {
		t.Fatalf("a minisign secret key: %v", err)
	}
	if err := Verify(mpk, data, Sign(msk, FeedFile, data, time.Now())); err != nil {
		t.Fatalf("signed with minisign's key: %v", err)
	}
	if err := VerifyFile(pk, file); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("minisign's signature checked with compute's key: %v", err)
	}
}

// TestCheckBinary checks the test binary itself (built for this machine,
// dynamically linked or not) against the platforms it is and is not.
func TestCheckBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" {
		t.Skip("ELF checks on Linux")
	}
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	if err := CheckBinary(exe, "linux-"+runtime.GOARCH); err != nil {
		t.Fatalf("this test binary for its own platform: %v", err)
	}
	if other != "" {
		if err := CheckBinary(exe, "linux-"+other); err == nil || !strings.Contains(err.Error(), "not for platform") {
			t.Fatalf("this test binary for linux-%s: %v", other, err)
		}
	}
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, platform, want string }{
		{script, "linux-amd64", "not an ELF binary"},
		{exe, "linux-sparc", "unknown architecture"},
		{script, "darwin-arm64", ""},
	} {
		err := CheckBinary(tc.path, tc.platform)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckBinary(%s, %s) = %v, want %q", filepath.Base(tc.path), tc.platform, err, tc.want)
		}
	}
	// A test binary links dynamically when cgo is on (the race detector
	// needs it); then it is no nogpu binary.
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	err = CheckBinary(exe, "linux-"+runtime.GOARCH+"-nogpu")
	if dynamic != (err != nil) {
		t.Fatalf("dynamic %v, CheckBinary as nogpu: %v", dynamic, err)
	}
}

// FuzzVerify: a signature file from the network never makes Verify panic,
// and only the real signature of the real data verifies.
func FuzzVerify(f *testing.F) {
	pk, sk, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	data := []byte(feedJSON("1.5.0", asset("linux-amd64", "c", 1, goodSum)))
	good := Sign(sk, FeedFile, data, time.Unix(1700000000, 0))
	f.Add(data, good)
	f.Add(data, bytes.Replace(good, []byte("trusted comment: "), []byte("trusted comment: x"), 1))
	f.Add([]byte("x"), []byte("untrusted comment: \nRWQ=\ntrusted comment: \n\n"))
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		err := Verify(pk, msg, sig)
		if err == nil && (!bytes.Equal(msg, data) || !bytes.Equal(bytes.TrimRight(sig, "\r\n"), bytes.TrimRight(good, "\r\n"))) {
			// Another encoding of the same signature may verify; it must
			// carry the same signatures and trusted comment.
			var a, b minisign.Signature
			if a.UnmarshalText(bytes.TrimRight(sig, "\r\n")) != nil || b.UnmarshalText(bytes.TrimRight(good, "\r\n")) != nil || !a.Equal(b) || !bytes.Equal(msg, data) {
				t.Fatalf("Verify accepted %q over %q", sig, msg)
			}
		}
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
	})
}
