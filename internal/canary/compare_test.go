package canary

import (
	"testing"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/specs"
)

const gib = int64(1) << 30

func claim(cpus int, ramGiB, diskGiB int64, gpus ...specs.GPUDetail) specs.Specs {
	return specs.Specs{
		CPU:      specs.CPU{Count: cpus},
		RAM:      specs.RAM{Total: 2 * ramGiB * gib, Available: ramGiB * gib},
		HardDisk: specs.Disk{Total: 2 * diskGiB * gib, Free: diskGiB * gib},
		GPU:      specs.GPU{Count: len(gpus), Details: append([]specs.GPUDetail{}, gpus...)},
	}
}

func TestExpectationAndRequirement(t *testing.T) {
	h200 := specs.GPUDetail{Name: "NVIDIA H200", Capacity: 143771}
	tests := []struct {
		name string
		s    specs.Specs
		want container.Requirement
	}{
		{"plain", claim(8, 10, 100), req(8, 9*gib, 90*gib, 0, 0)},
		{"logical CPUs count", specs.Specs{CPU: specs.CPU{Count: 2, Logical: 4}, RAM: specs.RAM{Available: 2 * gib}}, req(4, 2*gib*9/10, 0, 0, 0)},
		{"nothing claimed asks the minimum", specs.Specs{}, req(1, container.MinRAMBytes, 0, 0, 0)},
		{"tiny disk asks no quota", claim(1, 1, 0), req(1, gib*9/10, 0, 0, 0)},
		{"gpus: count and the smallest memory", claim(1, 1, 0, h200, specs.GPUDetail{Name: "NVIDIA H200", Capacity: 143000}), req(1, gib*9/10, 0, 2, 143000)},
		{"absurd claims are clamped", specs.Specs{CPU: specs.CPU{Count: 1 << 30}, RAM: specs.RAM{Available: 1 << 62}}, req(4096, 1<<50, 0, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Expectation(tc.s, 0.1, 0).Requirement()
			// Float rounding of the margin: within a byte per GiB.
			if got.CPU != tc.want.CPU || got.GPU != tc.want.GPU || abs(got.RAM.Capacity-tc.want.RAM.Capacity) > 8 || abs(got.Disk.Capacity-tc.want.Disk.Capacity) > 128 {
				t.Fatalf("requirement %+v, want %+v", got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("requirement invalid: %v", err)
			}
		})
	}
}

func req(cpus int, ram, disk int64, gpus int, gpuMB int64) container.Requirement {
	var r container.Requirement
	r.CPU.Count, r.RAM.Capacity, r.Disk.Capacity = cpus, ram, disk
	r.GPU.Count, r.GPU.CapacityMB = gpus, gpuMB
	return r
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func TestCompare(t *testing.T) {
	h200 := specs.GPUDetail{Name: "NVIDIA H200", Capacity: 143771}
	e := Expectation(claim(8, 10, 100), 0.1, 0)
	eg := Expectation(claim(2, 10, 100, h200, h200), 0.1, 0)
	good := Measured{CPUs: 8, MemoryBytes: 9 * gib, DiskFreeBytes: 95 * gib}
	gpuGood := Measured{CPUs: 2, MemoryBytes: 9 * gib, DiskFreeBytes: 95 * gib,
		GPUs: []GPU{{"NVIDIA H200", "GPU-1", 143771}, {"nvidia h200", "GPU-2", 143000}}}
	with := func(m Measured, f func(*Measured)) Measured { f(&m); return m }
	tests := []struct {
		name   string
		e      Expect
		m      Measured
		reason string
	}{
		{"honest", e, good, ReasonOK},
		{"more than claimed is fine", e, with(good, func(m *Measured) { m.CPUs = 16 }), ReasonOK},
		{"memory page rounding tolerated", e, with(good, func(m *Measured) { m.MemoryBytes = 9*gib - 4096 }), ReasonOK},
		{"liar: 1 CPU of 8", e, with(good, func(m *Measured) { m.CPUs = 1 }), ReasonCPUMismatch},
		{"short memory", e, with(good, func(m *Measured) { m.MemoryBytes = 4 * gib }), ReasonRAMMismatch},
		{"short disk", e, with(good, func(m *Measured) { m.DiskFreeBytes = 10 * gib }), ReasonDiskMismatch},
		{"cpu reported first", e, Measured{}, ReasonCPUMismatch},
		{"gpus honest", eg, gpuGood, ReasonOK},
		{"gpu missing", eg, with(gpuGood, func(m *Measured) { m.GPUs = m.GPUs[:1] }), ReasonGPUMismatch},
		{"gpu of another model", eg, with(gpuGood, func(m *Measured) { m.GPUs = []GPU{m.GPUs[0], {"NVIDIA A100", "GPU-3", 143771}} }), ReasonGPUMismatch},
		{"gpu with less memory", eg, with(gpuGood, func(m *Measured) { m.GPUs = []GPU{m.GPUs[0], {"NVIDIA H200", "GPU-3", 80000}} }), ReasonGPUMismatch},
		{"one gpu shown twice", eg, with(gpuGood, func(m *Measured) { m.GPUs = []GPU{m.GPUs[0], m.GPUs[0]} }), ReasonGPUMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, detail := Compare(tc.e, tc.m)
			if reason != tc.reason {
				t.Fatalf("reason %s (%s), want %s", reason, detail, tc.reason)
			}
			if (reason == ReasonOK) != (detail == "") {
				t.Fatalf("detail %q with reason %s", detail, reason)
			}
		})
	}
}
