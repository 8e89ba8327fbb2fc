//go:build !nogpu

package dl

import (
	"errors"
	"fmt"

	"github.com/ebitengine/purego"
)

// Open dlopens the first library of names that loads and returns its handle and
// name. On failure the error is the loader's message for the first name.
func Open(names []string) (handle uintptr, name string, err error) {
	var first error
	for _, n := range names {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return h, n, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errors.New("no library names to try")
	}
	return 0, "", first
}

// Resolve binds every binding against lib, taking the first symbol name that
// exists. A missing symbol is an error naming it, never a panic.
func Resolve(lib uintptr, bs []Binding) error {
	for _, b := range bs {
		var sym uintptr
		for _, n := range b.Names {
			if s, err := purego.Dlsym(lib, n); err == nil && s != 0 {
				sym = s
				break
			}
		}
		if sym == 0 {
			return fmt.Errorf("symbol %s not found", b.Names[0])
		}
		purego.RegisterFunc(b.Fptr, sym)
	}
	return nil
}
