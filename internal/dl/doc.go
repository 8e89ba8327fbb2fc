// Package dl loads C shared libraries at run time (dlopen) and binds their
// functions to Go function variables, without cgo. The GPU packages use it for
// the NVIDIA driver, NVRTC and NVML, so one binary runs with or without them.
//
// Built with the nogpu tag, the package has no loader: Open always fails with
// ErrNoLoader, and the binary links fully statically.
package dl

import "errors"

// ErrNoLoader is returned by Open in binaries built with the nogpu tag.
var ErrNoLoader = errors.New("this binary was built without GPU support (nogpu tag): no dynamic library loading")

// Binding is one C function to resolve: a pointer to a Go func variable and
// the symbol names to try, preferred first.
type Binding struct {
	Fptr  any
	Names []string
}

// Bind is shorthand for a Binding.
func Bind(fptr any, names ...string) Binding { return Binding{fptr, names} }
