package container

import (
	"context"
	"strconv"

	"github.com/sn27/compute/internal/gpu"
)

// HostGPUs converts an NVML inventory into the GPUs the limit maths hands out; a GPU is
// named to Docker by its UUID (stable across reboots), else by its index.
func HostGPUs(inv gpu.Inventory) []HostGPU {
	out := make([]HostGPU, 0, len(inv.GPUs))
	for _, g := range inv.GPUs {
		id := g.UUID
		if id == "" {
			id = strconv.Itoa(g.Index)
		}
		out = append(out, HostGPU{ID: id, Name: g.Name, CapacityMB: int64(g.MemoryTotal >> 20)})
	}
	return out
}

// NVMLGPUs lists the host's GPUs through NVML; it fits Config.GPUs. Without the NVIDIA
// driver it returns none.
func NVMLGPUs(ctx context.Context) ([]HostGPU, error) {
	inv, err := gpu.Query(ctx)
	if err != nil {
		return nil, err
	}
	return HostGPUs(inv), nil
}
