package wallet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	bip39 "github.com/cosmos/go-bip39"
)

// Environment variables the package reads.
const (
	// EnvWalletPath overrides the default wallet root (btcli's BT_WALLET_PATH).
	EnvWalletPath = "BT_WALLET_PATH"
	// EnvPassword holds the coldkey password for automation.
	EnvPassword = "COMPUTE_WALLET_PASSWORD"
	// EnvColdPasswordPrefix + upper-cased wallet name holds a plaintext password (btcli 6.x).
	EnvColdPasswordPrefix = "BT_COLD_PW_"
)

// DefaultPath returns $BT_WALLET_PATH, or ~/.bittensor/wallets.
func DefaultPath() string {
	if p := os.Getenv(EnvWalletPath); p != "" {
		return expandHome(p)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".bittensor", "wallets")
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// Wallet names a btcli wallet on disk: <Path>/<Name>/{coldkey,coldkeypub.txt,hotkeys/<HotkeyName>}.
// It holds no keys itself; every method reads or writes the files.
type Wallet struct {
	Path, Name, HotkeyName string

	kdf kdfParams // zero: the standard (format-mandated) costs
}

// New returns the wallet name/hotkey under path ("" = DefaultPath; "~" is expanded).
func New(path, name, hotkey string) *Wallet {
	if path == "" {
		path = DefaultPath()
	}
	return &Wallet{Path: expandHome(path), Name: name, HotkeyName: hotkey}
}

// PasswordFunc asks the operator for a password; prompt says what for.
type PasswordFunc func(prompt string) (string, error)

// Dir is the wallet's directory.
func (w *Wallet) Dir() string { return filepath.Join(w.Path, w.Name) }

// ColdkeyPath is the (normally encrypted) coldkey file.
func (w *Wallet) ColdkeyPath() string { return filepath.Join(w.Dir(), "coldkey") }

// ColdkeyPubPath is the public coldkey file.
func (w *Wallet) ColdkeyPubPath() string { return filepath.Join(w.Dir(), "coldkeypub.txt") }

// HotkeyPath is the hotkey file.
func (w *Wallet) HotkeyPath() string { return filepath.Join(w.Dir(), "hotkeys", w.HotkeyName) }

// HotkeyPubPath is the public hotkey file that bittensor-wallet 4 writes.
func (w *Wallet) HotkeyPubPath() string { return w.HotkeyPath() + "pub.txt" }

func checkName(kind, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("wallet: invalid %s name %q (must be a plain file name)", kind, name)
	}
	return nil
}

func (w *Wallet) checkNames(hotkey bool) error {
	if err := checkName("wallet", w.Name); err != nil {
		return err
	}
	if hotkey {
		return checkName("hotkey", w.HotkeyName)
	}
	return nil
}

// EnvPassword returns the password the environment provides for this wallet:
// BT_COLD_PW_<NAME> (btcli 6.x style), then COMPUTE_WALLET_PASSWORD. source
// names the variable used.
func (w *Wallet) EnvPassword() (password, source string, ok bool) {
	name := EnvColdPasswordPrefix + strings.ToUpper(w.Name)
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v, name, true
	}
	if v, ok := os.LookupEnv(EnvPassword); ok && v != "" {
		return v, EnvPassword, true
	}
	return "", "", false
}

// load reads and decodes a key file. With decrypt false an encrypted file is
// refused (ErrNoPassword) without running the expensive KDF.
func (w *Wallet) load(path string, decrypt bool, pw PasswordFunc, prompt string) (*Keypair, error) {
	data, err := readKeyfile(path)
	if err != nil {
		return nil, err
	}
	defer zero(data)
	source := ""
	get := func() (string, error) {
		if !decrypt {
			return "", fmt.Errorf("%w: %s is encrypted", ErrNoPassword, path)
		}
		if v, src, ok := w.EnvPassword(); ok {
			source = src
			return v, nil
		}
		if pw == nil {
			return "", fmt.Errorf("%w: %s; set %s or %s%s", ErrNoPassword, path, EnvPassword, EnvColdPasswordPrefix, strings.ToUpper(w.Name))
		}
		source = "prompt"
		return pw(prompt)
	}
	kp, err := decodeKeyfile(data, get, w.kdf)
	if err != nil {
		if errors.Is(err, ErrWrongPassword) && source != "" && source != "prompt" {
			return nil, fmt.Errorf("decrypt %s with the password from %s: %w", path, source, err)
		}
		if errors.Is(err, ErrNoPassword) {
			return nil, err
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return kp, nil
}

// Hotkey loads the hotkey with its secret. Hotkeys are normally plain JSON;
// an encrypted one is opened with the password from the environment.
func (w *Wallet) Hotkey() (*Keypair, error) {
	if err := w.checkNames(true); err != nil {
		return nil, err
	}
	kp, err := w.load(w.HotkeyPath(), true, nil, "")
	if err != nil {
		return nil, err
	}
	if !kp.HasSecret() {
		return nil, fmt.Errorf("hotkey %s holds only a public key: %w", w.HotkeyPath(), ErrNoSecret)
	}
	return kp, nil
}

// HotkeyPub returns the hotkey's public key from hotkeys/<name>pub.txt, or
// from the hotkey file itself when there is no public file.
func (w *Wallet) HotkeyPub() (*Keypair, error) {
	if err := w.checkNames(true); err != nil {
		return nil, err
	}
	kp, err := w.load(w.HotkeyPubPath(), false, nil, "")
	if errors.Is(err, ErrKeyfileNotFound) {
		kp, err = w.load(w.HotkeyPath(), false, nil, "")
	}
	if err != nil {
		return nil, err
	}
	return publicOnly(kp), nil
}

func publicOnly(kp *Keypair) *Keypair { return &Keypair{pub: kp.pub} }

// ColdkeyPub loads the public coldkey from coldkeypub.txt (no password needed).
func (w *Wallet) ColdkeyPub() (*Keypair, error) {
	if err := w.checkNames(false); err != nil {
		return nil, err
	}
	kp, err := w.load(w.ColdkeyPubPath(), false, nil, "")
	if err != nil {
		return nil, err
	}
	return publicOnly(kp), nil
}

// Coldkey loads the coldkey with its secret. For an encrypted file the
// password comes from the environment (see EnvPassword) or else from pw; with
// neither, the error wraps ErrNoPassword. A wrong password wraps ErrWrongPassword.
func (w *Wallet) Coldkey(pw PasswordFunc) (*Keypair, error) {
	if err := w.checkNames(false); err != nil {
		return nil, err
	}
	return w.load(w.ColdkeyPath(), true, pw, fmt.Sprintf("Password to unlock coldkey of wallet %q: ", w.Name))
}

// WriteColdkey writes the coldkey (encrypted as $NACL unless password is "")
// and coldkeypub.txt. Without overwrite it refuses, before writing anything,
// when either file exists (ErrKeyExists).
func (w *Wallet) WriteColdkey(kp *Keypair, password string, overwrite bool) error {
	if err := w.checkNames(false); err != nil {
		return err
	}
	if !kp.HasSecret() {
		return fmt.Errorf("wallet: coldkey to write has no secret: %w", ErrNoSecret)
	}
	if !overwrite {
		for _, p := range []string{w.ColdkeyPath(), w.ColdkeyPubPath()} {
			if _, err := os.Lstat(p); err == nil {
				return existsError(p)
			}
		}
	}
	if err := ensureDir(w.Dir()); err != nil {
		return err
	}
	data := encodeKeyfile(kp, false)
	defer zero(data)
	if password != "" {
		enc, err := encryptNaCl(data, password, w.kdf.orStandard())
		if err != nil {
			return err
		}
		data = enc
	}
	if err := writeFileAtomic(w.ColdkeyPath(), data, overwrite); err != nil {
		return err
	}
	return writeFileAtomic(w.ColdkeyPubPath(), encodeKeyfile(kp, true), overwrite)
}

// WriteHotkey writes the hotkey as plain JSON (as btcli does) plus
// hotkeys/<name>pub.txt, refusing to replace either without overwrite.
func (w *Wallet) WriteHotkey(kp *Keypair, overwrite bool) error {
	if err := w.checkNames(true); err != nil {
		return err
	}
	if !kp.HasSecret() {
		return fmt.Errorf("wallet: hotkey to write has no secret: %w", ErrNoSecret)
	}
	if !overwrite {
		for _, p := range []string{w.HotkeyPath(), w.HotkeyPubPath()} {
			if _, err := os.Lstat(p); err == nil {
				return existsError(p)
			}
		}
	}
	if err := ensureDir(w.Dir()); err != nil {
		return err
	}
	if err := ensureDir(filepath.Dir(w.HotkeyPath())); err != nil {
		return err
	}
	data := encodeKeyfile(kp, false)
	defer zero(data)
	if err := writeFileAtomic(w.HotkeyPath(), data, overwrite); err != nil {
		return err
	}
	return writeFileAtomic(w.HotkeyPubPath(), encodeKeyfile(kp, true), overwrite)
}

// NewMnemonic returns a fresh English BIP39 phrase of 12, 15, 18, 21 or 24
// words from crypto/rand.
func NewMnemonic(words int) (string, error) {
	switch words {
	case 12, 15, 18, 21, 24:
	default:
		return "", fmt.Errorf("wallet: mnemonic must have 12, 15, 18, 21 or 24 words, not %d", words)
	}
	entropy := make([]byte, words*4/3)
	defer zero(entropy)
	if _, err := rand.Read(entropy); err != nil {
		return "", fmt.Errorf("wallet: read random entropy: %w", err)
	}
	m, err := bip39.NewMnemonic(entropy)
	if err != nil {
		return "", fmt.Errorf("wallet: build mnemonic: %w", err)
	}
	return m, nil
}

// HotkeyInfo describes one hotkey file of a wallet.
type HotkeyInfo struct {
	Name    string
	Address string // "" when unreadable (e.g. encrypted without a pub file)
	Err     error  // why Address is empty
}

// WalletInfo describes one wallet directory.
type WalletInfo struct {
	Name           string
	ColdkeyAddress string // from coldkeypub.txt; "" when unreadable
	Err            error  // why ColdkeyAddress is empty
	Hotkeys        []HotkeyInfo
}

// ListWallets lists the wallets under path ("" = DefaultPath), sorted by
// name, reading public files only. A missing path yields no wallets.
func ListWallets(path string) ([]WalletInfo, error) {
	if path == "" {
		path = DefaultPath()
	}
	path = expandHome(path)
	entries, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: list %s: %w", path, err)
	}
	var out []WalletInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		w := New(path, e.Name(), "")
		info := WalletInfo{Name: e.Name()}
		if kp, err := w.ColdkeyPub(); err == nil {
			info.ColdkeyAddress = kp.SS58Address()
		} else {
			info.Err = err
		}
		hks, _ := os.ReadDir(filepath.Join(w.Dir(), "hotkeys"))
		for _, h := range hks {
			n := h.Name()
			if h.IsDir() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, "pub.txt") {
				continue
			}
			w.HotkeyName = n
			hi := HotkeyInfo{Name: n}
			if kp, err := w.HotkeyPub(); err == nil {
				hi.Address = kp.SS58Address()
			} else {
				hi.Err = err
			}
			info.Hotkeys = append(info.Hotkeys, hi)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
