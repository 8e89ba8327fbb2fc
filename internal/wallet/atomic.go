package wallet

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ensureDir creates dir (and parents) with mode 0700 when missing.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("wallet: create directory %s: %w", dir, err)
	}
	return nil
}

// existsError reports an existing key file the caller must opt in to replace.
func existsError(path string) error {
	return fmt.Errorf("%w: %s", ErrKeyExists, path)
}

// writeFileAtomic writes data to path through a 0600 temp file in the same
// directory: write, fsync, then rename (or, without overwrite, hard-link so
// that an existing file is never replaced), then fsync the directory.
func writeFileAtomic(path string, data []byte, overwrite bool) (err error) {
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return err
	}
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return existsError(path)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("wallet: create temp file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("wallet: chmod %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("wallet: write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("wallet: sync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("wallet: close %s: %w", tmpName, err)
	}
	if overwrite {
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("wallet: replace %s: %w", path, err)
		}
	} else {
		if err := os.Link(tmpName, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return existsError(path)
			}
			return fmt.Errorf("wallet: create %s: %w", path, err)
		}
		_ = os.Remove(tmpName)
	}
	syncDir(dir)
	return nil
}

// syncDir flushes a directory entry; failures are ignored (not all
// filesystems support it, and the file itself is already synced).
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// readKeyfile reads a key file, bounding its size.
func readKeyfile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrKeyfileNotFound, path)
		}
		return nil, fmt.Errorf("wallet: open %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("wallet: read %s: %w", path, err)
	}
	if len(data) > maxKeyfileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorruptKeyfile, path, maxKeyfileSize)
	}
	return data, nil
}
