package pow_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/pow"
)

// Vector is a challenge with its known password, as stored in testdata.
type vector struct {
	pow.Challenge
	Password string `json:"password"`
}

func loadVectors(t testing.TB, name string) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return vs
}

func TestNewVerify(t *testing.T) {
	for d := 1; d <= pow.MaxNewDifficulty; d++ {
		c, pw, err := pow.New(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != d || c.Difficulty != d || c.Mode != "610" || c.Mask != strings.Repeat("?1", d) {
			t.Fatalf("difficulty %d: bad challenge %+v password %q", d, c, pw)
		}
		if len(c.Chars) != pow.ChallengeChars || len(c.Salt) != 16 || !strings.HasPrefix(c.Hash, "$BLAKE2$") || len(c.Hash) != 8+128 {
			t.Fatalf("difficulty %d: bad fields %+v", d, c)
		}
		seen := map[rune]bool{}
		for _, r := range c.Chars {
			if seen[r] || !strings.ContainsRune(pow.DefaultChars, r) {
				t.Fatalf("chars %q: duplicate or foreign %q", c.Chars, r)
			}
			seen[r] = true
		}
		for _, r := range pw {
			if !seen[r] {
				t.Fatalf("password %q uses %q outside chars %q", pw, r, c.Chars)
			}
		}
		if !pow.Verify(c, pw) {
			t.Fatalf("Verify rejects the generated password")
		}
		if pow.Verify(c, pw+"x") || pow.Verify(c, "") {
			t.Fatalf("Verify accepts a wrong password")
		}
		j, err := c.Job()
		if err != nil {
			t.Fatal(err)
		}
		if !j.Check([]byte(pw)) {
			t.Fatal("Job.Check rejects the password")
		}
	}
	for _, d := range []int{0, -1, 19, 33} {
		if _, _, err := pow.New(d); !errors.Is(err, pow.ErrInvalidChallenge) {
			t.Errorf("New(%d) error = %v", d, err)
		}
	}
}

func TestVerifyVectors(t *testing.T) {
	for _, f := range []string{"python_hashlib.json", "hashcat_example.json"} {
		for _, v := range loadVectors(t, f) {
			if !pow.Verify(v.Challenge, v.Password) {
				t.Errorf("%s: %q does not verify", f, v.Password)
			}
			// Upper-case hex is accepted too.
			c := v.Challenge
			c.Hash = pow.HashPrefix + strings.ToUpper(c.Hash[len(pow.HashPrefix):])
			if !pow.Verify(c, v.Password) {
				t.Errorf("%s: upper-case hash of %q does not verify", f, v.Password)
			}
		}
	}
}

func good() pow.Challenge {
	return pow.Challenge{
		Hash:       pow.HashOf("abc", "0011223344556677"),
		Salt:       "0011223344556677",
		Mode:       "610",
		Chars:      "abcdefghij",
		Mask:       "?1?1?1",
		Difficulty: 3,
	}
}

func TestJobErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pow.Challenge)
		want string
	}{
		{"mode", func(c *pow.Challenge) { c.Mode = "600" }, "mode"},
		{"no prefix", func(c *pow.Challenge) { c.Hash = c.Hash[8:] }, "start with"},
		{"short hash", func(c *pow.Challenge) { c.Hash = c.Hash[:100] }, "128 hex"},
		{"bad hex hash", func(c *pow.Challenge) { c.Hash = c.Hash[:20] + "zz" + c.Hash[22:] }, "not hex"},
		{"bad hex salt", func(c *pow.Challenge) { c.Salt = "00112233445566zz" }, "salt is not hex"},
		{"empty salt", func(c *pow.Challenge) { c.Salt = "" }, "empty salt"},
		{"long salt", func(c *pow.Challenge) { c.Salt = strings.Repeat("a", 300) }, "longer than"},
		{"zero difficulty", func(c *pow.Challenge) { c.Difficulty = 0 }, "difficulty 0"},
		{"negative difficulty", func(c *pow.Challenge) { c.Difficulty = -3 }, "difficulty -3"},
		{"absurd difficulty", func(c *pow.Challenge) { c.Difficulty = 40; c.Mask = strings.Repeat("?1", 40) }, "difficulty 40"},
		{"mask shorter", func(c *pow.Challenge) { c.Mask = "?1?1" }, "2 positions but difficulty is 3"},
		{"mask longer", func(c *pow.Challenge) { c.Mask = "?1?1?1?1" }, "4 positions"},
		{"empty mask", func(c *pow.Challenge) { c.Mask = "" }, "empty mask"},
		{"undefined ?2", func(c *pow.Challenge) { c.Mask = "?1?2?1" }, "custom charset 2 is not defined"},
		{"unknown placeholder", func(c *pow.Challenge) { c.Mask = "?1?x?1" }, "unknown placeholder ?x"},
		{"lone ?", func(c *pow.Challenge) { c.Mask = "?1?1?" }, "lone"},
		{"empty chars", func(c *pow.Challenge) { c.Chars = "" }, "not defined"},
		{"non-ascii chars", func(c *pow.Challenge) { c.Chars = "abcé" }, "non-ASCII"},
		{"non-ascii mask", func(c *pow.Challenge) { c.Mask = "?1é" }, "non-ASCII"},
		{"control char", func(c *pow.Challenge) { c.Chars = "ab\x00" }, "non-printable"},
		{"keyspace", func(c *pow.Challenge) {
			c.Difficulty = 10
			c.Mask = strings.Repeat("?b", 10)
		}, "exceeds 2^63"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(&c)
			_, err := c.Job()
			if !errors.Is(err, pow.ErrInvalidChallenge) {
				t.Fatalf("error %v does not wrap ErrInvalidChallenge", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if _, err := good().Job(); err != nil {
		t.Fatalf("good challenge: %v", err)
	}
}

func TestParseMask(t *testing.T) {
	tests := []struct {
		mask   string
		custom []string
		want   []string
	}{
		{"?1?1", []string{"ab"}, []string{"ab", "ab"}},
		{"?1?2?3?4", []string{"a", "b", "c", "d"}, []string{"a", "b", "c", "d"}},
		{"x??y", nil, []string{"x", "?", "y"}},
		{"?d?h?H", nil, []string{"0123456789", "0123456789abcdef", "0123456789ABCDEF"}},
		{"?l?u", nil, []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}},
		{"?1", []string{"aabba"}, []string{"ab"}},
		{"?1", []string{"?d?d"}, []string{"0123456789"}},
		{"?1", []string{"x??"}, []string{"x?"}},
		{"?1?2", []string{"?l", "?u?d"}, []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}},
	}
	for _, tc := range tests {
		got, err := pow.ParseMask(tc.mask, tc.custom...)
		if err != nil {
			t.Fatalf("%q: %v", tc.mask, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%q: %d positions, want %d", tc.mask, len(got), len(tc.want))
		}
		for i := range got {
			if string(got[i]) != tc.want[i] {
				t.Errorf("%q position %d: %q, want %q", tc.mask, i, got[i], tc.want[i])
			}
		}
	}
	sizes := map[string]int{"?s": 33, "?a": 95, "?b": 256}
	for m, n := range sizes {
		got, err := pow.ParseMask(m)
		if err != nil || len(got[0]) != n {
			t.Errorf("%s: %d chars (%v), want %d", m, len(got[0]), err, n)
		}
	}
}

func TestKeyspace(t *testing.T) {
	for d := 1; d <= pow.MaxPasswordLength; d++ {
		sets, err := pow.ParseMask(strings.Repeat("?1", d), "ab")
		if err != nil {
			t.Fatal(err)
		}
		j := pow.Job{Charsets: sets}
		if got := j.Keyspace(); got != 1<<d {
			t.Errorf("difficulty %d: keyspace %d, want %d", d, got, uint64(1)<<d)
		}
	}
	for d := 1; d <= 18; d++ {
		c, _, _ := pow.New(d)
		j, err := c.Job()
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(1)
		for range d {
			want *= 10
		}
		if got := j.Keyspace(); got != want {
			t.Errorf("difficulty %d: keyspace %d, want %d", d, got, want)
		}
	}
}

func FuzzChallengeJob(f *testing.F) {
	g := good()
	f.Add(g.Hash, g.Salt, g.Mode, g.Chars, g.Mask, g.Difficulty)
	f.Add(g.Hash, "zz", "610", "?l?d", "?1?2??", 3)
	f.Add("$BLAKE2$", "", "", "", "?", 0)
	f.Fuzz(func(t *testing.T, hash, salt, mode, chars, mask string, d int) {
		c := pow.Challenge{Hash: hash, Salt: salt, Mode: mode, Chars: chars, Mask: mask, Difficulty: d}
		j, err := c.Job()
		if err != nil {
			if !errors.Is(err, pow.ErrInvalidChallenge) {
				t.Fatalf("error %v does not wrap ErrInvalidChallenge", err)
			}
			return
		}
		if len(j.Charsets) != d || j.Keyspace() == 0 || j.Keyspace() >= 1<<63 {
			t.Fatalf("accepted job with %d positions, keyspace %d", len(j.Charsets), j.Keyspace())
		}
		_ = pow.Verify(c, "x")
	})
}

func FuzzParseMask(f *testing.F) {
	for _, s := range []string{"?1?1", "?l?u?d?h?H?s?a?b", "??x", "?", "?5", "a?1"} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, mask, custom string) {
		sets, err := pow.ParseMask(mask, custom)
		if err != nil {
			if !errors.Is(err, pow.ErrInvalidChallenge) {
				t.Fatalf("error %v does not wrap ErrInvalidChallenge", err)
			}
			return
		}
		for i, s := range sets {
			if len(s) == 0 {
				t.Fatalf("empty charset at %d", i)
			}
		}
	})
}
