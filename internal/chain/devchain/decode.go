package devchain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// decodeStrict decodes JSON into v refusing unknown fields and trailing
// data. Its errors name the offending field under prefix ("args",
// "args.params.tempo"; the value itself when prefix is ""), as fieldError
// words them.
func decodeStrict(raw []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fieldError(prefix, err, reflect.TypeOf(v))
	}
	if dec.More() {
		return fmt.Errorf("%s: trailing data after the JSON value", orBody(prefix))
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("%s: trailing data after the JSON value", orBody(prefix))
	}
	return nil
}

func orBody(prefix string) string {
	if prefix == "" {
		return "body"
	}
	return prefix
}

func joinPath(prefix, field string) string {
	switch {
	case field == "":
		return orBody(prefix)
	case prefix == "":
		return field
	}
	return prefix + "." + field
}

// fieldError words a decoding error for an operator, naming the field:
// "args.amount: -1 is not a whole number in 0..18446744073709551615",
// "args: unknown field \"x\"", "body: malformed JSON (unexpected EOF)".
func fieldError(prefix string, err error, t reflect.Type) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		path := joinPath(prefix, jsonPath(t, te.Field))
		want := describeType(te.Type)
		if lit, ok := strings.CutPrefix(te.Value, "number "); ok {
			return fmt.Errorf("%s: %s is not %s", path, lit, want)
		}
		return fmt.Errorf("%s: got a JSON %s, want %s", path, te.Value, want)
	case errors.As(err, &se):
		return fmt.Errorf("%s: malformed JSON at byte %d: %s", orBody(prefix), se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%s: malformed JSON (it ends early)", orBody(prefix))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return fmt.Errorf("%s: %s", orBody(prefix), msg)
}

// jsonPath rewrites encoding/json's field path within t (which names an
// embedded struct by its Go type, "params.Hyperparameters.tempo") as the
// JSON path a caller wrote ("params.tempo").
func jsonPath(t reflect.Type, path string) string {
	if path == "" {
		return ""
	}
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out, t = append(out, seg), nil
			continue
		}
		next, embedded := fieldByJSONName(t, seg)
		if !embedded {
			out = append(out, seg)
		}
		t = next
	}
	return strings.Join(out, ".")
}

// fieldByJSONName finds the field of struct t that seg names: its JSON name
// (or Go name when untagged), or an embedded struct's type name (embedded
// true: the segment is not part of the JSON path). nil when none matches.
func fieldByJSONName(t reflect.Type, seg string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			if f.Name == seg {
				return f.Type, true
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == seg {
			return f.Type, false
		}
	}
	return nil, false
}

// describeType says what JSON a Go type takes.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return fmt.Sprintf("a whole number in 0..%d", ^uint64(0)>>(64-t.Bits()))
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return fmt.Sprintf("a whole number in %d..%d", -(int64(1) << (t.Bits() - 1)), int64(1)<<(t.Bits()-1)-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}
