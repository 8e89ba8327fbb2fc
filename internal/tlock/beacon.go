package tlock

import (
	"fmt"
	"io"
	"math/big"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Verify checks that signature is the beacon's signature for round:
// e(signature, G2) == e(HashToG1(sha256(round)), publicKey).
func Verify(publicKey []byte, round uint64, signature []byte) error {
	pub, err := parseG2(publicKey, ErrInvalidPublicKey)
	if err != nil {
		return fmt.Errorf("tlock: %w", err)
	}
	sig, err := parseG1(signature)
	if err != nil {
		return fmt.Errorf("tlock: %w", err)
	}
	q, err := roundPoint(round)
	if err != nil {
		return fmt.Errorf("tlock: %w", err)
	}
	_, _, _, g2 := bls.Generators()
	var negSig bls.G1Affine
	negSig.Neg(&sig)
	ok, err := bls.PairingCheck([]bls.G1Affine{negSig, q}, []bls.G2Affine{g2, pub})
	if err != nil {
		return fmt.Errorf("tlock: pairing: %w", err)
	}
	if !ok {
		return fmt.Errorf("tlock: %w: does not verify for round %d under this key", ErrInvalidSignature, round)
	}
	return nil
}

// Beacon is a local beacon of quicknet's scheme (a single signer, no
// threshold), for a development chain: it signs rounds exactly as drand
// quicknet does, so what is timelocked to its public key opens with its
// signatures.
type Beacon struct {
	secret *big.Int
	public [PublicKeySize]byte
}

// NewBeacon makes a beacon with a fresh secret drawn from rand.
func NewBeacon(rand io.Reader) (*Beacon, error) {
	s, err := randomScalar(rand)
	if err != nil {
		return nil, fmt.Errorf("tlock: new beacon: %w", err)
	}
	return newBeacon(s), nil
}

// BeaconFromSecret rebuilds a beacon from its 32-byte big-endian secret
// scalar, which must be non-zero and below the group order.
func BeaconFromSecret(secret []byte) (*Beacon, error) {
	if len(secret) != fr.Bytes {
		return nil, fmt.Errorf("tlock: beacon secret is %d bytes, want %d", len(secret), fr.Bytes)
	}
	s := new(big.Int).SetBytes(secret)
	if s.Sign() == 0 || s.Cmp(fr.Modulus()) >= 0 {
		return nil, fmt.Errorf("tlock: beacon secret is not a scalar in [1, group order)")
	}
	return newBeacon(s), nil
}

func newBeacon(s *big.Int) *Beacon {
	var pub bls.G2Affine
	pub.ScalarMultiplicationBase(s)
	return &Beacon{secret: s, public: pub.Bytes()}
}

// Secret returns the 32-byte big-endian secret scalar.
func (b *Beacon) Secret() []byte { return scalarBytes(b.secret) }

// PublicKey returns the compressed G2 public key.
func (b *Beacon) PublicKey() []byte { return append([]byte(nil), b.public[:]...) }

// Sign returns the 48-byte compressed G1 signature of round: the secret
// times HashToG1(sha256(round as 8 big-endian bytes)).
func (b *Beacon) Sign(round uint64) []byte {
	q, err := roundPoint(round)
	if err != nil {
		// HashToG1 fails only on a tag longer than 255 bytes; ours is fixed.
		panic("tlock: " + err.Error())
	}
	var sig bls.G1Affine
	sig.ScalarMultiplication(&q, b.secret)
	out := sig.Bytes()
	return out[:]
}
