package cuda

import (
	"fmt"
	"github.com/sn27/compute/internal/dl"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"unsafe"

	"github.com/sn27/compute/internal/pow"
)

// NVRTCEnv names an environment variable that, when set, gives the path of the
// NVRTC library to load before any other.
const NVRTCEnv = "COMPUTE_NVRTC"

// nvrtcNames are the sonames tried through the dynamic loader's search path.
var nvrtcNames = []string{
	"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2",
	"libnvrtc.so.11.1", "libnvrtc.so.11.0", "libnvrtc.so.1",
}

// nvrtcGlobs are the places NVRTC is commonly installed outside the search
// path: CUDA toolkits and the Python wheels that ship it.
var nvrtcGlobs = []string{
	"/usr/local/cuda/lib64/libnvrtc.so*",
	"/usr/local/cuda-*/lib64/libnvrtc.so*",
	"/usr/local/cuda*/targets/*/lib/libnvrtc.so*",
	"/usr/lib/x86_64-linux-gnu/libnvrtc.so*",
	"/usr/lib/aarch64-linux-gnu/libnvrtc.so*",
	"/usr/local/lib/python3*/dist-packages/nvidia/*/lib/libnvrtc.so*",
	"/usr/local/lib/python3*/site-packages/nvidia/*/lib/libnvrtc.so*",
	"/usr/lib/python3/dist-packages/nvidia/*/lib/libnvrtc.so*",
	"/opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib/libnvrtc.so*",
	"/opt/*/lib/python3*/site-packages/nvidia/*/lib/libnvrtc.so*",
	"/opt/conda/lib/libnvrtc.so*",
	"/opt/conda/lib/python3*/site-packages/nvidia/*/lib/libnvrtc.so*",
}

// nvrtc is the part of the NVRTC API the solver uses.
type nvrtc struct {
	path string

	nvrtcVersion              func(major, minor *int32) int32
	nvrtcGetErrorString       func(r int32) string
	nvrtcCreateProgram        func(prog *uintptr, src string, name string, nHeaders int32, headers, includeNames unsafe.Pointer) int32
	nvrtcCompileProgram       func(prog uintptr, nOpts int32, opts unsafe.Pointer) int32
	nvrtcDestroyProgram       func(prog *uintptr) int32
	nvrtcGetProgramLogSize    func(prog uintptr, n *uint64) int32
	nvrtcGetProgramLog        func(prog uintptr, log *byte) int32
	nvrtcGetPTXSize           func(prog uintptr, n *uint64) int32
	nvrtcGetPTX               func(prog uintptr, ptx *byte) int32
	nvrtcGetCUBINSize         func(prog uintptr, n *uint64) int32
	nvrtcGetCUBIN             func(prog uintptr, cubin *byte) int32
	nvrtcGetNumSupportedArchs func(n *int32) int32
	nvrtcGetSupportedArchs    func(archs *int32) int32
}

// nvrtcCandidates lists the libraries to try, in order.
func nvrtcCandidates() []string {
	var c []string
	if p := os.Getenv(NVRTCEnv); p != "" {
		c = append(c, p)
	}
	c = append(c, nvrtcNames...)
	for _, g := range nvrtcGlobs {
		m, _ := filepath.Glob(g)
		slices.Sort(m)
		slices.Reverse(m) // newest version first
		c = append(c, m...)
	}
	return c
}

// loadNVRTC opens an NVRTC library, preferring one whose CUDA version is not
// newer than the driver's (driverMajor.driverMinor; 0 when unknown): PTX and
// cubins from a newer NVRTC may not load on an older driver.
func loadNVRTC(driverMajor, driverMinor int) (*nvrtc, error) {
	var newer *nvrtc
	var firstErr error
	seen := map[string]bool{}
	for _, name := range nvrtcCandidates() {
		if real, err := filepath.EvalSymlinks(name); err == nil {
			if seen[real] {
				continue
			}
			seen[real] = true
		}
		n, err := openNVRTC(name)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if major, minor := n.version(); !notNewer(major, minor, driverMajor, driverMinor) {
			if newer == nil {
				newer = n
			}
			continue
		}
		return n, nil
	}
	if newer != nil {
		return newer, nil
	}
	return nil, fmt.Errorf("%w: NVRTC not found (install the CUDA runtime compiler, libnvrtc.so, or set %s to its path): %v",
		pow.ErrUnavailable, NVRTCEnv, firstErr)
}

// notNewer reports whether CUDA version major.minor is at most the driver's
// dmajor.dminor; an unknown driver version (0) accepts any.
func notNewer(major, minor, dmajor, dminor int) bool {
	if dmajor <= 0 {
		return true
	}
	return major < dmajor || major == dmajor && minor <= dminor
}

func openNVRTC(name string) (*nvrtc, error) {
	lib, _, err := dl.Open([]string{name})
	if err != nil {
		return nil, err
	}
	n := &nvrtc{path: name}
	err = dl.Resolve(lib, []dl.Binding{
		dl.Bind(&n.nvrtcVersion, "nvrtcVersion"),
		dl.Bind(&n.nvrtcGetErrorString, "nvrtcGetErrorString"),
		dl.Bind(&n.nvrtcCreateProgram, "nvrtcCreateProgram"),
		dl.Bind(&n.nvrtcCompileProgram, "nvrtcCompileProgram"),
		dl.Bind(&n.nvrtcDestroyProgram, "nvrtcDestroyProgram"),
		dl.Bind(&n.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"),
		dl.Bind(&n.nvrtcGetProgramLog, "nvrtcGetProgramLog"),
		dl.Bind(&n.nvrtcGetPTXSize, "nvrtcGetPTXSize"),
		dl.Bind(&n.nvrtcGetPTX, "nvrtcGetPTX"),
		dl.Bind(&n.nvrtcGetCUBINSize, "nvrtcGetCUBINSize"),
		dl.Bind(&n.nvrtcGetCUBIN, "nvrtcGetCUBIN"),
		dl.Bind(&n.nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs"),
		dl.Bind(&n.nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs"),
	})
	if err != nil {
		return nil, fmt.Errorf("NVRTC at %s is too old (CUDA 11.2 or newer needed): %w", name, err)
	}
	return n, nil
}

func (n *nvrtc) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("nvrtc: %s failed: %s (%d)", call, n.nvrtcGetErrorString(r), r)
}

// version returns NVRTC's CUDA version.
func (n *nvrtc) version() (int, int) {
	var major, minor int32
	if n.nvrtcVersion(&major, &minor) != 0 {
		return 0, 0
	}
	return int(major), int(minor)
}

// supportedArchs returns the SM versions (e.g. 90 for sm_90) NVRTC can target.
func (n *nvrtc) supportedArchs() ([]int, error) {
	var cnt int32
	if err := n.check("nvrtcGetNumSupportedArchs", n.nvrtcGetNumSupportedArchs(&cnt)); err != nil {
		return nil, err
	}
	if cnt <= 0 {
		return nil, nil
	}
	a := make([]int32, cnt)
	if err := n.check("nvrtcGetSupportedArchs", n.nvrtcGetSupportedArchs(&a[0])); err != nil {
		return nil, err
	}
	out := make([]int, cnt)
	for i, v := range a {
		out[i] = int(v)
	}
	return out, nil
}

// image is compiled kernel code for the driver: a cubin, or PTX that the
// driver compiles for the device when the module loads.
type image struct {
	data []byte // NUL-terminated for PTX
	kind string // "cubin sm_90" or "ptx compute_86"
}

// compile builds src for SM version sm (major*10+minor), with extra NVRTC
// options opts (such as -D definitions). When NVRTC targets sm itself it
// returns a cubin; otherwise PTX for the newest virtual architecture NVRTC
// knows at or below sm.
func (n *nvrtc) compile(src string, sm int, opts ...string) (image, error) {
	archs, err := n.supportedArchs()
	if err != nil {
		return image{}, err
	}
	if slices.Contains(archs, sm) {
		data, err := n.build(src, fmt.Sprintf("--gpu-architecture=sm_%d", sm), true, opts)
		if err == nil {
			return image{data, fmt.Sprintf("cubin sm_%d", sm)}, nil
		}
		return image{}, err
	}
	virt := 0
	for _, a := range archs {
		if a <= sm && a > virt {
			virt = a
		}
	}
	if virt == 0 {
		return image{}, fmt.Errorf("nvrtc: no supported architecture at or below sm_%d (NVRTC knows %v)", sm, archs)
	}
	data, err := n.build(src, fmt.Sprintf("--gpu-architecture=compute_%d", virt), false, opts)
	if err != nil {
		return image{}, err
	}
	return image{data, fmt.Sprintf("ptx compute_%d", virt)}, nil
}

// ptx compiles src to PTX for the virtual architecture compute_<sm>, which the
// driver compiles itself; the fallback when a cubin does not load.
func (n *nvrtc) ptx(src string, sm int, opts ...string) (image, error) {
	data, err := n.build(src, fmt.Sprintf("--gpu-architecture=compute_%d", sm), false, opts)
	if err != nil {
		return image{}, err
	}
	return image{data, fmt.Sprintf("ptx compute_%d", sm)}, nil
}

func (n *nvrtc) build(src, arch string, cubin bool, extra []string) ([]byte, error) {
	var prog uintptr
	if err := n.check("nvrtcCreateProgram", n.nvrtcCreateProgram(&prog, src, "blake2b_mask.cu", 0, nil, nil)); err != nil {
		return nil, err
	}
	defer n.nvrtcDestroyProgram(&prog)

	// The source needs nothing but the architecture; fewer options, fewer
	// differences between NVRTC versions.
	opts := append([]string{arch}, extra...)
	cstrs := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	var pin runtime.Pinner
	defer pin.Unpin()
	for i, o := range opts {
		cstrs[i] = cString(o)
		ptrs[i] = &cstrs[i][0]
		pin.Pin(ptrs[i])
	}
	pin.Pin(&ptrs[0])
	r := n.nvrtcCompileProgram(prog, int32(len(ptrs)), unsafe.Pointer(&ptrs[0]))
	runtime.KeepAlive(cstrs)
	if r != 0 {
		return nil, fmt.Errorf("%w\n%s", n.check("nvrtcCompileProgram "+arch, r), n.log(prog))
	}

	var size uint64
	get, getSize, what := n.nvrtcGetPTX, n.nvrtcGetPTXSize, "PTX"
	if cubin {
		get, getSize, what = n.nvrtcGetCUBIN, n.nvrtcGetCUBINSize, "CUBIN"
	}
	if err := n.check("nvrtcGet"+what+"Size", getSize(prog, &size)); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, fmt.Errorf("nvrtc: empty %s for %s", what, arch)
	}
	out := make([]byte, size+1) // PTX size includes its NUL; the spare byte keeps cubins safe too
	if err := n.check("nvrtcGet"+what, get(prog, &out[0])); err != nil {
		return nil, err
	}
	return out, nil
}

func (n *nvrtc) log(prog uintptr) string {
	var size uint64
	if n.nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1 {
		return ""
	}
	b := make([]byte, size)
	if n.nvrtcGetProgramLog(prog, &b[0]) != 0 {
		return ""
	}
	return trimNUL(b)
}
