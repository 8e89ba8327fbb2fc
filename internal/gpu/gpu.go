package gpu

import (
	"context"
	"errors"
	"fmt"

	"github.com/sn27/compute/internal/dl"
)

// ReasonNoNVML is the Reason of an inventory taken where NVML is missing.
const ReasonNoNVML = "NVML not found: no NVIDIA driver"

// Inventory is the GPU side of a machine's specs.
type Inventory struct {
	DriverVersion string `json:"driver_version,omitempty"` // "550.54.15"
	CUDAVersion   string `json:"cuda_version,omitempty"`   // the driver's CUDA version, "12.4"
	GPUs          []GPU  `json:"gpus"`
	// Reason says why GPUs is empty ("" when there are GPUs).
	Reason string `json:"reason,omitempty"`
}

// Count is the number of GPUs.
func (inv Inventory) Count() int { return len(inv.GPUs) }

// GPU is one NVIDIA GPU as NVML reports it.
type GPU struct {
	Index             int    `json:"index"`
	Name              string `json:"name"` // "NVIDIA H100 80GB HBM3"
	UUID              string `json:"uuid"` // "GPU-..."
	ComputeCapability string `json:"compute_capability,omitempty"`
	MemoryTotal       uint64 `json:"memory_total"` // bytes
	MemoryFree        uint64 `json:"memory_free"`  // bytes
	Clocks            Clocks `json:"clocks"`
}

// Clocks are current and maximum clocks in MHz; 0 where NVML does not report
// one.
type Clocks struct {
	GraphicsMHz    uint32 `json:"graphics_mhz"`
	SMMHz          uint32 `json:"sm_mhz"`
	MemoryMHz      uint32 `json:"memory_mhz"`
	MaxGraphicsMHz uint32 `json:"max_graphics_mhz"`
	MaxSMMHz       uint32 `json:"max_sm_mhz"`
	MaxMemoryMHz   uint32 `json:"max_memory_mhz"`
}

// nvmlReturn is nvmlReturn_t; 0 is NVML_SUCCESS.
type nvmlReturn int32

const (
	nvmlErrorNotSupported nvmlReturn = 3

	clockGraphics = 0 // NVML_CLOCK_GRAPHICS
	clockSM       = 1 // NVML_CLOCK_SM
	clockMem      = 2 // NVML_CLOCK_MEM

	bufSize = 96 // NVML_DEVICE_NAME_V2_BUFFER_SIZE, >= NVML_DEVICE_UUID_V2_BUFFER_SIZE (96)
)

// nvmlMemory is nvmlMemory_t (v1): three 64-bit fields.
type nvmlMemory struct {
	Total, Free, Used uint64
}

// nvml is the part of the NVML API the inventory uses.
type nvml struct {
	nvmlInit                  func() nvmlReturn
	nvmlShutdown              func() nvmlReturn
	nvmlErrorString           func(r nvmlReturn) string
	nvmlSystemGetDriverVer    func(buf *byte, n uint32) nvmlReturn
	nvmlSystemGetCudaDriver   func(v *int32) nvmlReturn
	nvmlDeviceGetCount        func(n *uint32) nvmlReturn
	nvmlDeviceGetHandle       func(i uint32, dev *uintptr) nvmlReturn
	nvmlDeviceGetName         func(dev uintptr, buf *byte, n uint32) nvmlReturn
	nvmlDeviceGetUUID         func(dev uintptr, buf *byte, n uint32) nvmlReturn
	nvmlDeviceGetMemoryInfo   func(dev uintptr, m *nvmlMemory) nvmlReturn
	nvmlDeviceGetClockInfo    func(dev uintptr, typ int32, mhz *uint32) nvmlReturn
	nvmlDeviceGetMaxClockInfo func(dev uintptr, typ int32, mhz *uint32) nvmlReturn
	nvmlDeviceGetCudaCC       func(dev uintptr, major, minor *int32) nvmlReturn
}

// errNoNVML marks a missing or unusable NVML library.
var errNoNVML = errors.New(ReasonNoNVML)

func loadNVML(names []string) (*nvml, error) {
	lib, _, err := dl.Open(names)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoNVML, err)
	}
	n := &nvml{}
	err = dl.Resolve(lib, []dl.Binding{
		dl.Bind(&n.nvmlInit, "nvmlInit_v2", "nvmlInit"),
		dl.Bind(&n.nvmlShutdown, "nvmlShutdown"),
		dl.Bind(&n.nvmlErrorString, "nvmlErrorString"),
		dl.Bind(&n.nvmlSystemGetDriverVer, "nvmlSystemGetDriverVersion"),
		dl.Bind(&n.nvmlSystemGetCudaDriver, "nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"),
		dl.Bind(&n.nvmlDeviceGetCount, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"),
		dl.Bind(&n.nvmlDeviceGetHandle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"),
		dl.Bind(&n.nvmlDeviceGetName, "nvmlDeviceGetName"),
		dl.Bind(&n.nvmlDeviceGetUUID, "nvmlDeviceGetUUID"),
		dl.Bind(&n.nvmlDeviceGetMemoryInfo, "nvmlDeviceGetMemoryInfo"),
		dl.Bind(&n.nvmlDeviceGetClockInfo, "nvmlDeviceGetClockInfo"),
		dl.Bind(&n.nvmlDeviceGetMaxClockInfo, "nvmlDeviceGetMaxClockInfo"),
		dl.Bind(&n.nvmlDeviceGetCudaCC, "nvmlDeviceGetCudaComputeCapability"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v (driver too old)", errNoNVML, err)
	}
	return n, nil
}

func (n *nvml) check(call string, r nvmlReturn) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("nvml: %s: %s (%d)", call, n.nvmlErrorString(r), r)
}

// Query takes the inventory. Without NVML it returns an empty inventory with
// Reason set and no error; an error means NVML is there but failed.
func Query(ctx context.Context) (Inventory, error) {
	return query(ctx, []string{"libnvidia-ml.so.1", "libnvidia-ml.so"})
}

func query(ctx context.Context, libs []string) (Inventory, error) {
	if err := ctx.Err(); err != nil {
		return Inventory{}, err
	}
	n, err := loadNVML(libs)
	if err != nil {
		return Inventory{GPUs: []GPU{}, Reason: ReasonNoNVML}, nil
	}
	if err := n.check("init", n.nvmlInit()); err != nil {
		return Inventory{GPUs: []GPU{}, Reason: "NVML present but not usable: " + err.Error()}, err
	}
	defer n.nvmlShutdown()

	inv := Inventory{GPUs: []GPU{}}
	var buf [bufSize]byte
	if err := n.check("driver version", n.nvmlSystemGetDriverVer(&buf[0], bufSize)); err != nil {
		return inv, err
	}
	inv.DriverVersion = cstr(buf[:])
	var cv int32
	if err := n.check("CUDA driver version", n.nvmlSystemGetCudaDriver(&cv)); err != nil {
		return inv, err
	}
	inv.CUDAVersion = fmt.Sprintf("%d.%d", cv/1000, cv%1000/10)

	var count uint32
	if err := n.check("device count", n.nvmlDeviceGetCount(&count)); err != nil {
		return inv, err
	}
	for i := range count {
		if err := ctx.Err(); err != nil {
			return inv, err
		}
		g, err := n.device(i)
		if err != nil {
			return inv, fmt.Errorf("GPU %d: %w", i, err)
		}
		inv.GPUs = append(inv.GPUs, g)
	}
	if len(inv.GPUs) == 0 {
		inv.Reason = "NVIDIA driver reports no GPU"
	}
	return inv, nil
}

func (n *nvml) device(i uint32) (GPU, error) {
	g := GPU{Index: int(i)}
	var dev uintptr
	if err := n.check("device handle", n.nvmlDeviceGetHandle(i, &dev)); err != nil {
		return g, err
	}
	var buf [bufSize]byte
	if err := n.check("name", n.nvmlDeviceGetName(dev, &buf[0], bufSize)); err != nil {
		return g, err
	}
	g.Name = cstr(buf[:])
	buf = [bufSize]byte{}
	if err := n.check("UUID", n.nvmlDeviceGetUUID(dev, &buf[0], bufSize)); err != nil {
		return g, err
	}
	g.UUID = cstr(buf[:])
	var mem nvmlMemory
	if err := n.check("memory info", n.nvmlDeviceGetMemoryInfo(dev, &mem)); err != nil {
		return g, err
	}
	g.MemoryTotal, g.MemoryFree = mem.Total, mem.Free
	var major, minor int32
	if n.nvmlDeviceGetCudaCC(dev, &major, &minor) == 0 {
		g.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
	}
	for _, c := range []struct {
		get  func(uintptr, int32, *uint32) nvmlReturn
		typ  int32
		dst  *uint32
		name string
	}{
		{n.nvmlDeviceGetClockInfo, clockGraphics, &g.Clocks.GraphicsMHz, "graphics clock"},
		{n.nvmlDeviceGetClockInfo, clockSM, &g.Clocks.SMMHz, "SM clock"},
		{n.nvmlDeviceGetClockInfo, clockMem, &g.Clocks.MemoryMHz, "memory clock"},
		{n.nvmlDeviceGetMaxClockInfo, clockGraphics, &g.Clocks.MaxGraphicsMHz, "max graphics clock"},
		{n.nvmlDeviceGetMaxClockInfo, clockSM, &g.Clocks.MaxSMMHz, "max SM clock"},
		{n.nvmlDeviceGetMaxClockInfo, clockMem, &g.Clocks.MaxMemoryMHz, "max memory clock"},
	} {
		r := c.get(dev, c.typ, c.dst)
		if r == nvmlErrorNotSupported {
			*c.dst = 0
			continue
		}
		if err := n.check(c.name, r); err != nil {
			return g, err
		}
	}
	return g, nil
}

// cstr returns the text of a NUL-terminated C buffer.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
