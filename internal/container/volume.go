package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// volumePaths are the container paths that live on a lease's sized volume. The root
// filesystem itself is read-only, /run is a small tmpfs and /dev/shm Docker's own, so
// everything a renter can write is on the volume and counts against its size. Docker
// fills each path from the image when the container is created (system files, packages
// installed later with apt all count).
var volumePaths = []string{"/etc", "/usr", "/var", "/root", "/home", "/tmp", "/opt", "/srv", "/workspace"}

// runTmpfs is the tmpfs mounted on /run (and through Debian's link, /var/run) of a
// lease with a read-only root; its pages count against the memory limit as well.
const runTmpfs = "rw,nosuid,nodev,mode=0755,size=64m"

// Files and directories of a lease's volume inside its directory.
const (
	leasesDir     = "leases"   // DataDir/leases/<lease id>/
	volumeImage   = "disk.img" // the filesystem image
	volumeMount   = "fs"       // where it is mounted
	volumeFSLabel = "compute-lease"
)

// diskVolumes makes, mounts and removes the sized filesystem images that enforce a
// lease's disk. The real one uses loop devices; unit tests replace it.
type diskVolumes interface {
	// Support says whether sized volumes can be made on this host, and if not why.
	Support() (bool, string)
	// Create makes dir/disk.img of size bytes, an ext4 filesystem on it, mounts it on
	// dir/fs and makes one directory per volume path there.
	Create(ctx context.Context, dir string, size int64) error
	// Ensure mounts dir/disk.img on dir/fs again when it is not mounted (after a reboot).
	Ensure(ctx context.Context, dir string) error
	// Free returns the bytes available to unprivileged writers on the mounted volume.
	Free(dir string) (int64, error)
	// Remove unmounts the volume and deletes dir; a missing dir is already removed.
	Remove(ctx context.Context, dir string) error
}

// volumeSize is the size of a lease's filesystem image: the disk asked for, the image's
// files (copied onto the volume on create) and ext4's own metadata, so that about the
// asked size is free for the renter at start and not much more.
func volumeSize(asked, imageBytes int64) int64 {
	data := asked + imageBytes
	size := data + data/32 + 24<<20
	return (size + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
}

// volumeSubdir is the directory of the volume that backs a container path.
func volumeSubdir(path string) string {
	return strings.TrimPrefix(path, "/")
}

// loopVolumes is diskVolumes on loop devices: a preallocated file, mkfs.ext4 and
// mount -o loop (autoclear: unmounting frees the loop device).
type loopVolumes struct{}

func (loopVolumes) Support() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "the miner does not run as root, which loop-mounted volumes need"
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return false, "this host has no loop devices (/dev/loop-control is missing)"
	}
	for _, tool := range []string{"mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false, tool + " is not installed (e2fsprogs, mount)"
		}
	}
	return true, ""
}

func (v loopVolumes) Create(ctx context.Context, dir string, size int64) (err error) {
	img, mnt := filepath.Join(dir, volumeImage), filepath.Join(dir, volumeMount)
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		return fmt.Errorf("create the lease volume: %w", err)
	}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			v.Remove(cctx, dir)
		}
	}()
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create the lease volume: %w", err)
	}
	// Reserve the blocks now: a sparse image would let the host's disk fill up under
	// the lease and turn its writes into I/O errors.
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("create the lease volume of %d bytes in %s: %w", size, dir, ErrDiskFull)
	}
	if err != nil {
		return fmt.Errorf("create the lease volume: %w", err)
	}
	if err := run(ctx, "mkfs.ext4", "-q", "-F", "-m", "0", "-i", "32768", "-L", volumeFSLabel,
		"-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", img); err != nil {
		return fmt.Errorf("make the lease volume's filesystem: %w", err)
	}
	if err := v.mount(ctx, img, mnt); err != nil {
		return err
	}
	for _, p := range volumePaths {
		sub := filepath.Join(mnt, volumeSubdir(p))
		mode := os.FileMode(0o755)
		if p == "/tmp" {
			mode = 0o777 | os.ModeSticky
		}
		if err := os.Mkdir(sub, mode); err != nil {
			return fmt.Errorf("create the lease volume: %w", err)
		}
		if err := os.Chmod(sub, mode); err != nil { // past the umask
			return fmt.Errorf("create the lease volume: %w", err)
		}
	}
	return nil
}

func (loopVolumes) mount(ctx context.Context, img, mnt string) error {
	if err := run(ctx, "mount", "-t", "ext4", "-o", "loop,nosuid,nodev", img, mnt); err != nil {
		return fmt.Errorf("mount the lease volume: %w", err)
	}
	return nil
}

func (v loopVolumes) Ensure(ctx context.Context, dir string) error {
	img, mnt := filepath.Join(dir, volumeImage), filepath.Join(dir, volumeMount)
	if _, err := os.Stat(img); err != nil {
		return fmt.Errorf("the lease volume is gone: %w", err)
	}
	mounted, err := isMountPoint(mnt)
	if err != nil || mounted {
		return err
	}
	return v.mount(ctx, img, mnt)
}

func (loopVolumes) Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(dir, volumeMount), &st); err != nil {
		return 0, fmt.Errorf("read the lease volume's free space: %w", err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func (loopVolumes) Remove(ctx context.Context, dir string) error {
	mnt := filepath.Join(dir, volumeMount)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for attempt := 0; ; attempt++ {
		mounted, err := isMountPoint(mnt)
		if err != nil {
			return fmt.Errorf("remove the lease volume: %w", err)
		}
		if !mounted {
			break
		}
		err = unix.Unmount(mnt, 0)
		if err == nil {
			continue // a volume mounted twice comes off one mount at a time
		}
		if !errors.Is(err, unix.EBUSY) || attempt >= 20 {
			return fmt.Errorf("unmount the lease volume %s: %w", mnt, err)
		}
		select { // the container's last processes may still be exiting
		case <-ctx.Done():
			return fmt.Errorf("unmount the lease volume %s: %w", mnt, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the lease volume: %w", err)
	}
	return nil
}

// isMountPoint reports whether path is the root of a mount (its device differs from
// its parent's); a missing path is not.
func isMountPoint(path string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(path), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}

// run runs a system tool, returning its output in the error when it fails.
func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 400 {
			msg = msg[:400] + "..."
		}
		if msg == "" {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return nil
}

// formatBytes writes a size for people: 1073741824 -> "1 GiB", 1610612736 -> "1.5 GiB".
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}
