package release

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/compute/internal/clip"
)

var (
	// ErrBadSignature means a signature does not verify with the public key:
	// the file or the signature was changed, or another key signed it.
	ErrBadSignature = errors.New("bad signature")
	// ErrInvalidKey means a key's text is not a minisign key.
	ErrInvalidKey = errors.New("invalid minisign key")
	// ErrKeyEncrypted means a secret key is encrypted and no password was given.
	ErrKeyEncrypted = errors.New("the secret key is encrypted and no password was given")
	// ErrWrongKeyPassword means an encrypted secret key did not decrypt.
	ErrWrongKeyPassword = errors.New("the secret key did not decrypt: wrong password or damaged key")
)

// maxKeyFileSize bounds a key file read from disk (minisign's are under 400 bytes).
const maxKeyFileSize = 4 << 10

// GenerateKey makes a new Ed25519 signing key pair.
func GenerateKey() (minisign.PublicKey, minisign.PrivateKey, error) {
	return minisign.GenerateKey(rand.Reader)
}

// EncodeSecretKey is the secret key file's text, encrypted with password
// (scrypt, as minisign does) unless password is empty.
func EncodeSecretKey(sk minisign.PrivateKey, password string) ([]byte, error) {
	if password == "" {
		return sk.MarshalText()
	}
	return minisign.EncryptKey(password, sk)
}

// EncodePublicKey is the public key file's text (minisign.pub): an
// untrusted comment line and the key, ending in a newline.
func EncodePublicKey(pk minisign.PublicKey) []byte {
	text, _ := pk.MarshalText() // never fails
	return append(text, '\n')
}

// ParseSecretKey reads a secret key file's text; an encrypted one needs its
// password (ErrKeyEncrypted without one, ErrWrongKeyPassword with a wrong one).
func ParseSecretKey(text []byte, password string) (minisign.PrivateKey, error) {
	text = bytes.TrimSpace(text)
	if minisign.IsEncrypted(text) {
		if password == "" {
			return minisign.PrivateKey{}, ErrKeyEncrypted
		}
		sk, err := minisign.DecryptKey(password, text)
		if err != nil {
			return minisign.PrivateKey{}, ErrWrongKeyPassword
		}
		return sk, nil
	}
	var sk minisign.PrivateKey
	if err := sk.UnmarshalText(text); err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return sk, nil
}

// ReadSecretKey reads and parses the secret key file at path.
func ReadSecretKey(path, password string) (minisign.PrivateKey, error) {
	text, err := readSmall(path, maxKeyFileSize)
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("secret key: %w", err)
	}
	sk, err := ParseSecretKey(text, password)
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("secret key %s: %w", path, err)
	}
	return sk, nil
}

// ParsePublicKey reads a public key given as minisign prints it: the bare
// base64 line ("RW...") or a minisign.pub file's text (with its comment line).
func ParsePublicKey(text string) (minisign.PublicKey, error) {
	text = strings.TrimSpace(text)
	var pk minisign.PublicKey
	if err := pk.UnmarshalText([]byte(text)); err != nil {
		return minisign.PublicKey{}, fmt.Errorf("%w: %q: %v", ErrInvalidKey, clip.String(text, 80), err)
	}
	return pk, nil
}

// LoadPublicKey reads a public key given as its text (ParsePublicKey) or as
// the path of a file holding it. A value that is neither is an error that
// says both failed.
func LoadPublicKey(s string) (minisign.PublicKey, error) {
	pk, err := ParsePublicKey(s)
	if err == nil {
		return pk, nil
	}
	text, ferr := readSmall(s, maxKeyFileSize)
	if ferr != nil {
		if errors.Is(ferr, os.ErrNotExist) {
			return minisign.PublicKey{}, fmt.Errorf("%w (and no file of that name exists)", err)
		}
		return minisign.PublicKey{}, fmt.Errorf("public key file: %w", ferr)
	}
	pk, err = ParsePublicKey(string(text))
	if err != nil {
		return minisign.PublicKey{}, fmt.Errorf("public key file %s: %w", s, err)
	}
	return pk, nil
}

// KeyID is a key's ID as minisign prints it (16 uppercase hex digits).
func KeyID(id uint64) string { return fmt.Sprintf("%016X", id) }

// Sign signs data, the content of the file called name, as minisign does by
// default (Ed25519 over the BLAKE2b-512 of the data), with the time and the
// file name in the trusted comment; the result is the .minisig file's text.
func Sign(sk minisign.PrivateKey, name string, data []byte, now time.Time) []byte {
	r := minisign.NewReader(bytes.NewReader(data))
	_, _ = io.Copy(io.Discard, r) // reading from memory cannot fail
	trusted := "timestamp:" + strconv.FormatInt(now.Unix(), 10) + "\tfile:" + name + "\thashed"
	untrusted := "signature from compute release secret key " + KeyID(sk.ID())
	return r.SignWithComments(sk, trusted, untrusted)
}

// Verify checks sig (a .minisig file's text) over data with pk; every
// failure wraps ErrBadSignature and says why (malformed, another key's, or
// not matching).
func Verify(pk minisign.PublicKey, data, sig []byte) error {
	if len(sig) > MaxSignatureSize {
		return fmt.Errorf("%w: the signature file has %d bytes, more than %d", ErrBadSignature, len(sig), MaxSignatureSize)
	}
	var s minisign.Signature
	if err := s.UnmarshalText(bytes.TrimRight(sig, "\r\n")); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if s.KeyID != pk.ID() {
		return fmt.Errorf("%w: signed by key %s, not by the trusted key %s", ErrBadSignature, KeyID(s.KeyID), KeyID(pk.ID()))
	}
	if !minisign.Verify(pk, data, bytes.TrimRight(sig, "\r\n")) {
		return fmt.Errorf("%w: the data does not match its signature by key %s", ErrBadSignature, KeyID(pk.ID()))
	}
	return nil
}

// readSmall reads a file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}
