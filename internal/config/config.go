// Package config holds what the packages' configuration checks share: an
// error that names the field of a Config that is wrong, not the command-line
// flag that may have filled it. cmd/compute maps fields to flag names.
package config

import "fmt"

// FieldError is a configuration field holding a value its package refuses.
type FieldError struct {
	// Field names the field by its Go path, qualified by its package and
	// type: "miner.Config.AxonPort", "validator.Config.Score.MaxDifficulty".
	Field string
	// Err is the problem, worded to follow the field's name ("70000 is not
	// a port"); it may wrap a cause.
	Err error
}

// Errorf returns a *FieldError for field whose problem is fmt.Errorf(format,
// args...); %w wraps a cause.
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Error is the field and the problem: "miner.Config.AxonPort: 70000 is not a port".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FieldError) Unwrap() error { return e.Err }
