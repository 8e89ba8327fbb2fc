// Package tlock is timelock encryption to a drand round, in the byte format
// the Bittensor chain decrypts for commit-reveal weights.
package tlock

import (
	"errors"
	"io"
	"time"
)

// PublicKeySize is the length of a compressed G2 public key.
const PublicKeySize = 96

// SignatureSize is the length of a compressed G1 beacon signature.
const SignatureSize = 48

// Quicknet constants.
const (
	QuicknetGenesis   = 1692803367
	QuicknetPeriod    = 3 * time.Second
	QuicknetChainHash = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
)

var errNotImplemented = errors.New("tlock: not implemented")

// QuicknetPublicKey returns drand quicknet's public key (compressed G2).
func QuicknetPublicKey() []byte { return nil }

// Encrypt timelocks msg to round under publicKey.
func Encrypt(rand io.Reader, publicKey []byte, round uint64, msg []byte) ([]byte, error) {
	return nil, errNotImplemented
}

// Decrypt opens a ciphertext with the beacon signature of its round.
func Decrypt(signature []byte, ciphertext []byte) ([]byte, error) {
	return nil, errNotImplemented
}

// Verify checks a beacon signature for round under publicKey.
func Verify(publicKey []byte, round uint64, signature []byte) error {
	return errNotImplemented
}

// Beacon is a local beacon of the same scheme.
type Beacon struct {
	secret []byte
	public []byte
}

// NewBeacon makes a beacon with a fresh secret.
func NewBeacon(rand io.Reader) (*Beacon, error) { return nil, errNotImplemented }

// BeaconFromSecret rebuilds a beacon from its 32-byte big-endian secret.
func BeaconFromSecret(secret []byte) (*Beacon, error) { return nil, errNotImplemented }

// Secret returns the 32-byte big-endian secret scalar.
func (b *Beacon) Secret() []byte { return append([]byte(nil), b.secret...) }

// PublicKey returns the compressed G2 public key.
func (b *Beacon) PublicKey() []byte { return append([]byte(nil), b.public...) }

// Sign returns the round's signature.
func (b *Beacon) Sign(round uint64) []byte { return nil }
