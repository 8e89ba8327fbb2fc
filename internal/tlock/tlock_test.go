package tlock

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"testing"
	"time"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

func TestQuicknetConstants(t *testing.T) {
	v := loadVectors(t)
	if !bytes.Equal(QuicknetPublicKey(), v.Quicknet.PublicKey) {
		t.Errorf("QuicknetPublicKey = %x, want %x", QuicknetPublicKey(), v.Quicknet.PublicKey)
	}
	if QuicknetChainHash != v.Quicknet.ChainHash {
		t.Errorf("QuicknetChainHash = %s, want %s", QuicknetChainHash, v.Quicknet.ChainHash)
	}
	if QuicknetGenesis != v.Quicknet.GenesisTime {
		t.Errorf("QuicknetGenesis = %d, want %d", QuicknetGenesis, v.Quicknet.GenesisTime)
	}
	if QuicknetPeriod != time.Duration(v.Quicknet.Period)*time.Second {
		t.Errorf("QuicknetPeriod = %v, want %ds", QuicknetPeriod, v.Quicknet.Period)
	}
	if _, err := parseG2(QuicknetPublicKey(), ErrInvalidPublicKey); err != nil {
		t.Errorf("quicknet key does not parse: %v", err)
	}
	// The returned slice is a copy.
	k := QuicknetPublicKey()
	k[0] ^= 1
	if bytes.Equal(k, QuicknetPublicKey()) {
		t.Error("QuicknetPublicKey returns shared memory")
	}
}

func TestVerifyPublishedPulses(t *testing.T) {
	v := loadVectors(t)
	for _, p := range v.Pulses {
		t.Run(fmt.Sprint(p.Round), func(t *testing.T) {
			if err := Verify(QuicknetPublicKey(), p.Round, p.Signature); err != nil {
				t.Fatalf("published pulse does not verify: %v", err)
			}
			// drand's randomness is sha256 of the signature.
			if got := sha256.Sum256(p.Signature); !bytes.Equal(got[:], p.Randomness) {
				t.Errorf("sha256(signature) = %x, want randomness %x", got, p.Randomness)
			}
			for _, r := range []uint64{p.Round - 1, p.Round + 1} {
				if err := Verify(QuicknetPublicKey(), r, p.Signature); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("round %d signature verified for round %d: %v", p.Round, r, err)
				}
			}
			other := mustBeacon(t, 7).PublicKey()
			if err := Verify(other, p.Round, p.Signature); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("quicknet signature verified under another key: %v", err)
			}
		})
	}
	for _, p := range v.BadPulses {
		if err := Verify(QuicknetPublicKey(), p.Round, p.Signature); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("bad pulse %x accepted: %v", p.Signature, err)
		}
	}
}

// TestDecryptReferenceCiphertexts opens ciphertexts made by tle itself: the
// proof that the bytes, hashes and pairing encoding match what the chain
// decrypts.
func TestDecryptReferenceCiphertexts(t *testing.T) {
	v := loadVectors(t)
	local := mustBeaconFromSecret(t, v.LocalBeacon.Secret)
	if !bytes.Equal(local.PublicKey(), v.LocalBeacon.PublicKey) {
		t.Fatalf("local beacon public key = %x, want %x", local.PublicKey(), v.LocalBeacon.PublicKey)
	}
	if len(v.Ciphertexts) == 0 {
		t.Fatal("no reference ciphertexts")
	}
	for i, c := range v.Ciphertexts {
		t.Run(fmt.Sprintf("%d-%s-%d-%dB", i, c.PublicKey, c.Round, len(c.Message)), func(t *testing.T) {
			var sig, wrong []byte
			switch c.PublicKey {
			case "quicknet":
				sig = v.pulseFor(t, c.Round)
				wrong = v.pulseFor(t, 9683710)
			case "local_beacon":
				sig = local.Sign(c.Round)
				wrong = local.Sign(c.Round + 1)
			default:
				t.Fatalf("unknown key %q", c.PublicKey)
			}
			if len(c.Ciphertext) != len(c.Message)+Overhead {
				t.Errorf("ciphertext is %d bytes, want message + %d = %d", len(c.Ciphertext), Overhead, len(c.Message)+Overhead)
			}
			got, err := Decrypt(sig, c.Ciphertext)
			if err != nil {
				t.Fatalf("Decrypt (%s): %v", c.Source, err)
			}
			if !bytes.Equal(got, c.Message) {
				t.Fatalf("Decrypt = %x, want %x", got, c.Message)
			}
			if _, err := Decrypt(wrong, c.Ciphertext); !errors.Is(err, ErrDecrypt) {
				t.Errorf("another round's signature: err = %v, want ErrDecrypt", err)
			}
		})
	}
}

// TestEncryptGolden pins this package's output for a fixed randomness
// stream; the stored ciphertext was opened by tle.
func TestEncryptGolden(t *testing.T) {
	v := loadVectors(t)
	got, err := Encrypt(&deterministicReader{seed: []byte("tlock golden")}, QuicknetPublicKey(), v.Golden.Round, v.Golden.Message)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, v.Golden.Ciphertext) {
		t.Fatalf("Encrypt output changed:\n got %x\nwant %x", got, v.Golden.Ciphertext)
	}
	msg, err := Decrypt(v.pulseFor(t, v.Golden.Round), got)
	if err != nil || !bytes.Equal(msg, v.Golden.Message) {
		t.Fatalf("Decrypt(golden) = %q, %v", msg, err)
	}
}

func TestEncryptToPublishedRounds(t *testing.T) {
	v := loadVectors(t)
	msg := payload(1100)
	for _, p := range v.Pulses {
		ct, err := Encrypt(rand.Reader, QuicknetPublicKey(), p.Round, msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decrypt(p.Signature, ct)
		if err != nil {
			t.Fatalf("round %d: %v", p.Round, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("round %d: decrypted message differs", p.Round)
		}
		for _, q := range v.Pulses {
			if q.Round == p.Round {
				continue
			}
			if _, err := Decrypt(q.Signature, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("round %d ciphertext opened with round %d signature: %v", p.Round, q.Round, err)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	b := mustBeacon(t, 1)
	other := mustBeacon(t, 2)
	sizes := []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 1024, 1100, 4096, MaxMessageSize}
	rounds := []uint64{0, 1, 1000, 1 << 32, ^uint64(0)}
	for i, n := range sizes {
		round := rounds[i%len(rounds)]
		t.Run(fmt.Sprintf("%dB-round%d", n, round), func(t *testing.T) {
			msg := payload(n)
			ct, err := Encrypt(rand.Reader, b.PublicKey(), round, msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct) != n+Overhead {
				t.Errorf("ciphertext is %d bytes, want %d", len(ct), n+Overhead)
			}
			got, err := Decrypt(b.Sign(round), ct)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("decrypted message differs")
			}
			if _, err := Decrypt(b.Sign(round+1), ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("next round's signature: err = %v, want ErrDecrypt", err)
			}
			if _, err := Decrypt(other.Sign(round), ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("other beacon's signature: err = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestEncryptIsRandomized(t *testing.T) {
	b := mustBeacon(t, 1)
	a, _ := Encrypt(rand.Reader, b.PublicKey(), 5, []byte("x"))
	c, _ := Encrypt(rand.Reader, b.PublicKey(), 5, []byte("x"))
	if bytes.Equal(a, c) {
		t.Fatal("two encryptions are identical")
	}
}

// TestCiphertextLayout checks the byte layout tle's serialization gives
// TLECiphertext{header: {u, v, w}, body: AESOutput{ciphertext, nonce},
// cipher_suite}, field by field.
func TestCiphertextLayout(t *testing.T) {
	msg := []byte("layout")
	ct, err := Encrypt(rand.Reader, QuicknetPublicKey(), 1000, msg)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian.Uint64
	off := 0
	u := ct[off : off+96]
	off += 96
	if u[0]&0x80 == 0 {
		t.Error("U is not flagged compressed")
	}
	var up bls.G2Affine
	if _, err := up.SetBytes(u); err != nil || up.IsInfinity() {
		t.Errorf("U is not a G2 point: %v", err)
	}
	for _, field := range []string{"v", "w"} {
		if n := le(ct[off:]); n != 32 {
			t.Errorf("%s length prefix = %d, want 32", field, n)
		}
		off += 8 + 32
	}
	bodyLen := int(le(ct[off:]))
	off += 8
	body := ct[off : off+bodyLen]
	off += bodyLen
	if n := int(le(body)); n != len(msg)+16 {
		t.Errorf("AES ciphertext length = %d, want %d", n, len(msg)+16)
	}
	nonceOff := 8 + len(msg) + 16
	if n := le(body[nonceOff:]); n != 12 {
		t.Errorf("nonce length = %d, want 12", n)
	}
	if nonceOff+8+12 != bodyLen {
		t.Errorf("body is %d bytes, want %d", bodyLen, nonceOff+8+12)
	}
	if n := le(ct[off:]); n != 8 {
		t.Errorf("cipher suite length = %d, want 8", n)
	}
	off += 8
	if s := string(ct[off:]); s != "AES_GCM_" {
		t.Errorf("cipher suite = %q, want AES_GCM_", s)
	}
	if Overhead != 244 {
		t.Errorf("Overhead = %d, want 244", Overhead)
	}
}

func TestGTEncoding(t *testing.T) {
	// The identity of GT encodes as 1 followed by zeros (little-endian c0.c0.c0).
	var one bls.GT
	one.SetOne()
	b := gtBytes(&one)
	want := make([]byte, gtSize)
	want[0] = 1
	if !bytes.Equal(b[:], want) {
		t.Fatalf("gtBytes(1) = %x", b[:8])
	}
	// arkworks' encoding is gnark's big-endian encoding reversed, byte for byte.
	_, _, g1, g2 := bls.Generators()
	e, err := bls.Pair([]bls.G1Affine{g1}, []bls.G2Affine{g2})
	if err != nil {
		t.Fatal(err)
	}
	b = gtBytes(&e)
	be := e.Bytes()
	reverse(be[:])
	if !bytes.Equal(b[:], be[:]) {
		t.Fatal("gtBytes disagrees with reversed E12.Bytes")
	}
}

func TestHashes(t *testing.T) {
	// H3 reads the digest big-endian and reduces it modulo the group order.
	sigma := bytes.Repeat([]byte{0xff}, 32)
	key := bytes.Repeat([]byte{0x01}, 32)
	d := sha256.Sum256(append(append([]byte{}, sigma...), key...))
	got := h3(sigma, key)
	if got.Cmp(fr.Modulus()) >= 0 {
		t.Fatal("h3 not reduced")
	}
	var e fr.Element
	e.SetBytes(d[:])
	if want := e.BigInt(new(big.Int)); got.Cmp(want) != 0 {
		t.Fatalf("h3 = %v, want %v", got, want)
	}
	// The round message is sha256 of the round as 8 big-endian bytes.
	m := roundMessage(1000)
	if hex.EncodeToString(m[:]) != sha256Hex([]byte{0, 0, 0, 0, 0, 0, 0x03, 0xe8}) {
		t.Fatal("roundMessage is not sha256(round BE)")
	}
}

func TestDecryptRejectsMalformed(t *testing.T) {
	b := mustBeacon(t, 3)
	const round = 77
	sig := b.Sign(round)
	msg := []byte("commit payload")
	ct, err := Encrypt(rand.Reader, b.PublicKey(), round, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(sig, ct); err != nil {
		t.Fatal(err)
	}

	le := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	// offsets in ct
	const (
		vOff     = 96
		wOff     = vOff + 40
		bodyOff  = wOff + 40
		sealedAt = bodyOff + 8 + 8
	)
	nonceAt := sealedAt + len(msg) + 16
	suiteAt := nonceAt + 8 + 12
	set := func(at int, repl []byte) []byte {
		c := bytes.Clone(ct)
		copy(c[at:], repl)
		return c
	}
	splice := func(at, drop int, ins []byte) []byte {
		c := append(bytes.Clone(ct[:at]), ins...)
		return append(c, ct[at+drop:]...)
	}
	flip := func(at int) []byte {
		c := bytes.Clone(ct)
		c[at] ^= 0x01
		return c
	}
	infinityG2 := make([]byte, 96)
	infinityG2[0] = 0xc0
	offCurve := offCurveG2(t)
	outsideSubgroup := nonSubgroupG2(t)
	uncompressedFlag := bytes.Clone(ct[:96])
	uncompressedFlag[0] &^= 0x80

	cases := []struct {
		name string
		ct   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"trailing byte", append(bytes.Clone(ct), 0), ErrMalformed},
		{"v length 31", splice(vOff, 8+32, append(le(31), ct[vOff+8:vOff+8+31]...)), ErrMalformed},
		{"v length 33", splice(vOff, 8+32, append(le(33), append(bytes.Clone(ct[vOff+8:vOff+40]), 0)...)), ErrMalformed},
		{"v length huge", set(vOff, le(1<<63)), ErrMalformed},
		{"w length 0", splice(wOff, 8+32, le(0)), ErrMalformed},
		{"w length max", set(wOff, le(^uint64(0))), ErrMalformed},
		{"body length past end", set(bodyOff, le(1<<20)), ErrMalformed},
		{"body length oversized", set(bodyOff, le(MaxMessageSize+1000)), ErrMalformed},
		{"body length short", set(bodyOff, le(uint64(suiteAt-bodyOff-8-1))), ErrMalformed},
		{"sealed shorter than tag", oversizedOrShort(ct, sealedAt, len(msg)+16, 15), ErrMalformed},
		{"nonce 11 bytes", splice(nonceAt, 8+12, append(le(11), make([]byte, 11)...)), ErrMalformed},
		{"nonce 13 bytes", splice(nonceAt, 8+12, append(le(13), make([]byte, 13)...)), ErrMalformed},
		{"suite length huge", set(suiteAt, le(1<<40)), ErrMalformed},
		{"suite other", set(suiteAt+8, []byte("CHACHA20")), ErrMalformed},
		{"suite short", splice(suiteAt, 16, append(le(7), "AES_GCM"...)), ErrMalformed},
		{"U infinity", set(0, infinityG2), ErrMalformed},
		{"U off curve", set(0, offCurve), ErrMalformed},
		{"U outside subgroup", set(0, outsideSubgroup), ErrMalformed},
		{"U uncompressed flag", set(0, uncompressedFlag), ErrMalformed},
		{"U other point", set(0, g2Bytes(5)), ErrDecrypt},
		{"v tampered", flip(vOff + 8), ErrDecrypt},
		{"w tampered", flip(wOff + 8 + 31), ErrDecrypt},
		{"sealed tampered", flip(sealedAt), ErrDecrypt},
		{"tag tampered", flip(nonceAt - 1), ErrDecrypt},
		{"nonce tampered", flip(nonceAt + 8), ErrDecrypt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decrypt(sig, c.ct)
			if err == nil {
				t.Fatalf("accepted, returned %q", got)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// Every truncation is refused as malformed.
	for n := range len(ct) {
		if _, err := Decrypt(sig, ct[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
}

// oversizedOrShort rewrites the length-prefixed field at at (of length old)
// to one of length n, keeping everything after it.
func oversizedOrShort(ct []byte, at, old, n int) []byte {
	c := append(bytes.Clone(ct[:at]), binary.LittleEndian.AppendUint64(nil, uint64(n))...)
	c = append(c, make([]byte, n)...)
	c = append(c, ct[at+8+old:]...)
	// fix the body length prefix
	bodyOff := 96 + 80
	binary.LittleEndian.PutUint64(c[bodyOff:], binary.LittleEndian.Uint64(ct[bodyOff:])-uint64(old-n))
	return c
}

func TestDecryptRejectsBadSignature(t *testing.T) {
	ct, err := Encrypt(rand.Reader, QuicknetPublicKey(), 1000, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	inf := make([]byte, 48)
	inf[0] = 0xc0
	v := loadVectors(t)
	uncompressed := bytes.Clone(v.pulseFor(t, 1000))
	uncompressed[0] &^= 0x80
	for name, sig := range map[string][]byte{
		"empty":              nil,
		"short":              make([]byte, 47),
		"long":               append(bytes.Clone(v.pulseFor(t, 1000)), 0),
		"infinity":           inf,
		"off curve":          v.BadPulses[0].Signature,
		"outside subgroup":   nonSubgroupG1(t),
		"uncompressed flag":  uncompressed,
		"public key instead": QuicknetPublicKey(),
	} {
		if _, err := Decrypt(sig, ct); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	b := mustBeacon(t, 4)
	sig := b.Sign(9)
	if err := Verify(b.PublicKey(), 9, sig); err != nil {
		t.Fatal(err)
	}
	infG1 := make([]byte, 48)
	infG1[0] = 0xc0
	infG2 := make([]byte, 96)
	infG2[0] = 0xc0
	cases := []struct {
		name     string
		pub, sig []byte
		want     error
	}{
		{"short key", b.PublicKey()[:95], sig, ErrInvalidPublicKey},
		{"infinity key", infG2, sig, ErrInvalidPublicKey},
		{"off-curve key", offCurveG2(t), sig, ErrInvalidPublicKey},
		{"key outside subgroup", nonSubgroupG2(t), sig, ErrInvalidPublicKey},
		{"short signature", b.PublicKey(), sig[:47], ErrInvalidSignature},
		{"infinity signature", b.PublicKey(), infG1, ErrInvalidSignature},
		{"signature outside subgroup", b.PublicKey(), nonSubgroupG1(t), ErrInvalidSignature},
		{"other round", b.PublicKey(), b.Sign(10), ErrInvalidSignature},
		{"other key", mustBeacon(t, 5).PublicKey(), sig, ErrInvalidSignature},
	}
	for _, c := range cases {
		if err := Verify(c.pub, 9, c.sig); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestEncryptRejects(t *testing.T) {
	if _, err := Encrypt(rand.Reader, QuicknetPublicKey()[:95], 1, nil); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("short key: %v", err)
	}
	inf := make([]byte, 96)
	inf[0] = 0xc0
	if _, err := Encrypt(rand.Reader, inf, 1, nil); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("infinity key: %v", err)
	}
	if _, err := Encrypt(rand.Reader, QuicknetPublicKey(), 1, make([]byte, MaxMessageSize+1)); err == nil {
		t.Error("oversized message accepted")
	}
	if _, err := Encrypt(io.LimitReader(rand.Reader, 40), QuicknetPublicKey(), 1, nil); err == nil {
		t.Error("short randomness accepted")
	}
}

func TestBeacon(t *testing.T) {
	b, err := NewBeacon(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.PublicKey()) != PublicKeySize || len(b.Secret()) != 32 {
		t.Fatalf("sizes: key %d, secret %d", len(b.PublicKey()), len(b.Secret()))
	}
	for _, r := range []uint64{0, 1, 1000, ^uint64(0)} {
		s := b.Sign(r)
		if len(s) != SignatureSize {
			t.Fatalf("signature is %d bytes", len(s))
		}
		if err := Verify(b.PublicKey(), r, s); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
	}
	c, err := BeaconFromSecret(b.Secret())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.PublicKey(), b.PublicKey()) || !bytes.Equal(c.Sign(42), b.Sign(42)) || !bytes.Equal(c.Secret(), b.Secret()) {
		t.Fatal("BeaconFromSecret is not deterministic")
	}
	// Secret 1 has the G2 generator as its public key.
	one := make([]byte, 32)
	one[31] = 1
	g, err := BeaconFromSecret(one)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, g2 := bls.Generators()
	if gb := g2.Bytes(); !bytes.Equal(g.PublicKey(), gb[:]) {
		t.Fatal("secret 1 does not give the G2 generator")
	}
	// Returned slices are copies.
	k := b.PublicKey()
	k[0] ^= 1
	s := b.Secret()
	s[0] ^= 1
	if bytes.Equal(k, b.PublicKey()) || bytes.Equal(s, b.Secret()) {
		t.Fatal("beacon returns shared memory")
	}
	order := fr.Modulus().FillBytes(make([]byte, 32))
	for name, secret := range map[string][]byte{
		"empty": nil, "short": make([]byte, 31), "long": make([]byte, 33),
		"zero": make([]byte, 32), "order": order, "all ones": bytes.Repeat([]byte{0xff}, 32),
	} {
		if _, err := BeaconFromSecret(secret); err == nil {
			t.Errorf("%s secret accepted", name)
		}
	}
	if _, err := NewBeacon(io.LimitReader(rand.Reader, 10)); err == nil {
		t.Error("NewBeacon with short randomness succeeded")
	}
}

// ---- helpers

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// payload returns n deterministic bytes.
func payload(n int) []byte {
	out := make([]byte, n)
	(&deterministicReader{seed: []byte("payload")}).Read(out)
	return out
}

func mustBeacon(tb testing.TB, seed byte) *Beacon {
	tb.Helper()
	s := make([]byte, 32)
	s[0] = 0x10
	s[31] = seed
	return mustBeaconFromSecret(tb, s)
}

func mustBeaconFromSecret(tb testing.TB, s []byte) *Beacon {
	tb.Helper()
	b, err := BeaconFromSecret(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func g2Bytes(k int64) []byte {
	var p bls.G2Affine
	p.ScalarMultiplicationBase(big.NewInt(k))
	b := p.Bytes()
	return b[:]
}

// offCurveG2 returns a compressed G2 encoding whose x has no point on the
// curve.
func offCurveG2(tb testing.TB) []byte {
	tb.Helper()
	for x := byte(1); x < 255; x++ {
		b := make([]byte, 96)
		b[0] = 0x80
		b[95] = x
		var p bls.G2Affine
		if bls.NewDecoder(bytes.NewReader(b), bls.NoSubgroupChecks()).Decode(&p) != nil {
			return b
		}
	}
	tb.Fatal("no off-curve x found")
	return nil
}

// nonSubgroupG2 returns a compressed point on the G2 curve outside the
// prime-order subgroup.
func nonSubgroupG2(tb testing.TB) []byte {
	tb.Helper()
	for x := byte(1); x < 255; x++ {
		b := make([]byte, 96)
		b[0] = 0x80
		b[95] = x
		var p bls.G2Affine
		if err := bls.NewDecoder(bytes.NewReader(b), bls.NoSubgroupChecks()).Decode(&p); err != nil {
			continue
		}
		if p.IsOnCurve() && !p.IsInSubGroup() {
			return b
		}
	}
	tb.Fatal("no point outside the G2 subgroup found")
	return nil
}

// nonSubgroupG1 is nonSubgroupG2 for G1.
func nonSubgroupG1(tb testing.TB) []byte {
	tb.Helper()
	for x := byte(1); x < 255; x++ {
		b := make([]byte, 48)
		b[0] = 0x80
		b[47] = x
		var p bls.G1Affine
		if err := bls.NewDecoder(bytes.NewReader(b), bls.NoSubgroupChecks()).Decode(&p); err != nil {
			continue
		}
		if p.IsOnCurve() && !p.IsInSubGroup() {
			return b
		}
	}
	tb.Fatal("no point outside the G1 subgroup found")
	return nil
}
