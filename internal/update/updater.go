package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/compute/internal/release"
	"github.com/sn27/compute/internal/version"
)

// ErrRefused is wrapped by the errors of a release that was refused: a bad
// signature, a feed that does not parse, a download that is short, too large
// or does not match its checksum, a binary that does not run or names
// another release. The running binary is left untouched.
var ErrRefused = errors.New("release refused")

// Deps are the updater's collaborators.
type Deps struct {
	// Gate is drained before a restart (nil: restart at once).
	Gate *Gate
	// HTTP fetches http:// and https:// URLs (nil: a client of its own).
	HTTP *http.Client
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// Updater checks the release feed and installs newer releases.
type Updater struct {
	cfg     Config
	gate    *Gate
	http    *http.Client
	log     *slog.Logger
	feed    *url.URL
	key     minisign.PublicKey
	exe     string
	current string
}

// New checks cfg, loads the public key and finds the binary to replace;
// nothing is fetched before Check or Run. The feed and the key are required
// here (Config.Disabled says which is missing).
func New(cfg Config, deps Deps) (*Updater, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.Feed == "":
		return nil, ErrNoFeed
	case cfg.PublicKey == "":
		return nil, ErrNoPublicKey
	}
	feed, _ := parseFeedURL(cfg.Feed)              // checked by Validate
	key, _ := release.LoadPublicKey(cfg.PublicKey) // checked by Validate
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("update: find the running binary: %w", err)
		}
	}
	exe, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return nil, fmt.Errorf("update: the binary to replace: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return nil, fmt.Errorf("update: the binary to replace: %w", err)
	}
	u := &Updater{cfg: cfg, gate: deps.Gate, http: deps.HTTP, log: deps.Log, feed: feed, key: key, exe: exe, current: cfg.current()}
	if u.http == nil {
		u.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if u.log == nil {
		u.log = slog.Default()
	}
	u.log = u.log.With("component", "update")
	return u, nil
}

// Executable is the binary the updater replaces.
func (u *Updater) Executable() string { return u.exe }

// Action is what a check found to do.
type Action string

const (
	// ActionInstall: the feed offers a newer release for this platform.
	ActionInstall Action = "install"
	// ActionCurrent: the feed offers the running release.
	ActionCurrent Action = "current"
	// ActionDowngrade: the feed offers an older release, which is refused.
	ActionDowngrade Action = "downgrade"
	// ActionNoAsset: the feed's release has no binary for this platform.
	ActionNoAsset Action = "no-asset"
)

// Plan is the outcome of a check.
type Plan struct {
	Current   string // the running release ("dev" for a development build)
	Available string // the feed's release
	Platform  string
	Action    Action
	Asset     release.Asset // the platform's asset (zero for ActionNoAsset)
	URL       string        // where the asset is downloaded from
	Path      string        // the binary an install replaces
}

// Backup is where an install keeps the binary it replaces.
func (p Plan) Backup() string { return p.Path + ".old" }

// String says what the plan does, for a log line or compute update --check.
func (p Plan) String() string {
	switch p.Action {
	case ActionInstall:
		return fmt.Sprintf("install %s over %s (%s, %s), keeping the current binary as %s",
			p.Available, p.Current, p.Asset.Name, size(p.Asset.Size), p.Backup())
	case ActionCurrent:
		return fmt.Sprintf("nothing: %s is the current release", p.Current)
	case ActionDowngrade:
		return fmt.Sprintf("nothing: the feed offers %s, older than the running %s, and a downgrade is refused", p.Available, p.Current)
	case ActionNoAsset:
		return fmt.Sprintf("nothing: release %s has no binary for platform %s", p.Available, p.Platform)
	}
	return string(p.Action)
}

// size words a byte count.
func size(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Check reads the feed and its signature, verifies them and says what an
// update would do. A feed that is not signed by the trusted key, or does not
// parse, is an error wrapping ErrRefused.
func (u *Updater) Check(ctx context.Context) (Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	data, err := u.fetch(ctx, u.feed, release.MaxFeedSize)
	if err != nil {
		return Plan{}, fmt.Errorf("update: release feed %s: %w", u.feed.Redacted(), err)
	}
	sigURL := *u.feed
	sigURL.Path += release.SignatureSuffix
	sigURL.RawPath = ""
	sig, err := u.fetch(ctx, &sigURL, release.MaxSignatureSize)
	if err != nil {
		return Plan{}, fmt.Errorf("update: the feed's signature %s: %w", sigURL.Redacted(), err)
	}
	if err := release.Verify(u.key, data, sig); err != nil {
		return Plan{}, fmt.Errorf("update: %w: release feed %s: %w", ErrRefused, u.feed.Redacted(), err)
	}
	feed, err := release.ParseFeed(data)
	if err != nil {
		return Plan{}, fmt.Errorf("update: %w: %w", ErrRefused, err)
	}
	p := Plan{Current: u.current, Available: feed.Version, Platform: u.cfg.platform(), Path: u.exe}
	a, ok := feed.Asset(p.Platform)
	switch {
	case u.current != version.Dev && compare(feed.Version, u.current) == 0:
		p.Action = ActionCurrent
	case u.current != version.Dev && compare(feed.Version, u.current) < 0:
		p.Action = ActionDowngrade
	case !ok:
		p.Action = ActionNoAsset
	default:
		p.Action, p.Asset = ActionInstall, a
		p.URL = u.feed.ResolveReference(&url.URL{Path: a.Name}).String()
	}
	return p, nil
}

// compare orders two release versions; one that does not parse (not from a
// verified feed, which is checked) sorts first.
func compare(a, b string) int {
	va, errA := version.ParseSemver(a)
	vb, errB := version.ParseSemver(b)
	switch {
	case errA != nil && errB != nil:
		return 0
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return va.Compare(vb)
}

// Installed is a release Install put in place.
type Installed struct {
	From, To string // the releases before and after
	Path     string // the binary, now the new release
	Backup   string // the previous binary
}

// Install downloads the plan's asset beside the binary, checks it and swaps
// it in (see the package comment). A plan that is not ActionInstall installs
// nothing and returns an error.
func (u *Updater) Install(ctx context.Context, p Plan) (Installed, error) {
	if p.Action != ActionInstall {
		return Installed{}, fmt.Errorf("update: nothing to install: %s", p)
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	src, err := url.Parse(p.URL)
	if err != nil {
		return Installed{}, fmt.Errorf("update: asset URL: %w", err)
	}
	if p.Asset.Size > u.cfg.MaxSize {
		return Installed{}, fmt.Errorf("update: %w: %s has %d bytes, more than the %d allowed", ErrRefused, p.Asset.Name, p.Asset.Size, u.cfg.MaxSize)
	}
	staged, err := u.stage(ctx, src, p.Asset)
	if err != nil {
		return Installed{}, err
	}
	defer os.Remove(staged) // gone after the swap; removed when anything failed
	if err := trial(ctx, staged, p.Available, p.Platform); err != nil {
		return Installed{}, fmt.Errorf("update: %w: %s: %w", ErrRefused, p.Asset.Name, err)
	}
	if err := swap(u.exe, staged); err != nil {
		return Installed{}, fmt.Errorf("update: replace %s: %w", u.exe, err)
	}
	return Installed{From: p.Current, To: p.Available, Path: u.exe, Backup: p.Backup()}, nil
}

// Run checks the feed now and then every Interval (plus up to a tenth at
// random) until ctx ends, and returns nil then. After installing a release
// it waits until no operation holds the gate (trying again a minute later
// when DrainTimeout passes first) and returns a *RestartError; the caller
// stops the role and restarts (RestartError.Restart). Refusals and failures
// are logged, and the next check comes an interval later.
func (u *Updater) Run(ctx context.Context) error {
	u.log.Info("auto-update on", "release", u.current, "platform", u.cfg.platform(), "feed", u.feed.Redacted(),
		"interval", u.cfg.Interval, "binary", u.exe, "restart", u.cfg.Restart)
	for first := true; ; first = false {
		inst, err := u.once(ctx, first)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && inst != nil {
			return u.restartWhenIdle(ctx, *inst)
		}
		wait := u.cfg.Interval + rand.N(u.cfg.Interval/10+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// once is one check, and an install when the plan says so; it logs what it
// found.
func (u *Updater) once(ctx context.Context, first bool) (*Installed, error) {
	p, err := u.Check(ctx)
	if err != nil {
		u.logFailure(ctx, "release check", err)
		return nil, err
	}
	switch p.Action {
	case ActionCurrent:
		level := slog.LevelDebug
		if first {
			level = slog.LevelInfo
		}
		u.log.Log(ctx, level, "release is current", "release", p.Current)
		return nil, nil
	case ActionDowngrade:
		u.log.Warn("release refused: the feed offers an older release than the running one", "offered", p.Available, "running", p.Current)
		return nil, nil
	case ActionNoAsset:
		u.log.Warn("release has no binary for this platform", "release", p.Available, "platform", p.Platform)
		return nil, nil
	}
	u.log.Info("new release", "release", p.Available, "running", p.Current, "asset", p.Asset.Name, "size", p.Asset.Size, "url", p.URL)
	inst, err := u.Install(ctx, p)
	if err != nil {
		u.logFailure(ctx, "release install", err)
		return nil, err
	}
	u.log.Info("release installed", "release", inst.To, "was", inst.From, "binary", inst.Path, "backup", inst.Backup)
	return &inst, nil
}

// logFailure logs a refusal as an error and anything else (the network, a
// full disk) as a warning.
func (u *Updater) logFailure(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	if errors.Is(err, ErrRefused) {
		u.log.Error(what+" refused; the running binary is unchanged", "err", err)
		return
	}
	u.log.Warn(what+" failed; trying again at the next check", "err", err, "next_in", u.cfg.Interval)
}

// restartWhenIdle drains the gate and returns the restart; it returns nil
// when ctx ends first (the new binary runs at the next start).
func (u *Updater) restartWhenIdle(ctx context.Context, inst Installed) error {
	restart := &RestartError{From: inst.From, To: inst.To, Path: inst.Path, Exec: u.cfg.Restart == RestartExec}
	if u.gate == nil {
		return restart
	}
	retry := min(u.cfg.DrainTimeout, time.Minute)
	for {
		if n := u.gate.Held(); n > 0 {
			u.log.Info("restart waits for the operations in progress", "operations", n, "limit", u.cfg.DrainTimeout)
		}
		dctx, cancel := context.WithTimeout(ctx, u.cfg.DrainTimeout)
		err := u.gate.Drain(dctx)
		cancel()
		if err == nil {
			u.log.Info("no operation in progress: restarting", "release", inst.To)
			return restart
		}
		if ctx.Err() != nil {
			u.log.Info("stopping before the restart; the next start runs the new release", "release", inst.To)
			return nil
		}
		u.log.Warn("restart postponed: operations still in progress", "operations", u.gate.Held(), "waited", u.cfg.DrainTimeout, "retry_in", retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}
