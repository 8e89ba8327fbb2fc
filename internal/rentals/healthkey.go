package rentals

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HealthKeyFile is the health checker's SSH private key (OpenSSH format,
// mode 0600) under the data directory. It is made once and installed on
// every lease the API makes, next to the renter's own keys.
const HealthKeyFile = "rentals-health-key"

// healthKey is the health checker's SSH key.
type healthKey struct {
	signer ssh.Signer
	public string // authorized_keys form, no comment
}

// loadHealthKey reads dir/HealthKeyFile, making it first when it does not
// exist. A key file others may read is refused, as ssh refuses it.
func loadHealthKey(dir string) (*healthKey, error) {
	path := filepath.Join(dir, HealthKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := makeHealthKey(dir, path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read the health check key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read the health check key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the health check key %s may be read by others (mode %04o): make it 0600", path, fi.Mode().Perm())
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("the health check key %s: %w (remove it to make a new one; live rentals then fail their checks)", path, err)
	}
	return &healthKey{signer: signer, public: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}, nil
}

// makeHealthKey writes a new ed25519 key to path: to a private temporary
// file first, renamed into place only when whole, and never over a key
// another process made meanwhile.
func makeHealthKey(dir, path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("make the health check key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "compute rentals health check")
	if err != nil {
		return fmt.Errorf("make the health check key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the health check key: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+HealthKeyFile+"-*")
	if err != nil {
		return fmt.Errorf("make the health check key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	werr := f.Chmod(0o600)
	if werr == nil {
		_, werr = f.Write(pem.EncodeToMemory(block))
	}
	if werr == nil {
		werr = f.Sync()
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write the health check key: %w", err)
	}
	// A hard link fails when path exists: a key made meanwhile wins.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write the health check key: %w", err)
	}
	return nil
}
