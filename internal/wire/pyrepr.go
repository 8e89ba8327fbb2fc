package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PyItem is one key/value pair of a PyDict.
type PyItem struct {
	Key   any
	Value any
}

// PyDict is a Python dict with its insertion order, for hashed fields whose
// str() form must match Python's exactly. Go maps are also accepted by PyStr,
// but they are rendered with sorted keys, which matches Python only when the
// sender inserted the keys in sorted order.
type PyDict []PyItem

// PyStr renders v the way Python's str() does, for the value types a synapse
// field can hold: nil (None), bool, integers, floats, strings, slices, PyDict
// and maps with string keys. A top-level string is returned as is (str(s) == s);
// nested strings use repr() quoting.
func PyStr(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	var b strings.Builder
	if err := pyRepr(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func pyRepr(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int8:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int16:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint8:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint16:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float32:
		b.WriteString(PyFloat(float64(x)))
	case float64:
		b.WriteString(PyFloat(x))
	case string:
		b.WriteString(PyStrRepr(x))
	case []any:
		return pyList(b, len(x), func(i int) any { return x[i] })
	case []string:
		return pyList(b, len(x), func(i int) any { return x[i] })
	case []int:
		return pyList(b, len(x), func(i int) any { return x[i] })
	case []int64:
		return pyList(b, len(x), func(i int) any { return x[i] })
	case []float64:
		return pyList(b, len(x), func(i int) any { return x[i] })
	case []bool:
		return pyList(b, len(x), func(i int) any { return x[i] })
	case PyDict:
		return pyDict(b, x)
	case pyNumber:
		b.WriteString(x.repr())
	case map[string]any:
		return pyDict(b, sortedDict(x))
	case map[string]string:
		return pyDict(b, sortedDict(x))
	default:
		return fmt.Errorf("wire: no Python str() form for a value of type %T", v)
	}
	return nil
}

func pyList(b *strings.Builder, n int, at func(int) any) error {
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := pyRepr(b, at(i)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func pyDict(b *strings.Builder, d PyDict) error {
	b.WriteByte('{')
	for i, it := range d {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := pyRepr(b, it.Key); err != nil {
			return err
		}
		b.WriteString(": ")
		if err := pyRepr(b, it.Value); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// PyFloat renders f like Python's repr(float): the shortest round-trip digits,
// fixed notation with a trailing ".0" for decimal exponents in [-4, 16), and
// scientific notation ("1e+16", "1.5e-05") otherwise.
func PyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.LastIndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// PyStrRepr renders s like Python 3's repr(str).
func PyStrRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Python strings cannot hold invalid UTF-8; show the byte escaped.
			fmt.Fprintf(&b, "\\x%02x", s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteByte(quote)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// sortedDict turns a Go map into a PyDict with its keys in sorted order (Go
// maps have no insertion order to follow).
func sortedDict[V any](m map[string]V) PyDict {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := make(PyDict, 0, len(keys))
	for _, k := range keys {
		d = append(d, PyItem{k, m[k]})
	}
	return d
}

// pyNumber is a JSON number literal as Python's json module reads it: an int
// when it has no fraction or exponent, else a float.
type pyNumber string

func (n pyNumber) repr() string {
	s := string(n)
	if strings.ContainsAny(s, ".eE") {
		f, _ := strconv.ParseFloat(s, 64) // overflow gives ±Inf, as float() does
		return PyFloat(f)
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// PyJSON renders a JSON document the way Python's str() renders what
// json.loads makes of it: objects as dicts in document order (a repeated key
// keeps its first place and its last value), integers as ints, numbers with a
// fraction or exponent as floats, true/false/null as True/False/None. Empty
// input is an empty dict, as an absent dict field defaults to {}.
func PyJSON(raw []byte) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}", nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := pyValue(dec)
	if err != nil {
		return "", fmt.Errorf("wire: python form of JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("wire: python form of JSON: trailing data")
	}
	var b strings.Builder
	if err := pyRepr(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// pyValue reads one JSON value into nil, bool, pyNumber, string, []any or PyDict.
func pyValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			list := []any{}
			for dec.More() {
				v, err := pyValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token()
			return list, err
		case '{':
			d := PyDict{}
			index := map[string]int{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := pyValue(dec)
				if err != nil {
					return nil, err
				}
				if i, ok := index[k]; ok {
					d[i].Value = v
					continue
				}
				index[k] = len(d)
				d = append(d, PyItem{k, v})
			}
			_, err := dec.Token()
			return d, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return pyNumber(t), nil
	default: // nil, bool, string
		return t, nil
	}
}
