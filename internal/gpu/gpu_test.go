package gpu

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

func TestQueryWithoutNVML(t *testing.T) {
	inv, err := query(context.Background(), []string{"libnvidia-ml-absent.so.1"})
	if err != nil {
		t.Fatalf("query without NVML: %v", err)
	}
	if inv.Count() != 0 || inv.GPUs == nil || inv.Reason != ReasonNoNVML {
		t.Fatalf("inventory without NVML = %+v, want no GPUs and reason %q", inv, ReasonNoNVML)
	}
}

func TestQueryHere(t *testing.T) {
	inv, err := Query(context.Background())
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	h, derr := purego.Dlopen("libnvidia-ml.so.1", purego.RTLD_NOW)
	if derr != nil {
		if inv.Count() != 0 || inv.Reason != ReasonNoNVML {
			t.Fatalf("no NVML here, but inventory = %+v", inv)
		}
		return
	}
	_ = purego.Dlclose(h)
	t.Logf("inventory: %+v", inv)
	if inv.DriverVersion == "" || inv.CUDAVersion == "" {
		t.Errorf("NVML present but versions missing: %+v", inv)
	}
}

func TestQueryCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Query(ctx); err == nil {
		t.Fatal("Query with a cancelled context succeeded")
	}
}

// TestQueryMatchesNvidiaSMI compares the inventory with nvidia-smi's report.
func TestQueryMatchesNvidiaSMI(t *testing.T) {
	smi, err := exec.LookPath("nvidia-smi")
	if err != nil {
		if os.Getenv("COMPUTE_REQUIRE_GPU") == "1" {
			t.Fatal("nvidia-smi not found and COMPUTE_REQUIRE_GPU=1")
		}
		t.Skip("nvidia-smi not found: no NVIDIA driver")
	}
	out, err := exec.Command(smi, "--query-gpu=index,name,uuid,memory.total,clocks.max.sm,clocks.max.memory,driver_version",
		"--format=csv,noheader,nounits").Output()
	if err != nil {
		t.Fatalf("nvidia-smi: %v", err)
	}
	inv, err := Query(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != inv.Count() {
		t.Fatalf("nvidia-smi lists %d GPUs, NVML %d", len(lines), inv.Count())
	}
	for i, line := range lines {
		f := strings.Split(line, ",")
		for j := range f {
			f[j] = strings.TrimSpace(f[j])
		}
		if len(f) != 7 {
			t.Fatalf("nvidia-smi line %q", line)
		}
		g := inv.GPUs[i]
		t.Logf("GPU %d: %+v", i, g)
		checks := []struct{ what, smi, ours string }{
			{"index", f[0], strconv.Itoa(g.Index)},
			{"name", f[1], g.Name},
			{"uuid", f[2], g.UUID},
			{"memory.total MiB", f[3], strconv.FormatUint(g.MemoryTotal>>20, 10)},
			{"clocks.max.sm", f[4], strconv.FormatUint(uint64(g.Clocks.MaxSMMHz), 10)},
			{"clocks.max.memory", f[5], strconv.FormatUint(uint64(g.Clocks.MaxMemoryMHz), 10)},
			{"driver_version", f[6], inv.DriverVersion},
		}
		for _, c := range checks {
			if strings.Contains(c.smi, "N/A") || strings.Contains(c.smi, "Not Supported") {
				continue
			}
			if c.smi != c.ours {
				t.Errorf("GPU %d %s: nvidia-smi %q, NVML %q", i, c.what, c.smi, c.ours)
			}
		}
	}

	// The compute capability has its own query field on newer drivers only.
	if cc, err := exec.Command(smi, "--query-gpu=compute_cap", "--format=csv,noheader").Output(); err == nil {
		for i, line := range strings.Split(strings.TrimSpace(string(cc)), "\n") {
			if i < inv.Count() && strings.TrimSpace(line) != inv.GPUs[i].ComputeCapability {
				t.Errorf("GPU %d compute capability: nvidia-smi %q, NVML %q", i, strings.TrimSpace(line), inv.GPUs[i].ComputeCapability)
			}
		}
	} else {
		t.Logf("nvidia-smi has no compute_cap field: %v", err)
	}

	// The driver's CUDA version is in nvidia-smi's banner only.
	banner, err := exec.Command(smi).Output()
	if err != nil {
		t.Fatalf("nvidia-smi: %v", err)
	}
	if v := smiCUDAVersion(string(banner)); v != inv.CUDAVersion {
		t.Errorf("CUDA version: nvidia-smi %q, NVML %q", v, inv.CUDAVersion)
	}
}

// smiCUDAVersion returns the "CUDA Version: 12.4" of nvidia-smi's banner.
func smiCUDAVersion(banner string) string {
	_, rest, ok := strings.Cut(banner, "CUDA Version:")
	if !ok {
		return ""
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return ""
	}
	return strings.Trim(f[0], "|")
}

func TestSmiCUDAVersion(t *testing.T) {
	for _, tc := range []struct{ banner, want string }{
		{"| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04   CUDA Version: 13.0     |", "13.0"},
		{"| NVIDIA-SMI 550.54.15  Driver Version: 550.54.15  CUDA Version: 12.4|\n", "12.4"},
		{"no banner", ""},
	} {
		if got := smiCUDAVersion(tc.banner); got != tc.want {
			t.Errorf("smiCUDAVersion(%q) = %q, want %q", tc.banner, got, tc.want)
		}
	}
}
