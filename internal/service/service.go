package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/config"
)

// RestartExitCode is the exit status with which compute asks to be started
// again (after it replaced its own binary with a signed update); the unit
// restarts on it whatever the restart policy says. It must match the code
// the update command uses.
const RestartExitCode = 75

// Exit statuses after which starting again cannot help: bad usage (2) and a
// wrong wallet password (12), as `compute --help` documents them.
var noRestartExitCodes = []int{2, 12}

// Defaults of Config.
const (
	DefaultUser       = "compute"
	DefaultUnitDir    = "/etc/systemd/system"
	DefaultRestartSec = 10 * time.Second
	// DefaultNoFile is the unit's LimitNOFILE.
	DefaultNoFile = 65536
	// homeBase is where a created user's home goes (/var/lib/<user>).
	homeBase = "/var/lib"
)

// Role is the compute subcommand the service runs.
type Role string

// The roles that run as services.
const (
	Miner     Role = "miner"
	Validator Role = "validator"
)

// Config describes one service.
type Config struct {
	Role Role
	// Name is the unit's name without ".service" ("" = compute-<role>).
	Name string
	// Binary is the absolute path of the compute executable.
	Binary string
	// Args are the role's flags, written to ExecStart as given.
	Args []string
	// User runs the service ("" = DefaultUser); a missing user is created
	// as a system user with its home in /var/lib/<user>.
	User string
	// UnitDir is where the unit file goes ("" = DefaultUnitDir).
	UnitDir string
	// DryRun prints the unit and changes nothing.
	DryRun bool
	// RestartSec is the pause before a restart (0 = DefaultRestartSec).
	RestartSec time.Duration
}

var (
	unitName = regexp.MustCompile(`^[A-Za-z0-9:_.-]+(@[A-Za-z0-9:_.-]*)?$`)
	userName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// withDefaults checks c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Role != Miner && c.Role != Validator {
		return c, fmt.Errorf("service: the role %q is neither miner nor validator", c.Role)
	}
	if c.Name == "" {
		c.Name = "compute-" + string(c.Role)
	}
	c.Name = strings.TrimSuffix(c.Name, ".service")
	if !unitName.MatchString(c.Name) || len(c.Name) > 200 {
		return c, config.Errorf("service.Config.Name", "%q is not a unit name (letters, digits, and :_.-)", c.Name)
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if !userName.MatchString(c.User) {
		return c, config.Errorf("service.Config.User", "%q is not a user name (lower case letters, digits, _ and -, at most 32)", c.User)
	}
	if c.UnitDir == "" {
		c.UnitDir = DefaultUnitDir
	}
	if !filepath.IsAbs(c.Binary) {
		return c, config.Errorf("service.Config.Binary", "%q is not an absolute path", c.Binary)
	}
	if c.RestartSec == 0 {
		c.RestartSec = DefaultRestartSec
	}
	if c.RestartSec < 0 {
		return c, config.Errorf("service.Config.RestartSec", "%v must not be negative", c.RestartSec)
	}
	if _, err := ExecLine(append([]string{c.Binary}, c.Args...)); err != nil {
		return c, err
	}
	return c, nil
}

// UnitPath is the unit file's path.
func (c Config) UnitPath() string {
	name := c.Name
	if name == "" {
		name = "compute-" + string(c.Role)
	}
	dir := c.UnitDir
	if dir == "" {
		dir = DefaultUnitDir
	}
	return filepath.Join(dir, strings.TrimSuffix(name, ".service")+".service")
}

// roleFlags reads, from the role's arguments, the flags the unit depends on.
type roleFlags struct {
	walletPath string
	dataDirs   []string
	allocation bool
	autoUpdate bool
}

// parseRoleFlags finds --wallet.path, --miner.data_dir,
// --validator.data_dir and --miner.allocation in args ("--f v" or "--f=v").
func parseRoleFlags(args []string) (roleFlags, error) {
	f := roleFlags{allocation: true, autoUpdate: true}
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(args[i], "--"), "=")
		if !strings.HasPrefix(args[i], "--") {
			continue
		}
		switch name {
		case "wallet.path", "miner.data_dir", "validator.data_dir":
			if !hasValue {
				if i+1 >= len(args) {
					return f, fmt.Errorf("--%s needs a value", name)
				}
				i++
				value = args[i]
			}
			if !filepath.IsAbs(value) {
				return f, fmt.Errorf("--%s %q: a service needs an absolute path", name, value)
			}
			if !plainPath(value) {
				return f, fmt.Errorf("--%s %q: choose a path without spaces, quotes, backslashes, %% or $ (it goes in ReadWritePaths=)", name, value)
			}
			if name == "wallet.path" {
				f.walletPath = filepath.Clean(value)
			} else {
				f.dataDirs = append(f.dataDirs, filepath.Clean(value))
			}
		case "miner.allocation", "auto_update":
			if hasValue {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return f, fmt.Errorf("--%s=%s: %w", name, value, err)
				}
				if name == "auto_update" {
					f.autoUpdate = b
				} else {
					f.allocation = b
				}
			}
		}
	}
	return f, nil
}

// underHome reports whether p lies where ProtectHome= reaches.
func underHome(p string) bool {
	for _, h := range []string{"/home", "/root", "/run/user"} {
		if p == h || strings.HasPrefix(p, h+"/") {
			return true
		}
	}
	return false
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// layout is what the unit grants on disk.
type layout struct {
	bittensor   string   // <home>/.bittensor: wallets and default data directories
	writable    []string // ReadWritePaths
	protectHome string   // "yes" or "read-only"
	docker      bool     // the miner offers allocation: Docker's group and ordering
}

func plan(c Config, a Account) (layout, error) {
	if !filepath.IsAbs(a.Home) || !plainPath(a.Home) {
		return layout{}, fmt.Errorf("the home directory %q of user %s cannot be written in a unit: give the service another user", a.Home, a.Name)
	}
	f, err := parseRoleFlags(c.Args)
	if err != nil {
		return layout{}, err
	}
	l := layout{bittensor: filepath.Join(a.Home, ".bittensor"), protectHome: "yes", docker: c.Role == Miner && f.allocation}
	l.writable = []string{l.bittensor}
	for _, d := range f.dataDirs {
		if !within(d, l.bittensor) {
			l.writable = append(l.writable, d)
		}
	}
	// Auto-update (on unless --auto_update=false) writes the new release
	// and <name>.old beside the binary: a binary in the service user's home
	// (e.g. /var/lib/compute/bin/compute) gets its directory writable; a
	// system directory stays read-only and root's, and the updater says it
	// cannot replace the binary (docs/deploy.md).
	if dir := filepath.Dir(c.Binary); f.autoUpdate && filepath.IsAbs(c.Binary) && plainPath(dir) &&
		within(dir, a.Home) && !within(dir, l.bittensor) {
		l.writable = append(l.writable, dir)
	}
	for _, p := range append([]string{a.Home, c.Binary, f.walletPath}, f.dataDirs...) {
		if p != "" && underHome(p) {
			l.protectHome = "read-only"
		}
	}
	return l, nil
}

// Render returns the unit file of c run as a.
func Render(c Config, a Account) (string, error) {
	c, err := c.withDefaults()
	if err != nil {
		return "", err
	}
	l, err := plan(c, a)
	if err != nil {
		return "", err
	}
	exec, err := ExecLine(append([]string{c.Binary, string(c.Role)}, c.Args...))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by `compute service install %s`; `compute service uninstall %s` removes it.", c.Role, c.Role)
	w("# Install again to change the flags. Check the set-up with `compute doctor --mode %s` and the same flags.", c.Role)
	w("[Unit]")
	w("Description=Compute Subnet (SN27) %s", c.Role)
	if l.docker {
		w("After=network-online.target docker.service")
		w("Wants=network-online.target docker.service")
	} else {
		w("After=network-online.target")
		w("Wants=network-online.target")
	}
	w("StartLimitIntervalSec=0")
	w("")
	w("[Service]")
	w("Type=exec")
	w("User=%s", a.Name)
	if a.Group != "" && plainPath(a.Group) {
		w("Group=%s", a.Group)
	}
	if l.docker && a.UID != 0 {
		w("# The Docker socket, to run lease containers (membership of docker is root-equivalent on this host).")
		w("SupplementaryGroups=docker")
	}
	w("ExecStart=%s", exec)
	w("Restart=on-failure")
	w("RestartSec=%s", unitDuration(c.RestartSec))
	w("# %d: compute replaced its binary with an update and asks to be started again.", RestartExitCode)
	w("RestartForceExitStatus=%d", RestartExitCode)
	codes := make([]string, len(noRestartExitCodes))
	for i, n := range noRestartExitCodes {
		codes[i] = strconv.Itoa(n)
	}
	w("# %s: bad flags or a wrong wallet password; starting again cannot help.", strings.Join(codes, ", "))
	w("RestartPreventExitStatus=%s", strings.Join(codes, " "))
	w("TimeoutStopSec=90s")
	w("LimitNOFILE=%d", DefaultNoFile)
	w("UMask=0077")
	w("NoNewPrivileges=yes")
	w("LockPersonality=yes")
	w("RestrictRealtime=yes")
	w("RestrictSUIDSGID=yes")
	w("SystemCallArchitectures=native")
	w("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK")
	if c.Role == Miner && a.UID == 0 {
		w("# Run as root, the miner firewalls each lease (iptables) and gives it a loop-mounted disk;")
		w("# those mounts must be seen by dockerd, so the unit gets no mount namespace of its own")
		w("# (no ProtectSystem, ProtectHome, PrivateTmp or ReadWritePaths).")
	} else {
		w("ProtectSystem=strict")
		w("ProtectHome=%s", l.protectHome)
		w("ReadWritePaths=%s", strings.Join(l.writable, " "))
		w("PrivateTmp=yes")
		w("ProtectKernelTunables=yes")
		w("ProtectKernelModules=yes")
		w("ProtectKernelLogs=yes")
		w("ProtectControlGroups=yes")
		w("ProtectHostname=yes")
		w("RestrictNamespaces=yes")
		w("CapabilityBoundingSet=")
	}
	if c.Role == Validator {
		w("PrivateDevices=yes")
		w("ProtectClock=yes")
		w("MemoryDenyWriteExecute=yes")
	} else {
		w("# No PrivateDevices, ProtectClock or MemoryDenyWriteExecute: the GPU devices and the CUDA")
		w("# solver's run-time compiled kernels need them off.")
	}
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String(), nil
}

// unitDuration writes d as systemd reads it ("10s", "1min 30s" as "90s").
func unitDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// Deps are Install's and Uninstall's collaborators.
type Deps struct {
	// System is the machine (nil: OS).
	System System
	// Out receives what is done, and the commands to run by hand when systemd
	// is not running (nil: discarded).
	Out io.Writer
}

func (d Deps) withDefaults() Deps {
	if d.System == nil {
		d.System = OS{}
	}
	if d.Out == nil {
		d.Out = io.Discard
	}
	return d
}

// Install writes the unit of c: it creates the user when missing (with
// useradd) and the directories the unit grants it, writes the unit file and,
// when systemd runs, reloads it and enables and starts the unit (a unit that
// replaced another is restarted, to take the new flags); otherwise it says
// what to run. With DryRun it prints the unit and changes nothing.
func Install(ctx context.Context, c Config, deps Deps) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	deps = deps.withDefaults()
	sys, out := deps.System, deps.Out
	acct, err := sys.LookupUser(c.User)
	created := false
	switch {
	case errors.Is(err, ErrNoUser) && c.DryRun:
		acct = Account{Name: c.User, UID: -1, GID: -1, Group: c.User, Home: filepath.Join(homeBase, c.User)}
		fmt.Fprintf(out, "# user %s does not exist: install would create it (useradd --system, home %s)\n", c.User, acct.Home)
	case errors.Is(err, ErrNoUser):
		home := filepath.Join(homeBase, c.User)
		if err := sys.AddUser(ctx, c.User, home); err != nil {
			return err
		}
		if acct, err = sys.LookupUser(c.User); err != nil {
			return fmt.Errorf("user %s after useradd: %w", c.User, err)
		}
		created = true
	case err != nil:
		return err
	}
	l, err := plan(c, acct)
	if err != nil {
		return err
	}
	if l.docker && acct.UID != 0 {
		ok, err := sys.GroupExists("docker")
		if err != nil {
			return fmt.Errorf("look up the docker group: %w", err)
		}
		if !ok && !c.DryRun {
			return errors.New("the docker group does not exist: install Docker Engine first (apt-get install docker.io creates it), or turn allocation off in the miner's flags (--miner.allocation=false)")
		}
		if !ok {
			fmt.Fprintln(out, "# the docker group does not exist yet: install Docker Engine before installing the unit")
		}
	}
	unit, err := Render(c, acct)
	if err != nil {
		return err
	}
	path := c.UnitPath()
	if c.DryRun {
		fmt.Fprintf(out, "# %s\n%s", path, unit)
		return nil
	}
	if created {
		fmt.Fprintf(out, "created system user %s (home %s)\n", acct.Name, acct.Home)
	}
	for _, dir := range l.writable {
		if err := sys.MkdirOwned(dir, acct.UID, acct.GID); err != nil {
			return fmt.Errorf("create %s for user %s: %w", dir, acct.Name, err)
		}
	}
	_, err = os.Lstat(path)
	replaced := err == nil
	if err := writeUnit(path, unit); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", path)
	unitFile := filepath.Base(path)
	steps := [][]string{{"daemon-reload"}, {"enable", "--now", unitFile}}
	if replaced { // a running unit takes the new flags only when restarted
		steps = [][]string{{"daemon-reload"}, {"enable", unitFile}, {"restart", unitFile}}
	}
	if !sys.SystemdRunning() {
		fmt.Fprintf(out, "systemd is not running here; once it is, run:\n")
		for _, s := range steps {
			fmt.Fprintf(out, "  systemctl %s\n", strings.Join(s, " "))
		}
		return nil
	}
	for _, s := range steps {
		if err := sys.Systemctl(ctx, s...); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "%s enabled and (re)started; follow it with: journalctl -u %s -f\n", unitFile, unitFile)
	return nil
}

// writeUnit writes the unit file 0644 through a temporary file and a rename,
// so that systemd never reads half a unit.
func writeUnit(path, unit string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.WriteString(unit); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ErrNotInstalled is returned by Uninstall when the unit file is missing.
var ErrNotInstalled = errors.New("service: not installed")

// Uninstall stops and disables the unit (when systemd runs) and removes its
// file; the user, its home and its wallets stay. With DryRun it says what it
// would do.
func Uninstall(ctx context.Context, c Config, deps Deps) error {
	if c.Binary == "" {
		c.Binary = "/" // not used: only the unit's name and place matter
	}
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	deps = deps.withDefaults()
	sys, out := deps.System, deps.Out
	path := c.UnitPath()
	unitFile := filepath.Base(path)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist", ErrNotInstalled, path)
	} else if err != nil {
		return err
	}
	if c.DryRun {
		fmt.Fprintf(out, "would run: systemctl disable --now %s\nwould remove: %s\nwould run: systemctl daemon-reload\n", unitFile, path)
		return nil
	}
	running := sys.SystemdRunning()
	if running {
		if err := sys.Systemctl(ctx, "disable", "--now", unitFile); err != nil {
			return err
		}
	}
	user := unitUser(path, c.User)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	fmt.Fprintf(out, "removed %s (the user %s, its home and its wallets are kept)\n", path, user)
	if !running {
		fmt.Fprintf(out, "systemd is not running here; if the unit was started elsewhere, run: systemctl disable --now %s && systemctl daemon-reload\n", unitFile)
		return nil
	}
	if err := sys.Systemctl(ctx, "daemon-reload"); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s stopped and disabled\n", unitFile)
	return nil
}

// unitUser reads User= from the unit file at path (def when it cannot).
func unitUser(path, def string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	for _, line := range strings.Split(string(b), "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "User="); ok && u != "" {
			return u
		}
	}
	return def
}
