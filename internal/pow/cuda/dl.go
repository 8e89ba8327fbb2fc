package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// openFirst dlopens the first library of names that loads. On failure the
// error is the loader's message for the first name.
func openFirst(names []string) (handle uintptr, name string, err error) {
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

// binding is one C function to resolve: a pointer to a Go func variable and
// the symbol names to try, newest first.
type binding struct {
	fptr  any
	names []string
}

func bind(fptr any, names ...string) binding { return binding{fptr, names} }

// resolve registers every binding against lib. A missing symbol is an error
// rather than the panic purego.RegisterLibFunc would raise.
func resolve(lib uintptr, bs []binding) error {
	for _, b := range bs {
		var sym uintptr
		for _, n := range b.names {
			if s, err := purego.Dlsym(lib, n); err == nil && s != 0 {
				sym = s
				break
			}
		}
		if sym == 0 {
			return fmt.Errorf("symbol %s not found", b.names[0])
		}
		purego.RegisterFunc(b.fptr, sym)
	}
	return nil
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	var n int
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// cString returns s as a NUL-terminated byte slice.
func cString(s string) []byte { return append([]byte(s), 0) }

// trimNUL returns the text of a fixed-size C char buffer.
func trimNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
