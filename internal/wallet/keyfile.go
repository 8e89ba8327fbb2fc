package wallet

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrWrongPassword means a keyfile did not decrypt with the password given.
	ErrWrongPassword = errors.New("wallet: wrong password")
	// ErrUnsupportedKeyfile means a file is in none of the known keyfile formats.
	ErrUnsupportedKeyfile = errors.New("wallet: unsupported keyfile format")
	// ErrKeyExists means a write would replace an existing key file.
	ErrKeyExists = errors.New("wallet: key file already exists")
	// ErrKeyfileNotFound means a key file does not exist.
	ErrKeyfileNotFound = errors.New("wallet: key file not found")
	// ErrCorruptKeyfile means a keyfile has a known format but damaged or inconsistent content.
	ErrCorruptKeyfile = errors.New("wallet: corrupt keyfile")
	// ErrNoPassword means a keyfile is encrypted and no password source is available.
	ErrNoPassword = errors.New("wallet: keyfile is encrypted and no password was given")
)

// maxKeyfileSize bounds what is read from disk; real keyfiles are under 1 KiB.
const maxKeyfileSize = 64 << 10

// keyfileFormat is how a keyfile's bytes are stored.
type keyfileFormat int

const (
	formatUnknown   keyfileFormat = iota
	formatJSON                    // plain JSON (btcli 6.x or bittensor-wallet)
	formatLegacyPub               // "0x<hex public key>" (old coldkeypub.txt)
	formatNaCl                    // "$NACL" + secretbox
	formatVault                   // Ansible Vault 1.1
	formatFernet                  // Fernet token
)

func (f keyfileFormat) String() string {
	switch f {
	case formatJSON:
		return "plain JSON"
	case formatLegacyPub:
		return "legacy hex public key"
	case formatNaCl:
		return "$NACL"
	case formatVault:
		return "Ansible Vault"
	case formatFernet:
		return "Fernet"
	default:
		return "unknown"
	}
}

func (f keyfileFormat) encrypted() bool {
	return f == formatNaCl || f == formatVault || f == formatFernet
}

func detectFormat(data []byte) keyfileFormat {
	switch {
	case bytes.HasPrefix(data, []byte(naclPrefix)):
		return formatNaCl
	case bytes.HasPrefix(data, []byte(vaultPrefix)):
		return formatVault
	case bytes.HasPrefix(data, []byte(fernetPrefix)):
		return formatFernet
	}
	t := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(t, []byte("{")):
		return formatJSON
	case bytes.HasPrefix(t, []byte("0x")):
		return formatLegacyPub
	}
	return formatUnknown
}

// keyfileJSON is the decrypted keyfile. Absent values are written as null.
type keyfileJSON struct {
	AccountID    *string `json:"accountId"`
	PublicKey    *string `json:"publicKey"`
	PrivateKey   *string `json:"privateKey"`
	SecretPhrase *string `json:"secretPhrase"`
	SecretSeed   *string `json:"secretSeed"`
	SS58Address  *string `json:"ss58Address"`
}

func strp(s string) *string { return &s }

// encodeKeyfile serializes kp with every field; public drops the secrets.
func encodeKeyfile(kp *Keypair, public bool) []byte {
	pub := kp.PublicKey()
	pubHex := "0x" + hex.EncodeToString(pub[:])
	kf := keyfileJSON{AccountID: strp(pubHex), PublicKey: strp(pubHex), SS58Address: strp(kp.SS58Address())}
	if !public {
		if pk, ok := kp.PrivateKey(); ok {
			kf.PrivateKey = strp("0x" + hex.EncodeToString(pk))
			zero(pk)
		}
		if m := kp.Mnemonic(); m != "" {
			kf.SecretPhrase = strp(m)
		}
		if seed, ok := kp.Seed(); ok {
			kf.SecretSeed = strp("0x" + hex.EncodeToString(seed))
			zero(seed)
		}
	}
	b, err := json.Marshal(kf)
	if err != nil { // cannot happen: only strings
		panic(err)
	}
	return b
}

// decodeKeyfile turns keyfile bytes of any supported format into a keypair.
// password is called only when the data is encrypted.
func decodeKeyfile(data []byte, password func() (string, error), p kdfParams) (*Keypair, error) {
	if len(data) > maxKeyfileSize {
		return nil, fmt.Errorf("%w: %d bytes is too large for a keyfile", ErrCorruptKeyfile, len(data))
	}
	f := detectFormat(data)
	switch f {
	case formatJSON:
		return decodeKeyfileJSON(data)
	case formatLegacyPub:
		raw, err := decodeHex(string(bytes.TrimSpace(data)))
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("%w: legacy public key must be 0x followed by 64 hex digits", ErrCorruptKeyfile)
		}
		return FromPublicKey(raw)
	case formatUnknown:
		return nil, fmt.Errorf("%w: want JSON, 0x<hex>, $NACL, $ANSIBLE_VAULT or a Fernet token", ErrUnsupportedKeyfile)
	}
	if password == nil {
		return nil, fmt.Errorf("%w (%s)", ErrNoPassword, f)
	}
	pw, err := password()
	if err != nil {
		return nil, err
	}
	p = p.orStandard()
	var plain []byte
	switch f {
	case formatNaCl:
		plain, err = decryptNaCl(data, pw, p)
	case formatVault:
		plain, err = decryptVault(data, pw, p)
		if err == nil {
			var inner []byte
			inner, err = vaultPlaintextJSON(plain)
			zero(plain)
			plain = inner
		}
	case formatFernet:
		plain, err = decryptFernet(data, pw, p)
	}
	if err != nil {
		return nil, err
	}
	defer zero(plain)
	if detectFormat(plain) != formatJSON {
		return nil, fmt.Errorf("%w: decrypted %s keyfile is not JSON", ErrCorruptKeyfile, f)
	}
	return decodeKeyfileJSON(plain)
}

// vaultPlaintextJSON accepts what Python wrote into a vault: JSON, a YAML
// !!binary block holding JSON, or a flat YAML mapping.
func vaultPlaintextJSON(plain []byte) ([]byte, error) {
	t := bytes.TrimSpace(plain)
	t = bytes.TrimPrefix(t, []byte("---"))
	t = bytes.TrimSuffix(t, []byte("..."))
	t = bytes.TrimSpace(t)
	switch {
	case bytes.HasPrefix(t, []byte("{")):
		return append([]byte{}, t...), nil
	case bytes.HasPrefix(t, []byte("!!binary")):
		body := strings.Join(strings.Fields(strings.TrimLeft(string(t[len("!!binary"):]), " |>-")), "")
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("%w: vault !!binary payload is not base64", ErrCorruptKeyfile)
		}
		return raw, nil
	}
	m := map[string]*string{}
	sc := bufio.NewScanner(bytes.NewReader(t))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: vault content is neither JSON nor a YAML mapping", ErrCorruptKeyfile)
		}
		v = strings.TrimSpace(v)
		switch {
		case v == "" || v == "null" || v == "~":
			m[unquote(strings.TrimSpace(k))] = nil
		default:
			m[unquote(strings.TrimSpace(k))] = strp(unquote(v))
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: empty vault content", ErrCorruptKeyfile)
	}
	return json.Marshal(m)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func decodeHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return hex.DecodeString(s)
}

func nonEmpty(s *string) bool { return s != nil && *s != "" }

// decodeSeed reads secretSeed: "0x"+hex normally, or the 32 raw bytes that
// bittensor-wallet writes verbatim when they happen to be valid UTF-8.
func decodeSeed(s string) ([]byte, error) {
	if strings.HasPrefix(s, "0x") && len(s) == 66 {
		return decodeHex(s)
	}
	if len(s) == 32 {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("%w: secretSeed must be 0x followed by 64 hex digits", ErrCorruptKeyfile)
}

// decodeKeyfileJSON reads both the btcli 6.x shape (no privateKey; seed, then
// phrase, then address) and the bittensor-wallet shape (privateKey present;
// phrase, then seed, then privateKey, then address), and refuses files whose
// public fields disagree with the secret.
func decodeKeyfileJSON(data []byte) (*Keypair, error) {
	var kf keyfileJSON
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON: %v", ErrCorruptKeyfile, err)
	}
	fromSeed := func() (*Keypair, error) {
		seed, err := decodeSeed(*kf.SecretSeed)
		if err != nil {
			return nil, err
		}
		defer zero(seed)
		kp, err := FromSeed(seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorruptKeyfile, err)
		}
		return kp, nil
	}
	fromPhrase := func() (*Keypair, error) {
		kp, err := FromMnemonic(*kf.SecretPhrase, "")
		if err != nil {
			return nil, fmt.Errorf("%w: secretPhrase: %v", ErrCorruptKeyfile, err)
		}
		return kp, nil
	}
	fromPrivate := func() (*Keypair, error) {
		raw, err := decodeHex(*kf.PrivateKey)
		if err != nil || len(raw) != 64 {
			return nil, fmt.Errorf("%w: privateKey must be 0x followed by 128 hex digits", ErrCorruptKeyfile)
		}
		defer zero(raw)
		kp, err := FromPrivateKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorruptKeyfile, err)
		}
		return kp, nil
	}
	fromPublic := func() (*Keypair, error) {
		if nonEmpty(kf.SS58Address) {
			kp, err := FromSS58(*kf.SS58Address)
			if err != nil {
				return nil, fmt.Errorf("%w: ss58Address: %v", ErrCorruptKeyfile, err)
			}
			return kp, nil
		}
		for _, s := range []*string{kf.PublicKey, kf.AccountID} {
			if nonEmpty(s) {
				raw, err := decodeHex(*s)
				if err != nil || len(raw) != 32 {
					return nil, fmt.Errorf("%w: publicKey must be 0x followed by 64 hex digits", ErrCorruptKeyfile)
				}
				kp, err := FromPublicKey(raw)
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrCorruptKeyfile, err)
				}
				return kp, nil
			}
		}
		return nil, fmt.Errorf("%w: no secretSeed, secretPhrase, privateKey, ss58Address or publicKey", ErrCorruptKeyfile)
	}

	type source struct {
		present bool
		load    func() (*Keypair, error)
	}
	order := []source{{nonEmpty(kf.SecretSeed), fromSeed}, {nonEmpty(kf.SecretPhrase), fromPhrase}}
	if nonEmpty(kf.PrivateKey) {
		order = []source{{true, fromPhrase}, {true, fromSeed}, {true, fromPrivate}}
		order[0].present, order[1].present = nonEmpty(kf.SecretPhrase), nonEmpty(kf.SecretSeed)
	}
	order = append(order, source{true, fromPublic})
	var kp *Keypair
	var err error
	for _, s := range order {
		if s.present {
			kp, err = s.load()
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if err := checkConsistent(kp, &kf); err != nil {
		return nil, err
	}
	return kp, nil
}

// checkConsistent refuses a file whose stated public key or address is not the
// one its secret derives (a swapped or tampered file).
func checkConsistent(kp *Keypair, kf *keyfileJSON) error {
	pub := kp.PublicKey()
	if nonEmpty(kf.SS58Address) {
		got, err := PublicKeyFromSS58(*kf.SS58Address)
		if err != nil {
			return fmt.Errorf("%w: ss58Address: %v", ErrCorruptKeyfile, err)
		}
		if got != pub {
			return fmt.Errorf("%w: ss58Address %s does not match the key, which derives %s", ErrCorruptKeyfile, *kf.SS58Address, kp.SS58Address())
		}
	}
	for name, s := range map[string]*string{"publicKey": kf.PublicKey, "accountId": kf.AccountID} {
		if !nonEmpty(s) {
			continue
		}
		raw, err := decodeHex(*s)
		if err != nil || !bytes.Equal(raw, pub[:]) {
			return fmt.Errorf("%w: %s does not match the key, which derives 0x%x", ErrCorruptKeyfile, name, pub)
		}
	}
	// Keep the phrase with a seed-loaded key when they agree, so a rewrite keeps it.
	if kp.mnemonic == "" && kp.hasSec && nonEmpty(kf.SecretPhrase) {
		if m, err := FromMnemonic(*kf.SecretPhrase, ""); err == nil && m.pub == pub {
			kp.mnemonic = m.mnemonic
		}
	}
	return nil
}
