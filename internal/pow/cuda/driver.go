package cuda

import (
	"fmt"
	"github.com/sn27/compute/internal/dl"
	"unsafe"

	"github.com/sn27/compute/internal/pow"
)

// cuResult is a CUresult; 0 is CUDA_SUCCESS.
type cuResult int32

// Device attributes (CUdevice_attribute).
const (
	attrMultiprocessorCount = 16
	attrComputeCapMajor     = 75
	attrComputeCapMinor     = 76

	funcAttrNumRegs = 4 // CU_FUNC_ATTRIBUTE_NUM_REGS
)

// driver is the part of the CUDA driver API the solver uses, loaded from
// libcuda.so.1. CUdevice is int32, CUcontext/CUmodule/CUfunction/CUstream are
// opaque pointers (uintptr) and CUdeviceptr is uint64.
type driver struct {
	cuInit               func(flags uint32) cuResult
	cuDriverGetVersion   func(v *int32) cuResult
	cuGetErrorName       func(r cuResult, s **byte) cuResult
	cuGetErrorString     func(r cuResult, s **byte) cuResult
	cuDeviceGetCount     func(n *int32) cuResult
	cuDeviceGet          func(dev *int32, ordinal int32) cuResult
	cuDeviceGetName      func(name *byte, n int32, dev int32) cuResult
	cuDeviceGetAttribute func(v *int32, attr int32, dev int32) cuResult
	cuPrimaryCtxRetain   func(ctx *uintptr, dev int32) cuResult
	cuPrimaryCtxRelease  func(dev int32) cuResult
	cuCtxSetCurrent      func(ctx uintptr) cuResult
	cuModuleLoadData     func(mod *uintptr, image unsafe.Pointer) cuResult
	cuModuleUnload       func(mod uintptr) cuResult
	cuModuleGetFunction  func(fn *uintptr, mod uintptr, name string) cuResult
	cuModuleGetGlobal    func(dptr *uint64, size *uint64, mod uintptr, name string) cuResult
	cuMemAlloc           func(dptr *uint64, size uint64) cuResult
	cuMemFree            func(dptr uint64) cuResult
	cuMemcpyHtoD         func(dst uint64, src unsafe.Pointer, n uint64) cuResult
	cuMemcpyDtoH         func(dst unsafe.Pointer, src uint64, n uint64) cuResult
	cuMemsetD32          func(dst uint64, v uint32, n uint64) cuResult
	cuLaunchKernel       func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params unsafe.Pointer, extra unsafe.Pointer) cuResult
	cuFuncGetAttribute   func(v *int32, attr int32, fn uintptr) cuResult
	cuOccupancy          func(blocks *int32, fn uintptr, blockSize int32, dynSmem uint64) cuResult
}

// loadDriver opens libcuda.so.1 and initialises the driver API.
func loadDriver() (*driver, error) {
	lib, _, err := dl.Open([]string{"libcuda.so.1", "libcuda.so"})
	if err != nil {
		return nil, fmt.Errorf("%w: no CUDA driver (libcuda.so.1 not found): %v", pow.ErrUnavailable, err)
	}
	d := &driver{}
	err = dl.Resolve(lib, []dl.Binding{
		dl.Bind(&d.cuInit, "cuInit"),
		dl.Bind(&d.cuDriverGetVersion, "cuDriverGetVersion"),
		dl.Bind(&d.cuGetErrorName, "cuGetErrorName"),
		dl.Bind(&d.cuGetErrorString, "cuGetErrorString"),
		dl.Bind(&d.cuDeviceGetCount, "cuDeviceGetCount"),
		dl.Bind(&d.cuDeviceGet, "cuDeviceGet"),
		dl.Bind(&d.cuDeviceGetName, "cuDeviceGetName"),
		dl.Bind(&d.cuDeviceGetAttribute, "cuDeviceGetAttribute"),
		dl.Bind(&d.cuPrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
		dl.Bind(&d.cuPrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"),
		dl.Bind(&d.cuCtxSetCurrent, "cuCtxSetCurrent"),
		dl.Bind(&d.cuModuleLoadData, "cuModuleLoadData"),
		dl.Bind(&d.cuModuleUnload, "cuModuleUnload"),
		dl.Bind(&d.cuModuleGetFunction, "cuModuleGetFunction"),
		dl.Bind(&d.cuModuleGetGlobal, "cuModuleGetGlobal_v2"),
		dl.Bind(&d.cuMemAlloc, "cuMemAlloc_v2"),
		dl.Bind(&d.cuMemFree, "cuMemFree_v2"),
		dl.Bind(&d.cuMemcpyHtoD, "cuMemcpyHtoD_v2"),
		dl.Bind(&d.cuMemcpyDtoH, "cuMemcpyDtoH_v2"),
		dl.Bind(&d.cuMemsetD32, "cuMemsetD32_v2"),
		dl.Bind(&d.cuLaunchKernel, "cuLaunchKernel"),
		dl.Bind(&d.cuFuncGetAttribute, "cuFuncGetAttribute"),
		dl.Bind(&d.cuOccupancy, "cuOccupancyMaxActiveBlocksPerMultiprocessor"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: CUDA driver library too old or incomplete: %v", pow.ErrUnavailable, err)
	}
	if err := d.check("cuInit", d.cuInit(0)); err != nil {
		return nil, fmt.Errorf("%w: %v", pow.ErrUnavailable, err)
	}
	return d, nil
}

// check turns a CUresult into an error naming the call and the driver's name
// for the result.
func (d *driver) check(call string, r cuResult) error {
	if r == 0 {
		return nil
	}
	var name, desc *byte
	if d.cuGetErrorName(r, &name) != 0 || name == nil {
		return fmt.Errorf("cuda: %s failed: CUresult %d", call, r)
	}
	if d.cuGetErrorString(r, &desc) == 0 && desc != nil {
		return fmt.Errorf("cuda: %s failed: %s (%s)", call, goString(name), goString(desc))
	}
	return fmt.Errorf("cuda: %s failed: %s", call, goString(name))
}

// version returns the driver's CUDA version as major, minor.
func (d *driver) version() (int, int, error) {
	var v int32
	if err := d.check("cuDriverGetVersion", d.cuDriverGetVersion(&v)); err != nil {
		return 0, 0, err
	}
	return int(v / 1000), int(v%1000) / 10, nil
}

// deviceInfo is what the solver needs to know about one GPU.
type deviceInfo struct {
	ordinal      int
	dev          int32
	name         string
	major, minor int
	sms          int
}

func (d *driver) devices() ([]deviceInfo, error) {
	var n int32
	if err := d.check("cuDeviceGetCount", d.cuDeviceGetCount(&n)); err != nil {
		return nil, err
	}
	out := make([]deviceInfo, 0, n)
	for i := range n {
		var dev int32
		if err := d.check("cuDeviceGet", d.cuDeviceGet(&dev, i)); err != nil {
			return nil, err
		}
		info := deviceInfo{ordinal: int(i), dev: dev}
		var name [256]byte
		if err := d.check("cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), dev)); err != nil {
			return nil, err
		}
		info.name = trimNUL(name[:])
		for _, a := range []struct {
			attr int32
			dst  *int
		}{
			{attrComputeCapMajor, &info.major},
			{attrComputeCapMinor, &info.minor},
			{attrMultiprocessorCount, &info.sms},
		} {
			var v int32
			if err := d.check("cuDeviceGetAttribute", d.cuDeviceGetAttribute(&v, a.attr, dev)); err != nil {
				return nil, err
			}
			*a.dst = int(v)
		}
		out = append(out, info)
	}
	return out, nil
}
