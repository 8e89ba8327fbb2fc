package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sn27/compute/internal/wallet"
)

// walletUsageError marks bad flag combinations (exit code 2).
type walletUsageError struct{ err error }

func (e walletUsageError) Error() string { return e.err.Error() }
func (e walletUsageError) Unwrap() error { return e.err }
func (e walletUsageError) ExitCode() int { return exitUsage }

func walletUsage(format string, a ...any) error {
	return walletUsageError{fmt.Errorf(format, a...)}
}

func newWalletCommand() *cobra.Command {
	wo := &walletOptions{}
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Create, restore and inspect Bittensor wallets",
		Long: `Manage btcli-compatible wallets: <wallet.path>/<wallet.name>/coldkey (encrypted with
$NACL unless --no-password), coldkeypub.txt, hotkeys/<wallet.hotkey> and hotkeys/<wallet.hotkey>pub.txt.

Passwords come from ` + wallet.EnvColdPasswordPrefix + `<WALLET NAME> or ` + wallet.EnvPassword + ` when set,
otherwise from a prompt when stdin is a terminal. A wrong password exits with code 12.`,
	}
	wo.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newWalletNewCommand(wo),
		newWalletRegenCommand(wo),
		newWalletNewHotkeyCommand(wo),
		newWalletListCommand(wo),
		newWalletInspectCommand(wo),
	)
	return cmd
}

// terminalIn returns the file descriptor of in when it is a terminal.
func terminalIn(in io.Reader) (int, bool) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// promptFunc reads a password without echo, or is nil when stdin is not a terminal.
func promptFunc(cmd *cobra.Command) wallet.PasswordFunc {
	fd, ok := terminalIn(cmd.InOrStdin())
	if !ok {
		return nil
	}
	return func(prompt string) (string, error) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
}

// minPasswordLength is the shortest new coldkey password accepted at the prompt.
const minPasswordLength = 8

// newPassword returns the password for a new coldkey: from the environment
// (a short one is accepted with a warning, for automation), else asked twice
// on a terminal.
func newPassword(cmd *cobra.Command, w *wallet.Wallet) (string, error) {
	if pw, source, ok := w.EnvPassword(); ok {
		if utf8.RuneCountInString(pw) < minPasswordLength {
			fmt.Fprintf(cmd.ErrOrStderr(), "Warning: the password from %s is shorter than %d characters; it is accepted, but anyone who copies the coldkey file can guess it quickly.\n",
				source, minPasswordLength)
		}
		return pw, nil
	}
	ask := promptFunc(cmd)
	if ask == nil {
		return "", fmt.Errorf("%w: no password for the new coldkey of wallet %q: run in a terminal, set %s or %s%s, or pass --no-password",
			wallet.ErrNoPassword, w.Name, wallet.EnvPassword, wallet.EnvColdPasswordPrefix, strings.ToUpper(w.Name))
	}
	return askNewPassword(ask, cmd.ErrOrStderr(), w.Name)
}

// askNewPassword asks for a new coldkey password and its repetition, up to
// three times; an empty or short password is refused with the reason on out.
func askNewPassword(ask wallet.PasswordFunc, out io.Writer, name string) (string, error) {
	for range 3 {
		pw, err := ask(fmt.Sprintf("Password to encrypt the coldkey of wallet %q (at least %d characters): ", name, minPasswordLength))
		if err != nil {
			return "", err
		}
		if pw == "" {
			fmt.Fprintln(out, "The password must not be empty (use --no-password for an unencrypted coldkey).")
			continue
		}
		if n := utf8.RuneCountInString(pw); n < minPasswordLength {
			fmt.Fprintf(out, "The password is too short (%d characters): use at least %d; try again.\n", n, minPasswordLength)
			continue
		}
		again, err := ask("Repeat the password: ")
		if err != nil {
			return "", err
		}
		if pw == again {
			return pw, nil
		}
		fmt.Fprintln(out, "The passwords differ; try again.")
	}
	return "", errors.New("no acceptable password entered after 3 tries")
}

// refuseExisting fails with ErrKeyExists when any of paths exists.
func refuseExisting(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%w: %s", wallet.ErrKeyExists, p)
		}
	}
	return nil
}

const mnemonicWarning = `IMPORTANT: write the mnemonic(s) below down and keep them offline. They are shown only
once and are the only way to restore the keys; anyone who has them controls the keys.`

func newWalletNewCommand(wo *walletOptions) *cobra.Command {
	var words int
	var noPassword, overwrite bool
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Create a wallet: a new coldkey and hotkey",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := wo.Open()
			if !overwrite {
				if err := refuseExisting(w.ColdkeyPath(), w.ColdkeyPubPath(), w.HotkeyPath(), w.HotkeyPubPath()); err != nil {
					return err
				}
			}
			password := ""
			if !noPassword {
				var err error
				if password, err = newPassword(cmd, w); err != nil {
					return err
				}
			}
			cold, coldPhrase, err := generateKey(words)
			if err != nil {
				return err
			}
			hot, hotPhrase, err := generateKey(words)
			if err != nil {
				return err
			}
			noteKDF(cmd, password)
			if err := w.WriteColdkey(cold, password, overwrite); err != nil {
				return err
			}
			if err := w.WriteHotkey(hot, overwrite); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created wallet %q in %s\n", w.Name, w.Dir())
			fmt.Fprintf(out, "  coldkey %s (%s)\n", cold.SS58Address(), encryptionNote(password))
			fmt.Fprintf(out, "  hotkey  %s (%s)\n\n", hot.SS58Address(), w.HotkeyName)
			fmt.Fprintln(out, mnemonicWarning)
			fmt.Fprintf(out, "  coldkey mnemonic: %s\n", coldPhrase)
			fmt.Fprintf(out, "  hotkey mnemonic:  %s\n", hotPhrase)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&words, "n-words", 12, "mnemonic length: 12, 15, 18, 21 or 24 words")
	fs.BoolVar(&noPassword, "no-password", false, "store the coldkey unencrypted")
	fs.BoolVar(&overwrite, "overwrite", false, "replace existing key files")
	return cmd
}

func encryptionNote(password string) string {
	if password == "" {
		return "NOT encrypted"
	}
	return "encrypted"
}

func generateKey(words int) (*wallet.Keypair, string, error) {
	phrase, err := wallet.NewMnemonic(words)
	if err != nil {
		return nil, "", walletUsageError{err}
	}
	kp, err := wallet.FromMnemonic(phrase, "")
	if err != nil {
		return nil, "", err
	}
	return kp, phrase, nil
}

func newWalletNewHotkeyCommand(wo *walletOptions) *cobra.Command {
	var words int
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "new-hotkey",
		Short: "Add a new hotkey (--wallet.hotkey) to a wallet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := wo.Open()
			if !overwrite {
				if err := refuseExisting(w.HotkeyPath(), w.HotkeyPubPath()); err != nil {
					return err
				}
			}
			hot, phrase, err := generateKey(words)
			if err != nil {
				return err
			}
			if err := w.WriteHotkey(hot, overwrite); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created hotkey %q of wallet %q: %s\n\n", w.HotkeyName, w.Name, hot.SS58Address())
			fmt.Fprintln(out, mnemonicWarning)
			fmt.Fprintf(out, "  hotkey mnemonic: %s\n", phrase)
			return nil
		},
	}
	cmd.Flags().IntVar(&words, "n-words", 12, "mnemonic length: 12, 15, 18, 21 or 24 words")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace an existing hotkey")
	return cmd
}

func newWalletRegenCommand(wo *walletOptions) *cobra.Command {
	var mnemonic, seed, uri string
	var hotkey, noPassword, overwrite bool
	cmd := &cobra.Command{
		Use:   "regen",
		Short: "Restore the coldkey (or, with --hotkey, the hotkey) from a mnemonic, seed or URI",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kp, err := keyFromFlags(mnemonic, seed, uri, true)
			if err != nil {
				return err
			}
			w := wo.Open()
			out := cmd.OutOrStdout()
			if hotkey {
				if err := w.WriteHotkey(kp, overwrite); err != nil {
					return err
				}
				fmt.Fprintf(out, "Restored hotkey %q of wallet %q: %s\n", w.HotkeyName, w.Name, kp.SS58Address())
				return nil
			}
			if !overwrite {
				if err := refuseExisting(w.ColdkeyPath(), w.ColdkeyPubPath()); err != nil {
					return err
				}
			}
			password := ""
			if !noPassword {
				if password, err = newPassword(cmd, w); err != nil {
					return err
				}
			}
			noteKDF(cmd, password)
			if err := w.WriteColdkey(kp, password, overwrite); err != nil {
				return err
			}
			fmt.Fprintf(out, "Restored coldkey of wallet %q: %s (%s)\n", w.Name, kp.SS58Address(), encryptionNote(password))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&mnemonic, "mnemonic", "", "BIP39 mnemonic (quote it)")
	fs.StringVar(&seed, "seed", "", "32-byte seed as 0x<64 hex digits>")
	fs.StringVar(&uri, "uri", "", "secret URI such as //Alice (development keys)")
	fs.BoolVar(&hotkey, "hotkey", false, "restore the hotkey (--wallet.hotkey) instead of the coldkey")
	fs.BoolVar(&noPassword, "no-password", false, "store the coldkey unencrypted")
	fs.BoolVar(&overwrite, "overwrite", false, "replace existing key files")
	return cmd
}

// keyFromFlags derives a key from exactly one of mnemonic, seed and uri;
// with required false, none given returns nil.
func keyFromFlags(mnemonic, seed, uri string, required bool) (*wallet.Keypair, error) {
	n := 0
	for _, s := range []string{mnemonic, seed, uri} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, walletUsage("give only one of --mnemonic, --seed and --uri")
	case n == 0 && required:
		return nil, walletUsage("give one of --mnemonic, --seed or --uri")
	case n == 0:
		return nil, nil
	}
	var kp *wallet.Keypair
	var err error
	switch {
	case mnemonic != "":
		kp, err = wallet.FromMnemonic(mnemonic, "")
	case seed != "":
		var raw []byte
		raw, err = hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(seed), "0x"))
		if err != nil || len(raw) != 32 {
			return nil, walletUsage("--seed must be 0x followed by 64 hex digits")
		}
		kp, err = wallet.FromSeed(raw)
	default:
		kp, err = wallet.FromURI(uri)
	}
	if err != nil {
		return nil, walletUsageError{err}
	}
	return kp, nil
}

func newWalletListCommand(wo *walletOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the wallets under --wallet.path with their coldkey and hotkey addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root := wo.Path
			if root == "" {
				root = wallet.DefaultPath()
			}
			infos, err := wallet.ListWallets(root)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(infos) == 0 {
				fmt.Fprintf(out, "No wallets in %s\n", root)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "WALLET\tCOLDKEY\tHOTKEY\tHOTKEY ADDRESS")
			for _, wi := range infos {
				cold := orMissing(wi.ColdkeyAddress)
				if len(wi.Hotkeys) == 0 {
					fmt.Fprintf(tw, "%s\t%s\t-\t-\n", wi.Name, cold)
				}
				for i, h := range wi.Hotkeys {
					name, c := wi.Name, cold
					if i > 0 {
						name, c = "", ""
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, c, h.Name, orMissing(h.Address))
				}
			}
			return tw.Flush()
		},
	}
}

func orMissing(s string) string {
	if s == "" {
		return "(unreadable)"
	}
	return s
}

// keyView is what inspect prints for one key.
type keyView struct {
	Name        string `json:"name,omitempty"`
	SS58Address string `json:"ss58Address"`
	PublicKey   string `json:"publicKey"`
}

func viewOf(name string, kp *wallet.Keypair) keyView {
	pub := kp.PublicKey()
	return keyView{Name: name, SS58Address: kp.SS58Address(), PublicKey: "0x" + hex.EncodeToString(pub[:])}
}

func newWalletInspectCommand(wo *walletOptions) *cobra.Command {
	var mnemonic, uri string
	var asJSON, unlock bool
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Show SS58 addresses and public keys of a URI, a mnemonic or the wallet's keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			kp, err := keyFromFlags(mnemonic, "", uri, false)
			if err != nil {
				return err
			}
			if kp != nil {
				v := viewOf("", kp)
				if asJSON {
					return json.NewEncoder(out).Encode(v)
				}
				fmt.Fprintf(out, "SS58 address: %s\npublic key:   %s\n", v.SS58Address, v.PublicKey)
				return nil
			}
			w := wo.Open()
			cold, err := w.ColdkeyPub()
			if err != nil {
				return err
			}
			if unlock {
				sec, err := w.Coldkey(promptFunc(cmd))
				if err != nil {
					return err
				}
				if sec.PublicKey() != cold.PublicKey() {
					return fmt.Errorf("coldkey %s does not match %s: restore the wallet with `compute wallet regen`", w.ColdkeyPath(), w.ColdkeyPubPath())
				}
			}
			views := []keyView{viewOf("coldkey", cold)}
			hot, hotErr := w.HotkeyPub()
			if hotErr == nil {
				views = append(views, viewOf("hotkey "+w.HotkeyName, hot))
			} else if !errors.Is(hotErr, wallet.ErrKeyfileNotFound) {
				return hotErr
			}
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					Wallet   string    `json:"wallet"`
					Path     string    `json:"path"`
					Unlocked bool      `json:"unlocked,omitempty"`
					Keys     []keyView `json:"keys"`
				}{w.Name, w.Dir(), unlock, views})
			}
			fmt.Fprintf(out, "wallet %q (%s)\n", w.Name, w.Dir())
			for _, v := range views {
				fmt.Fprintf(out, "  %-16s %s  %s\n", v.Name, v.SS58Address, v.PublicKey)
			}
			if hotErr != nil {
				fmt.Fprintf(out, "  hotkey %q: none\n", w.HotkeyName)
			}
			if unlock {
				fmt.Fprintln(out, "coldkey unlocked: the password is correct")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&uri, "uri", "", "inspect a secret URI such as //Alice instead of a wallet")
	fs.StringVar(&mnemonic, "mnemonic", "", "inspect a mnemonic instead of a wallet")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.BoolVar(&unlock, "unlock", false, "also decrypt the coldkey to check the password")
	return cmd
}

// noteKDF tells the operator why the next step pauses: the $NACL key
// derivation (Argon2i, 512 MiB) takes a few seconds by design.
func noteKDF(cmd *cobra.Command, password string) {
	if password != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "Encrypting the coldkey (Argon2i key derivation, a few seconds)...")
	}
}
