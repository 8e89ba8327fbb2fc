package service

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnquotable is a value no unit file can carry: a NUL byte or text that is
// not UTF-8 (systemd refuses unit files that are not UTF-8 clean).
var ErrUnquotable = errors.New("service: a NUL byte or invalid UTF-8 cannot be written in a unit file")

// execSafe are the bytes an ExecStart word may hold without quotes.
func execSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r)
}

// ExecWord writes one word of an ExecStart= line so that systemd hands it to
// the program exactly as given: specifiers ("%") and variable references
// ("$") are escaped by doubling; a word with anything beyond letters, digits
// and -_./:=@,+ (spaces, quotes, backslashes, control characters, ";" or
// non-ASCII text, or an empty word) is double-quoted with C escapes.
func ExecWord(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %q", ErrUnquotable, s)
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !execSafe(r) }) < 0 {
		return s, nil
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '%':
			b.WriteString("%%")
		case r == '$':
			b.WriteString("$$")
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// ExecLine writes an ExecStart= value: the program and its arguments, each
// through ExecWord.
func ExecLine(argv []string) (string, error) {
	words := make([]string, len(argv))
	for i, a := range argv {
		w, err := ExecWord(a)
		if err != nil {
			return "", err
		}
		words[i] = w
	}
	return strings.Join(words, " "), nil
}

// plainPath reports whether p can be written as a path in a unit setting
// (ReadWritePaths=, User=...) without quoting: no white space, quotes,
// backslashes, specifiers or control characters.
func plainPath(p string) bool {
	return p != "" && utf8.ValidString(p) && strings.IndexFunc(p, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`"'\%$;`, r)
	}) < 0
}
