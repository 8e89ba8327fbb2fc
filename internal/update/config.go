package update

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/release"
	"github.com/sn27/compute/internal/version"
)

// Set at link time by scripts/release.sh, empty in any other build:
//
//	-X github.com/sn27/compute/internal/update.builtinPublicKey=RW...
//	-X github.com/sn27/compute/internal/update.builtinFeed=https://.../release.json
var (
	builtinPublicKey string
	builtinFeed      string
)

// BuiltinPublicKey is the minisign public key releases are verified with,
// as the release build set it ("" when it set none).
func BuiltinPublicKey() string { return builtinPublicKey }

// BuiltinFeed is the release feed URL the release build set ("" when none).
func BuiltinFeed() string { return builtinFeed }

// RestartExitCode is the exit status of a process that installed an update
// and exits for its service manager to start it again (Config.Restart
// RestartExit, or when re-executing failed): EX_TEMPFAIL. A systemd unit
// restarts on it with RestartForceExitStatus=75.
const RestartExitCode = 75

// How the process restarts after installing an update.
const (
	// RestartExec replaces the process with the new binary (execve: same
	// PID, arguments and environment), after the role stopped cleanly.
	RestartExec = "exec"
	// RestartExit exits with RestartExitCode for a service manager to start
	// the new binary.
	RestartExit = "exit"
)

// Defaults of Config.
const (
	DefaultInterval     = time.Hour
	DefaultTimeout      = 10 * time.Minute
	DefaultDrainTimeout = 10 * time.Minute
	DefaultMaxSize      = 512 << 20
	// MinInterval bounds how often a feed may be read.
	MinInterval = 10 * time.Second
)

// Why auto-update cannot run (Config.Disabled).
var (
	ErrNoFeed      = errors.New("no release feed is configured and this build has none built in")
	ErrNoPublicKey = errors.New("no public key to verify releases with is configured and this build has none built in")
	ErrDevBuild    = errors.New("this is a development build (release dev), which auto-update never replaces")
)

// Config configures the updater.
type Config struct {
	// Feed is the release feed's URL: file://, http:// or https://
	// ("" for none: auto-update is off).
	Feed string
	// PublicKey is the minisign public key that signs releases: its text
	// ("RW...", or a minisign.pub file's content) or the path of a file
	// holding it ("" for none: auto-update is off).
	PublicKey string
	// Interval is the time between feed checks (a tenth more at random).
	Interval time.Duration
	// Restart is RestartExec or RestartExit.
	Restart string
	// Timeout bounds one check with its download.
	Timeout time.Duration
	// DrainTimeout bounds the wait for the operations in progress before a
	// restart; past it the restart is tried again a minute later.
	DrainTimeout time.Duration
	// MaxSize bounds the asset download.
	MaxSize int64
	// Executable is the binary to replace ("": this process's, symbolic
	// links resolved).
	Executable string
	// Current is the running release ("": version.Release()).
	Current string
	// Platform is the asset to install ("": version.Platform()).
	Platform string
}

// DefaultConfig is the built-in feed and key, with the default timings.
func DefaultConfig() Config {
	return Config{
		Feed:         builtinFeed,
		PublicKey:    builtinPublicKey,
		Interval:     DefaultInterval,
		Restart:      RestartExec,
		Timeout:      DefaultTimeout,
		DrainTimeout: DefaultDrainTimeout,
		MaxSize:      DefaultMaxSize,
	}
}

// Validate checks the values that are set: the feed's URL, the public key,
// the durations and the restart mode. An empty feed or key is not an error
// here (Disabled says auto-update is off).
func (c Config) Validate() error {
	if c.Feed != "" {
		if _, err := parseFeedURL(c.Feed); err != nil {
			return config.Errorf("update.Config.Feed", "%w", err)
		}
	}
	if c.PublicKey != "" {
		if _, err := release.LoadPublicKey(c.PublicKey); err != nil {
			return config.Errorf("update.Config.PublicKey", "%w", err)
		}
	}
	if c.Interval < MinInterval {
		return config.Errorf("update.Config.Interval", "%v is below the minimum of %v", c.Interval, MinInterval)
	}
	if c.Restart != RestartExec && c.Restart != RestartExit {
		return config.Errorf("update.Config.Restart", "%q: want %q or %q", c.Restart, RestartExec, RestartExit)
	}
	if c.Timeout <= 0 {
		return config.Errorf("update.Config.Timeout", "%v must be positive", c.Timeout)
	}
	if c.DrainTimeout <= 0 {
		return config.Errorf("update.Config.DrainTimeout", "%v must be positive", c.DrainTimeout)
	}
	if c.MaxSize <= 0 || c.MaxSize > release.MaxAssetSize {
		return config.Errorf("update.Config.MaxSize", "%d: want 1 to %d bytes", c.MaxSize, int64(release.MaxAssetSize))
	}
	return nil
}

// Disabled says why the periodic updater cannot run with c (ErrNoFeed,
// ErrNoPublicKey, ErrDevBuild), or nil when it can. A development build may
// still install a release by hand (compute update).
func (c Config) Disabled() error {
	switch {
	case c.Feed == "":
		return ErrNoFeed
	case c.PublicKey == "":
		return ErrNoPublicKey
	case c.current() == version.Dev:
		return ErrDevBuild
	}
	return nil
}

// current is the running release: Current, else version.Release().
func (c Config) current() string {
	if c.Current != "" {
		return c.Current
	}
	return version.Release()
}

// platform is the platform to install: Platform, else version.Platform().
func (c Config) platform() string {
	if c.Platform != "" {
		return c.Platform
	}
	return version.Platform()
}

// parseFeedURL checks a feed URL: file:// with a path, or http(s):// with a
// host, naming a file.
func parseFeedURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("%q: a file URL is file:///absolute/path/release.json", s)
		}
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("%q has no host", s)
		}
	default:
		return nil, fmt.Errorf("%q: the feed is a file://, http:// or https:// URL", s)
	}
	if u.Path == "" || u.Path[len(u.Path)-1] == '/' {
		return nil, fmt.Errorf("%q names a directory, not the feed file (%s)", s, release.FeedFile)
	}
	return u, nil
}
