package canary

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxOutput bounds what the canary reads of the measuring command's output
// (the container is the miner's; its output is untrusted).
const maxOutput = 64 << 10

// maxGPUs bounds the GPU lines read.
const maxGPUs = 64

// endMarker closes a complete measurement; its absence means the session
// ended early.
const endMarker = "end=1"

// measureScript runs inside the lease container as the login's command
// (POSIX sh, coreutils): one key=value line per measurement. nvidia-smi
// is asked only when the specs claim GPUs.
func measureScript(gpus bool) string {
	var b strings.Builder
	b.WriteString(`echo login=1; ` +
		`echo "nproc=$(nproc 2>/dev/null)"; ` +
		`echo "cpu_max=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null)"; ` +
		`echo "cpuset=$(cat /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null || cat /sys/fs/cgroup/cpuset/cpuset.effective_cpus 2>/dev/null)"; ` +
		`echo "mem_max=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"; ` +
		`echo "mem_total_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo 2>/dev/null)"; ` +
		`echo "disk_free_kb=$(df -Pk /root 2>/dev/null | sed -n '2p' | tr -s ' ' | cut -d ' ' -f 4)"; `)
	if gpus {
		b.WriteString(`nvidia-smi --query-gpu=name,uuid,memory.total --format=csv,noheader,nounits 2>/dev/null | sed 's/^/gpu=/'; ` +
			`echo "gpu_status=$?"; `)
	}
	b.WriteString(`echo ` + endMarker)
	return b.String()
}

// Measured is what the canary saw inside a lease container.
type Measured struct {
	// CPUs is the usable CPU count: the least of nproc, the cpuset and the
	// CFS quota (each when present).
	CPUs   int     `json:"cpus"`
	NProc  int     `json:"nproc"`
	CPUSet int     `json:"cpuset,omitempty"`
	Quota  float64 `json:"cpu_quota,omitempty"` // CPUs' worth of CFS quota; 0 = none
	// MemoryBytes is the cgroup memory limit, or the machine's memory when
	// there is none.
	MemoryBytes int64 `json:"memory_bytes"`
	// DiskFreeBytes is the free space where the renter writes (/root: the
	// lease's sized volume when the miner enforces disk, under a read-only root).
	DiskFreeBytes int64 `json:"disk_free_bytes"`
	GPUs          []GPU `json:"gpus,omitempty"`
	// GrantSeconds is set by the canary, not measured in the container: the
	// time from the Allocate request to the granted lease.
	GrantSeconds float64 `json:"grant_seconds,omitempty"`
}

// GPU is one line of nvidia-smi.
type GPU struct {
	Name     string `json:"name"`
	UUID     string `json:"uuid"`
	MemoryMB int64  `json:"memory_mb"`
}

// ErrIncomplete means the measurement output ended before its end marker.
var ErrIncomplete = errors.New("canary: the measurement output is incomplete")

// ParseMeasured reads the measuring command's output. Unknown keys and
// unreadable values are ignored (a missing value measures as zero, which
// fails its comparison); only a missing end marker is an error.
func ParseMeasured(out []byte) (Measured, error) {
	var m Measured
	if len(out) > maxOutput {
		out = out[:maxOutput]
	}
	var memMax, memTotal int64
	complete := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), maxOutput)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "nproc":
			m.NProc = smallInt(val)
		case "cpu_max":
			m.Quota = quota(val)
		case "cpuset":
			m.CPUSet = cpusetCount(val)
		case "mem_max":
			memMax = bytesValue(val, 1)
		case "mem_total_kb":
			memTotal = bytesValue(val, 1024)
		case "disk_free_kb":
			m.DiskFreeBytes = bytesValue(val, 1024)
		case "gpu":
			if len(m.GPUs) < maxGPUs {
				if g, ok := parseGPU(val); ok {
					m.GPUs = append(m.GPUs, g)
				}
			}
		case "end":
			complete = val == "1"
		}
	}
	if !complete {
		return m, ErrIncomplete
	}
	m.CPUs = m.NProc
	if m.CPUSet > 0 && (m.CPUs == 0 || m.CPUSet < m.CPUs) {
		m.CPUs = m.CPUSet
	}
	if m.Quota > 0 && float64(m.CPUs) > m.Quota {
		// A quota of 1.5 CPUs gives 1 whole CPU's worth and a half.
		m.CPUs = int(m.Quota)
	}
	m.MemoryBytes = memTotal
	if memMax > 0 && (memTotal == 0 || memMax < memTotal) {
		m.MemoryBytes = memMax
	}
	return m, nil
}

// smallInt reads a non-negative count below a million; anything else is 0.
func smallInt(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= 1_000_000 {
		return 0
	}
	return n
}

// bytesValue reads a non-negative integer times unit, 0 when unreadable or
// beyond 2^62 bytes ("max" included: no limit).
func bytesValue(s string, unit int64) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return 0
	}
	return n * unit
}

// quota reads cgroup v2 cpu.max ("max 100000" or "200000 100000") as CPUs.
func quota(s string) float64 {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0
	}
	q, err1 := strconv.ParseInt(f[0], 10, 64)
	p, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0
	}
	v := float64(q) / float64(p)
	if math.IsInf(v, 0) || v > 1e6 {
		return 0
	}
	return v
}

// cpusetCount counts the CPUs of a cpuset list such as "0-3,6"; 0 when unreadable.
func cpusetCount(s string) int {
	if s == "" || len(s) > 4096 {
		return 0
	}
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1_000_000 {
				return 0
			}
		}
		n += b - a + 1
		if n > 1_000_000 {
			return 0
		}
	}
	return n
}

// parseGPU reads "NVIDIA H200, GPU-0123..., 143771" (name, UUID, MiB).
func parseGPU(s string) (GPU, bool) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return GPU{}, false
	}
	g := GPU{Name: clean(f[0], 96), UUID: clean(f[1], 96)}
	mem, err := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
	if err != nil || mem < 0 || mem > 1<<32 || g.UUID == "" {
		return GPU{}, false
	}
	g.MemoryMB = mem
	return g, true
}

// clean trims s and keeps it printable ASCII and at most n bytes, so that
// a hostile container cannot put control sequences in logs or the store.
func clean(s string, n int) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c >= ' ' && c <= '~' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// String summarises a measurement for logs.
func (m Measured) String() string {
	return fmt.Sprintf("%d CPU, %s RAM, %s disk free, %d GPU", m.CPUs, size(m.MemoryBytes), size(m.DiskFreeBytes), len(m.GPUs))
}
