package pow

import (
	"fmt"
)

// Built-in hashcat charsets.
const (
	charsetLower   = "abcdefghijklmnopqrstuvwxyz"
	charsetUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	charsetDigits  = "0123456789"
	charsetHex     = "0123456789abcdef"
	charsetHexUp   = "0123456789ABCDEF"
	charsetSpecial = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

func builtin(c byte) (string, bool) {
	switch c {
	case 'l':
		return charsetLower, true
	case 'u':
		return charsetUpper, true
	case 'd':
		return charsetDigits, true
	case 'h':
		return charsetHex, true
	case 'H':
		return charsetHexUp, true
	case 's':
		return charsetSpecial, true
	case 'a':
		return charsetLower + charsetUpper + charsetDigits + charsetSpecial, true
	case 'b':
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return string(b), true
	}
	return "", false
}

// ParseCharset expands a hashcat custom charset definition (as given to -1):
// literal ASCII characters, built-in sets ?l ?u ?d ?h ?H ?s ?a ?b and ?? for a
// literal '?'. Duplicates are dropped, first occurrence kept.
func ParseCharset(def string) ([]byte, error) {
	var seen [256]bool
	var out []byte
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			if !seen[s[i]] {
				seen[s[i]] = true
				out = append(out, s[i])
			}
		}
	}
	for i := 0; i < len(def); i++ {
		c := def[i]
		if c >= 0x80 || c < 0x20 {
			return nil, fmt.Errorf("%w: charset %q holds a non-printable or non-ASCII byte 0x%02x at %d", ErrInvalidChallenge, def, c, i)
		}
		if c != '?' {
			add(string(c))
			continue
		}
		if i+1 == len(def) {
			return nil, fmt.Errorf("%w: charset %q ends with a lone '?'", ErrInvalidChallenge, def)
		}
		i++
		if def[i] == '?' {
			add("?")
			continue
		}
		set, ok := builtin(def[i])
		if !ok {
			return nil, fmt.Errorf("%w: charset %q uses unknown placeholder ?%c", ErrInvalidChallenge, def, def[i])
		}
		add(set)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty charset", ErrInvalidChallenge)
	}
	return out, nil
}

// ParseMask expands a hashcat mask into one charset per password position.
// custom holds the definitions of ?1..?4 (as for hashcat's -1..-4); a mask
// that references an undefined custom charset is an error.
func ParseMask(mask string, custom ...string) ([][]byte, error) {
	if len(custom) > 4 {
		return nil, fmt.Errorf("%w: at most 4 custom charsets, got %d", ErrInvalidChallenge, len(custom))
	}
	if mask == "" {
		return nil, fmt.Errorf("%w: empty mask", ErrInvalidChallenge)
	}
	var customSets [4][]byte
	var sets [][]byte
	for i := 0; i < len(mask); i++ {
		if len(sets) >= MaxPasswordLength {
			return nil, fmt.Errorf("%w: mask %q is longer than %d positions", ErrInvalidChallenge, mask, MaxPasswordLength)
		}
		c := mask[i]
		if c >= 0x80 || c < 0x20 {
			return nil, fmt.Errorf("%w: mask holds a non-printable or non-ASCII byte 0x%02x at %d", ErrInvalidChallenge, c, i)
		}
		if c != '?' {
			sets = append(sets, []byte{c})
			continue
		}
		if i+1 == len(mask) {
			return nil, fmt.Errorf("%w: mask %q ends with a lone '?'", ErrInvalidChallenge, mask)
		}
		i++
		p := mask[i]
		switch {
		case p == '?':
			sets = append(sets, []byte{'?'})
		case p >= '1' && p <= '4':
			n := int(p - '1')
			if customSets[n] == nil {
				if n >= len(custom) || custom[n] == "" {
					return nil, fmt.Errorf("%w: mask %q uses ?%c but custom charset %c is not defined", ErrInvalidChallenge, mask, p, p)
				}
				cs, err := ParseCharset(custom[n])
				if err != nil {
					return nil, fmt.Errorf("custom charset %c: %w", p, err)
				}
				customSets[n] = cs
			}
			sets = append(sets, customSets[n])
		default:
			set, ok := builtin(p)
			if !ok {
				return nil, fmt.Errorf("%w: mask %q uses unknown placeholder ?%c", ErrInvalidChallenge, mask, p)
			}
			sets = append(sets, []byte(set))
		}
	}
	return sets, nil
}
