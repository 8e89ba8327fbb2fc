package renter

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultKeyBits is the size of the RSA key made for each allocation.
const DefaultKeyBits = 3072

// keyDir is where allocation keys live, under the data directory.
const keyDir = "renter-keys"

// allocationKey is the RSA key of one allocation: the miner encrypts the
// credentials to it, and a release must present the same public key.
type allocationKey struct {
	priv        *rsa.PrivateKey
	publicPEM   string
	fingerprint string // hex SHA-256 of the public key's DER, as the miner computes it
}

func newAllocationKey(bits int) (*allocationKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generate the allocation's RSA key: %w", err)
	}
	return keyFrom(priv)
}

func keyFrom(priv *rsa.PrivateKey) (*allocationKey, error) {
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode the allocation's public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &allocationKey{
		priv:        priv,
		publicPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		fingerprint: hex.EncodeToString(sum[:]),
	}, nil
}

// keyPath is the file of the key with this fingerprint under dataDir.
func keyPath(dataDir, fingerprint string) string {
	return filepath.Join(dataDir, keyDir, fingerprint[:32]+".pem")
}

// save writes the private key (PKCS#8 PEM, mode 0600, directory 0700)
// atomically and returns its path.
func (k *allocationKey) save(dataDir string) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return "", fmt.Errorf("encode the allocation's private key: %w", err)
	}
	path := keyPath(dataDir, k.fingerprint)
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writePrivate(path, data); err != nil {
		return "", fmt.Errorf("save the allocation's private key: %w", err)
	}
	return path, nil
}

// loadKey reads a key written by save.
func loadKey(path string) (*allocationKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the allocation's private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read the allocation's private key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read the allocation's private key %s: %w", path, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read the allocation's private key %s: a %T, not an RSA key", path, k)
	}
	return keyFrom(priv)
}

// writePrivate writes data to path through a hidden temporary file in the
// same directory (mode 0600, synced, renamed over path); the directory is
// created with mode 0700.
func writePrivate(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// removeKey deletes a key file; a missing file is not an error. Only files
// inside the data directory's key folder are removed.
func removeKey(dataDir, path string) error {
	if path == "" {
		return nil
	}
	rel, err := filepath.Rel(filepath.Join(dataDir, keyDir), path)
	if err != nil || strings.HasPrefix(rel, "..") || strings.ContainsRune(rel, filepath.Separator) {
		return fmt.Errorf("refusing to remove %s: not an allocation key of %s", path, dataDir)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the allocation's private key: %w", err)
	}
	return nil
}
