package service

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitExec reads an ExecStart= value as systemd.service(5) describes it:
// specifiers first ("%%" is "%"; this reader knows no other), then words
// split on white space, double-quoted or bare, with C escapes, then variable
// references ("$$" is "$"; this reader knows no variables).
func splitExec(line string) ([]string, error) {
	var spec strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] != '%' {
			spec.WriteByte(line[i])
			continue
		}
		if i+1 < len(line) && line[i+1] == '%' {
			spec.WriteByte('%')
			i++
			continue
		}
		return nil, fmt.Errorf("specifier at %d", i)
	}
	s := spec.String()
	var words []string
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		var w strings.Builder
		quoted := s[i] == '"'
		if quoted {
			i++
		}
		closed := false
		for i < len(s) {
			c := s[i]
			if quoted && c == '"' {
				i++
				closed = true
				break
			}
			if !quoted && (c == ' ' || c == '\t') {
				break
			}
			if !quoted && (c == '"' || c == '\'') {
				return nil, fmt.Errorf("quote inside a bare word at %d", i)
			}
			if c != '\\' {
				w.WriteByte(c)
				i++
				continue
			}
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			switch e := s[i+1]; e {
			case '\\', '"', '\'':
				w.WriteByte(e)
				i += 2
			case 'n':
				w.WriteByte('\n')
				i += 2
			case 't':
				w.WriteByte('\t')
				i += 2
			case 'x':
				if i+4 > len(s) {
					return nil, errors.New("short \\x escape")
				}
				n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
				if err != nil {
					return nil, err
				}
				w.WriteByte(byte(n))
				i += 4
			default:
				return nil, fmt.Errorf("unknown escape \\%c", e)
			}
		}
		if quoted && !closed {
			return nil, errors.New("unbalanced quote")
		}
		if quoted && i < len(s) && s[i] != ' ' && s[i] != '\t' {
			return nil, errors.New("text after a closing quote")
		}
		word, err := unDollar(w.String())
		if err != nil {
			return nil, err
		}
		words = append(words, word)
	}
	return words, nil
}

func unDollar(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		return "", fmt.Errorf("variable reference in %q", s)
	}
	return b.String(), nil
}

// awkward are flag values that need care in an ExecStart line.
var awkward = []string{
	"", " ", "two words", `"quoted"`, "it's", `back\slash`, `\n`, "50%", "%n", "$HOME", "${HOME}", "$$",
	";", "a;b", "line\nbreak", "tab\there", "\x01\x7f", "ünïcödé", "--flag=a b", "-", "'", `\`, "%%$$\\\"",
	"trailing\\", "=", "~", "*", "#comment", "a#b",
}

func TestExecWordRoundTrip(t *testing.T) {
	line, err := ExecLine(append([]string{"/usr/local/bin/compute", "miner"}, awkward...))
	if err != nil {
		t.Fatal(err)
	}
	got, err := splitExec(line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	want := append([]string{"/usr/local/bin/compute", "miner"}, awkward...)
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("ExecStart=%s\nreads back %q\nwant       %q", line, got, want)
	}
	for in, out := range map[string]string{
		"--netuid":            "--netuid",
		"27":                  "27",
		"/var/lib/x.y":        "/var/lib/x.y",
		"a b":                 `"a b"`,
		"50%":                 `"50%%"`,
		"$HOME":               `"$$HOME"`,
		`say "hi"`:            `"say \"hi\""`,
		"":                    `""`,
		"ws://127.0.0.1:9944": "ws://127.0.0.1:9944",
	} {
		if got, err := ExecWord(in); err != nil || got != out {
			t.Errorf("ExecWord(%q) = %s, %v; want %s", in, got, err, out)
		}
	}
	for _, bad := range []string{"nul\x00byte", "\xff\xfe"} {
		if _, err := ExecWord(bad); !errors.Is(err, ErrUnquotable) {
			t.Errorf("ExecWord(%q): %v, want ErrUnquotable", bad, err)
		}
	}
}

// FuzzExecWord: every value a unit file can hold reads back unchanged.
func FuzzExecWord(f *testing.F) {
	for _, a := range awkward {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ExecWord(s)
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("ExecWord(%q) accepted", s)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(w, "\n\r") {
			t.Fatalf("ExecWord(%q) = %q spans lines", s, w)
		}
		got, err := splitExec("/bin/x " + w)
		if err != nil || len(got) != 2 || got[1] != s {
			t.Fatalf("ExecWord(%q) = %s reads back %q, %v", s, w, got, err)
		}
	})
}
