package specs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Specs is the miner's inventory in the original JSON shape. Capacities are bytes except
// GPU capacities (MB); speeds are MB/s; frequency is MHz.
type Specs struct {
	CPU       CPU  `json:"cpu"`
	GPU       GPU  `json:"gpu"`
	HardDisk  Disk `json:"hard_disk"`
	RAM       RAM  `json:"ram"`
	HasDocker bool `json:"has_docker"`
}

// CPU: Count is physical cores (as the original reported), Logical the hardware threads.
type CPU struct {
	Count     int     `json:"count"`
	Logical   int     `json:"logical_count,omitempty"`
	Frequency float64 `json:"frequency"`
	Model     string  `json:"model,omitempty"`
}

// GPU sums the GPUs: Capacity is the total memory in MB.
type GPU struct {
	Count    int         `json:"count"`
	Capacity int64       `json:"capacity"`
	Details  []GPUDetail `json:"details"`
	// GraphicsSpeed and MemorySpeed are the first GPU's clocks in MHz, where the
	// original report put them (next to count and capacity); absent without GPUs.
	GraphicsSpeed uint32 `json:"graphics_speed,omitempty"`
	MemorySpeed   uint32 `json:"memory_speed,omitempty"`
	// Reason says why there is no GPU ("" when there are GPUs).
	Reason string `json:"reason,omitempty"`
}

// GPUDetail is one GPU; Capacity is its memory in MB.
type GPUDetail struct {
	Name          string `json:"name"`
	Capacity      int64  `json:"capacity"`
	UUID          string `json:"uuid,omitempty"`
	GraphicsSpeed uint32 `json:"graphics_speed,omitempty"` // max graphics clock, MHz
	MemorySpeed   uint32 `json:"memory_speed,omitempty"`   // max memory clock, MHz
}

// Disk is the filesystem holding the miner's data directory.
type Disk struct {
	Total      int64   `json:"total"`
	Free       int64   `json:"free"`
	Used       int64   `json:"used"`
	ReadSpeed  float64 `json:"read_speed"`
	WriteSpeed float64 `json:"write_speed"`
}

// RAM in bytes, as /proc/meminfo reports it.
type RAM struct {
	Total      int64   `json:"total"`
	Free       int64   `json:"free"`
	Used       int64   `json:"used"`
	Available  int64   `json:"available"`
	SwapTotal  int64   `json:"swap_total"`
	SwapFree   int64   `json:"swap_free"`
	SwapUsed   int64   `json:"swap_used"`
	ReadSpeed  float64 `json:"read_speed,omitempty"`
	WriteSpeed float64 `json:"write_speed,omitempty"`
}

// GPUInventory lists this machine's GPUs. internal/gpu implements it through NVML
// (see NVML); NoGPUs reports none.
type GPUInventory interface {
	GPUs(ctx context.Context) (details []GPUDetail, reason string, err error)
}

// NoGPUs is the inventory of a machine without GPUs.
type NoGPUs struct{}

// GPUs returns an empty list.
func (NoGPUs) GPUs(context.Context) ([]GPUDetail, string, error) {
	return []GPUDetail{}, "no GPU inventory configured", nil
}

// Config configures a Collector.
type Config struct {
	// DataDir is where disk space is measured and the speed probe file is written.
	DataDir string
	// GPUs lists the GPUs (default NoGPUs).
	GPUs GPUInventory
	// HasDocker reports whether a Docker daemon answers (nil: false).
	HasDocker func(ctx context.Context) bool
	// ProbeBytes is the size of the disk and memory speed probes (default 32 MiB,
	// at most 256 MiB); negative skips the probes.
	ProbeBytes int64
	// ProcDir is the proc filesystem (default /proc); tests point it at testdata.
	ProcDir string
}

const (
	defaultProbeBytes = 32 << 20
	maxProbeBytes     = 256 << 20
)

// Collector takes the inventory.
type Collector struct {
	cfg Config
}

// New checks the configuration.
func New(cfg Config) (*Collector, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("specs: Config.DataDir is required")
	}
	if cfg.GPUs == nil {
		cfg.GPUs = NoGPUs{}
	}
	if cfg.ProbeBytes == 0 {
		cfg.ProbeBytes = defaultProbeBytes
	}
	if cfg.ProbeBytes > maxProbeBytes {
		return nil, fmt.Errorf("specs: probe size %d is more than %d bytes", cfg.ProbeBytes, maxProbeBytes)
	}
	if cfg.ProcDir == "" {
		cfg.ProcDir = "/proc"
	}
	return &Collector{cfg: cfg}, nil
}

// Collect takes the inventory. A failing GPU inventory leaves the GPU part empty with
// its reason; missing /proc files or an unusable data directory are errors.
func (c *Collector) Collect(ctx context.Context) (Specs, error) {
	var s Specs
	f, err := os.Open(filepath.Join(c.cfg.ProcDir, "cpuinfo"))
	if err != nil {
		return s, fmt.Errorf("read CPU info: %w", err)
	}
	s.CPU, err = ParseCPUInfo(f)
	f.Close()
	if err != nil {
		return s, err
	}
	f, err = os.Open(filepath.Join(c.cfg.ProcDir, "meminfo"))
	if err != nil {
		return s, fmt.Errorf("read memory info: %w", err)
	}
	s.RAM, err = ParseMemInfo(f)
	f.Close()
	if err != nil {
		return s, err
	}
	if s.HardDisk, err = diskUsage(c.cfg.DataDir); err != nil {
		return s, err
	}
	details, reason, err := c.cfg.GPUs.GPUs(ctx)
	if err != nil {
		reason = "GPU inventory failed: " + err.Error()
		details = nil
	}
	s.GPU = gpuSummary(details, reason)
	if c.cfg.HasDocker != nil {
		s.HasDocker = c.cfg.HasDocker(ctx)
	}
	if c.cfg.ProbeBytes > 0 {
		if s.HardDisk.WriteSpeed, s.HardDisk.ReadSpeed, err = diskSpeed(ctx, c.cfg.DataDir, c.cfg.ProbeBytes); err != nil {
			return s, err
		}
		s.RAM.WriteSpeed, s.RAM.ReadSpeed = memorySpeed(c.cfg.ProbeBytes)
	}
	return s, nil
}

func gpuSummary(details []GPUDetail, reason string) GPU {
	g := GPU{Count: len(details), Details: details}
	if g.Details == nil {
		g.Details = []GPUDetail{}
	}
	for _, d := range details {
		g.Capacity += d.Capacity
	}
	if len(details) > 0 {
		g.GraphicsSpeed, g.MemorySpeed = details[0].GraphicsSpeed, details[0].MemorySpeed
	}
	if len(details) == 0 {
		if reason == "" {
			reason = "no GPU found"
		}
		g.Reason = reason
	}
	return g
}

// ParseCPUInfo reads /proc/cpuinfo: physical cores from distinct (physical id, core id)
// pairs (the processor count where those are missing), the model name and the mean
// "cpu MHz".
func ParseCPUInfo(r io.Reader) (CPU, error) {
	var c CPU
	cores := map[[2]string]bool{}
	var phys, core string
	var mhzSum float64
	var mhzN int
	flush := func() {
		if phys != "" || core != "" {
			cores[[2]string{phys, core}] = true
		}
		phys, core = "", ""
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok {
			continue
		}
		switch key {
		case "processor":
			flush()
			c.Logical++
		case "model name", "Model":
			if c.Model == "" {
				c.Model = val
			}
		case "physical id":
			phys = val
		case "core id":
			core = val
		case "cpu MHz":
			if v, err := strconv.ParseFloat(val, 64); err == nil && v > 0 {
				mhzSum += v
				mhzN++
			}
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read CPU info: %w", err)
	}
	if c.Logical == 0 {
		return c, errors.New("read CPU info: no processor listed")
	}
	c.Count = len(cores)
	if c.Count == 0 || c.Count > c.Logical {
		c.Count = c.Logical
	}
	if mhzN > 0 {
		c.Frequency = mhzSum / float64(mhzN)
	}
	return c, nil
}

// ParseMemInfo reads /proc/meminfo. Used is total minus free, buffers and page cache,
// as psutil computed it for the original.
func ParseMemInfo(r io.Reader) (RAM, error) {
	var m RAM
	vals := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || n < 0 || n > 1<<50 {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		vals[key] = n
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("read memory info: %w", err)
	}
	total, ok := vals["MemTotal"]
	if !ok || total == 0 {
		return m, errors.New("read memory info: no MemTotal")
	}
	m.Total = total
	m.Free = vals["MemFree"]
	m.Available, ok = vals["MemAvailable"]
	if !ok {
		m.Available = m.Free + vals["Buffers"] + vals["Cached"]
	}
	m.Used = max(0, total-m.Free-vals["Buffers"]-vals["Cached"]-vals["SReclaimable"])
	m.SwapTotal, m.SwapFree = vals["SwapTotal"], vals["SwapFree"]
	m.SwapUsed = max(0, m.SwapTotal-m.SwapFree)
	return m, nil
}

func diskUsage(dir string) (Disk, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return Disk{}, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	bs := int64(st.Bsize)
	return Disk{
		Total: int64(st.Blocks) * bs,
		Free:  int64(st.Bavail) * bs,
		Used:  int64(st.Blocks-st.Bfree) * bs,
	}, nil
}

// diskSpeed writes size bytes to a temporary file in dir with fsync, drops it from the
// page cache, reads it back and removes it. Speeds are MB/s (MB = 2^20 bytes, as the
// original).
func diskSpeed(ctx context.Context, dir string, size int64) (write, read float64, err error) {
	f, err := os.CreateTemp(dir, ".specs-probe-*")
	if err != nil {
		return 0, 0, fmt.Errorf("disk speed probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + 3)
	}
	start := time.Now()
	for done := int64(0); done < size; done += int64(len(chunk)) {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		n := min(int64(len(chunk)), size-done)
		if _, err := f.Write(chunk[:n]); err != nil {
			return 0, 0, fmt.Errorf("disk speed probe: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("disk speed probe: %w", err)
	}
	write = mbPerSecond(size, time.Since(start))
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED) // best effort: read from disk, not cache
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, fmt.Errorf("disk speed probe: %w", err)
	}
	start = time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		_, err := f.Read(chunk)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("disk speed probe: %w", err)
		}
	}
	read = mbPerSecond(size, time.Since(start))
	return write, read, nil
}

// memorySpeed fills and copies a buffer of size bytes; speeds are MB/s.
func memorySpeed(size int64) (write, read float64) {
	a := make([]byte, size)
	b := make([]byte, size)
	start := time.Now()
	for i := range a {
		a[i] = byte(i)
	}
	write = mbPerSecond(size, time.Since(start))
	start = time.Now()
	copy(b, a)
	read = mbPerSecond(size, time.Since(start))
	return write, read
}

func mbPerSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		d = time.Microsecond
	}
	return float64(n) / float64(1<<20) / d.Seconds()
}
