package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/release"
	"github.com/sn27/compute/internal/version"
)

// trialTimeout bounds the staged binary's `version` run.
const trialTimeout = 30 * time.Second

// trial runs the staged binary's `version` and checks that it names the
// release and platform the feed promised: a binary for another architecture,
// a damaged one or another release is refused before it replaces anything.
func trial(ctx context.Context, path, release, platform string) error {
	ctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	var out bytes.Buffer
	run := func() error {
		out.Reset()
		cmd := exec.CommandContext(ctx, path, "version")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.TempDir()}
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	}
	err := run()
	// A child forked elsewhere in this process may briefly hold the file's
	// write descriptor from before it was closed: "text file busy".
	for try := 0; errors.Is(err, syscall.ETXTBSY) && try < 5; try++ {
		time.Sleep(100 * time.Millisecond)
		err = run()
	}
	if err != nil {
		return fmt.Errorf("it does not run here (`version`: %w): %s", err, clip.String(string(bytes.TrimSpace(out.Bytes())), 200))
	}
	want := version.ReleaseLine(release, platform)
	for _, line := range bytes.Split(out.Bytes(), []byte("\n")) {
		if string(bytes.TrimSpace(line)) == want {
			return nil
		}
	}
	return fmt.Errorf("its `version` does not say %q: %s", want, clip.String(string(bytes.TrimSpace(out.Bytes())), 200))
}

// swap puts staged in place of exe: the current binary is linked (or, where
// links are not supported, copied) to exe.old, then staged is renamed over
// exe, so that exe always names a complete binary; the directory is synced.
func swap(exe, staged string) error {
	backup := exe + ".old"
	tmp := staged + ".old"
	if err := os.Link(exe, tmp); err != nil {
		if err := copyFile(exe, tmp); err != nil {
			return fmt.Errorf("keep the current binary: %w", err)
		}
	}
	if err := os.Rename(tmp, backup); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keep the current binary as %s: %w", backup, err)
	}
	if err := os.Rename(staged, exe); err != nil {
		return err
	}
	release.SyncDir(filepath.Dir(exe))
	return nil
}

// copyFile copies src to a new file dst with src's mode, synced.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Sync(), f.Close())
	if err != nil {
		os.Remove(dst)
	}
	return err
}
