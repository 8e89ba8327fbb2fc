package canary

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/specs"
)

func TestParseMeasured(t *testing.T) {
	const gib = int64(1) << 30
	tests := []struct {
		name string
		out  string
		want Measured
		err  bool
	}{
		{"cgroup v2 lease", "login=1\nnproc=2\ncpu_max=200000 100000\ncpuset=2-3\nmem_max=1073741824\nmem_total_kb=24000000\ndisk_free_kb=1048576\nend=1\n",
			Measured{CPUs: 2, NProc: 2, CPUSet: 2, Quota: 2, MemoryBytes: gib, DiskFreeBytes: gib}, false},
		{"quota below the cpuset", "nproc=8\ncpu_max=100000 100000\ncpuset=0-7\nmem_max=max\nmem_total_kb=1048576\nend=1",
			Measured{CPUs: 1, NProc: 8, CPUSet: 8, Quota: 1, MemoryBytes: gib}, false},
		{"cpuset below nproc", "nproc=8\ncpu_max=max 100000\ncpuset=1,3\nend=1\r\n",
			Measured{CPUs: 2, NProc: 8, CPUSet: 2}, false},
		{"gpus", "nproc=1\ngpu=NVIDIA H200, GPU-aaaa, 143771\ngpu=NVIDIA H200,GPU-bbbb,143771\ngpu=broken line\ngpu=x, , 1\nend=1",
			Measured{CPUs: 1, NProc: 1, GPUs: []GPU{{"NVIDIA H200", "GPU-aaaa", 143771}, {"NVIDIA H200", "GPU-bbbb", 143771}}}, false},
		{"garbage values read as zero", "nproc=-3\ncpu_max=0 0\ncpuset=7-2\nmem_max=99999999999999999999\ndisk_free_kb=1e9\nend=1",
			Measured{}, false},
		{"control characters dropped", "gpu=\x1b[31mRTX\x07 4090, GPU-\x00x, 24564\nend=1",
			Measured{GPUs: []GPU{{"[31mRTX 4090", "GPU-x", 24564}}}, false},
		// Recorded on a host with one H200 (no cgroup limits, outside a container).
		{"recorded on an H200 host", h200Output,
			Measured{CPUs: 16, NProc: 16, CPUSet: 16, MemoryBytes: 131961976 << 10, DiskFreeBytes: 67085896 << 10,
				GPUs: []GPU{{"NVIDIA H200", "GPU-635c1a97-2c20-ff28-8445-f83fb87de211", 143771}}}, false},
		{"cut short", "login=1\nnproc=4\n", Measured{NProc: 4}, true},
		{"empty", "", Measured{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMeasured([]byte(tc.out))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if got.String() != tc.want.String() || got.NProc != tc.want.NProc || got.CPUSet != tc.want.CPUSet || got.Quota != tc.want.Quota ||
				len(got.GPUs) != len(tc.want.GPUs) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.GPUs {
				if got.GPUs[i] != tc.want.GPUs[i] {
					t.Fatalf("gpu %d: %+v, want %+v", i, got.GPUs[i], tc.want.GPUs[i])
				}
			}
		})
	}
}

// h200Output is measureScript(true)'s output on a machine with one NVIDIA
// H200, run in its shell.
const h200Output = "login=1\nnproc=16\ncpu_max=\ncpuset=0-15\nmem_max=\nmem_total_kb=131961976\ndisk_free_kb=67085896\n" +
	"gpu=NVIDIA H200, GPU-635c1a97-2c20-ff28-8445-f83fb87de211, 143771\ngpu_status=0\nend=1\n"

// TestRecordedH200Passes: the H200 machine's measurement matches what its
// NVML inventory would claim (nvidia-smi reported the same name and 143771 MiB).
func TestRecordedH200Passes(t *testing.T) {
	m, err := ParseMeasured([]byte(h200Output))
	if err != nil {
		t.Fatal(err)
	}
	claim := specs.Specs{CPU: specs.CPU{Count: 16}, RAM: specs.RAM{Available: 120 << 30}, HardDisk: specs.Disk{Free: 60 << 30},
		GPU: specs.GPU{Details: []specs.GPUDetail{{Name: "NVIDIA H200", Capacity: 143771, UUID: "GPU-635c1a97-2c20-ff28-8445-f83fb87de211"}}}}
	if reason, detail := Compare(Expectation(claim, 0.1, 0), m); reason != ReasonOK {
		t.Fatalf("%s: %s", reason, detail)
	}
	claim.GPU.Details = append(claim.GPU.Details, claim.GPU.Details[0])
	if reason, _ := Compare(Expectation(claim, 0.1, 0), m); reason != ReasonGPUMismatch {
		t.Fatalf("two claimed H200s on a one-GPU lease: %s", reason)
	}
}

func TestParseMeasuredBounds(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		b.WriteString("gpu=A, GPU-1, 1\n")
	}
	b.WriteString("end=1\n")
	m, err := ParseMeasured([]byte(b.String()))
	if err != nil || len(m.GPUs) != maxGPUs {
		t.Fatalf("%d GPUs, %v; want %d", len(m.GPUs), err, maxGPUs)
	}
	huge := strings.Repeat("x", maxOutput+10) + "\nend=1\n"
	if _, err := ParseMeasured([]byte(huge)); err == nil {
		t.Fatal("output beyond the bound accepted")
	}
}

// TestMeasureScriptHere runs the measuring command in this machine's shell:
// it must finish and give this machine's CPUs, memory and disk.
func TestMeasureScriptHere(t *testing.T) {
	for _, gpus := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "sh", "-c", measureScript(gpus)).Output()
		cancel()
		if err != nil {
			t.Fatalf("script (gpus %v): %v\n%s", gpus, err, out)
		}
		m, err := ParseMeasured(out)
		if err != nil {
			t.Fatalf("parse (gpus %v): %v\n%s", gpus, err, out)
		}
		if m.CPUs < 1 || m.MemoryBytes <= 0 || m.DiskFreeBytes <= 0 {
			t.Fatalf("measured %+v from\n%s", m, out)
		}
		t.Logf("this machine: %s", m)
	}
}

func FuzzParseMeasured(f *testing.F) {
	f.Add([]byte("login=1\nnproc=2\ncpu_max=200000 100000\ncpuset=2-3\nmem_max=1073741824\nmem_total_kb=24000000\ndisk_free_kb=1048576\nend=1\n"))
	f.Add([]byte("gpu=NVIDIA H200, GPU-aaaa, 143771\ncpuset=0-4095,1-2\nend=1"))
	f.Add([]byte("cpu_max=9223372036854775807 1\nend=1"))
	f.Add([]byte(h200Output))
	f.Fuzz(func(t *testing.T, out []byte) {
		m, err := ParseMeasured(out)
		if err != nil {
			return
		}
		if m.CPUs < 0 || m.MemoryBytes < 0 || m.DiskFreeBytes < 0 || len(m.GPUs) > maxGPUs {
			t.Fatalf("out of range: %+v", m)
		}
		if m.CPUs > m.NProc && m.NProc > 0 {
			t.Fatalf("CPUs %d above nproc %d", m.CPUs, m.NProc)
		}
		for _, g := range m.GPUs {
			if g.UUID == "" || len(g.Name) > 96 || len(g.UUID) > 96 || g.MemoryMB < 0 {
				t.Fatalf("gpu %+v", g)
			}
		}
	})
}

// TestMeasureScriptGPUs runs the measuring command with nvidia-smi on a
// machine with NVIDIA GPUs: what it measures must match, name, memory and
// UUID, what the miner's specs claim through NVML. Skipped without a driver.
func TestMeasureScriptGPUs(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		t.Skip("no nvidia-smi: no NVIDIA driver on this machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	claimed, reason, err := specs.NVML{}.GPUs(ctx)
	if err != nil || len(claimed) == 0 {
		t.Fatalf("NVML inventory: %v %v (%s)", claimed, err, reason)
	}
	out, err := exec.CommandContext(ctx, "sh", "-c", measureScript(true)).Output()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	m, err := ParseMeasured(out)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	t.Logf("claimed %+v\nmeasured %+v", claimed, m.GPUs)
	if reason, detail := Compare(Expect{GPUs: claimed}, m); reason != ReasonOK {
		t.Fatalf("%s: %s", reason, detail)
	}
	for i, g := range claimed {
		if g.UUID != "" && m.GPUs[i].UUID != g.UUID {
			t.Errorf("GPU %d: UUID %q measured, %q claimed", i, m.GPUs[i].UUID, g.UUID)
		}
	}
}
