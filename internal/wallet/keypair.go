package wallet

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"golang.org/x/crypto/blake2b"

	"github.com/sn27/compute/internal/scale"
)

// DevPhrase is the Substrate development mnemonic used by bare URIs such as //Alice.
const DevPhrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

// SigningContext is the schnorrkel signing context used by Substrate and Bittensor.
const SigningContext = "substrate"

var (
	// ErrNoSecret is returned when signing with a public-only keypair.
	ErrNoSecret = errors.New("wallet: keypair has no secret key (public only)")
	// ErrInvalidMnemonic is returned for phrases that are not valid BIP39 English mnemonics.
	ErrInvalidMnemonic = errors.New("wallet: invalid mnemonic")
	// ErrInvalidURI is returned for malformed secret URIs.
	ErrInvalidURI = errors.New("wallet: invalid secret URI")
)

// Keypair is an sr25519 keypair (or a public key alone). The zero value is not usable.
type Keypair struct {
	pub      [32]byte
	hasSec   bool
	key      [32]byte // canonical scalar
	nonce    [32]byte // signing nonce
	seed     *[32]byte
	mnemonic string
}

// FromSeed builds a keypair from a 32-byte mini secret (btcli's secretSeed).
func FromSeed(seed []byte) (*Keypair, error) {
	if len(seed) != 32 {
		return nil, fmt.Errorf("wallet: seed must be 32 bytes, got %d", len(seed))
	}
	var raw [32]byte
	copy(raw[:], seed)
	msk, err := schnorrkel.NewMiniSecretKeyFromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("wallet: bad seed: %w", err)
	}
	sk := msk.ExpandEd25519()
	h := sha512.Sum512(raw[:])
	kp := &Keypair{hasSec: true, key: sk.Encode()}
	copy(kp.nonce[:], h[32:])
	kp.pub = msk.Public().Encode()
	kp.seed = &raw
	return kp, nil
}

// NormalizeMnemonic collapses whitespace and lower-cases a phrase.
func NormalizeMnemonic(phrase string) string {
	return strings.ToLower(strings.Join(strings.Fields(phrase), " "))
}

// FromMnemonic derives the keypair of a BIP39 mnemonic the Substrate way
// (mini secret = PBKDF2 over the entropy), with an optional password.
func FromMnemonic(phrase, password string) (*Keypair, error) {
	phrase = NormalizeMnemonic(phrase)
	msk, err := schnorrkel.MiniSecretKeyFromMnemonic(phrase, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMnemonic, err)
	}
	seed := msk.Encode()
	kp, err := FromSeed(seed[:])
	if err != nil {
		return nil, err
	}
	kp.mnemonic = phrase
	return kp, nil
}

// FromPrivateKey builds a keypair from a 64-byte schnorrkel secret (32-byte
// scalar followed by the 32-byte nonce), as bittensor-wallet's privateKey.
func FromPrivateKey(b []byte) (*Keypair, error) {
	if len(b) != 64 {
		return nil, fmt.Errorf("wallet: private key must be 64 bytes, got %d", len(b))
	}
	kp := &Keypair{hasSec: true}
	copy(kp.key[:], b[:32])
	copy(kp.nonce[:], b[32:])
	sk := schnorrkel.NewSecretKey(kp.key, kp.nonce)
	pub, err := sk.Public()
	if err != nil {
		return nil, fmt.Errorf("wallet: bad private key: %w", err)
	}
	kp.pub = pub.Encode()
	return kp, nil
}

// FromPublicKey returns a public-only keypair.
func FromPublicKey(pub []byte) (*Keypair, error) {
	if len(pub) != 32 {
		return nil, fmt.Errorf("wallet: public key must be 32 bytes, got %d", len(pub))
	}
	var p [32]byte
	copy(p[:], pub)
	if _, err := schnorrkel.NewPublicKey(p); err != nil {
		return nil, fmt.Errorf("wallet: bad public key: %w", err)
	}
	return &Keypair{pub: p}, nil
}

// FromSS58 returns a public-only keypair for an address.
func FromSS58(addr string) (*Keypair, error) {
	pub, err := PublicKeyFromSS58(addr)
	if err != nil {
		return nil, err
	}
	return FromPublicKey(pub[:])
}

// FromURI derives a keypair from a Substrate secret URI:
// "<phrase | 0x<seed hex>>[//hard][/soft]...[///password]". A URI that starts
// with a junction uses the development phrase (e.g. "//Alice").
func FromURI(uri string) (*Keypair, error) {
	uri = strings.TrimSpace(uri)
	if uri == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidURI)
	}
	password := ""
	if i := strings.Index(uri, "///"); i >= 0 {
		password = uri[i+3:]
		uri = uri[:i]
	}
	base := uri
	path := ""
	if i := strings.Index(uri, "/"); i >= 0 {
		base, path = uri[:i], uri[i:]
	}
	base = strings.TrimSpace(base)
	if base == "" {
		base = DevPhrase
	}
	var kp *Keypair
	var err error
	if strings.HasPrefix(base, "0x") {
		var seed []byte
		seed, err = hex.DecodeString(base[2:])
		if err != nil || len(seed) != 32 {
			return nil, fmt.Errorf("%w: hex seed must be 32 bytes", ErrInvalidURI)
		}
		kp, err = FromSeed(seed)
	} else {
		kp, err = FromMnemonic(base, password)
	}
	if err != nil {
		return nil, err
	}
	junctions, err := parseJunctions(path)
	if err != nil {
		return nil, err
	}
	for _, j := range junctions {
		kp, err = kp.derive(j)
		if err != nil {
			return nil, err
		}
	}
	return kp, nil
}

type junction struct {
	hard bool
	cc   [32]byte
}

func parseJunctions(path string) ([]junction, error) {
	var out []junction
	for len(path) > 0 {
		if path[0] != '/' {
			return nil, fmt.Errorf("%w: junction must start with '/'", ErrInvalidURI)
		}
		hard := strings.HasPrefix(path, "//")
		if hard {
			path = path[2:]
		} else {
			path = path[1:]
		}
		end := strings.Index(path, "/")
		if end < 0 {
			end = len(path)
		}
		name := path[:end]
		path = path[end:]
		if name == "" {
			return nil, fmt.Errorf("%w: empty junction", ErrInvalidURI)
		}
		out = append(out, junction{hard: hard, cc: chainCode(name)})
	}
	return out, nil
}

// chainCode is the SCALE encoding of the junction (u64 if numeric, else a
// string), zero-padded to 32 bytes or hashed with BLAKE2b-256 if longer.
func chainCode(name string) [32]byte {
	var enc []byte
	if n, err := strconv.ParseUint(name, 10, 64); err == nil {
		enc = binary.LittleEndian.AppendUint64(nil, n)
	} else {
		enc = scale.AppendCompact(nil, uint64(len(name)))
		enc = append(enc, name...)
	}
	var cc [32]byte
	if len(enc) > 32 {
		cc = blake2b.Sum256(enc)
	} else {
		copy(cc[:], enc)
	}
	return cc
}

func (kp *Keypair) secret() *schnorrkel.SecretKey {
	return schnorrkel.NewSecretKey(kp.key, kp.nonce)
}

func (kp *Keypair) derive(j junction) (*Keypair, error) {
	if !kp.hasSec {
		return nil, ErrNoSecret
	}
	if j.hard {
		msk, _, err := kp.secret().HardDeriveMiniSecretKey(nil, j.cc)
		if err != nil {
			return nil, fmt.Errorf("wallet: hard derivation: %w", err)
		}
		seed := msk.Encode()
		return FromSeed(seed[:])
	}
	ek, err := schnorrkel.DeriveKeySimple(kp.secret(), nil, j.cc)
	if err != nil {
		return nil, fmt.Errorf("wallet: soft derivation: %w", err)
	}
	sk, err := ek.Secret()
	if err != nil {
		return nil, fmt.Errorf("wallet: soft derivation: %w", err)
	}
	out := &Keypair{hasSec: true, key: sk.Encode()}
	// A deterministic nonce, so the same URI always exports the same private key.
	out.nonce = blake2b.Sum256(append(append([]byte{}, kp.nonce[:]...), j.cc[:]...))
	pub, err := sk.Public()
	if err != nil {
		return nil, err
	}
	out.pub = pub.Encode()
	return out, nil
}

// PublicKey returns the 32-byte public key.
func (kp *Keypair) PublicKey() [32]byte { return kp.pub }

// SS58Address returns the address with Bittensor's prefix 42.
func (kp *Keypair) SS58Address() string {
	s, _ := SS58Encode(kp.pub[:], DefaultSS58Prefix)
	return s
}

// SS58 returns the address with the given prefix.
func (kp *Keypair) SS58(prefix uint16) (string, error) { return SS58Encode(kp.pub[:], prefix) }

// HasSecret reports whether the keypair can sign.
func (kp *Keypair) HasSecret() bool { return kp.hasSec }

// Mnemonic returns the phrase the key came from, or "".
func (kp *Keypair) Mnemonic() string { return kp.mnemonic }

// Seed returns the 32-byte mini secret, if known.
func (kp *Keypair) Seed() ([]byte, bool) {
	if kp.seed == nil {
		return nil, false
	}
	return append([]byte{}, kp.seed[:]...), true
}

// PrivateKey returns the 64-byte schnorrkel secret (scalar || nonce).
func (kp *Keypair) PrivateKey() ([]byte, bool) {
	if !kp.hasSec {
		return nil, false
	}
	return append(append([]byte{}, kp.key[:]...), kp.nonce[:]...), true
}

// Sign signs msg with the "substrate" context and returns the 64-byte signature.
func (kp *Keypair) Sign(msg []byte) ([]byte, error) {
	if !kp.hasSec {
		return nil, ErrNoSecret
	}
	sig, err := kp.secret().Sign(schnorrkel.NewSigningContext([]byte(SigningContext), msg))
	if err != nil {
		return nil, fmt.Errorf("wallet: sign: %w", err)
	}
	enc := sig.Encode()
	return enc[:], nil
}

// Verify checks sig over msg for this keypair's public key.
func (kp *Keypair) Verify(msg, sig []byte) bool { return Verify(kp.pub, msg, sig) }

// Verify checks an sr25519 signature with the "substrate" context. Like
// Substrate's keypairs, it also accepts a signature over "<Bytes>"+msg+"</Bytes>".
func Verify(pub [32]byte, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	pk, err := schnorrkel.NewPublicKey(pub)
	if err != nil {
		return false
	}
	var s64 [64]byte
	copy(s64[:], sig)
	var s schnorrkel.Signature
	if err := s.Decode(s64); err != nil {
		return false
	}
	if ok, err := pk.Verify(&s, schnorrkel.NewSigningContext([]byte(SigningContext), msg)); err == nil && ok {
		return true
	}
	wrapped := bytes.Join([][]byte{[]byte("<Bytes>"), msg, []byte("</Bytes>")}, nil)
	ok, err := pk.Verify(&s, schnorrkel.NewSigningContext([]byte(SigningContext), wrapped))
	return err == nil && ok
}

// VerifySS58 checks a signature against an SS58 address.
func VerifySS58(addr string, msg, sig []byte) bool {
	pub, err := PublicKeyFromSS58(addr)
	if err != nil {
		return false
	}
	return Verify(pub, msg, sig)
}
