package specs

import (
	"context"

	"github.com/sn27/compute/internal/gpu"
)

// NVML is the GPU inventory read through NVML (internal/gpu). Without the NVIDIA driver
// it reports no GPU and says why.
type NVML struct{}

// GPUs lists the GPUs with their memory in MB and maximum clocks.
func (NVML) GPUs(ctx context.Context) ([]GPUDetail, string, error) {
	inv, err := gpu.Query(ctx)
	if err != nil {
		return nil, inv.Reason, err
	}
	return FromInventory(inv), inv.Reason, nil
}

// FromInventory converts an NVML inventory to specs details.
func FromInventory(inv gpu.Inventory) []GPUDetail {
	out := make([]GPUDetail, 0, len(inv.GPUs))
	for _, g := range inv.GPUs {
		out = append(out, GPUDetail{
			Name:          g.Name,
			Capacity:      int64(g.MemoryTotal >> 20),
			UUID:          g.UUID,
			GraphicsSpeed: g.Clocks.MaxGraphicsMHz,
			MemorySpeed:   g.Clocks.MaxMemoryMHz,
		})
	}
	return out
}
