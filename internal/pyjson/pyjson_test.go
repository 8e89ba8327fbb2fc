package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type gpuDetail struct {
	Name     string `json:"name"`
	Capacity int64  `json:"capacity"`
}

type report struct {
	Count     int         `json:"count"`
	Capacity  int64       `json:"capacity"`
	Details   []gpuDetail `json:"details"`
	Speed     uint32      `json:"speed"`
	Frequency float64     `json:"frequency"`
	Note      string      `json:"note"`
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    report
		wantErr string // substring; "" for success
	}{
		{"python floats", `{"count": 1, "capacity": 81920.0, "details": [{"name": "NVIDIA A100-SXM4-80GB", "capacity": 81920.0}], "frequency": 2450.0}`,
			report{Count: 1, Capacity: 81920, Details: []gpuDetail{{"NVIDIA A100-SXM4-80GB", 81920}}, Frequency: 2450}, ""},
		{"exponent", `{"capacity": 8.192e4, "count": 2E0, "speed": 1.41e+3}`, report{Capacity: 81920, Count: 2, Speed: 1410}, ""},
		{"negative zero", `{"count": -0.0}`, report{}, ""},
		{"plain ints untouched", `{"count": 3, "capacity": 9223372036854775807}`, report{Count: 3, Capacity: 9223372036854775807}, ""},
		{"floats stay floats", `{"frequency": 3187.4586875}`, report{Frequency: 3187.4586875}, ""},
		{"number-like text in strings", `{"note": "81920.0 -1.5e3 \"2.0\""}`, report{Note: `81920.0 -1.5e3 "2.0"`}, ""},
		{"fraction", `{"details": [{"capacity": 81920.5}]}`, report{}, "details.capacity: 81920.5 is not a whole number"},
		{"small fraction", `{"count": 1e-3}`, report{}, "count: 1e-3 is not a whole number"},
		{"beyond int64", `{"capacity": 1e19}`, report{}, "capacity: 1e19 is out of range for int64"},
		{"beyond int", `{"count": 9.3e18}`, report{}, "count: 9.3e18 is out of range for int"},
		{"negative into unsigned", `{"speed": -1.0}`, report{}, "speed: -1 is out of range for uint32"},
		{"beyond uint32", `{"speed": 5e9}`, report{}, "speed: 5000000000 is out of range for uint32"},
		{"overflowing float", `{"capacity": 1e400}`, report{}, "capacity: 1e400 is out of range for int64"},
		{"string for int", `{"count": "1"}`, report{}, "cannot unmarshal string"},
		{"python NaN", `{"frequency": NaN}`, report{}, "invalid character"},
		{"trailing data", `{"count": 1} {}`, report{}, "invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got report
			err := Unmarshal([]byte(tc.in), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "whole") || strings.Contains(tc.wantErr, "range") {
					if !errors.Is(err, ErrNumber) {
						t.Fatalf("%v does not wrap ErrNumber", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(tc.want)
			if !bytes.Equal(a, b) {
				t.Fatalf("got %s, want %s", a, b)
			}
		})
	}
}

func TestWholeNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{`81920.0`, `81920`},
		{`[1.0,2.5,3e2,-4.0E+1,0.0,-0.0]`, `[1,2.5,300,-40,0,-0]`},
		{`{"a":"1.0","b":1.0}`, `{"a":"1.0","b":1}`},
		{`{"a":"\\"}`, `{"a":"\\"}`},
		{`{"a":"\"1.0"}`, `{"a":"\"1.0"}`},
		{`9223372036854775807.0`, `9223372036854775807.0`}, // rounds to 2^63: out of range, left alone
		{`-9223372036854775808.0`, `-9223372036854775808`},
		{`1.`, `1.`},     // invalid: left for the decoder to refuse
		{`01.0`, `01.0`}, // invalid
		{`"unterminated 1.0`, `"unterminated 1.0`},
	}
	for _, tc := range tests {
		if got := string(WholeNumbers([]byte(tc.in))); got != tc.want {
			t.Errorf("WholeNumbers(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	in := []byte(`{"a": 1, "b": "x"}`)
	if out := WholeNumbers(in); &out[0] != &in[0] {
		t.Error("a document without floats was copied")
	}
}

// FuzzUnmarshal checks that the rewrite never changes what a valid document
// means: the same strings, and numbers equal as float64 values.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"cpu": {"count": 8, "frequency": 2450.0}, "gpu": {"count": 1, "capacity": 81920.0, "details": [{"name": "A100", "capacity": 81920.0}]}}`,
		`[1.0, -0.0, 1e3, 1.5, "2.0", 1e400, 9.3e18, -9.3e18]`,
		`{"a": "\"1.0\\", "b": 0.1e1}`,
		`{"count": 1e-3}`, `1.`, `-`, `"`, `[01.0]`, `[-0.0, 0.0, -1.0]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := WholeNumbers(data)
		var a, b any
		errA := json.Unmarshal(data, &a)
		errB := json.Unmarshal(out, &b)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("validity changed: %v vs %v for %q -> %q", errA, errB, data, out)
		}
		if errA == nil {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("meaning changed: %s vs %s", ja, jb)
			}
		}
		var r report
		_ = Unmarshal(data, &r) // must not panic
	})
}
