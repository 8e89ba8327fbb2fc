package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Describe reads the asset file at dir/name and returns its feed entry for
// platform.
func Describe(dir, platform, name string) (Asset, error) {
	if !ValidName(name) {
		return Asset{}, fmt.Errorf("asset %q: not a plain file name of letters, digits, '.', '_' and '-'", name)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return Asset{}, fmt.Errorf("asset: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, MaxAssetSize+1))
	if err != nil {
		return Asset{}, fmt.Errorf("asset %s: %w", name, err)
	}
	a := Asset{Platform: platform, Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if err := a.check(); err != nil {
		return Asset{}, fmt.Errorf("asset %s: %w", name, err)
	}
	return a, nil
}

// Checksums is the checksums file (SHA256SUMS) of the assets, as sha256sum
// writes it ("<sha256>  <name>" per line, by name), so that `sha256sum -c
// SHA256SUMS` checks a downloaded release.
func Checksums(assets []Asset) []byte {
	sorted := slices.Clone(assets)
	slices.SortFunc(sorted, func(a, b Asset) int { return strings.Compare(a.Name, b.Name) })
	var b bytes.Buffer
	for _, a := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", a.SHA256, a.Name)
	}
	return b.Bytes()
}

// ErrExists means a file would be replaced without leave to.
var ErrExists = errors.New("file exists")

// WriteFile writes data to path atomically (a temporary file beside it,
// synced, then renamed over it) with mode perm; with overwrite false an
// existing path is left alone and ErrExists returned.
func WriteFile(path string, data []byte, perm os.FileMode, overwrite bool) error {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if !overwrite {
		// Link fails when path appeared meanwhile; rename would replace it.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s: %w", path, ErrExists)
			}
			return err
		}
		os.Remove(tmp.Name())
	} else if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	SyncDir(dir)
	return nil
}

// SyncDir flushes a directory's entries (after a rename in it); failures are
// ignored, as some file systems do not support it.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
