package rentals

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/renter"
)

// ReplayedError is the failure of the first request with an
// Idempotency-Key, answered again to a retry with the same key. It matches
// (errors.Is) what the first failure matched: renter.ErrNoneAvailable,
// ErrInterrupted, ..., and holds a *config.FieldError when the first did.
type ReplayedError struct{ Err error }

func (e *ReplayedError) Error() string {
	return "the first request with this Idempotency-Key failed: " + e.Err.Error()
}

func (e *ReplayedError) Unwrap() error { return e.Err }

// failureKinds are the errors a stored failure remembers, by name.
var failureKinds = []struct {
	name string
	err  error
}{
	{"interrupted", ErrInterrupted},
	{"no_candidate", renter.ErrNoCandidate},
	{"none_available", renter.ErrNoneAvailable},
	{"all_held", renter.ErrAllHeld},
	{"already_held", renter.ErrAlreadyHeld},
	{"refused", renter.ErrRefused},
	{"unreachable", renter.ErrUnreachable},
	{"unsupported", renter.ErrUnsupported},
	{"not_recorded", renter.ErrNotRecorded},
	{"deadline", context.DeadlineExceeded},
	{"canceled", context.Canceled},
}

// storedFailure is the JSON kept with a failed Idempotency-Key.
type storedFailure struct {
	Error      string   `json:"error"`
	Kinds      []string `json:"kinds,omitempty"`
	Field      string   `json:"field,omitempty"`
	FieldError string   `json:"field_error,omitempty"`
}

// failure encodes err for the key's record.
func failure(err error) []byte {
	f := storedFailure{Error: err.Error()}
	for _, k := range failureKinds {
		if errors.Is(err, k.err) {
			f.Kinds = append(f.Kinds, k.name)
		}
	}
	var fe *config.FieldError
	if errors.As(err, &fe) {
		f.Field, f.FieldError = fe.Field, fe.Err.Error()
	}
	b, _ := json.Marshal(f)
	return b
}

// replayedFailure decodes a key's stored failure.
func replayedFailure(b []byte) error {
	var f storedFailure
	if err := json.Unmarshal(b, &f); err != nil || f.Error == "" {
		return &ReplayedError{Err: errors.New("(its error was not stored)")}
	}
	e := &storedError{msg: f.Error}
	for _, name := range f.Kinds {
		for _, k := range failureKinds {
			if k.name == name {
				e.kinds = append(e.kinds, k.err)
			}
		}
	}
	if f.Field != "" {
		e.field = &config.FieldError{Field: f.Field, Err: errors.New(f.FieldError)}
	}
	return &ReplayedError{Err: e}
}

// storedError is a failure read back: its text, the errors it matched and
// its field error.
type storedError struct {
	msg   string
	kinds []error
	field *config.FieldError
}

func (e *storedError) Error() string { return e.msg }

func (e *storedError) Is(target error) bool {
	for _, k := range e.kinds {
		if k == target {
			return true
		}
	}
	return false
}

func (e *storedError) Unwrap() error {
	if e.field == nil {
		return nil
	}
	return e.field
}

// HTTPStatus is the status code an HTTP API best answers err with (200 for
// nil): 404 not found; 422 an Idempotency-Key reused with another body or a
// requirement no miner meets; 409 a request still running or interrupted,
// an ended rental, the last key, a miner already leased, a miner's refusal;
// 400 a bad field (*config.FieldError); 503 no miner available now; 502 a
// miner that cannot be reached; 501 a miner without lease actions; 504 a
// deadline; 500 anything else.
func HTTPStatus(err error) int {
	var fe *config.FieldError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrInProgress), errors.Is(err, ErrInterrupted), errors.Is(err, ErrEnded), errors.Is(err, ErrLastKey),
		errors.Is(err, renter.ErrAlreadyHeld), errors.Is(err, renter.ErrAllHeld):
		return http.StatusConflict
	case errors.As(err, &fe):
		return http.StatusBadRequest
	case errors.Is(err, renter.ErrNoCandidate):
		return http.StatusUnprocessableEntity
	case errors.Is(err, renter.ErrNoneAvailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, renter.ErrUnsupported):
		return http.StatusNotImplemented
	case errors.Is(err, renter.ErrRefused):
		return http.StatusConflict
	case errors.Is(err, renter.ErrUnreachable):
		return http.StatusBadGateway
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
