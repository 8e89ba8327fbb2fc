package renter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/specs"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"1073741824", 1 << 30, ""},
		{"1GiB", 1 << 30, ""},
		{"1gib", 1 << 30, ""},
		{" 2 TiB ", 2 << 40, ""},
		{"512MiB", 512 << 20, ""},
		{"10GB", 10e9, ""},
		{"1.5GiB", 3 << 29, ""},
		{"1.5g", 3 << 29, ""},
		{"4k", 4096, ""},
		{"0", 0, ""},
		{"100B", 100, ""},
		{"8EiB", 0, "unknown unit"},
		{"", 0, "not a number"},
		{"GiB", 0, "not a number"},
		{"abc", 0, `invalid size "abc": not a number with an optional unit`},
		{"-1GiB", 0, `invalid size "-1GiB": a size cannot be negative`},
		{" -5", 0, "cannot be negative"},
		{"1.2.3GiB", 0, "not a number"},
		{".", 0, "not a number"},
		{"0.3B", 0, "whole number"},
		{"9223372036854775807", 1<<63 - 1, ""},
		{"9223372036854775808", 0, "too large"},
		{"8388608TiB", 0, "too large"},
		{"99999999999999999999.5PiB", 0, "too large"},
		{strings.Repeat("1", 100), 0, "too long"},
		{"1 GiB x", 0, "unknown unit"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrInvalidSize) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseSize(%q) = %d, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{
		0: "0B", 1000: "1000B", 1 << 10: "1KiB", 1 << 30: "1GiB", 3 << 29: "1.5GiB",
		10e9: "9.3GiB", 24576 << 20: "24GiB", 1 << 50: "1PiB", -5: "-5B",
	} {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1GiB", "1.5g", "10GB", "0", "", "9223372036854775807", ".5k", "1e9", "1..5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSize) {
				t.Fatalf("error %v does not wrap ErrInvalidSize", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if back, err := ParseSize(FormatSize(n)); err == nil && n < 1<<10 && back != n {
			t.Fatalf("round trip of %d gave %d", n, back)
		}
	})
}

func TestResourcesRequirement(t *testing.T) {
	tests := []struct {
		name string
		in   Resources
		want container.Requirement
		err  string
	}{
		{"defaults", DefaultResources(), req(1, 1<<30, 0, 0, 0, ""), ""},
		{"full", Resources{CPUCount: 4, GPUCount: 2, GPUType: " 4090 ", GPUCapacity: "24GiB", RAM: "16GiB", Disk: "100GiB"},
			req(4, 16<<30, 100<<30, 2, 24576, "4090"), ""},
		{"gpu capacity in MB", Resources{CPUCount: 1, GPUCapacity: "24576", RAM: "1GiB"}, req(1, 1<<30, 0, 1, 24576, ""), ""},
		{"gpu capacity out of range", Resources{CPUCount: 1, GPUCapacity: "1000000000", RAM: "1GiB"}, container.Requirement{}, "gpu.capacity"},
		{"gpu capacity unit rounds up", Resources{CPUCount: 1, GPUCapacity: "1.5MB", RAM: "1GiB"}, req(1, 1<<30, 0, 1, 2, ""), ""},
		{"type implies one gpu", Resources{CPUCount: 1, GPUType: "A100", RAM: "1GiB"}, req(1, 1<<30, 0, 1, 0, "A100"), ""},
		{"zero cpus", Resources{CPUCount: 0, RAM: "1GiB"}, container.Requirement{}, "cpu.count"},
		{"bad ram", Resources{CPUCount: 1, RAM: "lots"}, container.Requirement{}, "renter.Resources.RAM: "},
		{"tiny ram", Resources{CPUCount: 1, RAM: "1MiB"}, container.Requirement{}, "ram.capacity"},
		{"no ram", Resources{CPUCount: 1}, container.Requirement{}, "ram.capacity"},
		{"bad disk", Resources{CPUCount: 1, RAM: "1GiB", Disk: "1XB"}, container.Requirement{}, "renter.Resources.Disk: "},
		{"small disk", Resources{CPUCount: 1, RAM: "1GiB", Disk: "1MiB"}, container.Requirement{}, "hard_disk.capacity"},
		{"negative gpu capacity", Resources{CPUCount: 1, RAM: "1GiB", GPUCapacity: "-5"}, container.Requirement{}, "renter.Resources.GPUCapacity: "},
		{"hostile gpu type", Resources{CPUCount: 1, RAM: "1GiB", GPUType: "4090'; rm -rf /"}, container.Requirement{}, "gpu.type"},
		{"too many gpus", Resources{CPUCount: 1, RAM: "1GiB", GPUCount: 1000}, container.Requirement{}, "gpu.count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Requirement()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func req(cpus int, ram, disk int64, gpus int, gpuMB int64, gpuType string) container.Requirement {
	var r container.Requirement
	r.CPU.Count, r.RAM.Capacity, r.Disk.Capacity = cpus, ram, disk
	r.GPU.Count, r.GPU.CapacityMB, r.GPU.Type = gpus, gpuMB, gpuType
	return r
}

func TestParseRequirementErrors(t *testing.T) {
	ok := `{"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},"hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}}`
	if r, err := ParseRequirement(ok); err != nil || r != req(1, 1<<30, 10<<30, 1, 24576, "4090") {
		t.Fatalf("the README's example: %+v, %v", r, err)
	}
	if _, err := ParseRequirement(`{"cpu":{"count":1},"gpu":{},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}}`); err != nil {
		t.Fatalf("empty gpu: %v", err)
	}
	for in, want := range map[string]string{
		``:                              "cpu.count",
		`[]`:                            "must be a JSON object",
		`{"cpu":{"count":1}`:            "not valid JSON",
		`{"cpu":{"count":"two"}}`:       "must be a number",
		`{"cpu":{"count":1.5}}`:         "whole number",
		`{"cpu":{"count":1},"disk":{}}`: `unknown key "disk"`,
		`{"cpu":{"count":1},"ram":{"capacity":-1}}`:           "ram.capacity",
		`{"cpu":{"count":1},"ram":{"capacity":1073741824}} x`: "trailing data",
	} {
		_, err := ParseRequirement(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRequirement(%q): %v; want an error containing %q", in, err, want)
		}
	}
}

func gpuDetail(name string, mb int64) specs.GPUDetail {
	return specs.GPUDetail{Name: name, Capacity: mb}
}

func TestMeets(t *testing.T) {
	parse := func(raw json.RawMessage) specs.Specs {
		s, err := ParseSpecs(raw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	box := parse(machine(8, 32, 500, gpuDetail("NVIDIA GeForce RTX 4090", 24564), gpuDetail("NVIDIA GeForce RTX 4090", 24564), gpuDetail("NVIDIA A100-SXM4-80GB", 81920)))
	cpuOnly := parse(machine(2, 4, 50))
	tests := []struct {
		name string
		s    specs.Specs
		r    container.Requirement
		why  string // "" = meets
	}{
		{"minimal", cpuOnly, req(1, 1<<30, 0, 0, 0, ""), ""},
		{"exact cpu, ram and disk", cpuOnly, req(2, 4<<30, 50<<30, 0, 0, ""), ""},
		{"one cpu short", cpuOnly, req(3, 1<<30, 0, 0, 0, ""), "CPUs"},
		{"ram short", cpuOnly, req(1, 5<<30, 0, 0, 0, ""), "RAM"},
		{"disk short", cpuOnly, req(1, 1<<30, 51<<30, 0, 0, ""), "disk"},
		{"no gpu", cpuOnly, req(1, 1<<30, 0, 1, 0, ""), "GPUs"},
		{"two 4090s, nominal size within 1%", box, req(1, 1<<30, 0, 2, 24576, "4090"), ""},
		{"type is case-insensitive", box, req(1, 1<<30, 0, 1, 0, "a100"), ""},
		{"three 4090s", box, req(1, 1<<30, 0, 3, 0, "4090"), "GPUs"},
		{"any three gpus", box, req(1, 1<<30, 0, 3, 20000, ""), ""},
		{"capacity per gpu", box, req(1, 1<<30, 0, 2, 40000, ""), "GPUs"},
		{"big one", box, req(1, 1<<30, 0, 1, 80000, ""), ""},
		{"wrong model", box, req(1, 1<<30, 0, 1, 0, "H100"), "GPUs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Meets(tc.s, tc.r)
			if tc.why == "" {
				if err != nil {
					t.Fatalf("does not meet: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotMet) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want ErrNotMet about %s", err, tc.why)
			}
		})
	}
	// Logical CPUs count when reported.
	ht := cpuOnly
	ht.CPU.Count, ht.CPU.Logical = 2, 4
	if err := Meets(ht, req(4, 1<<30, 0, 0, 0, "")); err != nil {
		t.Fatalf("4 logical CPUs: %v", err)
	}
}

func TestParseSpecsStringForm(t *testing.T) {
	raw := machine(2, 4, 50)
	quoted, _ := json.Marshal(string(raw))
	s, err := ParseSpecs(quoted)
	if err != nil || s.CPU.Count != 2 {
		t.Fatalf("specs as a JSON string: %+v, %v", s, err)
	}
	if _, err := ParseSpecs(json.RawMessage(`{"cpu":{"count":-1}}`)); err == nil {
		t.Fatal("negative CPU count accepted")
	}
}

// FuzzMeets feeds hostile stored specs and requirements: no panic, and a
// verdict for every readable pair.
func FuzzMeets(f *testing.F) {
	f.Add([]byte(machine(2, 4, 50)), `{"cpu":{"count":1},"ram":{"capacity":1073741824}}`)
	f.Add([]byte(machine(8, 32, 500, gpuDetail("RTX 4090", 24564))), `{"cpu":{"count":1},"gpu":{"count":1,"type":"4090","capacity":24576},"ram":{"capacity":1073741824}}`)
	f.Add([]byte(`"{\"cpu\":{\"count\":3}}"`), `{}`)
	f.Add([]byte(`{"gpu":{"count":1,"capacity":5,"details":[{"name":"x","capacity":5}]}}`), `{"cpu":{"count":1},"gpu":{"count":9999999}}`)
	f.Fuzz(func(t *testing.T, specsJSON []byte, reqJSON string) {
		s, err := ParseSpecs(specsJSON)
		if err != nil {
			return
		}
		r, err := ParseRequirement(reqJSON)
		if err != nil {
			if !errors.Is(err, container.ErrInvalidRequirement) {
				t.Fatalf("requirement error %v is not ErrInvalidRequirement", err)
			}
			return
		}
		if err := Meets(s, r); err != nil && !errors.Is(err, ErrNotMet) {
			t.Fatalf("Meets error %v is not ErrNotMet", err)
		}
		_ = DescribeRequirement(r)
	})
}

func TestDescribeRequirement(t *testing.T) {
	for r, want := range map[container.Requirement]string{
		req(1, 1<<30, 0, 0, 0, ""):              "1 CPU, 1GiB RAM",
		req(2, 8<<30, 50<<30, 1, 24576, "4090"): "2 CPU, 1x 4090 >=24GiB, 8GiB RAM, 50GiB disk",
		req(4, 16<<30, 0, 2, 0, ""):             "4 CPU, 2x GPU, 16GiB RAM",
	} {
		if got := DescribeRequirement(r); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestCheckTimeline(t *testing.T) {
	for days, ok := range map[int]bool{-1: false, 0: false, 1: true, 30: true, 60: true, 61: false, 90: false} {
		if err := CheckTimeline(days); (err == nil) != ok {
			t.Errorf("CheckTimeline(%d) = %v", days, err)
		}
	}
}
