package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// checkBody refuses a body where the route takes none and a body that is
// not JSON where it takes one, before anything reads it.
func checkBody(r *http.Request, rt route) error {
	if r.ContentLength > MaxBodyBytes {
		return problemf(http.StatusRequestEntityTooLarge, kindBodyTooLarge, "the body is %d bytes; at most %d are accepted", r.ContentLength, MaxBodyBytes)
	}
	if !rt.body {
		if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
			// Read a little: an empty chunked body is fine.
			b, _ := io.ReadAll(io.LimitReader(r.Body, 64))
			if len(bytes.TrimSpace(b)) > 0 && !bytes.Equal(bytes.TrimSpace(b), []byte("{}")) {
				return invalid("body", "%s %s takes no body", r.Method, rt.pattern)
			}
		}
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return problemf(http.StatusUnsupportedMediaType, kindUnsupportedMedia, "the body needs Content-Type: application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return problemf(http.StatusUnsupportedMediaType, kindUnsupportedMedia, "the body is %q; it must be application/json", ct)
	}
	return nil
}

// decodeJSON reads one JSON object from body into v: unknown fields,
// trailing data, wrong types and bodies over MaxBodyBytes are refused with
// what is wrong and where.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonProblem(err)
		}
		return invalid("body", "the body holds more than one JSON value")
	}
	return nil
}

// jsonProblem words a JSON decoding error for the client, naming the field.
func jsonProblem(err error) *Problem {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return problemf(http.StatusRequestEntityTooLarge, kindBodyTooLarge, "the body is larger than the %d bytes accepted", mbe.Limit)
	case errors.Is(err, io.EOF):
		return invalid("body", "the body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "the body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return invalid("body", "the body is not valid JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("body", "the body must be a JSON object, not %s", typ.Value)
		}
		return invalid(typ.Field, "%s: expected %s, got %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name := strings.Trim(f, `"`)
		if name == "" {
			return invalid("body", "unknown field %s", f)
		}
		return invalid(name, "unknown field %q", name)
	}
	return invalid("body", "the body cannot be read: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "an array"
	case k == "map", k == "struct", k == "ptr":
		return "an object"
	}
	return fmt.Sprintf("a %s", k)
}
