package container

import (
	"fmt"
	"strconv"
	"strings"
)

// Host is what this machine can give a lease, as seen by the limit maths.
type Host struct {
	// CPUs are the ids of the CPUs containers may be pinned to, ascending.
	CPUs []int
	// MemoryBytes is the memory Docker reports for the host.
	MemoryBytes int64
	// GPUs are the GPUs Docker can hand to a container (none without the NVIDIA runtime).
	GPUs []HostGPU
	// DiskQuota says whether the storage driver enforces a per-container size
	// (overlay2 on xfs with pquota, btrfs, zfs); DiskQuotaReason says why not.
	DiskQuota       bool
	DiskQuotaReason string
	// DiskVolumes says whether a sized volume per lease (a loop-mounted filesystem
	// image) can enforce the disk whatever the storage driver; DiskVolumesReason says
	// why not.
	DiskVolumes       bool
	DiskVolumesReason string
	// IPv6 says whether the host's kernel has IPv6 (lease containers turn it off).
	IPv6 bool
	// DiskFreeBytes is the free space where container layers live (0 = unknown).
	DiskFreeBytes int64
}

// HostGPU is one GPU of the host: ID is what Docker's device request names (index or UUID).
type HostGPU struct {
	ID         string
	Name       string
	CapacityMB int64
}

// Limits are the Docker resource settings enforcing a requirement on a host.
type Limits struct {
	CPUSet          string // cpuset.cpus, e.g. "1-2"
	CPUCount        int
	NanoCPUs        int64
	MemoryBytes     int64
	MemorySwapBytes int64 // equal to MemoryBytes: no swap beyond the limit
	PidsLimit       int64
	DiskBytes       int64    // the enforced disk size; 0 = not enforced
	DiskVolume      bool     // DiskBytes is enforced by a sized volume, else by StorageOpt size
	DisableIPv6     bool     // turn IPv6 off inside the container (the host has it)
	GPUIDs          []string // exactly the GPUs handed over; empty = none
	Warnings        []string // what could not be enforced, for logs and the lease record
}

// DefaultPidsLimit bounds the processes of a lease container.
const DefaultPidsLimit = 4096

// ComputeLimits is the pure limit maths: it checks that the requirement fits the host and
// returns the limits enforcing it. CPUs are taken from the end of the host's list so that
// the first CPU, where the miner itself usually runs, is left alone when possible.
func ComputeLimits(r Requirement, h Host, pidsLimit int64) (Limits, error) {
	var l Limits
	if err := r.Validate(); err != nil {
		return l, err
	}
	if pidsLimit <= 0 {
		pidsLimit = DefaultPidsLimit
	}
	if r.CPU.Count > len(h.CPUs) {
		return l, fmt.Errorf("%w: %d CPUs asked, the host has %d", ErrInsufficientResources, r.CPU.Count, len(h.CPUs))
	}
	if h.MemoryBytes > 0 && r.RAM.Capacity > h.MemoryBytes {
		return l, fmt.Errorf("%w: %d bytes of RAM asked, the host has %d", ErrInsufficientResources, r.RAM.Capacity, h.MemoryBytes)
	}
	if h.DiskFreeBytes > 0 && r.Disk.Capacity > h.DiskFreeBytes {
		return l, fmt.Errorf("%w: %d bytes of disk asked, %d are free", ErrInsufficientResources, r.Disk.Capacity, h.DiskFreeBytes)
	}
	cpus := h.CPUs[len(h.CPUs)-r.CPU.Count:]
	l.CPUSet = cpuList(cpus)
	l.CPUCount = r.CPU.Count
	l.NanoCPUs = int64(r.CPU.Count) * 1e9
	l.MemoryBytes = r.RAM.Capacity
	l.MemorySwapBytes = r.RAM.Capacity
	l.PidsLimit = pidsLimit

	l.DisableIPv6 = h.IPv6

	if r.Disk.Capacity > 0 {
		switch {
		case h.DiskVolumes:
			l.DiskBytes = r.Disk.Capacity
			l.DiskVolume = true
		case h.DiskQuota:
			l.DiskBytes = r.Disk.Capacity
		default:
			var reasons []string
			for _, r := range []string{h.DiskVolumesReason, h.DiskQuotaReason} {
				if r != "" {
					reasons = append(reasons, r)
				}
			}
			if len(reasons) == 0 {
				reasons = append(reasons, "the storage driver does not support per-container size limits")
			}
			l.Warnings = append(l.Warnings, fmt.Sprintf("disk quota of %d bytes not enforced: %s", r.Disk.Capacity, strings.Join(reasons, "; ")))
		}
	}

	if r.GPU.Count > 0 {
		var match []string
		for _, g := range h.GPUs {
			if gpuMemoryFits(g.CapacityMB, r.GPU.CapacityMB) && (r.GPU.Type == "" || strings.Contains(strings.ToLower(g.Name), strings.ToLower(r.GPU.Type))) {
				match = append(match, g.ID)
			}
		}
		if len(match) < r.GPU.Count {
			return Limits{}, fmt.Errorf("%w: %d GPUs with at least %d MB matching %q asked, the host has %d such GPUs (of %d)",
				ErrInsufficientResources, r.GPU.Count, r.GPU.CapacityMB, r.GPU.Type, len(match), len(h.GPUs))
		}
		l.GPUIDs = match[:r.GPU.Count]
	}
	return l, nil
}

// gpuMemoryFits allows 1% below the requested memory: drivers report a little less than
// the nominal size (an RTX 4090 sold as 24576 MB reports 24564 MiB).
func gpuMemoryFits(haveMB, wantMB int64) bool {
	return haveMB*100 >= wantMB*99
}

// cpuList writes ascending CPU ids in cpuset syntax, joining runs: [1 2 3 5] -> "1-3,5".
func cpuList(ids []int) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ids[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ids[j]))
		}
		i = j + 1
	}
	return b.String()
}
