package tlock

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// identityDST is the RFC 9380 domain separation tag of drand's
// bls-unchained-g1-rfc9380 scheme (quicknet); tle hashes identities with the
// same tag, which is why a quicknet signature is the IBE key of its round.
const identityDST = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

// gtSize is the length of a pairing result in arkworks' encoding.
const gtSize = 12 * fp.Bytes

// compressedFlag is the top bit of the first byte of a compressed point.
const compressedFlag = 0x80

// roundMessage is what a beacon signs for a round: sha256 of the round as
// 8 big-endian bytes.
func roundMessage(round uint64) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], round)
	return sha256.Sum256(b[:])
}

// roundPoint is the round's identity point: its message hashed to G1.
func roundPoint(round uint64) (bls.G1Affine, error) {
	m := roundMessage(round)
	q, err := bls.HashToG1(m[:], []byte(identityDST))
	if err != nil {
		return bls.G1Affine{}, fmt.Errorf("hash round %d to G1: %w", round, err)
	}
	return q, nil
}

// parseG1 decodes a compressed G1 point, refusing anything off the curve,
// outside the prime-order subgroup, or the point at infinity.
func parseG1(b []byte) (bls.G1Affine, error) {
	var p bls.G1Affine
	if len(b) != SignatureSize {
		return p, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSignature, len(b), SignatureSize)
	}
	if b[0]&compressedFlag == 0 {
		return p, fmt.Errorf("%w: not in compressed form", ErrInvalidSignature)
	}
	if _, err := p.SetBytes(b); err != nil {
		return p, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	if p.IsInfinity() {
		return p, fmt.Errorf("%w: point at infinity", ErrInvalidSignature)
	}
	return p, nil
}

// parseG2 decodes a compressed G2 point under the same rules as parseG1;
// what is the error to wrap says which input was bad.
func parseG2(b []byte, what error) (bls.G2Affine, error) {
	var p bls.G2Affine
	if len(b) != PublicKeySize {
		return p, fmt.Errorf("%w: %d bytes, want %d", what, len(b), PublicKeySize)
	}
	if b[0]&compressedFlag == 0 {
		return p, fmt.Errorf("%w: not in compressed form", what)
	}
	if _, err := p.SetBytes(b); err != nil {
		return p, fmt.Errorf("%w: %v", what, err)
	}
	if p.IsInfinity() {
		return p, fmt.Errorf("%w: point at infinity", what)
	}
	return p, nil
}

// gtBytes serializes a pairing result the way arkworks does
// (CanonicalSerialize of Fp12, compressed or not): the twelve Fp
// coefficients in tower order c0.c0.c0, c0.c0.c1, c0.c1.c0, ..., c1.c2.c1,
// each as 48 little-endian bytes. gnark-crypto's tower (Fp2 = Fp[u]/(u²+1),
// Fp6 = Fp2[v]/(v³-(u+1)), Fp12 = Fp6[w]/(w²-v)) is the same as arkworks',
// so E12.Ci.Bj.Ak maps to arkworks' ci.cj.ck.
func gtBytes(z *bls.GT) [gtSize]byte {
	coeffs := [12]*fp.Element{
		&z.C0.B0.A0, &z.C0.B0.A1, &z.C0.B1.A0, &z.C0.B1.A1, &z.C0.B2.A0, &z.C0.B2.A1,
		&z.C1.B0.A0, &z.C1.B0.A1, &z.C1.B1.A0, &z.C1.B1.A1, &z.C1.B2.A0, &z.C1.B2.A1,
	}
	var out [gtSize]byte
	for i, c := range coeffs {
		fp.LittleEndian.PutElement((*[fp.Bytes]byte)(out[i*fp.Bytes:(i+1)*fp.Bytes]), *c)
	}
	return out
}

// h2 maps a pairing result to 32 bytes: sha256 of its arkworks encoding.
func h2(z *bls.GT) [32]byte {
	b := gtBytes(z)
	return sha256.Sum256(b[:])
}

// h3 maps (sigma, key) to a scalar: sha256(sigma || key) read as a
// big-endian integer reduced modulo the group order.
func h3(sigma, key []byte) *big.Int {
	h := sha256.New()
	h.Write(sigma)
	h.Write(key)
	n := new(big.Int).SetBytes(h.Sum(nil))
	return n.Mod(n, fr.Modulus())
}

// h4 maps sigma to a 32-byte mask: sha256(sigma).
func h4(sigma []byte) [32]byte {
	return sha256.Sum256(sigma)
}

// randomScalar draws a uniform non-zero scalar from rand.
func randomScalar(rand io.Reader) (*big.Int, error) {
	var buf [64]byte
	for range 8 {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return nil, fmt.Errorf("read randomness: %w", err)
		}
		n := new(big.Int).SetBytes(buf[:])
		n.Mod(n, fr.Modulus())
		if n.Sign() != 0 {
			return n, nil
		}
	}
	return nil, errors.New("randomness source keeps returning zero scalars")
}
