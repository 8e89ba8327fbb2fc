package release

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/version"
)

// File names of a release, beside its assets.
const (
	FeedFile      = "release.json"
	ChecksumsFile = "SHA256SUMS"
	// SignatureSuffix is appended to a signed file's name (release.json.minisig).
	SignatureSuffix = ".minisig"
)

// Limits on what a feed may hold and how large its files may be.
const (
	// FeedFormat is the feed format this build writes and reads.
	FeedFormat = 1
	// MaxFeedSize bounds a feed document.
	MaxFeedSize = 64 << 10
	// MaxSignatureSize bounds a minisign signature file.
	MaxSignatureSize = 4 << 10
	// MaxAssetSize bounds an asset a feed may announce.
	MaxAssetSize = 1 << 30
	// MaxAssets bounds the assets of one feed.
	MaxAssets         = 64
	maxNameLength     = 128
	maxPlatformLength = 64
)

// ErrInvalidFeed is wrapped by every error of ParseFeed.
var ErrInvalidFeed = errors.New("invalid release feed")

// Feed is the release feed document auto-update reads (release.json). It is
// signed (release.json.minisig), so everything the updater trusts, the
// version and each asset's size and SHA-256, is covered by the signature.
type Feed struct {
	// Format is FeedFormat; a newer format is refused, not misread.
	Format int `json:"format"`
	// Version is the release version, a semantic version ("1.5.0").
	Version string `json:"version"`
	// Assets are the binaries, one per platform.
	Assets []Asset `json:"assets"`
}

// Asset is one binary of a release.
type Asset struct {
	// Platform is what the binary runs on, as version.Platform names it
	// ("linux-amd64", "linux-arm64-nogpu").
	Platform string `json:"platform"`
	// Name is the asset's file name, beside the feed (no directory).
	Name string `json:"name"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the file's SHA-256, 64 lowercase hex digits.
	SHA256 string `json:"sha256"`
}

// ParseFeed reads a feed document strictly: the known format, a semantic
// version, at least one asset, each with a platform and plain file name of
// the allowed characters, a size within MaxAssetSize and a SHA-256; no
// platform twice. Unknown fields are ignored, so that a later format can add
// some; trailing data is refused.
func ParseFeed(data []byte) (*Feed, error) {
	fail := func(format string, args ...any) (*Feed, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidFeed, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxFeedSize {
		return fail("%d bytes, more than the %d a feed may have", len(data), MaxFeedSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var f Feed
	if err := dec.Decode(&f); err != nil {
		return fail("%s", clip.String(err.Error(), 200))
	}
	if dec.More() {
		return fail("data after the JSON document")
	}
	if f.Format != FeedFormat {
		if f.Format > FeedFormat {
			return fail("format %d is newer than this build reads (%d): update compute by hand", f.Format, FeedFormat)
		}
		return fail("format %d, want %d", f.Format, FeedFormat)
	}
	if _, err := version.ParseSemver(f.Version); err != nil {
		return fail("version: %v", err)
	}
	if len(f.Assets) == 0 {
		return fail("no assets")
	}
	if len(f.Assets) > MaxAssets {
		return fail("%d assets, more than %d", len(f.Assets), MaxAssets)
	}
	seen := map[string]bool{}
	for i, a := range f.Assets {
		if err := a.check(); err != nil {
			return fail("asset %d: %v", i, err)
		}
		if seen[a.Platform] {
			return fail("platform %s listed twice", a.Platform)
		}
		seen[a.Platform] = true
	}
	return &f, nil
}

// check validates one asset entry.
func (a Asset) check() error {
	if !validPlatform(a.Platform) {
		return fmt.Errorf("platform %q: want lowercase letters, digits and '-', at most %d", clip.String(a.Platform, 80), maxPlatformLength)
	}
	if !ValidName(a.Name) {
		return fmt.Errorf("name %q: want a plain file name of letters, digits, '.', '_' and '-', at most %d, not starting with '.'", clip.String(a.Name, 160), maxNameLength)
	}
	if a.Size <= 0 || a.Size > MaxAssetSize {
		return fmt.Errorf("size %d: want 1 to %d bytes", a.Size, MaxAssetSize)
	}
	if len(a.SHA256) != 64 || strings.ToLower(a.SHA256) != a.SHA256 {
		return fmt.Errorf("sha256 %q: want 64 lowercase hex digits", clip.String(a.SHA256, 80))
	}
	if _, err := hex.DecodeString(a.SHA256); err != nil {
		return fmt.Errorf("sha256 %q: want 64 lowercase hex digits", clip.String(a.SHA256, 80))
	}
	return nil
}

// ValidName reports whether name may name a release file: a plain file name
// (no directory, not "." or "..", not hidden) of letters, digits, '.', '_'
// and '-'.
func ValidName(name string) bool {
	if name == "" || len(name) > maxNameLength || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validPlatform(p string) bool {
	if p == "" || len(p) > maxPlatformLength || p[0] == '-' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// Asset returns the asset for platform.
func (f *Feed) Asset(platform string) (Asset, bool) {
	i := slices.IndexFunc(f.Assets, func(a Asset) bool { return a.Platform == platform })
	if i < 0 {
		return Asset{}, false
	}
	return f.Assets[i], true
}

// Platforms lists the feed's platforms in its order.
func (f *Feed) Platforms() []string {
	out := make([]string, len(f.Assets))
	for i, a := range f.Assets {
		out[i] = a.Platform
	}
	return out
}

// Marshal is the feed as written to release.json: indented JSON ending in a
// newline. It checks the feed as ParseFeed would.
func (f *Feed) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	if _, err := ParseFeed(data); err != nil {
		return nil, err
	}
	return data, nil
}
