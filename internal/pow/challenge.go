package pow

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// Challenge parameters of the original subnet.
const (
	// DefaultMode is hashcat's BLAKE2b-512($pass.$salt).
	DefaultMode = "610"
	// DefaultChars is the alphabet challenge characters are drawn from.
	DefaultChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_+=[]{};:,.<>"
	// HashPrefix starts every challenge hash.
	HashPrefix = "$BLAKE2$"
	// ChallengeChars is how many characters of DefaultChars a challenge uses.
	ChallengeChars = 10
	// MinDifficulty and MaxDifficulty bound the validator's difficulty.
	MinDifficulty = 7
	MaxDifficulty = 12
	// MaxPasswordLength is the longest password a challenge may ask for.
	MaxPasswordLength = 32
	// MaxNewDifficulty is the largest difficulty New creates: 10^18 is the
	// largest power of ten below the 2^63 keyspace limit.
	MaxNewDifficulty = 18
	// MaxSaltLength bounds the salt (hex characters) a challenge may carry.
	MaxSaltLength = 256
)

// New creates a challenge of the given difficulty the way the original
// validator did, with a CSPRNG: 10 characters drawn from DefaultChars, a
// password of difficulty characters drawn from those, an 8-byte hex salt.
// It returns the challenge and its password.
func New(difficulty int) (Challenge, string, error) {
	if difficulty <= 0 || difficulty > MaxNewDifficulty {
		return Challenge{}, "", fmt.Errorf("%w: difficulty %d out of range 1..%d", ErrInvalidChallenge, difficulty, MaxNewDifficulty)
	}
	alphabet := []byte(DefaultChars)
	// Fisher-Yates shuffle, keep the first ChallengeChars.
	for i := len(alphabet) - 1; i > 0; i-- {
		j, err := randInt(i + 1)
		if err != nil {
			return Challenge{}, "", err
		}
		alphabet[i], alphabet[j] = alphabet[j], alphabet[i]
	}
	chars := alphabet[:ChallengeChars]
	pw := make([]byte, difficulty)
	for i := range pw {
		j, err := randInt(len(chars))
		if err != nil {
			return Challenge{}, "", err
		}
		pw[i] = chars[j]
	}
	var saltBytes [8]byte
	if _, err := rand.Read(saltBytes[:]); err != nil {
		return Challenge{}, "", fmt.Errorf("pow: read random salt: %w", err)
	}
	salt := hex.EncodeToString(saltBytes[:])
	c := Challenge{
		Hash:       HashOf(string(pw), salt),
		Salt:       salt,
		Mode:       DefaultMode,
		Chars:      string(chars),
		Mask:       strings.Repeat("?1", difficulty),
		Difficulty: difficulty,
	}
	return c, string(pw), nil
}

func randInt(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("pow: read random number: %w", err)
	}
	return int(v.Int64()), nil
}

// HashOf returns "$BLAKE2$" + hex(BLAKE2b-512(password + salt)).
func HashOf(password, salt string) string {
	sum := blake2b.Sum512([]byte(password + salt))
	return HashPrefix + hex.EncodeToString(sum[:])
}

// Verify reports whether password solves the challenge: BLAKE2b-512 of
// password+salt equals the challenge hash (hex compared case-insensitively).
func Verify(c Challenge, password string) bool {
	want, err := parseHash(c.Hash)
	if err != nil {
		return false
	}
	got := blake2b.Sum512([]byte(password + c.Salt))
	return got == want
}

func parseHash(h string) ([64]byte, error) {
	var out [64]byte
	if !strings.HasPrefix(h, HashPrefix) {
		return out, fmt.Errorf("%w: hash must start with %q", ErrInvalidChallenge, HashPrefix)
	}
	hx := h[len(HashPrefix):]
	if len(hx) != 128 {
		return out, fmt.Errorf("%w: hash must hold 128 hex characters after %q, got %d", ErrInvalidChallenge, HashPrefix, len(hx))
	}
	if _, err := hex.Decode(out[:], []byte(hx)); err != nil {
		return out, fmt.Errorf("%w: hash is not hex: %v", ErrInvalidChallenge, err)
	}
	return out, nil
}

func checkSalt(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty salt", ErrInvalidChallenge)
	}
	if len(s) > MaxSaltLength {
		return fmt.Errorf("%w: salt of %d characters is longer than %d", ErrInvalidChallenge, len(s), MaxSaltLength)
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return fmt.Errorf("%w: salt is not hex (character %q at %d)", ErrInvalidChallenge, s[i], i)
		}
	}
	return nil
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// Job validates the challenge and turns it into a solver job. Every error
// wraps ErrInvalidChallenge.
func (c Challenge) Job() (*Job, error) {
	if c.Mode != DefaultMode {
		return nil, fmt.Errorf("%w: mode %q is not supported (only %q, BLAKE2b-512($pass.$salt))", ErrInvalidChallenge, c.Mode, DefaultMode)
	}
	target, err := parseHash(c.Hash)
	if err != nil {
		return nil, err
	}
	if err := checkSalt(c.Salt); err != nil {
		return nil, err
	}
	if c.Difficulty <= 0 || c.Difficulty > MaxPasswordLength {
		return nil, fmt.Errorf("%w: difficulty %d out of range 1..%d", ErrInvalidChallenge, c.Difficulty, MaxPasswordLength)
	}
	sets, err := ParseMask(c.Mask, c.Chars)
	if err != nil {
		return nil, err
	}
	if len(sets) != c.Difficulty {
		return nil, fmt.Errorf("%w: mask %q has %d positions but difficulty is %d", ErrInvalidChallenge, c.Mask, len(sets), c.Difficulty)
	}
	j := &Job{Target: target, Salt: []byte(c.Salt), Charsets: sets}
	if j.Keyspace() >= 1<<63 {
		return nil, fmt.Errorf("%w: keyspace of mask %q exceeds 2^63", ErrInvalidChallenge, c.Mask)
	}
	return j, nil
}

// Parse is Challenge.Job as a function.
func Parse(c Challenge) (*Job, error) { return c.Job() }

// Check reports whether password solves the job.
func (j *Job) Check(password []byte) bool {
	buf := make([]byte, 0, len(password)+len(j.Salt))
	buf = append(append(buf, password...), j.Salt...)
	return blake2b.Sum512(buf) == j.Target
}
