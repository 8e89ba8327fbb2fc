package version

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSemver(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when refused
	}{
		{"1.5.0", "1.5.0"},
		{"0.0.1", "0.0.1"},
		{"10.20.30", "10.20.30"},
		{"1.6.0-rc.1", "1.6.0-rc.1"},
		{"1.0.0-alpha-1.x", "1.0.0-alpha-1.x"},
		{"1.0.0+build.5", "1.0.0+build.5"},
		{"1.0.0-beta+exp.sha.5114f85", "1.0.0-beta+exp.sha.5114f85"},
		{"", ""},
		{"dev", ""},
		{"v1.5.0", ""},
		{"1.5", ""},
		{"1.5.0.1", ""},
		{"01.5.0", ""},
		{"1.5.0-", ""},
		{"1.5.0-rc..1", ""},
		{"1.5.0-01", ""},
		{"1.5.0+", ""},
		{"1.5.0-rc_1", ""},
		{"1.-5.0", ""},
		{"99999999999999999999.0.0", ""},
		{"1.5.0 ", ""},
		{"1.0.0-" + strings.Repeat("a", MaxSemverLength), ""},
	}
	for _, tc := range tests {
		v, err := ParseSemver(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseSemver(%q) = %v, want an error", tc.in, v)
		case tc.want == "" && !errors.Is(err, ErrNotSemver):
			t.Errorf("ParseSemver(%q) error %v does not wrap ErrNotSemver", tc.in, err)
		case tc.want != "" && err != nil:
			t.Errorf("ParseSemver(%q): %v", tc.in, err)
		case tc.want != "" && v.String() != tc.want:
			t.Errorf("ParseSemver(%q).String() = %q", tc.in, v.String())
		}
	}
}

func TestSemverCompare(t *testing.T) {
	// Ascending, from semver.org's precedence example and more.
	order := []string{"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0"}
	for i, a := range order {
		for j, b := range order {
			va, _ := ParseSemver(a)
			vb, _ := ParseSemver(b)
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := va.Compare(vb); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	a, _ := ParseSemver("1.5.0+one")
	b, _ := ParseSemver("1.5.0+two")
	if a.Compare(b) != 0 {
		t.Error("build metadata takes part in the order")
	}
}

func TestRelease(t *testing.T) {
	// A test binary is built without the link-time release version.
	if got := Release(); got != Dev || IsRelease() {
		t.Fatalf("Release() = %q in a test build, want %q", got, Dev)
	}
	if p := Platform(); !strings.Contains(p, "-") || (GPU == strings.HasSuffix(p, "-nogpu")) {
		t.Fatalf("Platform() = %q with GPU %v", p, GPU)
	}
}

func FuzzParseSemver(f *testing.F) {
	for _, s := range []string{"1.5.0", "1.0.0-rc.1+b", "01.0.0", "", "1.0.0-0.a-b.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSemver(s)
		if err != nil {
			return
		}
		// What parses prints back as itself and equals itself.
		if v.String() != s {
			t.Fatalf("ParseSemver(%q).String() = %q", s, v.String())
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q does not equal itself", s)
		}
	})
}
