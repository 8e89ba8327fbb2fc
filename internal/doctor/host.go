package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/pow/hashcat"
)

// Host answers the doctor's questions about this machine.
type Host interface {
	// Addrs lists the addresses of this host's interfaces.
	Addrs() ([]netip.Addr, error)
	// Dial opens a TCP connection to addr (host:port).
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// FreeBytes is the space an unprivileged user may still write on the
	// file system holding path.
	FreeBytes(path string) (uint64, error)
	// NoFile is the open-files limit (RLIMIT_NOFILE) of this process.
	NoFile() (soft, hard uint64, err error)
	// NVIDIADevices counts the NVIDIA display and 3D controllers on the PCI
	// bus, whether or not a driver is loaded.
	NVIDIADevices() (int, error)
	// LookPath finds a program on PATH.
	LookPath(name string) (string, error)
	// Euid is the effective user id of this process.
	Euid() int
	// Exists reports whether path exists.
	Exists(path string) bool
}

// OS is the real host.
type OS struct{}

var _ Host = OS{}

// Addrs lists the interface addresses (unmapped, zones dropped).
func (OS) Addrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap().WithZone(""))
		}
	}
	return out, nil
}

// Dial opens a TCP connection.
func (OS) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// FreeBytes is statfs's available blocks times the block size.
func (OS) FreeBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// NoFile reads RLIMIT_NOFILE. The Go runtime raises the soft limit to the
// hard one at start-up, so the soft limit read here is what any compute
// process started the same way gets.
func (OS) NoFile() (uint64, uint64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	return rl.Cur, rl.Max, nil
}

// NVIDIADevices reads /sys/bus/pci/devices/*/{vendor,class}: vendor 0x10de,
// class 0x03xxxx (display, VGA and 3D controllers). A host without sysfs has
// none.
func (OS) NVIDIADevices() (int, error) {
	return nvidiaDevices(os.DirFS("/sys/bus/pci/devices"))
}

func nvidiaDevices(fsys fs.FS) (int, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		vendor, err1 := fs.ReadFile(fsys, e.Name()+"/vendor")
		class, err2 := fs.ReadFile(fsys, e.Name()+"/class")
		if err1 != nil || err2 != nil {
			continue
		}
		if strings.TrimSpace(string(vendor)) == "0x10de" && bytes.HasPrefix(bytes.TrimSpace(class), []byte("0x03")) {
			n++
		}
	}
	return n, nil
}

// LookPath is exec.LookPath.
func (OS) LookPath(name string) (string, error) { return exec.LookPath(name) }

// Euid is os.Geteuid.
func (OS) Euid() int { return os.Geteuid() }

// Exists is os.Stat without an error.
func (OS) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// dialDocker connects to the daemon the environment names (DOCKER_HOST, else
// the local socket), negotiating the API version; a daemon that does not
// answer is the Ping's error, reported by the docker check.
func dialDocker(context.Context) (Docker, error) {
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return c, nil
}

// hashcatVersion runs the hashcat solver's own checks (binary found, version
// at least 6.2.6) without probing its devices, and returns the version.
func hashcatVersion(ctx context.Context, opts hashcat.Options) (string, error) {
	if opts.DeviceTypes == "" {
		opts.DeviceTypes = "1,2" // skip the device probe (hashcat -I), which can take a minute
	}
	s, err := hashcat.New(ctx, opts, nil)
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.Version(), nil
}

// existingDir is path or its nearest existing ancestor (the data directory
// may not exist before the role's first start).
func existingDir(path string) string {
	p := filepath.Clean(path)
	for {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(p)
		if parent == p {
			return p
		}
		p = parent
	}
}
