// Package pyjson decodes JSON written by Python peers into Go values. Python
// programs write whole numbers as floats where a library hands them floats
// (GPUtil's memory sizes, psutil's frequencies: `81920.0`), and pydantic reads
// such a float into an int field. Unmarshal accepts a whole-number float
// wherever the Go value is an integer, and refuses a fraction or a value out
// of the integer type's range with an error naming the field. It holds no
// state and is safe for concurrent use.
package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/sn27/compute/internal/clip"
)

// ErrNumber marks a number that does not fit the integer field it is decoded
// into: a fraction, or a value out of the field's range. Errors of Unmarshal
// that match it are *NumberError.
var ErrNumber = errors.New("number does not fit its field")

// NumberError is a number that does not fit its field.
type NumberError struct {
	Field   string // JSON path, e.g. "gpu.details.capacity"
	Literal string // the number as decoded
	Reason  string // "is not a whole number" or "is out of range for int64"
}

func (e *NumberError) Error() string {
	return "field " + e.Field + ": " + clip.String(e.Literal, 32) + " " + e.Reason
}

// Is makes errors.Is(err, ErrNumber) true.
func (e *NumberError) Is(target error) bool { return target == ErrNumber }

// Unmarshal decodes data into v as encoding/json does, except that a number
// written with a fraction or an exponent (81920.0, 8.192e4) is accepted by an
// integer field when its value is whole and within the field's range. A
// number that still does not fit is a *NumberError naming the field by its
// JSON path ("field gpu.details.capacity: 81920.5 is not a whole number").
func Unmarshal(data []byte, v any) error {
	err := json.Unmarshal(WholeNumbers(data), v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
		return numberError(te)
	}
	return err
}

// numberError rewords a number that did not fit its Go type. The literal is
// the one decoded: a whole float in the int64 range shows in integer form.
func numberError(te *json.UnmarshalTypeError) error {
	field := te.Field
	if field == "" {
		field = "value"
	}
	lit := strings.TrimSpace(strings.TrimPrefix(te.Value, "number"))
	e := &NumberError{Field: field, Literal: lit, Reason: "is out of range for " + te.Type.Kind().String()}
	if f, err := strconv.ParseFloat(lit, 64); err == nil && f != math.Trunc(f) {
		e.Reason = "is not a whole number"
	}
	return e
}

// WholeNumbers returns data with every number literal that has a fraction or
// an exponent but a whole value within the int64 range rewritten as a plain
// integer (81920.0 -> 81920, 1e3 -> 1000, -0.0 -> -0). Strings and every other
// byte are left alone; data that is not valid JSON stays invalid. When nothing
// needs rewriting, data itself is returned.
func WholeNumbers(data []byte) []byte {
	if !mayHaveFloat(data) {
		return data
	}
	var out []byte // nil until the first rewrite
	last := 0      // data[last:] is not yet copied to out
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			i = skipString(data, i)
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(data) && isNumberByte(data[j]) {
				j++
			}
			if rep, ok := wholeLiteral(data[i:j]); ok {
				if out == nil {
					out = make([]byte, 0, len(data))
				}
				out = append(out, data[last:i]...)
				out = append(out, rep...)
				last = j
			}
			i = j
		default:
			i++
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// mayHaveFloat reports whether data has a '.', or an 'e' or 'E' after a
// digit: a number with a fraction or an exponent has one of them.
func mayHaveFloat(data []byte) bool {
	for i := 0; i < len(data); {
		j := bytes.IndexAny(data[i:], ".eE")
		if j < 0 {
			return false
		}
		i += j
		if data[i] == '.' || (i > 0 && data[i-1] >= '0' && data[i-1] <= '9') {
			return true
		}
		i++
	}
	return false
}

// skipString returns the index just past the JSON string starting at data[i]
// (or len(data) when it is not terminated).
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// twoTo63 is 2^63, the first float64 above the int64 range.
const twoTo63 = 9223372036854775808.0

// wholeLiteral returns the integer form of a float literal with a whole value
// in the int64 range.
func wholeLiteral(lit []byte) ([]byte, bool) {
	if bytes.IndexAny(lit, ".eE") < 0 {
		return nil, false // already an integer literal
	}
	if !validNumber(lit) {
		return nil, false // let the decoder report it
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || f != math.Trunc(f) || f >= twoTo63 || f < -twoTo63 {
		return nil, false
	}
	if f == 0 && math.Signbit(f) {
		return []byte("-0"), true // still -0 for a float field, 0 for an integer
	}
	return strconv.AppendInt(nil, int64(f), 10), true
}

// validNumber reports whether lit is a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(lit []byte) bool {
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && lit[start] == '0') {
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(lit)
}
