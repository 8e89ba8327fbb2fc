package container

import (
	"errors"
	"testing"
)

func TestParseRequirement(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Requirement
		err  error
	}{
		{"original example", `{"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},"hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}}`,
			Requirement{CPU: CPURequirement{1}, GPU: GPURequirement{1, 24576, "4090"}, Disk: SizeRequirement{10737418240}, RAM: SizeRequirement{1073741824}}, nil},
		{"empty gpu", `{"cpu":{"count":2},"gpu":{},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}}`,
			Requirement{CPU: CPURequirement{2}, RAM: SizeRequirement{1073741824}}, nil},
		{"no gpu key, float integral", `{"cpu":{"count":1.0},"ram":{"capacity":1.073741824e9}}`,
			Requirement{CPU: CPURequirement{1}, RAM: SizeRequirement{1073741824}}, nil},
		{"null gpu", `{"cpu":{"count":1},"gpu":null,"ram":{"capacity":1073741824}}`,
			Requirement{CPU: CPURequirement{1}, RAM: SizeRequirement{1073741824}}, nil},
		{"empty", ``, Requirement{}, ErrInvalidRequirement},
		{"not an object", `[1,2]`, Requirement{}, ErrInvalidRequirement},
		{"truncated", `{"cpu":{"count":1}`, Requirement{}, ErrInvalidRequirement},
		{"trailing data", `{"cpu":{"count":1},"ram":{"capacity":1073741824}} {}`, Requirement{}, ErrInvalidRequirement},
		{"unknown key", `{"cpu":{"count":1},"ram":{"capacity":1073741824},"privileged":true}`, Requirement{}, ErrInvalidRequirement},
		{"unknown nested key", `{"cpu":{"count":1,"shares":9},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"missing cpu", `{"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"missing ram", `{"cpu":{"count":1}}`, Requirement{}, ErrInvalidRequirement},
		{"negative cpu", `{"cpu":{"count":-1},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"absurd cpu", `{"cpu":{"count":100000},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"fractional cpu", `{"cpu":{"count":1.5},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"string cpu", `{"cpu":{"count":"1"},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"bool ram", `{"cpu":{"count":1},"ram":{"capacity":true}}`, Requirement{}, ErrInvalidRequirement},
		{"cpu not object", `{"cpu":1,"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"huge number", `{"cpu":{"count":1e400},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"overflow int64", `{"cpu":{"count":1},"ram":{"capacity":99999999999999999999}}`, Requirement{}, ErrInvalidRequirement},
		{"tiny ram", `{"cpu":{"count":1},"ram":{"capacity":1024}}`, Requirement{}, ErrInvalidRequirement},
		{"absurd ram", `{"cpu":{"count":1},"ram":{"capacity":1e18}}`, Requirement{}, ErrInvalidRequirement},
		{"tiny disk", `{"cpu":{"count":1},"hard_disk":{"capacity":5},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"negative disk", `{"cpu":{"count":1},"hard_disk":{"capacity":-5},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"gpu capacity without count", `{"cpu":{"count":1},"gpu":{"capacity":24576},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"gpu type injection", `{"cpu":{"count":1},"gpu":{"count":1,"type":"4090; rm -rf /"},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"gpu type not string", `{"cpu":{"count":1},"gpu":{"count":1,"type":4090},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
		{"too many gpus", `{"cpu":{"count":1},"gpu":{"count":1000},"ram":{"capacity":1073741824}}`, Requirement{}, ErrInvalidRequirement},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequirement([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRequirementTooLarge(t *testing.T) {
	big := make([]byte, maxRequirementBytes+1)
	if _, err := ParseRequirement(big); !errors.Is(err, ErrInvalidRequirement) {
		t.Fatal(err)
	}
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{
		`{"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},"hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}}`,
		`{"cpu":{"count":1},"gpu":{},"ram":{"capacity":1073741824}}`,
		`{"cpu":{"count":1e400}}`, `{"cpu":[]}`, `null`, `{`, `{"gpu":{"type":"\u0000"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRequirement(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequirement) {
				t.Fatalf("error without ErrInvalidRequirement: %v", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed requirement fails validation: %v", err)
		}
		if _, err := ComputeLimits(r, Host{CPUs: []int{0, 1}, MemoryBytes: 1 << 34}, 0); err != nil && !errors.Is(err, ErrInsufficientResources) {
			t.Fatalf("limits: %v", err)
		}
	})
}
