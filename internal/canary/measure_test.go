package canary

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
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
