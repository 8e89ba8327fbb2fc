package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/release"
)

// The environment of compute release (and scripts/release.sh).
const (
	envReleaseKey         = "COMPUTE_RELEASE_KEY"
	envReleaseKeyPassword = "COMPUTE_RELEASE_KEY_PASSWORD"
)

func newReleaseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Make and check signed releases: keys, the feed and checksums, signatures",
		Long: `release holds what scripts/release.sh needs besides go build: an Ed25519 signing key
in minisign's format, the release feed (` + release.FeedFile + `) and checksums file (` + release.ChecksumsFile + `) of the
built binaries, and minisign signatures over both (<file>` + release.SignatureSuffix + `), which the minisign tool
also verifies. The secret key's path comes from --secret-key or $` + envReleaseKey + `, its password
from $` + envReleaseKeyPassword + ` or a prompt. See docs/releases.md.`,
	}
	cmd.AddCommand(newReleaseKeygenCommand(), newReleasePubkeyCommand(), newReleaseManifestCommand(),
		newReleaseSignCommand(), newReleaseVerifyCommand())
	return cmd
}

// secretKeyPath is --secret-key, else $COMPUTE_RELEASE_KEY.
func secretKeyPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := os.Getenv(envReleaseKey); p != "" {
		return p, nil
	}
	return "", usageError{fmt.Errorf("no secret key: pass --secret-key or set $%s", envReleaseKey)}
}

// readReleaseKey reads the secret key, asking for its password when it is
// encrypted and $COMPUTE_RELEASE_KEY_PASSWORD is not set.
func readReleaseKey(cmd *cobra.Command, flag string) (minisign.PrivateKey, error) {
	path, err := secretKeyPath(flag)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	password := os.Getenv(envReleaseKeyPassword)
	sk, err := release.ReadSecretKey(path, password)
	if errors.Is(err, release.ErrKeyEncrypted) {
		ask := promptFunc(cmd)
		if ask == nil {
			return minisign.PrivateKey{}, fmt.Errorf("%w: set $%s or run in a terminal", err, envReleaseKeyPassword)
		}
		if password, err = ask("Password of the release key " + path + ": "); err != nil {
			return minisign.PrivateKey{}, err
		}
		sk, err = release.ReadSecretKey(path, password)
	}
	return sk, err
}

func newReleaseKeygenCommand() *cobra.Command {
	var secret, public string
	var noPassword, overwrite bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a release signing key pair (minisign format)",
		Long: `keygen writes a new Ed25519 key pair in minisign's format: the secret key (mode 0600,
encrypted with the password from $` + envReleaseKeyPassword + ` or a prompt, unless --no-password) and
the public key, whose second line is what release.sh builds into releases and
--update.public_key takes. It prints the public key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := secretKeyPath(secret)
			if err != nil {
				return err
			}
			if public == "" {
				public = strings.TrimSuffix(path, filepath.Ext(path)) + ".pub"
			}
			password := ""
			if !noPassword {
				if password = os.Getenv(envReleaseKeyPassword); password == "" {
					ask := promptFunc(cmd)
					if ask == nil {
						return usageError{fmt.Errorf("no password for the secret key: set $%s, run in a terminal or pass --no-password", envReleaseKeyPassword)}
					}
					if password, err = askNewPassword(ask, cmd.ErrOrStderr(), "release"); err != nil {
						return err
					}
				}
			}
			pk, sk, err := release.GenerateKey()
			if err != nil {
				return err
			}
			text, err := release.EncodeSecretKey(sk, password)
			if err != nil {
				return err
			}
			if !overwrite {
				for _, p := range []string{path, public} {
					if _, err := os.Lstat(p); err == nil {
						return fmt.Errorf("%s: %w; pass --overwrite to replace it", p, release.ErrExists)
					}
				}
			}
			for _, p := range []string{path, public} {
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					return err
				}
			}
			if err := release.WriteFile(path, text, 0o600, overwrite); err != nil {
				return err
			}
			if err := release.WriteFile(public, release.EncodePublicKey(pk), 0o644, overwrite); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "secret key %s, public key %s (key ID %s)\n", path, public, release.KeyID(pk.ID()))
			fmt.Fprintln(cmd.OutOrStdout(), pk.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&secret, "secret-key", "", "secret key file to write (default $"+envReleaseKey+")")
	cmd.Flags().StringVar(&public, "public-key", "", "public key file to write (default: the secret key's name with .pub)")
	cmd.Flags().BoolVar(&noPassword, "no-password", false, "store the secret key unencrypted")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace existing key files")
	return cmd
}

func newReleasePubkeyCommand() *cobra.Command {
	var secret string
	cmd := &cobra.Command{
		Use:   "pubkey",
		Short: "Print the public key of the release secret key (the value --update.public_key takes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sk, err := readReleaseKey(cmd, secret)
			if err != nil {
				return err
			}
			pk, ok := sk.Public().(minisign.PublicKey)
			if !ok {
				return errors.New("the secret key has no minisign public key")
			}
			fmt.Fprintln(cmd.OutOrStdout(), pk.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&secret, "secret-key", "", "secret key file (default $"+envReleaseKey+")")
	return cmd
}

func newReleaseManifestCommand() *cobra.Command {
	var dir, ver string
	cmd := &cobra.Command{
		Use:   "manifest PLATFORM=FILE...",
		Short: "Write the release feed and checksums file of the binaries in --dir",
		Long: `manifest describes each binary FILE (a file name in --dir) for its PLATFORM
("linux-amd64", "linux-arm64-nogpu", as compute version prints it) and writes
--dir/` + release.FeedFile + ` and --dir/` + release.ChecksumsFile + `. Each Linux binary must be an ELF executable for its
platform's architecture, and a -nogpu one statically linked. Sign both files with
compute release sign.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bins []release.Binary
			for _, a := range args {
				platform, name, ok := strings.Cut(a, "=")
				if !ok || platform == "" || name == "" {
					return usageError{fmt.Errorf("%q: want PLATFORM=FILE", a)}
				}
				if !release.ValidName(name) {
					return usageError{fmt.Errorf("%q: FILE is a file name in --dir", a)}
				}
				if err := release.CheckBinary(filepath.Join(dir, name), platform); err != nil {
					return err
				}
				bins = append(bins, release.Binary{Platform: platform, Name: name})
			}
			f, err := release.WriteManifest(dir, ver, bins)
			if err != nil {
				return err
			}
			for _, a := range f.Assets {
				fmt.Fprintf(cmd.OutOrStdout(), "%-20s %s %d bytes sha256 %s\n", a.Platform, a.Name, a.Size, a.SHA256)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "release directory holding the binaries")
	cmd.Flags().StringVar(&ver, "version", "", "release version (semantic, e.g. 1.5.0)")
	_ = cmd.MarkFlagRequired("version")
	return cmd
}

func newReleaseSignCommand() *cobra.Command {
	var secret string
	cmd := &cobra.Command{
		Use:   "sign FILE...",
		Short: "Sign files with the release secret key (writes FILE" + release.SignatureSuffix + ")",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sk, err := readReleaseKey(cmd, secret)
			if err != nil {
				return err
			}
			for _, f := range args {
				if err := release.SignFile(sk, f, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "signed %s (%s%s)\n", f, f, release.SignatureSuffix)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&secret, "secret-key", "", "secret key file (default $"+envReleaseKey+")")
	return cmd
}

func newReleaseVerifyCommand() *cobra.Command {
	var public string
	cmd := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Verify files against their signatures (FILE" + release.SignatureSuffix + ")",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if public == "" {
				return usageError{errors.New("no public key: pass --public-key")}
			}
			pk, err := release.LoadPublicKey(public)
			if err != nil {
				return usageError{err}
			}
			for _, f := range args {
				if err := release.VerifyFile(pk, f); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signature good (key %s)\n", f, release.KeyID(pk.ID()))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&public, "public-key", "", "public key as text (RW...) or a file")
	return cmd
}
