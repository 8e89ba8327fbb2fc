// Package tlock is timelock encryption to a drand round, in the byte format
// the Bittensor chain decrypts when it reveals commit-reveal weights.
//
// The scheme is tle's (the Rust crate the chain links): Boneh–Franklin
// identity-based encryption (FullIdent, with the Fujisaki–Okamoto check)
// over BLS12-381 in drand's bls-unchained-g1-rfc9380 setting, the one
// quicknet uses: beacon signatures on G1, the beacon public key on G2. The
// identity of round n is Q = HashToG1(sha256(n as 8 big-endian bytes)) with
// the RFC 9380 tag BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_, so the
// beacon's signature for round n, sk·Q, is the IBE decryption key of that
// round.
//
// Encryption draws a 32-byte AES key k and a 32-byte sigma, and computes
//
//	r = sha256(sigma || k) mod order     (H3, big-endian)
//	U = r·G2
//	V = sigma xor sha256(ark(e(Q, r·P)))  (H2; P the beacon public key)
//	W = k xor sha256(sigma)              (H4)
//
// where ark(x) is the arkworks encoding of the pairing result: its twelve
// Fp coefficients in tower order c0.c0.c0 … c1.c2.c1, 48 little-endian bytes
// each. The message is sealed with AES-256-GCM under k (random 12-byte nonce,
// no associated data). Decryption recomputes sigma from e(signature, U),
// then k, and refuses the ciphertext unless r·G2 equals U.
//
// Byte layout (arkworks CanonicalSerialize, compressed; a Vec<u8> is its
// length as u64 little-endian, then its bytes):
//
//	U            96  compressed G2 (zcash/IETF format)
//	len V, V     8 + 32
//	len W, W     8 + 32
//	len body     8
//	  len ct, ct 8 + len(msg) + 16   AES-GCM output, tag last
//	  len nonce  8 + 12
//	len suite    8 + 8                "AES_GCM_"
//
// so a ciphertext is len(msg) + Overhead (244) bytes.
package tlock

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// PublicKeySize is the length of a compressed G2 public key.
const PublicKeySize = 96

// SignatureSize is the length of a compressed G1 beacon signature.
const SignatureSize = 48

// Quicknet is drand's 3-second unchained network, the one the Bittensor
// chain stores pulses of.
const (
	QuicknetGenesis   = 1692803367 // unix seconds of round 1
	QuicknetPeriod    = 3 * time.Second
	QuicknetChainHash = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
)

const quicknetPublicKeyHex = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c" +
	"8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb" +
	"5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"

// QuicknetPublicKey returns drand quicknet's public key (compressed G2).
func QuicknetPublicKey() []byte {
	b, err := hex.DecodeString(quicknetPublicKeyHex)
	if err != nil {
		panic("tlock: bad built-in quicknet key: " + err.Error())
	}
	return b
}

// Errors, for errors.Is; the wrapping error says what exactly was wrong.
var (
	// ErrInvalidPublicKey: the beacon public key is not a valid G2 point.
	ErrInvalidPublicKey = errors.New("invalid beacon public key")
	// ErrInvalidSignature: the signature is not a valid G1 point, or does
	// not verify.
	ErrInvalidSignature = errors.New("invalid beacon signature")
	// ErrMalformed: the ciphertext does not parse.
	ErrMalformed = errors.New("malformed timelock ciphertext")
	// ErrDecrypt: the ciphertext parses but does not open with this
	// signature (another round's signature, or tampered bytes).
	ErrDecrypt = errors.New("timelock ciphertext does not decrypt with this signature")
)

// Encrypt timelocks msg to round under the beacon publicKey and returns the
// serialized ciphertext. Only the beacon's signature for that round opens it.
func Encrypt(rand io.Reader, publicKey []byte, round uint64, msg []byte) ([]byte, error) {
	if len(msg) > MaxMessageSize {
		return nil, fmt.Errorf("tlock: message is %d bytes, more than %d", len(msg), MaxMessageSize)
	}
	pub, err := parseG2(publicKey, ErrInvalidPublicKey)
	if err != nil {
		return nil, fmt.Errorf("tlock: %w", err)
	}
	q, err := roundPoint(round)
	if err != nil {
		return nil, fmt.Errorf("tlock: %w", err)
	}

	var key [32]byte
	if _, err := io.ReadFull(rand, key[:]); err != nil {
		return nil, fmt.Errorf("tlock: read randomness: %w", err)
	}
	// sigma is H4 of a random scalar's 32-byte little-endian encoding, as tle
	// derives it.
	t, err := randomScalar(rand)
	if err != nil {
		return nil, fmt.Errorf("tlock: %w", err)
	}
	tb := scalarBytes(t)
	reverse(tb) // arkworks writes scalars little-endian
	sigma := h4(tb)

	r := h3(sigma[:], key[:])
	var u, rPub bls.G2Affine
	u.ScalarMultiplicationBase(r)
	rPub.ScalarMultiplication(&pub, r)
	gid, err := bls.Pair([]bls.G1Affine{q}, []bls.G2Affine{rPub})
	if err != nil {
		return nil, fmt.Errorf("tlock: pairing: %w", err)
	}
	mask := h2(&gid)
	wmask := h4(sigma[:])
	v := xor32(sigma[:], mask[:])
	w := xor32(key[:], wmask[:])

	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("tlock: read randomness: %w", err)
	}
	aead, err := newGCM(key[:])
	if err != nil {
		return nil, err
	}
	ub := u.Bytes()
	c := ciphertext{
		u:      ub[:],
		v:      v,
		w:      w,
		sealed: aead.Seal(nil, nonce, msg, nil),
		nonce:  nonce,
		suite:  []byte(cipherSuite),
	}
	return c.marshal(), nil
}

// Decrypt opens a ciphertext made by Encrypt (or by tle) with the beacon
// signature of its round. It does not check the signature against a public
// key (see Verify): a wrong signature simply fails to open the ciphertext.
//
// Decrypt is stricter than tle's decoder: it also refuses trailing bytes, a
// cipher suite other than "AES_GCM_", and V, W or a nonce of the wrong
// length, none of which a conforming encryptor produces.
func Decrypt(signature []byte, ciphertext []byte) ([]byte, error) {
	sig, err := parseG1(signature)
	if err != nil {
		return nil, fmt.Errorf("tlock: %w", err)
	}
	c, err := unmarshalCiphertext(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("tlock: %w", err)
	}
	u, err := parseG2(c.u, ErrMalformed)
	if err != nil {
		return nil, fmt.Errorf("tlock: header point U: %w", err)
	}
	gid, err := bls.Pair([]bls.G1Affine{sig}, []bls.G2Affine{u})
	if err != nil {
		return nil, fmt.Errorf("tlock: pairing: %w", err)
	}
	mask := h2(&gid)
	sigma := xor32(c.v, mask[:])
	wmask := h4(sigma)
	key := xor32(c.w, wmask[:])

	// Fujisaki–Okamoto check: U must be H3(sigma, key)·G2.
	var check bls.G2Affine
	check.ScalarMultiplicationBase(h3(sigma, key))
	cb := check.Bytes()
	if subtle.ConstantTimeCompare(cb[:], c.u) != 1 {
		return nil, fmt.Errorf("tlock: %w (signature of another round, or a tampered header)", ErrDecrypt)
	}

	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	msg, err := aead.Open(nil, c.nonce, c.sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("tlock: %w: body fails AES-GCM authentication", ErrDecrypt)
	}
	return msg, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("tlock: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tlock: aes-gcm: %w", err)
	}
	return aead, nil
}

func xor32(a, b []byte) []byte {
	out := make([]byte, 32)
	subtle.XORBytes(out, a[:32], b[:32])
	return out
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// scalarBytes returns s as 32 big-endian bytes.
func scalarBytes(s *big.Int) []byte {
	return s.FillBytes(make([]byte, fr.Bytes))
}
