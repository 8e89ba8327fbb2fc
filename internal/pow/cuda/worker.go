package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

const (
	blockSize = 256 // threads per block; matches __launch_bounds__ in kernel.cu
	// sliceTarget is the aimed-for duration of one kernel launch: short enough
	// that cancellation lands within milliseconds, long enough that launch and
	// synchronisation overheads stay near 1%.
	sliceTarget = 4 * time.Millisecond
	// maxSliceGrowth bounds how fast the slice grows from one launch to the next.
	maxSliceGrowth = 4
)

// launchArgs holds the kernel's arguments and the pointer array cuLaunchKernel
// reads them through. It is pinned for the worker's lifetime.
type launchArgs struct {
	base, count, res uint64
	ptrs             [3]unsafe.Pointer
	hits             [1 + maxHits]uint64 // result buffer copied back from the device
}

// kernel is one loaded build of the kernel on a worker's device.
type kernel struct {
	code    string // what was loaded: "cubin sm_90", "ptx compute_90"
	regs    int
	mod     uintptr
	fn      uintptr
	jobPtr  uint64 // the module's c_job
	grid    uint32
	threads uint64
	rate    float64 // last measured hashes per second; 0 before the first launch
}

// worker drives one GPU. Every field below info is owned by the worker's
// goroutine, which is locked to one OS thread with the device's primary context
// current on it.
type worker struct {
	info     deviceInfo
	drv      *driver
	load     func(k int) (image, error) // compiles kernel k for this device
	fallback func(k int) (image, error) // PTX, when the first image does not load

	tasks chan *search
	done  chan struct{}

	ctx    uintptr
	kern   [numKernels]kernel
	cur    *kernel // the kernel of the job last uploaded
	resPtr uint64
	args   *launchArgs
	pin    runtime.Pinner
}

// start runs the worker's goroutine and waits until its device is ready.
func (w *worker) start() error {
	w.tasks = make(chan *search)
	w.done = make(chan struct{})
	ready := make(chan error, 1)
	go w.run(ready)
	return <-ready
}

func (w *worker) run(ready chan<- error) {
	// The context stays current on this thread for the worker's life; the
	// thread is not handed back to the scheduler (it exits with the goroutine).
	runtime.LockOSThread()
	defer close(w.done)
	defer w.teardown()
	if err := w.setup(); err != nil {
		ready <- fmt.Errorf("GPU %d (%s): %w", w.info.ordinal, w.info.name, err)
		return
	}
	ready <- nil
	for s := range w.tasks {
		s.work(w)
	}
}

func (w *worker) setup() error {
	d := w.drv
	if err := d.check("cuDevicePrimaryCtxRetain", d.cuPrimaryCtxRetain(&w.ctx, w.info.dev)); err != nil {
		return err
	}
	if err := d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(w.ctx)); err != nil {
		return err
	}
	for k := range w.kern {
		if err := w.loadKernel(k); err != nil {
			return err
		}
	}
	w.cur = &w.kern[kernShort]
	if err := d.check("cuMemAlloc", d.cuMemAlloc(&w.resPtr, resultSize)); err != nil {
		return err
	}
	if err := w.resetHits(); err != nil {
		return err
	}
	w.args = &launchArgs{}
	w.args.res = w.resPtr
	w.args.ptrs = [3]unsafe.Pointer{unsafe.Pointer(&w.args.base), unsafe.Pointer(&w.args.count), unsafe.Pointer(&w.args.res)}
	w.pin.Pin(w.args)
	return nil
}

// loadKernel compiles and loads kernel k and sizes its launches.
func (w *worker) loadKernel(k int) error {
	d := w.drv
	kn := &w.kern[k]
	img, err := w.load(k)
	if err != nil {
		return fmt.Errorf("compile kernel: %w", err)
	}
	lerr := d.check("cuModuleLoadData", d.cuModuleLoadData(&kn.mod, unsafe.Pointer(&img.data[0])))
	if lerr != nil && w.fallback != nil {
		img2, err := w.fallback(k)
		if err != nil {
			return fmt.Errorf("load %s: %w; PTX fallback: %w", img.kind, lerr, err)
		}
		if err := d.check("cuModuleLoadData", d.cuModuleLoadData(&kn.mod, unsafe.Pointer(&img2.data[0]))); err != nil {
			return fmt.Errorf("load %s: %w; load %s: %w", img.kind, lerr, img2.kind, err)
		}
		img, lerr = img2, nil
	}
	if lerr != nil {
		return fmt.Errorf("load %s: %w", img.kind, lerr)
	}
	kn.code = img.kind
	if err := d.check("cuModuleGetFunction "+kernelName, d.cuModuleGetFunction(&kn.fn, kn.mod, kernelName)); err != nil {
		return err
	}
	var size uint64
	if err := d.check("cuModuleGetGlobal "+jobSymbol, d.cuModuleGetGlobal(&kn.jobPtr, &size, kn.mod, jobSymbol)); err != nil {
		return err
	}
	if size != jobSize {
		return fmt.Errorf("kernel job layout is %d bytes, host expects %d", size, jobSize)
	}
	var regs int32
	if d.cuFuncGetAttribute(&regs, funcAttrNumRegs, kn.fn) == 0 {
		kn.regs = int(regs)
	}
	perSM := int32(0)
	if d.cuOccupancy(&perSM, kn.fn, blockSize, 0) != 0 || perSM <= 0 {
		perSM = 4
	}
	kn.grid = uint32(max(w.info.sms, 1)) * uint32(perSM)
	kn.threads = uint64(kn.grid) * blockSize
	return nil
}

func (w *worker) teardown() {
	d := w.drv
	if w.resPtr != 0 {
		_ = d.cuMemFree(w.resPtr)
	}
	for _, kn := range w.kern {
		if kn.mod != 0 {
			_ = d.cuModuleUnload(kn.mod)
		}
	}
	if w.ctx != 0 {
		_ = d.cuCtxSetCurrent(0)
		_ = d.cuPrimaryCtxRelease(w.info.dev)
	}
	w.pin.Unpin()
}

// upload selects the plan's kernel and copies its constant job into that
// module's c_job.
func (w *worker) upload(p *plan) error {
	w.cur = &w.kern[p.kernel]
	return w.drv.check("cuMemcpyHtoD c_job", w.drv.cuMemcpyHtoD(w.cur.jobPtr, unsafe.Pointer(&p.image[0]), jobSize))
}

// launch searches outer indices base..base+count-1 and returns the candidate
// indices whose first digest word matched, and whether more matched than the
// kernel could record. The hit counter on the device is zero between launches
// (set at start and reset after a launch that hit), so a launch costs two
// driver calls: the launch and the copy of the counter, which waits for it.
func (w *worker) launch(base, count uint64) (hits []uint64, overflow bool, err error) {
	d := w.drv
	a := w.args
	a.base, a.count = base, count
	kn := w.cur
	grid := kn.grid
	if need := (count + blockSize - 1) / blockSize; need < uint64(grid) {
		grid = uint32(need)
	}
	if err := d.check("cuLaunchKernel", d.cuLaunchKernel(kn.fn, grid, 1, 1, blockSize, 1, 1, 0, 0, unsafe.Pointer(&a.ptrs[0]), nil)); err != nil {
		return nil, false, err
	}
	if err := d.check("cuMemcpyDtoH", d.cuMemcpyDtoH(unsafe.Pointer(&a.hits[0]), w.resPtr, 8)); err != nil {
		return nil, false, err
	}
	n := uint32(a.hits[0])
	if n == 0 {
		return nil, false, nil
	}
	k := min(n, maxHits)
	if err := d.check("cuMemcpyDtoH", d.cuMemcpyDtoH(unsafe.Pointer(&a.hits[1]), w.resPtr+8, uint64(8*k))); err != nil {
		return nil, false, err
	}
	if err := w.resetHits(); err != nil {
		return nil, false, err
	}
	return append([]uint64(nil), a.hits[1:1+k]...), n > maxHits, nil
}

// resetHits zeroes the device's hit counter.
func (w *worker) resetHits() error {
	return w.drv.check("cuMemsetD32", w.drv.cuMemsetD32(w.resPtr, 0, 2))
}

// sliceFor returns how many outer indices the next launch of the current
// kernel should take so it runs for about sliceTarget.
func (w *worker) sliceFor(inner uint64) uint64 {
	kn := w.cur
	if kn.rate <= 0 {
		return kn.threads // first launch of this kernel: one outer index per thread
	}
	n := uint64(kn.rate * sliceTarget.Seconds() / float64(inner))
	n = n / kn.threads * kn.threads
	return max(n, kn.threads)
}

// measured records a launch's speed and bounds the growth of the next slice.
func (w *worker) measured(hashes uint64, took time.Duration, prevSlice, inner uint64) uint64 {
	if took > 0 {
		w.cur.rate = float64(hashes) / took.Seconds()
	}
	n := w.sliceFor(inner)
	return min(n, max(prevSlice, w.cur.threads)*maxSliceGrowth)
}

// errClosed is returned by calls on a closed solver.
var errClosed = errors.New("cuda: solver is closed")
