package container

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/ssh"
)

// ErrInvalidPublicKey marks a requester RSA key or renter SSH key that cannot be used.
var ErrInvalidPublicKey = errors.New("container: invalid public key")

// Bounds on keys received from the network.
const (
	maxPEMBytes    = 16 << 10
	minRSABits     = 2048
	maxRSABits     = 8192
	maxSSHKeyBytes = 16 << 10
	passwordLength = 24
	passwordChars  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// Credentials are what a renter needs to log in; they travel only encrypted. Disk says
// whether the disk asked for is enforced (DiskEnforced or DiskNotEnforced; empty when no
// disk was asked for, or from a miner that does not say); peers that read only the first
// three keys, as the original renter does, ignore it.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Port     int    `json:"port"`
	Disk     string `json:"disk,omitempty"`
}

// Values of Credentials.Disk.
const (
	DiskEnforced    = "enforced"
	DiskNotEnforced = "not enforced"
)

// RequesterKey is a parsed requester RSA public key with its fingerprint (SHA-256 of the
// DER SubjectPublicKeyInfo, hex), which is what leases compare to recognise the owner.
type RequesterKey struct {
	Key         *rsa.PublicKey
	Fingerprint string
	PEM         string // canonical PEM ("PUBLIC KEY", SubjectPublicKeyInfo)
}

// ParseRequesterKey parses the Allocate synapse's public_key: one PEM block, either
// "PUBLIC KEY" (SubjectPublicKeyInfo, what python cryptography writes) or "RSA PUBLIC KEY"
// (PKCS#1), holding an RSA key of 2048 to 8192 bits.
func ParseRequesterKey(s string) (RequesterKey, error) {
	var rk RequesterKey
	if len(s) > maxPEMBytes {
		return rk, fmt.Errorf("%w: public_key is %d bytes, more than the %d accepted", ErrInvalidPublicKey, len(s), maxPEMBytes)
	}
	block, rest := pem.Decode(bytes.TrimSpace([]byte(s)))
	if block == nil {
		return rk, fmt.Errorf("%w: public_key holds no PEM block", ErrInvalidPublicKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return rk, fmt.Errorf("%w: public_key has data after its PEM block", ErrInvalidPublicKey)
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return rk, fmt.Errorf("%w: public_key: %v", ErrInvalidPublicKey, err)
		}
		var ok bool
		if pub, ok = k.(*rsa.PublicKey); !ok {
			return rk, fmt.Errorf("%w: public_key is a %T, an RSA key is needed", ErrInvalidPublicKey, k)
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return rk, fmt.Errorf("%w: public_key: %v", ErrInvalidPublicKey, err)
		}
		pub = k
	default:
		return rk, fmt.Errorf("%w: public_key PEM type %q is not PUBLIC KEY or RSA PUBLIC KEY", ErrInvalidPublicKey, truncate(block.Type, 32))
	}
	if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return rk, fmt.Errorf("%w: public_key has %d bits, between %d and %d are accepted", ErrInvalidPublicKey, bits, minRSABits, maxRSABits)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return rk, fmt.Errorf("%w: public_key: %v", ErrInvalidPublicKey, err)
	}
	sum := sha256.Sum256(der)
	return RequesterKey{
		Key:         pub,
		Fingerprint: hex.EncodeToString(sum[:]),
		PEM:         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}, nil
}

// EncryptCredentials returns base64(RSA-OAEP(SHA-256, MGF1-SHA-256, no label)) of the
// credentials' JSON, which python cryptography's OAEP(MGF1(SHA256()), SHA256(), None)
// decrypts.
func EncryptCredentials(pub *rsa.PublicKey, c Credentials) (string, error) {
	msg, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode credentials: %w", err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
	if err != nil {
		return "", fmt.Errorf("encrypt credentials: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// DecryptCredentials reverses EncryptCredentials with the requester's private key.
func DecryptCredentials(priv *rsa.PrivateKey, info string) (Credentials, error) {
	var c Credentials
	ct, err := base64.StdEncoding.DecodeString(info)
	if err != nil {
		return c, fmt.Errorf("decode credentials: %w", err)
	}
	msg, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct, nil)
	if err != nil {
		return c, fmt.Errorf("decrypt credentials: %w", err)
	}
	if err := json.Unmarshal(msg, &c); err != nil {
		return c, fmt.Errorf("decode credentials: %w", err)
	}
	return c, nil
}

// GeneratePassword returns a password of 24 characters drawn uniformly from letters and
// digits with crypto/rand (about 143 bits).
func GeneratePassword() (string, error) {
	b := make([]byte, passwordLength)
	max := big.NewInt(int64(len(passwordChars)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = passwordChars[n.Int64()]
	}
	return string(b), nil
}

// NormalizeSSHKey parses a renter's SSH public key (authorized_keys syntax) and returns it
// as one canonical line without options or comment, so nothing but the key reaches the
// container. RSA keys must have at least 2048 bits.
func NormalizeSSHKey(s string) (string, error) {
	if len(s) > maxSSHKeyBytes {
		return "", fmt.Errorf("%w: SSH key is %d bytes, more than the %d accepted", ErrInvalidPublicKey, len(s), maxSSHKeyBytes)
	}
	key, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return "", fmt.Errorf("%w: SSH key: %v", ErrInvalidPublicKey, err)
	}
	if len(options) > 0 {
		return "", fmt.Errorf("%w: SSH key must not carry authorized_keys options", ErrInvalidPublicKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return "", fmt.Errorf("%w: give exactly one SSH key", ErrInvalidPublicKey)
	}
	switch key.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	case ssh.KeyAlgoRSA:
		ck, ok := key.(ssh.CryptoPublicKey)
		if !ok {
			return "", fmt.Errorf("%w: SSH key: unreadable RSA key", ErrInvalidPublicKey)
		}
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < minRSABits {
			return "", fmt.Errorf("%w: SSH RSA key must have at least %d bits", ErrInvalidPublicKey, minRSABits)
		}
	default:
		return "", fmt.Errorf("%w: SSH key type %s is not accepted (use ed25519, ecdsa or rsa)", ErrInvalidPublicKey, key.Type())
	}
	return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(key))), nil
}
