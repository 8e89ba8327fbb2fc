package renter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/specs"
)

// Timeline bounds, in days.
const (
	DefaultTimeline = 30
	MaxTimeline     = 60
)

// ErrNotMet marks a miner whose specs do not meet a requirement.
var ErrNotMet = errors.New("requirement not met")

// Resources is a requirement as the command line gives it: counts as
// numbers, sizes as text with units (see ParseSize). GPUCapacity is per GPU;
// a bare number is MB, as in device_requirement.
type Resources struct {
	CPUCount    int
	GPUCount    int
	GPUType     string
	GPUCapacity string
	RAM         string
	Disk        string
}

// DefaultResources asks for one CPU and 1 GiB of RAM, no GPU and no disk quota.
func DefaultResources() Resources {
	return Resources{CPUCount: 1, RAM: "1GiB"}
}

// Requirement converts and validates r. A GPU type or capacity without a
// GPU count asks for one GPU.
func (r Resources) Requirement() (container.Requirement, error) {
	var req container.Requirement
	req.CPU.Count = r.CPUCount
	req.GPU.Count = r.GPUCount
	req.GPU.Type = strings.TrimSpace(r.GPUType)
	capMB, err := mebibytes(r.GPUCapacity)
	if err != nil {
		return req, config.Errorf("renter.Resources.GPUCapacity", "%w", err)
	}
	req.GPU.CapacityMB = capMB
	if req.GPU.Count == 0 && (req.GPU.Type != "" || req.GPU.CapacityMB > 0) {
		req.GPU.Count = 1
	}
	if strings.TrimSpace(r.RAM) != "" {
		if req.RAM.Capacity, err = ParseSize(r.RAM); err != nil {
			return req, config.Errorf("renter.Resources.RAM", "%w", err)
		}
	}
	if strings.TrimSpace(r.Disk) != "" {
		if req.Disk.Capacity, err = ParseSize(r.Disk); err != nil {
			return req, config.Errorf("renter.Resources.Disk", "%w", err)
		}
	}
	if err := req.Validate(); err != nil {
		return req, config.Errorf(resourceField(err), "%w", err)
	}
	return req, nil
}

// resourceField names the Resources field a requirement validation error
// is about (the error names the JSON field); "renter.Resources" when none.
func resourceField(err error) string {
	msg := err.Error()
	for _, f := range []struct{ json, field string }{
		{"cpu.count", "CPUCount"}, {"gpu.count", "GPUCount"}, {"gpu.capacity", "GPUCapacity"},
		{"gpu.type", "GPUType"}, {"ram.capacity", "RAM"}, {"hard_disk.capacity", "Disk"},
	} {
		if strings.Contains(msg, f.json) {
			return "renter.Resources." + f.field
		}
	}
	return "renter.Resources"
}

// ParseRequirement reads a device_requirement in the original JSON shape,
// e.g. {"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},
// "hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}}.
func ParseRequirement(s string) (container.Requirement, error) {
	return container.ParseRequirement([]byte(strings.TrimSpace(s)))
}

// DescribeRequirement writes a requirement for people: "2 CPU, 1x 4090 >=24GiB, 8GiB RAM, 50GiB disk".
func DescribeRequirement(r container.Requirement) string {
	parts := []string{fmt.Sprintf("%d CPU", r.CPU.Count)}
	if r.GPU.Count > 0 {
		g := fmt.Sprintf("%dx GPU", r.GPU.Count)
		if r.GPU.Type != "" {
			g = fmt.Sprintf("%dx %s", r.GPU.Count, r.GPU.Type)
		}
		if r.GPU.CapacityMB > 0 {
			g += " >=" + FormatSize(r.GPU.CapacityMB<<20)
		}
		parts = append(parts, g)
	}
	parts = append(parts, FormatSize(r.RAM.Capacity)+" RAM")
	if r.Disk.Capacity > 0 {
		parts = append(parts, FormatSize(r.Disk.Capacity)+" disk")
	}
	return strings.Join(parts, ", ")
}

// CheckTimeline refuses a lease shorter than a day or longer than MaxTimeline days.
func CheckTimeline(days int) error {
	if days < 1 || days > MaxTimeline {
		return config.Errorf("renter.Request.Timeline", "must be between 1 and %d days, got %d", MaxTimeline, days)
	}
	return nil
}

// ParseSpecs reads a miner's stored specs report. The details are the
// report's JSON object, or that object as a JSON string (specs_output is a
// string on the wire).
func ParseSpecs(details json.RawMessage) (specs.Specs, error) {
	raw := []byte(details)
	var inner string
	if json.Unmarshal(raw, &inner) == nil {
		raw = []byte(inner)
	}
	return specs.Parse(raw)
}

// Meets reports whether a miner with specs s can take requirement r, and
// says why not (wrapping ErrNotMet). CPUs are the logical CPUs when the
// report has them (the miner pins leases to logical CPUs), else its cores.
// A GPU counts when its memory is at least the requested capacity (1% is
// tolerated, as the miner does, for drivers that report a little less than
// the nominal size) and its name contains the requested type,
// case-insensitively.
func Meets(s specs.Specs, r container.Requirement) error {
	cpus := s.CPU.Count
	if s.CPU.Logical > cpus {
		cpus = s.CPU.Logical
	}
	if cpus < r.CPU.Count {
		return fmt.Errorf("%w: %d CPUs, %d asked", ErrNotMet, cpus, r.CPU.Count)
	}
	if r.GPU.Count > 0 {
		n := 0
		want := strings.ToLower(r.GPU.Type)
		for _, g := range s.GPU.Details {
			if g.Capacity*100 >= r.GPU.CapacityMB*99 && strings.Contains(strings.ToLower(g.Name), want) {
				n++
			}
		}
		if n < r.GPU.Count {
			return fmt.Errorf("%w: %d matching GPUs (of %d), %d asked", ErrNotMet, n, len(s.GPU.Details), r.GPU.Count)
		}
	}
	if s.HardDisk.Free < r.Disk.Capacity {
		return fmt.Errorf("%w: %s of disk free, %s asked", ErrNotMet, FormatSize(s.HardDisk.Free), FormatSize(r.Disk.Capacity))
	}
	if s.RAM.Available < r.RAM.Capacity {
		return fmt.Errorf("%w: %s of RAM available, %s asked", ErrNotMet, FormatSize(s.RAM.Available), FormatSize(r.RAM.Capacity))
	}
	return nil
}
