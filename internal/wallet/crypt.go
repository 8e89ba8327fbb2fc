package wallet

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/fernet/fernet-go"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/sn27/compute/internal/clip"
)

// Format markers that open an encrypted keyfile.
const (
	naclPrefix   = "$NACL"
	vaultPrefix  = "$ANSIBLE_VAULT"
	fernetPrefix = "gAAAAA"
)

// naclSalt is the fixed Argon2i salt of btcli's $NACL keyfiles.
var naclSalt = [16]byte{0x13, 'q', 0x83, 0xdf, 0xf1, 'Z', '\t', 0xbc, 0x9c, 0x90, 0xb5, 'Q', 0x87, '9', 0xe9, 0xb1}

// fernetSalt is the fixed PBKDF2 salt of the oldest (Fernet) keyfiles.
const fernetSalt = "Iguesscyborgslikemyselfhaveatendencytobeparanoidaboutourorigins"

// kdfParams are the key-derivation costs. The format fixes them; tests swap in
// cheap ones (see standardKDF) so that unit tests stay fast.
type kdfParams struct {
	argonTime   uint32 // Argon2i passes (libsodium OPSLIMIT_SENSITIVE = 8)
	argonMemKiB uint32 // Argon2i memory (MEMLIMIT_SENSITIVE = 512 MiB)
	fernetIter  int    // PBKDF2-SHA256 iterations of the Fernet format
	vaultIter   int    // PBKDF2-SHA256 iterations of Ansible Vault 1.1
}

// standardKDF returns the parameters every real keyfile uses.
func standardKDF() kdfParams {
	return kdfParams{argonTime: 8, argonMemKiB: 512 * 1024, fernetIter: 10_000_000, vaultIter: 10_000}
}

// orStandard returns p, or the standard parameters when p is the zero value.
func (p kdfParams) orStandard() kdfParams {
	if p == (kdfParams{}) {
		return standardKDF()
	}
	return p
}

func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// naclKey derives the secretbox key from a password (Argon2i v1.3, one lane).
func naclKey(password string, p kdfParams) *[32]byte {
	pw := []byte(password)
	defer zero(pw)
	k := argon2.Key(pw, naclSalt[:], p.argonTime, p.argonMemKiB, 1, 32)
	var key [32]byte
	copy(key[:], k)
	zero(k)
	return &key
}

// encryptNaCl seals plain into a "$NACL" keyfile body and checks that it opens again.
func encryptNaCl(plain []byte, password string, p kdfParams) ([]byte, error) {
	key := naclKey(password, p)
	defer zero(key[:])
	var nonce [24]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return nil, fmt.Errorf("wallet: read random nonce: %w", err)
	}
	out := append([]byte(naclPrefix), nonce[:]...)
	out = secretbox.Seal(out, plain, &nonce, key)
	// Verify before anything reaches the disk.
	check, ok := secretbox.Open(nil, out[len(naclPrefix)+24:], &nonce, key)
	if !ok || !bytes.Equal(check, plain) {
		return nil, fmt.Errorf("wallet: encrypted keyfile does not decrypt back (this is a bug)")
	}
	zero(check)
	return out, nil
}

func decryptNaCl(data []byte, password string, p kdfParams) ([]byte, error) {
	body := data[len(naclPrefix):]
	if len(body) < 24+secretbox.Overhead {
		return nil, fmt.Errorf("%w: $NACL data is %d bytes, too short", ErrCorruptKeyfile, len(body))
	}
	var nonce [24]byte
	copy(nonce[:], body)
	key := naclKey(password, p)
	defer zero(key[:])
	plain, ok := secretbox.Open(nil, body[24:], &nonce, key)
	if !ok {
		return nil, fmt.Errorf("%w (or the $NACL keyfile is damaged)", ErrWrongPassword)
	}
	return plain, nil
}

// fernetKey derives the Fernet key of the legacy format.
func fernetKey(password string, p kdfParams) (*fernet.Key, error) {
	k, err := pbkdf2.Key(sha256.New, password, []byte(fernetSalt), p.fernetIter, 32)
	if err != nil {
		return nil, fmt.Errorf("wallet: derive fernet key: %w", err)
	}
	var key fernet.Key
	copy(key[:], k)
	zero(k)
	return &key, nil
}

func decryptFernet(data []byte, password string, p kdfParams) ([]byte, error) {
	tok := bytes.TrimSpace(data)
	raw, err := base64.URLEncoding.DecodeString(string(tok))
	// version(1) + timestamp(8) + iv(16) + one AES block(16) + hmac(32)
	if err != nil || len(raw) < 1+8+16+16+32 || (len(raw)-(1+8+16+32))%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: malformed Fernet token", ErrCorruptKeyfile)
	}
	key, err := fernetKey(password, p)
	if err != nil {
		return nil, err
	}
	defer zero(key[:])
	plain := fernet.VerifyAndDecrypt(tok, 0, []*fernet.Key{key})
	if plain == nil {
		return nil, fmt.Errorf("%w (or the Fernet keyfile is damaged)", ErrWrongPassword)
	}
	return plain, nil
}

// vaultKeys derives the AES key, HMAC key and CTR IV of Ansible Vault 1.1.
func vaultKeys(password string, salt []byte, p kdfParams) (aesKey, macKey, iv []byte, err error) {
	k, err := pbkdf2.Key(sha256.New, password, salt, p.vaultIter, 80)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("wallet: derive vault key: %w", err)
	}
	return k[:32], k[32:64], k[64:80], nil
}

// decryptVault opens an Ansible Vault 1.1 (or 1.2) AES256 document.
func decryptVault(data []byte, password string, p kdfParams) ([]byte, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	header, rest, _ := strings.Cut(text, "\n")
	fields := strings.Split(strings.TrimSpace(header), ";")
	if len(fields) < 3 || fields[0] != vaultPrefix || (fields[1] != "1.1" && fields[1] != "1.2") || fields[2] != "AES256" {
		return nil, fmt.Errorf("%w: vault header %q (want $ANSIBLE_VAULT;1.1;AES256)", ErrUnsupportedKeyfile, clip.String(header, 40))
	}
	outer, err := hex.DecodeString(strings.Join(strings.Fields(rest), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: vault body is not hex", ErrCorruptKeyfile)
	}
	parts := strings.Split(strings.TrimSpace(string(outer)), "\n")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: vault body has %d parts, want 3", ErrCorruptKeyfile, len(parts))
	}
	salt, err1 := hex.DecodeString(parts[0])
	mac, err2 := hex.DecodeString(parts[1])
	ct, err3 := hex.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(salt) == 0 || len(mac) != sha256.Size ||
		len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: malformed vault salt, HMAC or ciphertext", ErrCorruptKeyfile)
	}
	aesKey, macKey, iv, err := vaultKeys(password, salt, p)
	if err != nil {
		return nil, err
	}
	defer zero(aesKey)
	defer zero(macKey)
	h := hmac.New(sha256.New, macKey)
	h.Write(ct)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, fmt.Errorf("%w (or the Ansible Vault keyfile is damaged)", ErrWrongPassword)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("wallet: vault cipher: %w", err)
	}
	plain := make([]byte, len(ct))
	cipher.NewCTR(block, iv).XORKeyStream(plain, ct)
	n := int(plain[len(plain)-1])
	if n < 1 || n > aes.BlockSize || !bytes.Equal(plain[len(plain)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		zero(plain)
		return nil, fmt.Errorf("%w: bad vault padding", ErrCorruptKeyfile)
	}
	return plain[:len(plain)-n], nil
}
