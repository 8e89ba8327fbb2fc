package canary

import (
	"fmt"
	"strings"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
)

// Reason codes of a canary run (the label values of
// compute_canary_runs_total and the reasons stored per miner).
const (
	ReasonOK              = "ok"
	ReasonAllocateRefused = "allocate_refused" // the miner would not take the lease (or could not be reached)
	ReasonContainerStart  = "container_start"  // it said it could, but the lease did not come up usable
	ReasonSSHLogin        = "ssh_login"        // granted, but no login within the login timeout
	ReasonCPUMismatch     = "cpu_mismatch"
	ReasonRAMMismatch     = "ram_mismatch"
	ReasonDiskMismatch    = "disk_mismatch"
	ReasonGPUMismatch     = "gpu_mismatch"
	ReasonGPUDuplicate    = "gpu_duplicate" // a GPU UUID the container showed was seen under another hotkey
	ReasonInternal        = "internal"      // the canary itself failed (no verdict on the miner)
)

// Reasons lists the reason codes, for metrics.
var Reasons = []string{ReasonOK, ReasonAllocateRefused, ReasonContainerStart, ReasonSSHLogin, ReasonCPUMismatch,
	ReasonRAMMismatch, ReasonDiskMismatch, ReasonGPUMismatch, ReasonGPUDuplicate, ReasonInternal}

// sizeSlack allows for page rounding of the memory limit and the
// container's own files on its disk.
const sizeSlack = 0.02

// Expect is what a lease made from a specs report must deliver.
type Expect struct {
	CPUs     int
	RAMBytes int64 // the claimed available RAM less the margin
	// DiskBytes is the claimed free disk less the margin, at most the cap.
	DiskBytes int64
	GPUs      []specs.GPUDetail
}

// Expectation derives from a specs report what the canary asks for: every
// claimed CPU (logical CPUs when reported) and GPU, and the claimed
// available RAM and free disk less margin (a fraction, so that an honest
// machine whose free memory or disk moved since its report still grants);
// the disk asked for is at most maxDisk (0: no cap).
func Expectation(s specs.Specs, margin float64, maxDisk int64) Expect {
	e := Expect{CPUs: max(s.CPU.Count, s.CPU.Logical)}
	e.RAMBytes = int64(float64(max(s.RAM.Available, 0)) * (1 - margin))
	e.DiskBytes = int64(float64(max(s.HardDisk.Free, 0)) * (1 - margin))
	if maxDisk > 0 {
		e.DiskBytes = min(e.DiskBytes, maxDisk)
	}
	e.GPUs = s.GPU.Details
	return e
}

// Requirement is the lease request for e, clamped to what a requirement
// can carry (a claim beyond that cannot be delivered and fails the comparison).
func (e Expect) Requirement() container.Requirement {
	var r container.Requirement
	r.CPU.Count = min(max(e.CPUs, 1), 4096)
	r.RAM.Capacity = min(max(e.RAMBytes, container.MinRAMBytes), 1<<50)
	if e.DiskBytes >= container.MinDiskBytes {
		r.Disk.Capacity = min(e.DiskBytes, 1<<50)
	}
	if n := len(e.GPUs); n > 0 {
		r.GPU.Count = min(n, 64)
		capMB := e.GPUs[0].Capacity
		for _, g := range e.GPUs {
			capMB = min(capMB, g.Capacity)
		}
		r.GPU.CapacityMB = min(max(capMB, 0), 1<<22)
	}
	return r
}

// Compare checks a measurement against e and returns ReasonOK or the first
// mismatch (CPU, RAM, disk, GPU) with a detail for people.
func Compare(e Expect, m Measured) (reason, detail string) {
	switch {
	case m.CPUs < e.CPUs:
		return ReasonCPUMismatch, fmt.Sprintf("the lease has %d CPUs, the specs claim %d", m.CPUs, e.CPUs)
	case float64(m.MemoryBytes) < float64(e.RAMBytes)*(1-sizeSlack):
		return ReasonRAMMismatch, fmt.Sprintf("the lease has %s of memory, at least %s expected", size(m.MemoryBytes), size(e.RAMBytes))
	case float64(m.DiskFreeBytes) < float64(e.DiskBytes)*(1-sizeSlack):
		return ReasonDiskMismatch, fmt.Sprintf("the lease has %s of free disk, at least %s expected", size(m.DiskFreeBytes), size(e.DiskBytes))
	}
	if why := matchGPUs(e.GPUs, m.GPUs); why != "" {
		return ReasonGPUMismatch, why
	}
	return ReasonOK, ""
}

// matchGPUs pairs every claimed GPU with a distinct measured one of the
// same name (case-insensitive) and at least its memory (1% tolerated).
func matchGPUs(claimed []specs.GPUDetail, seen []GPU) string {
	if len(seen) < len(claimed) {
		return fmt.Sprintf("the lease shows %d GPUs, the specs claim %d", len(seen), len(claimed))
	}
	used := make([]bool, len(seen))
	uuids := make(map[string]bool, len(seen))
	for _, g := range seen {
		if uuids[g.UUID] {
			return fmt.Sprintf("the lease shows GPU %s twice", g.UUID)
		}
		uuids[g.UUID] = true
	}
	for _, c := range claimed {
		found := false
		for i, g := range seen {
			if !used[i] && strings.EqualFold(strings.TrimSpace(g.Name), strings.TrimSpace(c.Name)) && g.MemoryMB*100 >= c.Capacity*99 {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Sprintf("no GPU in the lease matches the claimed %s with %d MB", clean(c.Name, 64), c.Capacity)
		}
	}
	return ""
}

// UUIDs returns the GPU UUIDs of a measurement (never nil).
func (m Measured) UUIDs() []string {
	out := make([]string, 0, len(m.GPUs))
	for _, g := range m.GPUs {
		out = append(out, g.UUID)
	}
	return out
}

func size(n int64) string { return renter.FormatSize(n) }
