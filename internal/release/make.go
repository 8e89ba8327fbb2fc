package release

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/compute/internal/version"
)

// Binary is one built binary of a release: its platform (version.Platform)
// and its file name in the release directory.
type Binary struct {
	Platform string
	Name     string
}

// WriteManifest describes the binaries in dir and writes the feed
// (release.json) and the checksums file (SHA256SUMS) beside them, replacing
// earlier ones. Neither is signed yet: SignFile does that.
func WriteManifest(dir, ver string, bins []Binary) (*Feed, error) {
	if _, err := version.ParseSemver(ver); err != nil {
		return nil, fmt.Errorf("release version: %w", err)
	}
	f := &Feed{Format: FeedFormat, Version: ver}
	for _, b := range bins {
		a, err := Describe(dir, b.Platform, b.Name)
		if err != nil {
			return nil, err
		}
		f.Assets = append(f.Assets, a)
	}
	data, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	if err := WriteFile(filepath.Join(dir, ChecksumsFile), Checksums(f.Assets), 0o644, true); err != nil {
		return nil, err
	}
	if err := WriteFile(filepath.Join(dir, FeedFile), data, 0o644, true); err != nil {
		return nil, err
	}
	return f, nil
}

// SignFile signs the file at path and writes its signature to
// path+SignatureSuffix.
func SignFile(sk minisign.PrivateKey, path string, now time.Time) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sig := Sign(sk, filepath.Base(path), data, now)
	return WriteFile(path+SignatureSuffix, sig, 0o644, true)
}

// VerifyFile checks the file at path against its signature at
// path+SignatureSuffix.
func VerifyFile(pk minisign.PublicKey, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sig, err := readSmall(path+SignatureSuffix, MaxSignatureSize)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if err := Verify(pk, data, sig); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
