package specs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/gpu"
)

func TestParseCPUInfo(t *testing.T) {
	cases := []struct {
		file           string
		count, logical int
		freq           float64
		model          string
	}{
		{"cpuinfo-2socket", 2, 4, 2200, "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz"},
		{"cpuinfo-arm", 2, 2, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := ParseCPUInfo(f)
			if err != nil {
				t.Fatal(err)
			}
			if c.Count != tc.count || c.Logical != tc.logical || c.Frequency != tc.freq || c.Model != tc.model {
				t.Fatalf("got %+v", c)
			}
		})
	}
	if _, err := ParseCPUInfo(strings.NewReader("garbage\n")); err == nil {
		t.Fatal("no processor accepted")
	}
}

func TestParseMemInfo(t *testing.T) {
	f, err := os.Open("testdata/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseMemInfo(f)
	if err != nil {
		t.Fatal(err)
	}
	want := RAM{Total: 24684092 << 10, Free: 21764852 << 10, Available: 23821592 << 10,
		Used:      (24684092 - 21764852 - 43740 - 2151712 - 100000) << 10,
		SwapTotal: 1000000 << 10, SwapFree: 400000 << 10, SwapUsed: 600000 << 10}
	if m != want {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
	if _, err := ParseMemInfo(strings.NewReader("MemFree: 1 kB\n")); err == nil {
		t.Fatal("no MemTotal accepted")
	}
}

type fakeGPUs struct {
	d   []GPUDetail
	err error
}

func (f fakeGPUs) GPUs(context.Context) ([]GPUDetail, string, error) { return f.d, "", f.err }

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Config{DataDir: dir, ProbeBytes: 4 << 20, GPUs: fakeGPUs{d: []GPUDetail{{Name: "NVIDIA GeForce RTX 4090", Capacity: 24564, GraphicsSpeed: 3105, MemorySpeed: 10501}, {Name: "NVIDIA GeForce RTX 4090", Capacity: 24564, GraphicsSpeed: 3105, MemorySpeed: 10501}}},
		HasDocker: func(context.Context) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU.Count < 1 || s.RAM.Total <= 0 || s.RAM.Available <= 0 || s.HardDisk.Total <= 0 || s.HardDisk.Free <= 0 ||
		s.HardDisk.ReadSpeed <= 0 || s.HardDisk.WriteSpeed <= 0 || s.RAM.ReadSpeed <= 0 || !s.HasDocker {
		t.Fatalf("specs %+v", s)
	}
	if s.GPU.Count != 2 || s.GPU.Capacity != 2*24564 || s.GPU.Reason != "" {
		t.Fatalf("gpu %+v", s.GPU)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("probe left files: %v", entries)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("own report does not parse: %v\n%s", err, data)
	}
	if back.GPU.Count != 2 || back.CPU.Count != s.CPU.Count {
		t.Fatalf("round trip %+v", back)
	}
	// The JSON keys are the original's.
	var raw map[string]map[string]any
	json.Unmarshal(data, &raw)
	for section, keys := range map[string][]string{"cpu": {"count", "frequency"}, "gpu": {"count", "capacity", "details", "graphics_speed", "memory_speed"},
		"hard_disk": {"total", "free", "used", "read_speed", "write_speed"}, "ram": {"total", "free", "used", "available"}} {
		for _, k := range keys {
			if _, ok := raw[section][k]; !ok {
				t.Errorf("%s.%s missing in %s", section, k, data)
			}
		}
	}
}

func TestCollectNoGPUs(t *testing.T) {
	c, _ := New(Config{DataDir: t.TempDir(), ProbeBytes: -1})
	s, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.GPU.Count != 0 || s.GPU.Details == nil || s.GPU.Reason == "" || s.HardDisk.ReadSpeed != 0 {
		t.Fatalf("specs %+v", s)
	}
	c, _ = New(Config{DataDir: t.TempDir(), ProbeBytes: -1, GPUs: fakeGPUs{err: errors.New("nvml broke")}})
	s, err = c.Collect(context.Background())
	if err != nil || s.GPU.Count != 0 || !strings.Contains(s.GPU.Reason, "nvml broke") {
		t.Fatalf("%+v %v", s.GPU, err)
	}
}

func TestCollectErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("no data dir accepted")
	}
	if _, err := New(Config{DataDir: "x", ProbeBytes: 1 << 40}); err == nil {
		t.Fatal("huge probe accepted")
	}
	c, _ := New(Config{DataDir: filepath.Join(t.TempDir(), "missing"), ProbeBytes: -1})
	if _, err := c.Collect(context.Background()); err == nil {
		t.Fatal("missing data dir accepted")
	}
	c, _ = New(Config{DataDir: t.TempDir(), ProcDir: t.TempDir()})
	if _, err := c.Collect(context.Background()); err == nil {
		t.Fatal("missing /proc files accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ = New(Config{DataDir: t.TempDir(), ProbeBytes: 2 << 20})
	if _, err := c.Collect(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled probe: %v", err)
	}
}

func TestFromInventory(t *testing.T) {
	d := FromInventory(gpu.Inventory{GPUs: []gpu.GPU{{Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-1", MemoryTotal: 80 << 30, Clocks: gpu.Clocks{MaxGraphicsMHz: 1980, MaxMemoryMHz: 2619}}}})
	if len(d) != 1 || d[0].Capacity != 80<<10 || d[0].GraphicsSpeed != 1980 || d[0].Name != "NVIDIA H100 80GB HBM3" {
		t.Fatalf("%+v", d)
	}
	if out, _, err := (NVML{}).GPUs(context.Background()); err == nil && out == nil {
		t.Fatal("nil details without error")
	}
}

func TestParse(t *testing.T) {
	good := `{"cpu":{"count":8,"frequency":3000},"gpu":{"count":1,"capacity":24564,"details":[{"name":"NVIDIA GeForce RTX 4090","capacity":24564}]},` +
		`"hard_disk":{"total":1000,"free":500,"used":500,"read_speed":100,"write_speed":90},"ram":{"total":1000,"free":100,"used":800,"available":200},"has_docker":true}`
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"empty":            ``,
		"not json":         `{`,
		"trailing":         good + `{}`,
		"negative cpu":     `{"cpu":{"count":-1}}`,
		"gpu count lies":   `{"gpu":{"count":3,"capacity":0,"details":[]}}`,
		"capacity lies":    `{"gpu":{"count":1,"capacity":99999,"details":[{"name":"x","capacity":1}]}}`,
		"free over total":  `{"hard_disk":{"total":1,"free":2}}`,
		"negative speed":   `{"hard_disk":{"read_speed":-1}}`,
		"string count":     `{"cpu":{"count":"8"}}`,
		"huge":             strings.Repeat(" ", maxReportBytes+1),
		"negative ram":     `{"ram":{"total":-5}}`,
		"absurd frequency": `{"cpu":{"frequency":1e300}}`,
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalidSpecs) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"cpu":{"count":8,"frequency":3000},"gpu":{"count":0,"capacity":0,"details":[]},"hard_disk":{"total":10,"free":5},"ram":{"total":10},"has_docker":false}`))
	f.Add([]byte(`{"gpu":{"count":1,"capacity":1,"details":[{"name":"a","capacity":1}]}}`))
	f.Add([]byte(`null`))
	for _, name := range []string{"python-a100.json", "python-8xh100.json", "python-no-gpu.json", "python-failed-sections.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"gpu":{"count":1.0,"capacity":2.5e1,"details":[{"name":"a","capacity":25.0}]},"cpu":{"count":-0.0}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpecs) {
				t.Fatalf("error without ErrInvalidSpecs: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseProcFiles(f *testing.F) {
	for _, name := range []string{"cpuinfo-2socket", "cpuinfo-arm", "meminfo"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseCPUInfo(strings.NewReader(string(data))); err == nil && (c.Count < 1 || c.Count > c.Logical) {
			t.Fatalf("cpu %+v", c)
		}
		if m, err := ParseMemInfo(strings.NewReader(string(data))); err == nil && (m.Total <= 0 || m.Used < 0 || m.SwapUsed < 0) {
			t.Fatalf("ram %+v", m)
		}
	})
}

// The reports in testdata/python-*.json have the exact shape of the original
// subnet's specs script (json.dumps of its cpu/gpu/hard_disk/ram/has_docker
// dict): GPUtil reports GPU memory as a float number of MB, psutil the CPU
// frequency as a float and sizes as ints; a section whose probe failed is {}
// and psutil's physical core count may be None.
func TestParsePythonReports(t *testing.T) {
	tests := []struct {
		file              string
		cpus, gpus        int
		gpuMB, firstGPUMB int64
		gpuName           string
		diskFree, ramAvl  int64
	}{
		{"python-a100.json", 32, 1, 81920, 81920, "NVIDIA A100-SXM4-80GB", 1725437165568, 521201598464},
		{"python-8xh100.json", 96, 8, 8 * 81559, 81559, "NVIDIA H100 80GB HBM3", 3500000000000, 2100000000000},
		{"python-no-gpu.json", 4, 0, 0, 0, "", 53687091200, 12884901888},
		{"python-failed-sections.json", 0, 0, 0, 0, "", 0, 4294967296},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if s.CPU.Count != tc.cpus || s.GPU.Count != tc.gpus || s.GPU.Capacity != tc.gpuMB ||
				s.HardDisk.Free != tc.diskFree || s.RAM.Available != tc.ramAvl {
				t.Fatalf("got %+v", s)
			}
			if tc.gpus > 0 && (s.GPU.Details[0].Capacity != tc.firstGPUMB || s.GPU.Details[0].Name != tc.gpuName) {
				t.Fatalf("gpu details %+v", s.GPU.Details)
			}
			// What the validator stores is the integer form, which parses again.
			raw, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "81920.0") {
				t.Fatalf("stored form keeps the float: %s", raw)
			}
			if _, err := Parse(raw); err != nil {
				t.Fatalf("stored form does not parse again: %v", err)
			}
		})
	}
}

func TestParseRefusesNumbersThatDoNotFit(t *testing.T) {
	data, err := os.ReadFile("testdata/python-a100.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ from, to, want string }{
		{`"capacity": 81920.0}]`, `"capacity": 81920.5}]`, "field gpu.details.capacity: 81920.5 is not a whole number"},
		{`"count": 32`, `"count": 32.25`, "field cpu.count: 32.25 is not a whole number"},
		{`"total": 540880420864`, `"total": 1e30`, "field ram.total: 1e30 is out of range for int64"},
		{`"graphics_speed": 1410`, `"graphics_speed": 1410.0e7`, "field gpu.graphics_speed: 14100000000 is out of range for uint32"},
		{`"graphics_speed": 1410`, `"graphics_speed": -1.0`, "field gpu.graphics_speed: -1 is out of range for uint32"},
		{`"count": 32`, `"count": 1e6`, "cpu count out of range"},
		{`"frequency": 2450.0`, `"frequency": NaN`, "invalid character 'N'"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			in := strings.Replace(string(data), tc.from, tc.to, 1)
			if in == string(data) {
				t.Fatalf("%q not in the report", tc.from)
			}
			_, err := Parse([]byte(in))
			if err == nil || !errors.Is(err, ErrInvalidSpecs) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidSpecs with %q", err, tc.want)
			}
		})
	}
}
