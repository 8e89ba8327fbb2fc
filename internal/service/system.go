package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// ErrNoUser is returned by System.LookupUser for a user that does not exist.
var ErrNoUser = errors.New("service: no such user")

// Account is a user the service runs as.
type Account struct {
	Name     string
	UID, GID int
	Group    string // the primary group's name
	Home     string
}

// System is what installing a service changes on the machine; OS is the
// real one.
type System interface {
	// LookupUser finds a user (ErrNoUser when there is none).
	LookupUser(name string) (Account, error)
	// GroupExists reports whether a group exists.
	GroupExists(name string) (bool, error)
	// AddUser creates a system user with its own group and home directory.
	AddUser(ctx context.Context, name, home string) error
	// MkdirOwned creates dir and its missing parents, mode 0700; dir (not the
	// parents) is given to uid:gid.
	MkdirOwned(dir string, uid, gid int) error
	// SystemdRunning reports whether systemd is the running init (sd_booted).
	SystemdRunning() bool
	// Systemctl runs systemctl with args.
	Systemctl(ctx context.Context, args ...string) error
}

// OS is the real machine.
type OS struct{}

var _ System = OS{}

// LookupUser reads the user database.
func (OS) LookupUser(name string) (Account, error) {
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return Account{}, fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	if err != nil {
		return Account{}, fmt.Errorf("look up user %s: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return Account{}, fmt.Errorf("user %s has a non-numeric uid or gid (%s:%s)", name, u.Uid, u.Gid)
	}
	a := Account{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir, Group: u.Gid}
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		a.Group = g.Name
	}
	return a, nil
}

// GroupExists reads the group database.
func (OS) GroupExists(name string) (bool, error) {
	_, err := user.LookupGroup(name)
	var unknown user.UnknownGroupError
	if errors.As(err, &unknown) {
		return false, nil
	}
	return err == nil, err
}

// AddUser runs useradd: a system account with a group of its name, its
// home created, no login shell.
func (OS) AddUser(ctx context.Context, name, home string) error {
	shell := "/usr/sbin/nologin"
	if _, err := os.Stat(shell); err != nil {
		shell = "/bin/false"
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--create-home", "--home-dir", home,
		"--shell", shell, "--comment", "Compute Subnet", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("useradd %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// MkdirOwned creates dir 0700 and chowns it (a directory that exists is
// chowned and restricted too).
func (OS) MkdirOwned(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	return os.Lchown(dir, uid, gid)
}

// SystemdRunning checks for /run/systemd/system, as sd_booted(3) does.
func (OS) SystemdRunning() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// Systemctl runs systemctl.
func (OS) Systemctl(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
