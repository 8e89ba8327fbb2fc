package version

import (
	"fmt"
	"testing"
)

func TestVersionForms(t *testing.T) {
	tests := []struct {
		name      string
		got, want any
	}{
		{"string", String, "1.4.2"},
		{"string matches parts", String, fmt.Sprintf("%d.%d.%d", Major, Minor, Patch)},
		{"int", Int, 142},
		{"spec version", SpecVersion, 1_004_002},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
