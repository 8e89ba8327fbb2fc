package specs_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
)

// gpuModel is the part of an NVML name a renter types: "NVIDIA H200" gives
// "H200", "NVIDIA GeForce RTX 4090" gives "GeForce RTX 4090".
func gpuModel(name string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "NVIDIA"))
}

func TestGPUModel(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"NVIDIA H200", "H200"},
		{"NVIDIA H100 80GB HBM3", "H100 80GB HBM3"},
		{"NVIDIA GeForce RTX 4090", "GeForce RTX 4090"},
		{"Tesla T4", "Tesla T4"},
	} {
		if got := gpuModel(tc.name); got != tc.want {
			t.Errorf("gpuModel(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSpecsGPUsMatchRenterFilter runs where NVML reports GPUs (COMPUTE_REQUIRE_GPU=1
// makes their absence a failure): the specs the miner answers with, encoded as it
// encodes them and read back as the renter reads them, list every GPU, and the
// renter's requirement filter accepts a request for those GPUs by model and memory,
// and refuses one GPU too many, a larger memory and another model.
func TestSpecsGPUsMatchRenterFilter(t *testing.T) {
	ctx := context.Background()
	c, err := specs.New(specs.Config{DataDir: t.TempDir(), GPUs: specs.NVML{}, ProbeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.GPU.Count == 0 {
		if os.Getenv("COMPUTE_REQUIRE_GPU") == "1" {
			t.Fatalf("no GPU in the specs (%s) and COMPUTE_REQUIRE_GPU=1", s.GPU.Reason)
		}
		t.Skipf("no GPU here: %s", s.GPU.Reason)
	}
	// The miner caches json.Marshal(specs) and sends it as the specs_output string.
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := json.Marshal(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := renter.ParseSpecs(wire)
	if err != nil {
		t.Fatalf("renter cannot read the miner's specs: %v\n%s", err, raw)
	}
	gpuJSON, _ := json.Marshal(got.GPU)
	t.Logf("specs gpu: %s", gpuJSON)
	if got.GPU.Count != s.GPU.Count || len(got.GPU.Details) != s.GPU.Count {
		t.Fatalf("renter reads %d GPUs (%d details), miner sent %d", got.GPU.Count, len(got.GPU.Details), s.GPU.Count)
	}

	first := got.GPU.Details[0]
	model := gpuModel(first.Name)
	var minMB int64 = first.Capacity
	n := 0
	for _, g := range got.GPU.Details {
		if g.Name == "" || g.Capacity <= 0 || !strings.HasPrefix(g.UUID, "GPU-") {
			t.Errorf("incomplete GPU in the specs: %+v", g)
		}
		if gpuModel(g.Name) == model {
			n++
			minMB = min(minMB, g.Capacity)
		}
	}
	check := func(what string, r renter.Resources, want bool) {
		t.Helper()
		req, err := r.Requirement()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		err = renter.Meets(got, req)
		switch {
		case want && err != nil:
			t.Errorf("%s (%s): refused: %v", what, renter.DescribeRequirement(req), err)
		case !want && !errors.Is(err, renter.ErrNotMet):
			t.Errorf("%s (%s): got %v, want ErrNotMet", what, renter.DescribeRequirement(req), err)
		default:
			t.Logf("%s (%s): %v", what, renter.DescribeRequirement(req), err)
		}
	}
	mb := func(v int64) string { return strconv.FormatInt(v, 10) + "MB" }
	base := renter.Resources{CPUCount: 1, RAM: "64MiB", GPUCount: n, GPUType: model, GPUCapacity: mb(minMB)}
	check("these GPUs by model and memory", base, true)
	lower := base
	lower.GPUType = strings.ToLower(model)
	check("model in lower case", lower, true)
	nominal := base
	nominal.GPUCount, nominal.GPUCapacity = 1, mb(minMB*101/100) // within the 1% tolerance
	check("one GPU, 1% more memory than reported", nominal, true)
	more := base
	more.GPUCount = n + 1
	check("one GPU too many", more, false)
	bigger := base
	bigger.GPUCapacity = mb(minMB * 2)
	check("twice the memory", bigger, false)
	other := base
	other.GPUType = "no-such-model"
	check("another model", other, false)
}
