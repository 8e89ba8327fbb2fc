package canary

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// keyDir holds the canary's SSH private keys while a lease is open, under
// the data directory (mode 0700, each key 0600, removed after the login).
const keyDir = "canary-keys"

// sshKey is a fresh ed25519 key for one canary lease.
type sshKey struct {
	public string // authorized_keys line
	pem    []byte // OpenSSH private key
}

func newSSHKey() (*sshKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the canary's SSH key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode the canary's SSH key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "compute canary")
	if err != nil {
		return nil, fmt.Errorf("encode the canary's SSH key: %w", err)
	}
	return &sshKey{
		public: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " compute-canary",
		pem:    pem.EncodeToMemory(block),
	}, nil
}

// writeKey puts the private key in a new 0600 file under dataDir/canary-keys
// for the OpenSSH client; remove deletes it.
func (k *sshKey) writeKey(dataDir string) (path string, remove func(), err error) {
	dir := filepath.Join(dataDir, keyDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("canary key directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("canary key directory: %w", err)
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "id-"+hex.EncodeToString(b))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("write the canary's SSH key: %w", err)
	}
	_, werr := f.Write(k.pem)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(path)
		return "", nil, fmt.Errorf("write the canary's SSH key: %w", err)
	}
	return path, func() { os.Remove(path) }, nil
}

// login is one OpenSSH session as a renter opens it.
type login struct {
	SSH      string // client program
	Host     string
	Port     int
	User     string
	Identity string
	Command  string
	// ConnectTimeout bounds the TCP connection and the handshake.
	ConnectTimeout time.Duration
}

// run logs in, runs the command and returns its output (at most maxOutput
// bytes) and when its first byte arrived (zero when none did).
func (l login) run(ctx context.Context) (out []byte, first time.Time, err error) {
	ct := max(int(l.ConnectTimeout.Seconds()), 1)
	args := []string{"-F", "/dev/null", "-p", strconv.Itoa(l.Port), "-l", l.User, "-i", l.Identity,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey",
		"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=" + strconv.Itoa(ct), "-o", "ServerAliveInterval=5",
		"-o", "ServerAliveCountMax=2", "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ClearAllForwardings=yes",
		"-T", "--", l.Host, l.Command}
	cmd := exec.CommandContext(ctx, l.SSH, args...)
	// No agent and no user configuration: the lease's key only.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LC_ALL=C"}
	cmd.WaitDelay = 2 * time.Second
	var errb bytes.Buffer
	cmd.Stderr = &limited{w: &errb, n: 4096}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := cmd.Start(); err != nil {
		return nil, time.Time{}, fmt.Errorf("start %s: %w", l.SSH, err)
	}
	var buf bytes.Buffer
	var once sync.Once
	chunk := make([]byte, 4096)
	for buf.Len() < maxOutput {
		n, rerr := stdout.Read(chunk)
		if n > 0 {
			once.Do(func() { first = time.Now() })
			buf.Write(chunk[:min(n, maxOutput-buf.Len())])
		}
		if rerr != nil {
			break
		}
	}
	if buf.Len() >= maxOutput && cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	if werr != nil && buf.Len() < maxOutput {
		msg := strings.TrimSpace(clean(strings.ReplaceAll(errb.String(), "\n", " "), 300))
		return buf.Bytes(), first, fmt.Errorf("ssh %s@%s -p %d: %w: %s", l.User, l.Host, l.Port, werr, msg)
	}
	return buf.Bytes(), first, nil
}

// limited writes at most n bytes to w and drops the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(p), nil
}
