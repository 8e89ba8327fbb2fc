//go:build nogpu

package dl

// Open always fails: this build has no dynamic loader.
func Open(names []string) (uintptr, string, error) { return 0, "", ErrNoLoader }

// Resolve always fails: this build has no dynamic loader.
func Resolve(lib uintptr, bs []Binding) error { return ErrNoLoader }
