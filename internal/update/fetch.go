package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/release"
)

// ErrIncomplete is wrapped by the error of a download that ended before the
// size the feed names (a cut connection, a server whose Content-Length lies).
var ErrIncomplete = errors.New("download incomplete")

// open starts reading u: a file:// path or an http(s):// GET answered 200.
// length is the size the source announces (-1 when it does not).
func (up *Updater) open(ctx context.Context, u *url.URL) (body io.ReadCloser, length int64, err error) {
	if u.Scheme == "file" {
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, 0, fmt.Errorf("%s is not a regular file", u.Path)
		}
		return f, st.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := up.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		return nil, 0, fmt.Errorf("HTTP %s: %s", resp.Status, clip.String(string(b), 120))
	}
	return resp.Body, resp.ContentLength, nil
}

// fetch reads a small file (the feed, a signature) of at most max bytes.
func (up *Updater) fetch(ctx context.Context, u *url.URL, max int64) ([]byte, error) {
	body, length, err := up.open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if length > max {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", length, max)
	}
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("more than the %d bytes allowed", max)
	}
	if length >= 0 && int64(len(data)) != length {
		return nil, fmt.Errorf("%w: %d of %d bytes", ErrIncomplete, len(data), length)
	}
	return data, nil
}

// stage downloads the asset into a new file beside the binary, checking its
// size and SHA-256 as it goes, syncs it and gives it the binary's mode; it
// returns the file's path. Nothing is left behind on failure.
func (up *Updater) stage(ctx context.Context, src *url.URL, a release.Asset) (path string, err error) {
	mode := os.FileMode(0o755)
	if st, err := os.Stat(up.exe); err == nil {
		mode = st.Mode().Perm() | 0o100 // owner-executable at least
	}
	tmp, err := os.CreateTemp(filepath.Dir(up.exe), "."+filepath.Base(up.exe)+".update-*")
	if err != nil {
		return "", fmt.Errorf("update: cannot write beside %s (the binary's directory must be writable by the user compute runs as): %w", up.exe, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	body, length, err := up.open(ctx, src)
	if err != nil {
		return "", fmt.Errorf("update: download %s: %w", src.Redacted(), err)
	}
	defer body.Close()
	if length >= 0 && length != a.Size {
		return "", fmt.Errorf("update: %w: %s: the server announces %d bytes, the signed feed %d", ErrRefused, a.Name, length, a.Size)
	}
	h := sha256.New()
	pw := &progress{up: up, name: a.Name, total: a.Size, start: time.Now()}
	n, err := io.Copy(io.MultiWriter(tmp, h, pw), io.LimitReader(body, a.Size+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("update: %w: %w: %s: %d of %d bytes: %w", ErrRefused, ErrIncomplete, a.Name, n, a.Size, err)
	case n < a.Size:
		return "", fmt.Errorf("update: %w: %w: %s: %d of %d bytes", ErrRefused, ErrIncomplete, a.Name, n, a.Size)
	case n > a.Size:
		return "", fmt.Errorf("update: %w: %s is larger than the %d bytes the signed feed names", ErrRefused, a.Name, a.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 {
		return "", fmt.Errorf("update: %w: %s: SHA-256 %s, the signed feed names %s", ErrRefused, a.Name, got, a.SHA256)
	}
	if err := tmp.Chmod(mode); err != nil {
		return "", fmt.Errorf("update: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("update: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("update: %w", err)
	}
	up.log.Info("release downloaded and verified", "asset", a.Name, "bytes", n, "elapsed", time.Since(pw.start).Round(time.Millisecond))
	return tmp.Name(), nil
}

// progress logs a download at each quarter.
type progress struct {
	up          *Updater
	name        string
	total, done int64
	quarter     int64
	start       time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if q := p.done * 4 / max(p.total, 1); q > p.quarter && q < 4 {
		p.quarter = q
		p.up.log.Info("downloading release", "asset", p.name, "percent", q*25, "bytes", p.done, "of", p.total,
			"elapsed", time.Since(p.start).Round(time.Millisecond))
	}
	return len(b), nil
}
