package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// RequireReal reports whether missing real components fail tests instead of skipping
// them (COMPUTE_REQUIRE_REAL=1, as CI sets it).
func RequireReal() bool { return os.Getenv("COMPUTE_REQUIRE_REAL") == "1" }

// SkipOrFail skips a test that needs a real component, or fails it under
// COMPUTE_REQUIRE_REAL=1.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireReal() {
		t.Fatalf(format+" (COMPUTE_REQUIRE_REAL=1)", args...)
	}
	t.Skipf(format, args...)
}

// SSHImage is the lease image the real tests run: $COMPUTE_SSH_IMAGE, by default the
// compute-ssh:test image scripts/build-test-image.sh builds.
func SSHImage() string {
	if s := os.Getenv("COMPUTE_SSH_IMAGE"); s != "" {
		return s
	}
	return "compute-ssh:test"
}

// Tools skips (or fails) the test unless every named program is on PATH.
func Tools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			SkipOrFail(t, "%s is not installed (scripts/provision.sh installs it)", tool)
		}
	}
}

// Docker returns a client of the real daemon, closed when the test ends, after checking
// that the SSH image and the OpenSSH client (ssh, ssh-keygen) are present; otherwise it
// skips or fails.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		SkipOrFail(t, "docker client: %v", err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		SkipOrFail(t, "no Docker daemon: %v (scripts/provision.sh starts one)", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.ImageInspect(ctx, SSHImage()); err != nil {
		SkipOrFail(t, "image %s missing: %v (run scripts/build-test-image.sh)", SSHImage(), err)
	}
	Tools(t, "ssh", "ssh-keygen")
	return c
}

// labelFilter selects the containers carrying label=value.
func labelFilter(label, value string) client.ContainerListOptions {
	return client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label+"="+value)}
}

// Containers counts the containers, running or not, that carry label=value.
func Containers(t testing.TB, c *client.Client, label, value string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ContainerList(ctx, labelFilter(label, value))
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// RemoveAtCleanup removes, when the test ends (even on failure), every container that
// carries label=value.
func RemoveAtCleanup(t testing.TB, c *client.Client, label, value string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := c.ContainerList(ctx, labelFilter(label, value))
		if err != nil {
			t.Logf("cleanup of the %s=%s containers: %v", label, value, err)
			return
		}
		for _, it := range list.Items {
			if _, err := c.ContainerRemove(ctx, it.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				t.Logf("cleanup: remove %s: %v", it.ID, err)
			}
		}
	})
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Listen opens a loopback TCP listener on a free port, for a role's Deps
// (a miner's axon); it is closed when the test ends, if the role has not
// closed it already.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// RSAKey generates a 2048-bit requester key and its public half as a "PUBLIC KEY" PEM,
// what the original renter sends in Allocate.public_key.
func RSAKey(t testing.TB) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// SSHKey generates an ed25519 key pair with ssh-keygen and returns the private key's path
// and the public key line.
func SSHKey(t testing.TB) (path, public string) {
	t.Helper()
	Tools(t, "ssh-keygen")
	path = filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

// Login says how SSH logs into 127.0.0.1: as User (default root) on Port, with Password
// (answered through SSH_ASKPASS, so it never appears in argv) or, when Identity is set,
// with that private key file only.
type Login struct {
	Port     int
	User     string
	Password string
	Identity string
}

// SSH logs in with the OpenSSH client and runs cmd, returning its standard output; a
// failure's error carries the client's standard error.
func SSH(t testing.TB, l Login, cmd string) (string, error) {
	t.Helper()
	user := l.User
	if user == "" {
		user = "root"
	}
	args := []string{"-p", strconv.Itoa(l.Port), "-F", "/dev/null",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=5", "-o", "NumberOfPasswordPrompts=1"}
	env := append(os.Environ(), "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0")
	if l.Identity != "" {
		args = append(args, "-i", l.Identity, "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes")
	} else {
		askpass := filepath.Join(t.TempDir(), "askpass")
		if err := os.WriteFile(askpass, []byte("#!/bin/sh\nprintf '%s\\n' \"$COMPUTE_TEST_PASSWORD\"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no")
		env = append(env, "SSH_ASKPASS="+askpass, "COMPUTE_TEST_PASSWORD="+l.Password)
	}
	args = append(args, user+"@127.0.0.1", cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, "ssh", args...)
	c.Env = env
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return out.String(), errors.New(strings.TrimSpace(err.Error() + ": " + errb.String()))
	}
	return out.String(), nil
}

// Python returns a python3 interpreter that imports every named module: $COMPUTE_PYTHON,
// then python3 on PATH (often a pyenv shim), then Debian's /usr/bin/python3 (where
// scripts/provision.sh installs python3-cryptography). Without one it skips or fails.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv("COMPUTE_PYTHON"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	probe := "import " + strings.Join(append([]string{"sys"}, modules...), ", ")
	for _, p := range candidates {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := exec.CommandContext(ctx, p, "-c", probe).Run()
		cancel()
		if err == nil {
			return p
		}
	}
	SkipOrFail(t, "no python3 with %s among %v (apt-get install python3-cryptography; scripts/provision.sh does)", strings.Join(modules, ", "), candidates)
	return ""
}
