package version

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxSemverLength bounds the text ParseSemver accepts.
const MaxSemverLength = 64

// ErrNotSemver is wrapped by every error of ParseSemver.
var ErrNotSemver = errors.New("not a semantic version")

// Semver is a semantic version (semver.org 2.0): MAJOR.MINOR.PATCH, an
// optional pre-release ("-rc.1") and optional build metadata ("+abc"), which
// takes no part in ordering.
type Semver struct {
	Major, Minor, Patch uint64
	Pre                 []string
	Build               string
}

// ParseSemver parses s strictly: no leading "v", no leading zeros, no empty
// identifiers, at most MaxSemverLength bytes.
func ParseSemver(s string) (Semver, error) {
	fail := func(why string) (Semver, error) {
		shown := s
		if len(shown) > MaxSemverLength {
			shown = shown[:MaxSemverLength] + "..."
		}
		return Semver{}, fmt.Errorf("%q: %w (%s)", shown, ErrNotSemver, why)
	}
	if s == "" {
		return fail("empty")
	}
	if len(s) > MaxSemverLength {
		return fail(fmt.Sprintf("longer than %d bytes", MaxSemverLength))
	}
	var v Semver
	rest, build, hasBuild := strings.Cut(s, "+")
	if hasBuild {
		for _, id := range strings.Split(build, ".") {
			if id == "" || !identifier(id) {
				return fail("bad build metadata")
			}
		}
		v.Build = build
	}
	core, pre, hasPre := strings.Cut(rest, "-")
	if hasPre {
		for _, id := range strings.Split(pre, ".") {
			if id == "" || !identifier(id) {
				return fail("bad pre-release")
			}
			if numeric(id) && len(id) > 1 && id[0] == '0' {
				return fail("leading zero in the pre-release")
			}
			v.Pre = append(v.Pre, id)
		}
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return fail("want MAJOR.MINOR.PATCH")
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if p == "" || !numeric(p) || (len(p) > 1 && p[0] == '0') {
			return fail("MAJOR, MINOR and PATCH are numbers without leading zeros")
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return fail("number too large")
		}
		*nums[i] = n
	}
	return v, nil
}

// String is the version as ParseSemver reads it.
func (v Semver) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare orders v and w by semver precedence: -1, 0 or +1. Build metadata
// is ignored; a pre-release is below its release.
func (v Semver) Compare(w Semver) int {
	for _, c := range [][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.Pre) == 0 && len(w.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(w.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(w.Pre); i++ {
		if c := comparePre(v.Pre[i], w.Pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.Pre) < len(w.Pre):
		return -1
	case len(v.Pre) > len(w.Pre):
		return 1
	}
	return 0
}

// comparePre orders two pre-release identifiers: numbers numerically and
// below words, words in ASCII order.
func comparePre(a, b string) int {
	an, bn := numeric(a), numeric(b)
	switch {
	case an && bn:
		if len(a) != len(b) { // no leading zeros: the longer number is larger
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func identifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}
