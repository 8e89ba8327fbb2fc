package specs

import (
	"errors"
	"fmt"
	"math"

	"github.com/sn27/compute/internal/pyjson"
)

// ErrInvalidSpecs marks a specs report that is malformed or implausible.
var ErrInvalidSpecs = errors.New("specs: invalid specs report")

const (
	maxReportBytes = 64 << 10
	maxGPUs        = 64
	maxNameLen     = 256
	maxCount       = 1 << 16
	maxSize        = int64(1) << 60
	maxSpeed       = 1e9 // MB/s
)

// Parse decodes and checks a specs report received from a miner (untrusted): sizes,
// counts and speeds must be non-negative and plausible, and the GPU summary must agree
// with its details. Reports written by Python miners are read as pydantic would:
// whole-number floats (GPUtil's `81920.0` MB) fill integer fields, while a fraction
// or a value out of range is refused with the field's path.
func Parse(data []byte) (Specs, error) {
	var s Specs
	if len(data) > maxReportBytes {
		return s, fmt.Errorf("%w: %d bytes is more than the %d accepted", ErrInvalidSpecs, len(data), maxReportBytes)
	}
	if err := pyjson.Unmarshal(data, &s); err != nil {
		return Specs{}, fmt.Errorf("%w: %v", ErrInvalidSpecs, err)
	}
	if err := s.Validate(); err != nil {
		return Specs{}, err
	}
	return s, nil
}

// Validate checks the ranges of a report.
func (s Specs) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSpecs}, args...)...)
	}
	if s.CPU.Count < 0 || s.CPU.Count > maxCount || s.CPU.Logical < 0 || s.CPU.Logical > maxCount {
		return bad("cpu count out of range")
	}
	if !okFloat(s.CPU.Frequency, 1e6) || len(s.CPU.Model) > maxNameLen {
		return bad("cpu frequency or model out of range")
	}
	if s.GPU.Count < 0 || s.GPU.Count > maxGPUs || s.GPU.Count != len(s.GPU.Details) {
		return bad("gpu count %d does not match %d details", s.GPU.Count, len(s.GPU.Details))
	}
	var total int64
	for i, d := range s.GPU.Details {
		if d.Capacity < 0 || d.Capacity > 1<<30 || len(d.Name) > maxNameLen || len(d.UUID) > maxNameLen {
			return bad("gpu %d out of range", i)
		}
		total += d.Capacity
	}
	if s.GPU.Capacity != total {
		return bad("gpu capacity %d is not the sum of the details (%d)", s.GPU.Capacity, total)
	}
	for name, v := range map[string]int64{"hard_disk.total": s.HardDisk.Total, "hard_disk.free": s.HardDisk.Free, "hard_disk.used": s.HardDisk.Used,
		"ram.total": s.RAM.Total, "ram.free": s.RAM.Free, "ram.used": s.RAM.Used, "ram.available": s.RAM.Available,
		"ram.swap_total": s.RAM.SwapTotal, "ram.swap_free": s.RAM.SwapFree, "ram.swap_used": s.RAM.SwapUsed} {
		if v < 0 || v > maxSize {
			return bad("%s out of range", name)
		}
	}
	if s.HardDisk.Free > s.HardDisk.Total || s.RAM.Available > s.RAM.Total || s.RAM.Free > s.RAM.Total {
		return bad("free space larger than the total")
	}
	for _, v := range []float64{s.HardDisk.ReadSpeed, s.HardDisk.WriteSpeed, s.RAM.ReadSpeed, s.RAM.WriteSpeed} {
		if !okFloat(v, maxSpeed) {
			return bad("speed out of range")
		}
	}
	return nil
}

func okFloat(v, hi float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 && v <= hi
}
