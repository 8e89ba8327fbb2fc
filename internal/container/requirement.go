package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sn27/compute/internal/clip"
)

// ErrInvalidRequirement marks a device_requirement that is malformed or out of range.
var ErrInvalidRequirement = errors.New("container: invalid device requirement")

// ErrInsufficientResources marks a requirement that asks for more than this host has.
var ErrInsufficientResources = errors.New("container: not enough resources on this host")

// Bounds on a requirement; values beyond them are absurd for one machine and refused.
const (
	maxRequirementBytes = 4 << 10
	maxCPUCount         = 4096
	maxGPUCount         = 64
	maxGPUCapacityMB    = 1 << 22 // 4 TiB of memory on one GPU
	maxGPUTypeLen       = 64
	maxBytes            = 1 << 50 // 1 PiB
	// MinRAMBytes is the smallest memory limit a lease may ask for.
	MinRAMBytes = 64 << 20
	// MinDiskBytes is the smallest disk quota a lease may ask for (0 = no quota asked).
	MinDiskBytes = 256 << 20
)

// Requirement is the resource request of an Allocate synapse, in the original JSON shape:
// {"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},
// "hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}}.
// GPU capacity is in MB, disk and RAM in bytes; an empty gpu object means no GPU.
type Requirement struct {
	CPU  CPURequirement  `json:"cpu"`
	GPU  GPURequirement  `json:"gpu"`
	Disk SizeRequirement `json:"hard_disk"`
	RAM  SizeRequirement `json:"ram"`
}

// CPURequirement is the number of CPUs asked for.
type CPURequirement struct {
	Count int `json:"count"`
}

// GPURequirement asks for Count GPUs with at least CapacityMB memory each whose name
// contains Type (case-insensitive). Count 0 means no GPU.
type GPURequirement struct {
	Count      int    `json:"count,omitempty"`
	CapacityMB int64  `json:"capacity,omitempty"`
	Type       string `json:"type,omitempty"`
}

// SizeRequirement is a capacity in bytes.
type SizeRequirement struct {
	Capacity int64 `json:"capacity"`
}

// ParseRequirement decodes and validates a device_requirement. It accepts integral JSON
// numbers only (1073741824 or 1.073741824e9, not 1.5), refuses unknown keys, and never
// panics on hostile input.
func ParseRequirement(data []byte) (Requirement, error) {
	var r Requirement
	if len(data) > maxRequirementBytes {
		return r, fmt.Errorf("%w: %d bytes is more than the %d accepted", ErrInvalidRequirement, len(data), maxRequirementBytes)
	}
	top, err := decodeObject(data, "device_requirement", "cpu", "gpu", "hard_disk", "ram")
	if err != nil {
		return r, err
	}
	cpu, err := decodeObject(top["cpu"], "cpu", "count")
	if err != nil {
		return r, err
	}
	count, err := intField(cpu, "cpu.count", 0, maxCPUCount)
	if err != nil {
		return r, err
	}
	r.CPU.Count = int(count)
	if gpuRaw, ok := top["gpu"]; ok {
		gpu, err := decodeObject(gpuRaw, "gpu", "count", "capacity", "type")
		if err != nil {
			return r, err
		}
		n, err := intField(gpu, "gpu.count", 0, maxGPUCount)
		if err != nil {
			return r, err
		}
		r.GPU.Count = int(n)
		if r.GPU.CapacityMB, err = intField(gpu, "gpu.capacity", 0, maxGPUCapacityMB); err != nil {
			return r, err
		}
		if r.GPU.Type, err = stringField(gpu, "gpu.type", maxGPUTypeLen); err != nil {
			return r, err
		}
	}
	disk, err := decodeObject(top["hard_disk"], "hard_disk", "capacity")
	if err != nil {
		return r, err
	}
	if r.Disk.Capacity, err = intField(disk, "hard_disk.capacity", 0, maxBytes); err != nil {
		return r, err
	}
	ram, err := decodeObject(top["ram"], "ram", "capacity")
	if err != nil {
		return r, err
	}
	if r.RAM.Capacity, err = intField(ram, "ram.capacity", 0, maxBytes); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// Validate checks the ranges of a requirement built in code or decoded by ParseRequirement.
func (r Requirement) Validate() error {
	switch {
	case r.CPU.Count < 1 || r.CPU.Count > maxCPUCount:
		return fmt.Errorf("%w: cpu.count must be between 1 and %d, got %d", ErrInvalidRequirement, maxCPUCount, r.CPU.Count)
	case r.RAM.Capacity < MinRAMBytes || r.RAM.Capacity > maxBytes:
		return fmt.Errorf("%w: ram.capacity must be between %d and %d bytes, got %d", ErrInvalidRequirement, int64(MinRAMBytes), int64(maxBytes), r.RAM.Capacity)
	case r.Disk.Capacity != 0 && (r.Disk.Capacity < MinDiskBytes || r.Disk.Capacity > maxBytes):
		return fmt.Errorf("%w: hard_disk.capacity must be 0 (no quota) or between %d and %d bytes, got %d", ErrInvalidRequirement, int64(MinDiskBytes), int64(maxBytes), r.Disk.Capacity)
	case r.GPU.Count < 0 || r.GPU.Count > maxGPUCount:
		return fmt.Errorf("%w: gpu.count must be between 0 and %d, got %d", ErrInvalidRequirement, maxGPUCount, r.GPU.Count)
	case r.GPU.CapacityMB < 0 || r.GPU.CapacityMB > maxGPUCapacityMB:
		return fmt.Errorf("%w: gpu.capacity must be between 0 and %d MB, got %d", ErrInvalidRequirement, maxGPUCapacityMB, r.GPU.CapacityMB)
	case r.GPU.Count == 0 && (r.GPU.CapacityMB != 0 || r.GPU.Type != ""):
		return fmt.Errorf("%w: gpu.count must be at least 1 when gpu.capacity or gpu.type is given", ErrInvalidRequirement)
	}
	if err := checkGPUType(r.GPU.Type); err != nil {
		return err
	}
	return nil
}

// checkGPUType allows the characters GPU model names use: letters, digits, space, - _ . +
func checkGPUType(s string) error {
	if len(s) > maxGPUTypeLen {
		return fmt.Errorf("%w: gpu.type is longer than %d characters", ErrInvalidRequirement, maxGPUTypeLen)
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" -_.+", c)
		if !ok {
			return fmt.Errorf("%w: gpu.type may hold letters, digits, space and - _ . + only, got %q", ErrInvalidRequirement, s)
		}
	}
	return nil
}

// decodeObject decodes one JSON object (null or absent counts as empty) and refuses keys
// other than the allowed ones.
func decodeObject(data []byte, name string, allowed ...string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return out, nil
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: %s must be a JSON object", ErrInvalidRequirement, name)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON: %v", ErrInvalidRequirement, name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s has trailing data after the object", ErrInvalidRequirement, name)
	}
	for k := range out {
		found := false
		for _, a := range allowed {
			found = found || k == a
		}
		if !found {
			return nil, fmt.Errorf("%w: unknown key %q in %s (allowed: %s)", ErrInvalidRequirement, truncate(k, 32), name, strings.Join(allowed, ", "))
		}
	}
	return out, nil
}

// intField reads an integral number in [lo, hi]; an absent or null field is 0.
func intField(obj map[string]json.RawMessage, name string, lo, hi int64) (int64, error) {
	raw, ok := obj[name[strings.LastIndexByte(name, '.')+1:]]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return 0, nil
	}
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, fmt.Errorf("%w: %s is not valid JSON: %v", ErrInvalidRequirement, name, err)
	}
	num, ok = v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%w: %s must be a number, got %s", ErrInvalidRequirement, name, jsonKind(v))
	}
	n, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(num.String(), 64)
		if ferr != nil || math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) || f < float64(math.MinInt64) || f >= float64(math.MaxInt64) {
			return 0, fmt.Errorf("%w: %s must be a whole number within range, got %s", ErrInvalidRequirement, name, truncate(num.String(), 32))
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s must be between %d and %d, got %d", ErrInvalidRequirement, name, lo, hi, n)
	}
	return n, nil
}

// stringField reads a string of at most max bytes; an absent or null field is "".
func stringField(obj map[string]json.RawMessage, name string, max int) (string, error) {
	raw, ok := obj[name[strings.LastIndexByte(name, '.')+1:]]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return "", nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%w: %s is not valid JSON: %v", ErrInvalidRequirement, name, err)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s must be a string, got %s", ErrInvalidRequirement, name, jsonKind(v))
	}
	if len(s) > max {
		return "", fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidRequirement, name, max)
	}
	return s, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// truncate clips s (clip.String) and escapes it as a Go string literal's
// contents, so that an untrusted key or value prints on one line.
func truncate(s string, n int) string {
	q := strconv.Quote(clip.String(s, n))
	return q[1 : len(q)-1]
}
