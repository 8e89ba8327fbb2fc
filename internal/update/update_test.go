package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/compute/internal/release"
	"github.com/sn27/compute/internal/version"
)

const testPlatform = "linux-amd64"

// program is a stand-in binary: a shell script that answers `version` as
// compute does for rel.
func program(rel string) []byte {
	return []byte("#!/bin/sh\necho 'compute 1.4.2 (version_key 142)'\necho '" + version.ReleaseLine(rel, testPlatform) + "'\n")
}

// releaseServer serves releases over real HTTP: files by path, some cut
// short after announcing their full Content-Length.
type releaseServer struct {
	mu       sync.Mutex
	files    map[string][]byte
	truncate map[string]bool
	gets     map[string]int
}

func newReleaseServer(t *testing.T) (*releaseServer, *httptest.Server) {
	s := &releaseServer{files: map[string][]byte{}, truncate: map[string]bool{}, gets: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *releaseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.URL.Path]
	cut := s.truncate[r.URL.Path]
	s.gets[r.URL.Path]++
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if cut {
		// The Content-Length promises every byte; half come, then the
		// connection closes.
		w.Write(data[:len(data)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	w.Write(data)
}

// put stores a file.
func (s *releaseServer) put(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
}

// spec is one release on the server.
type spec struct {
	version string
	asset   []byte // what the feed describes (and is served, unless served is set)
	served  []byte // served instead of asset
	signer  minisign.PrivateKey
	after   func([]byte) []byte // changes the feed after signing
	cut     bool                // the asset's download is cut short
}

// publish puts a release under /<dir>/ and returns its feed URL.
func (s *releaseServer) publish(t *testing.T, base, dir string, sp spec) string {
	t.Helper()
	name := "compute-" + sp.version + "-" + testPlatform
	sum := sha256.Sum256(sp.asset)
	feed := &release.Feed{Format: release.FeedFormat, Version: sp.version, Assets: []release.Asset{
		{Platform: testPlatform, Name: name, Size: int64(len(sp.asset)), SHA256: hex.EncodeToString(sum[:])},
		{Platform: "linux-arm64", Name: name + "-arm64", Size: 1, SHA256: strings.Repeat("0", 64)},
	}}
	doc, err := feed.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig := release.Sign(sp.signer, release.FeedFile, doc, time.Now())
	if sp.after != nil {
		doc = sp.after(doc)
	}
	served := sp.asset
	if sp.served != nil {
		served = sp.served
	}
	s.put("/"+dir+"/"+release.FeedFile, doc)
	s.put("/"+dir+"/"+release.FeedFile+release.SignatureSuffix, sig)
	s.put("/"+dir+"/"+name, served)
	if sp.cut {
		s.mu.Lock()
		s.truncate["/"+dir+"/"+name] = true
		s.mu.Unlock()
	}
	return base + "/" + dir + "/" + release.FeedFile
}

// installation is a binary to replace, in a directory of its own.
type installation struct {
	dir, exe string
	original []byte
}

func newInstallation(t *testing.T, rel string) *installation {
	t.Helper()
	dir := t.TempDir()
	in := &installation{dir: dir, exe: filepath.Join(dir, "compute"), original: program(rel)}
	if err := os.WriteFile(in.exe, in.original, 0o755); err != nil {
		t.Fatal(err)
	}
	return in
}

// untouched fails unless the binary is as it was and nothing else is in its
// directory (no backup, no staged download).
func (in *installation) untouched(t *testing.T) {
	t.Helper()
	got, err := os.ReadFile(in.exe)
	if err != nil || !bytes.Equal(got, in.original) {
		t.Fatalf("the binary changed (%v):\n%s", err, got)
	}
	if names := in.names(t); !slices.Equal(names, []string{"compute"}) {
		t.Fatalf("the binary's directory holds %v", names)
	}
}

func (in *installation) names(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(in.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func newUpdater(t *testing.T, feed string, pk minisign.PublicKey, in *installation, current string, deps Deps) *Updater {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Feed, cfg.PublicKey = feed, pk.String()
	cfg.Executable, cfg.Current, cfg.Platform = in.exe, current, testPlatform
	cfg.Interval = MinInterval
	cfg.Timeout = time.Minute
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	u, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newKeys(t *testing.T) (minisign.PublicKey, minisign.PrivateKey) {
	t.Helper()
	pk, sk, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pk, sk
}

// TestReleaseServer: a local release server serves a good release, a tampered
// one, a downgrade, a truncated one and other bad ones; only the good one is
// installed, and after each of the others the binary is untouched.
func TestReleaseServer(t *testing.T) {
	pk, sk := newKeys(t)
	_, otherSK := newKeys(t)
	s, srv := newReleaseServer(t)
	good := program("1.5.1")
	evil := []byte("#!/bin/sh\necho owned\n")
	in := newInstallation(t, "1.5.0")
	ctx := context.Background()

	refused := []struct {
		name   string
		spec   spec
		action Action  // the plan's action when Check succeeds
		want   []error // what Check or Install returns
		text   string
	}{
		{"tampered feed", spec{version: "1.5.1", asset: good, signer: sk, after: func(doc []byte) []byte {
			sum := sha256.Sum256(evil)
			return bytes.Replace(doc, []byte(hex.EncodeToString(func() []byte { s := sha256.Sum256(good); return s[:] }())), []byte(hex.EncodeToString(sum[:])), 1)
		}}, "", []error{ErrRefused, release.ErrBadSignature}, "does not match"},
		{"signed by another key", spec{version: "1.5.1", asset: good, signer: otherSK}, "", []error{ErrRefused, release.ErrBadSignature}, "not by the trusted key"},
		{"downgrade", spec{version: "1.4.9", asset: program("1.4.9"), signer: sk}, ActionDowngrade, nil, "downgrade is refused"},
		{"same version", spec{version: "1.5.0", asset: program("1.5.0"), signer: sk}, ActionCurrent, nil, "current release"},
		{"truncated download", spec{version: "1.5.1", asset: good, signer: sk, cut: true}, ActionInstall, []error{ErrRefused, ErrIncomplete}, "of " + strconv.Itoa(len(good)) + " bytes"},
		{"asset not matching its checksum", spec{version: "1.5.1", asset: good, served: append(bytes.Clone(good[:len(good)-2]), "#\n"...), signer: sk}, ActionInstall, []error{ErrRefused}, "SHA-256"},
		{"binary naming another release", spec{version: "1.5.1", asset: program("1.5.2"), signer: sk}, ActionInstall, []error{ErrRefused}, `does not say "release 1.5.1 (platform linux-amd64)"`},
		{"binary that does not run", spec{version: "1.5.1", asset: []byte("\x7fELF not really"), signer: sk}, ActionInstall, []error{ErrRefused}, "does not run here"},
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			feed := s.publish(t, srv.URL, "r"+strconv.Itoa(i), tc.spec)
			u := newUpdater(t, feed, pk, in, "1.5.0", Deps{})
			p, err := u.Check(ctx)
			if err == nil {
				if p.Action != tc.action {
					t.Fatalf("plan %+v, want action %s", p, tc.action)
				}
				if p.Action != ActionInstall {
					if !strings.Contains(p.String(), tc.text) {
						t.Fatalf("plan %q lacks %q", p, tc.text)
					}
					_, err = u.Install(ctx, p)
					if err == nil {
						t.Fatal("Install installed a plan that is not an install")
					}
					in.untouched(t)
					return
				}
				_, err = u.Install(ctx, p)
			}
			if err == nil {
				t.Fatal("installed")
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q lacks %q", err, tc.text)
			}
			in.untouched(t)
		})
	}

	// The good release is installed: its bytes in place, the old ones kept.
	feed := s.publish(t, srv.URL, "good", spec{version: "1.5.1", asset: good, signer: sk})
	u := newUpdater(t, feed, pk, in, "1.5.0", Deps{})
	p, err := u.Check(ctx)
	if err != nil || p.Action != ActionInstall || p.Asset.Size != int64(len(good)) {
		t.Fatalf("plan %+v, %v", p, err)
	}
	if want := srv.URL + "/good/compute-1.5.1-linux-amd64"; p.URL != want {
		t.Fatalf("asset URL %s, want %s", p.URL, want)
	}
	inst, err := u.Install(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if inst.To != "1.5.1" || inst.From != "1.5.0" || inst.Backup != in.exe+".old" {
		t.Fatalf("installed %+v", inst)
	}
	if got, _ := os.ReadFile(in.exe); !bytes.Equal(got, good) {
		t.Fatalf("the binary after the install:\n%s", got)
	}
	if got, _ := os.ReadFile(in.exe + ".old"); !bytes.Equal(got, in.original) {
		t.Fatalf("the backup:\n%s", got)
	}
	if st, err := os.Stat(in.exe); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("the new binary's mode: %v %v", st.Mode(), err)
	}
	if names := in.names(t); !slices.Equal(names, []string{"compute", "compute.old"}) {
		t.Fatalf("the binary's directory holds %v", names)
	}
}

// TestDevBuildInstallsByHand: a development build installs any release by
// hand, but Disabled keeps the periodic updater off for it.
func TestDevBuildInstallsByHand(t *testing.T) {
	pk, sk := newKeys(t)
	s, srv := newReleaseServer(t)
	feed := s.publish(t, srv.URL, "r", spec{version: "1.4.0", asset: program("1.4.0"), signer: sk})
	in := newInstallation(t, version.Dev)
	u := newUpdater(t, feed, pk, in, version.Dev, Deps{})
	p, err := u.Check(context.Background())
	if err != nil || p.Action != ActionInstall {
		t.Fatalf("plan %+v, %v", p, err)
	}
	cfg := DefaultConfig()
	cfg.Feed, cfg.PublicKey, cfg.Current = feed, pk.String(), version.Dev
	if err := cfg.Disabled(); !errors.Is(err, ErrDevBuild) {
		t.Fatalf("Disabled for a dev build: %v", err)
	}
}

// TestFileFeed: a file:// feed is read from disk, as a release directory
// written by WriteManifest and signed.
func TestFileFeed(t *testing.T) {
	pk, sk := newKeys(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compute-1.6.0-rc.1-linux-amd64"), program("1.6.0-rc.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := release.WriteManifest(dir, "1.6.0-rc.1", []release.Binary{{Platform: testPlatform, Name: "compute-1.6.0-rc.1-linux-amd64"}}); err != nil {
		t.Fatal(err)
	}
	if err := release.SignFile(sk, filepath.Join(dir, release.FeedFile), time.Now()); err != nil {
		t.Fatal(err)
	}
	in := newInstallation(t, "1.5.0")
	feed := (&url.URL{Scheme: "file", Path: filepath.Join(dir, release.FeedFile)}).String()
	u := newUpdater(t, feed, pk, in, "1.5.0", Deps{})
	p, err := u.Check(context.Background())
	if err != nil || p.Action != ActionInstall {
		t.Fatalf("plan %+v, %v", p, err)
	}
	if _, err := u.Install(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(in.exe); !bytes.Equal(got, program("1.6.0-rc.1")) {
		t.Fatalf("the binary after the install:\n%s", got)
	}
}

// syncBuffer is a log sink safe for the updater's goroutine and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunWaitsForTheGate: Run installs a release at once, then waits while an
// operation holds the gate, and returns the restart only after it ends.
func TestRunWaitsForTheGate(t *testing.T) {
	pk, sk := newKeys(t)
	s, srv := newReleaseServer(t)
	good := program("1.5.1")
	feed := s.publish(t, srv.URL, "r", spec{version: "1.5.1", asset: good, signer: sk})
	in := newInstallation(t, "1.5.0")
	gate := NewGate()
	var logs syncBuffer
	u := newUpdater(t, feed, pk, in, "1.5.0", Deps{Gate: gate, Log: slog.New(slog.NewTextHandler(&logs, nil))})

	release, err := gate.Hold(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "restart waits for the operations in progress") {
		if time.Now().After(deadline) {
			t.Fatalf("no wait logged:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, _ := os.ReadFile(in.exe); !bytes.Equal(got, good) {
		t.Fatal("the release was not installed before the wait")
	}
	notYet(t, done, "the restart while an operation holds the gate")
	release()
	err = within(t, done, "the restart after the operation ended")
	var restart *RestartError
	if !errors.As(err, &restart) || restart.To != "1.5.1" || restart.From != "1.5.0" || restart.Path != in.exe || !restart.Exec {
		t.Fatalf("Run returned %v (%+v)", err, restart)
	}
	if restart.ExitCode() != RestartExitCode || RestartExitCode != 75 {
		t.Fatalf("exit code %d", restart.ExitCode())
	}
	// The gate stays closed for the restart.
	hctx, hcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer hcancel()
	if _, err := gate.Hold(hctx); !errors.Is(err, ErrRestarting) {
		t.Fatalf("a hold after the drain: %v", err)
	}
	for _, want := range []string{"auto-update on", "release downloaded and verified", "release installed", "no operation in progress: restarting"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestRunLogsRefusals: Run logs a refused release as an error, keeps the
// binary and goes on until its context ends.
func TestRunLogsRefusals(t *testing.T) {
	pk, _ := newKeys(t)
	_, otherSK := newKeys(t)
	s, srv := newReleaseServer(t)
	feed := s.publish(t, srv.URL, "r", spec{version: "1.5.1", asset: program("1.5.1"), signer: otherSK})
	in := newInstallation(t, "1.5.0")
	var logs syncBuffer
	u := newUpdater(t, feed, pk, in, "1.5.0", Deps{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "release check refused; the running binary is unchanged") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := within(t, done, "Run's return"); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	in.untouched(t)
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("the refusal is not an error:\n%s", logs.String())
	}
}

func TestConfigValidate(t *testing.T) {
	pk, _ := newKeys(t)
	base := DefaultConfig()
	base.Feed, base.PublicKey = "https://example.org/compute/release.json", pk.String()
	tests := []struct {
		name   string
		change func(*Config)
		field  string
	}{
		{"ok", func(*Config) {}, ""},
		{"file feed", func(c *Config) { c.Feed = "file:///srv/compute/release.json" }, ""},
		{"no feed, no key", func(c *Config) { c.Feed, c.PublicKey = "", "" }, ""},
		{"ftp feed", func(c *Config) { c.Feed = "ftp://example.org/release.json" }, "update.Config.Feed"},
		{"bare path", func(c *Config) { c.Feed = "/srv/release.json" }, "update.Config.Feed"},
		{"directory", func(c *Config) { c.Feed = "https://example.org/compute/" }, "update.Config.Feed"},
		{"no host", func(c *Config) { c.Feed = "https:///release.json" }, "update.Config.Feed"},
		{"bad key", func(c *Config) { c.PublicKey = "RWnotakey" }, "update.Config.PublicKey"},
		{"short interval", func(c *Config) { c.Interval = time.Second }, "update.Config.Interval"},
		{"restart mode", func(c *Config) { c.Restart = "reboot" }, "update.Config.Restart"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "update.Config.Timeout"},
		{"drain timeout", func(c *Config) { c.DrainTimeout = -1 }, "update.Config.DrainTimeout"},
		{"max size", func(c *Config) { c.MaxSize = 2 << 30 }, "update.Config.MaxSize"},
	}
	for _, tc := range tests {
		c := base
		tc.change(&c)
		err := c.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.field+": ") {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.field)
		}
	}
	for _, tc := range []struct {
		change func(*Config)
		want   error
	}{
		{func(c *Config) { c.Current = "1.5.0" }, nil},
		{func(c *Config) { c.Current, c.Feed = "1.5.0", "" }, ErrNoFeed},
		{func(c *Config) { c.Current, c.PublicKey = "1.5.0", "" }, ErrNoPublicKey},
		{func(c *Config) { c.Current = "" }, ErrDevBuild}, // a test binary is a dev build
	} {
		c := base
		tc.change(&c)
		if err := c.Disabled(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Disabled() = %v, want %v", err, tc.want)
		}
	}
}
