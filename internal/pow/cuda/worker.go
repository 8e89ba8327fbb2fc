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

// worker drives one GPU. Every field below info is owned by the worker's
// goroutine, which is locked to one OS thread with the device's primary context
// current on it.
type worker struct {
	info     deviceInfo
	drv      *driver
	load     func() (image, error) // compiles the kernel for this device
	fallback func() (image, error) // PTX, when the first image does not load

	tasks chan *search
	done  chan struct{}

	code    string // what was loaded: "cubin sm_90", "ptx compute_90"
	regs    int
	ctx     uintptr
	mod     uintptr
	fn      uintptr
	jobPtr  uint64
	resPtr  uint64
	grid    uint32
	threads uint64
	rate    float64 // last measured hashes per second; 0 before the first launch
	args    *launchArgs
	pin     runtime.Pinner
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
	img, err := w.load()
	if err != nil {
		return fmt.Errorf("compile kernel: %w", err)
	}
	lerr := d.check("cuModuleLoadData", d.cuModuleLoadData(&w.mod, unsafe.Pointer(&img.data[0])))
	if lerr != nil && w.fallback != nil {
		img2, err := w.fallback()
		if err != nil {
			return fmt.Errorf("load %s: %w; PTX fallback: %w", img.kind, lerr, err)
		}
		if err := d.check("cuModuleLoadData", d.cuModuleLoadData(&w.mod, unsafe.Pointer(&img2.data[0]))); err != nil {
			return fmt.Errorf("load %s: %w; load %s: %w", img.kind, lerr, img2.kind, err)
		}
		img, lerr = img2, nil
	}
	if lerr != nil {
		return fmt.Errorf("load %s: %w", img.kind, lerr)
	}
	w.code = img.kind
	if err := d.check("cuModuleGetFunction "+kernelName, d.cuModuleGetFunction(&w.fn, w.mod, kernelName)); err != nil {
		return err
	}
	var size uint64
	if err := d.check("cuModuleGetGlobal "+jobSymbol, d.cuModuleGetGlobal(&w.jobPtr, &size, w.mod, jobSymbol)); err != nil {
		return err
	}
	if size != jobSize {
		return fmt.Errorf("kernel job layout is %d bytes, host expects %d", size, jobSize)
	}
	if err := d.check("cuMemAlloc", d.cuMemAlloc(&w.resPtr, resultSize)); err != nil {
		return err
	}
	var regs int32
	if d.cuFuncGetAttribute(&regs, funcAttrNumRegs, w.fn) == 0 {
		w.regs = int(regs)
	}
	perSM := int32(0)
	if d.cuOccupancy(&perSM, w.fn, blockSize, 0) != 0 || perSM <= 0 {
		perSM = 4
	}
	sms := max(w.info.sms, 1)
	w.grid = uint32(sms) * uint32(perSM)
	w.threads = uint64(w.grid) * blockSize

	w.args = &launchArgs{}
	w.args.res = w.resPtr
	w.args.ptrs = [3]unsafe.Pointer{unsafe.Pointer(&w.args.base), unsafe.Pointer(&w.args.count), unsafe.Pointer(&w.args.res)}
	w.pin.Pin(w.args)
	return nil
}

func (w *worker) teardown() {
	d := w.drv
	if w.resPtr != 0 {
		_ = d.cuMemFree(w.resPtr)
	}
	if w.mod != 0 {
		_ = d.cuModuleUnload(w.mod)
	}
	if w.ctx != 0 {
		_ = d.cuCtxSetCurrent(0)
		_ = d.cuPrimaryCtxRelease(w.info.dev)
	}
	w.pin.Unpin()
}

// upload copies a plan's constant job into the module's c_job.
func (w *worker) upload(p *plan) error {
	return w.drv.check("cuMemcpyHtoD c_job", w.drv.cuMemcpyHtoD(w.jobPtr, unsafe.Pointer(&p.image[0]), jobSize))
}

// launch searches outer indices base..base+count-1 and returns the candidate
// indices whose first digest word matched, and whether more matched than the
// kernel could record.
func (w *worker) launch(base, count uint64) (hits []uint64, overflow bool, err error) {
	d := w.drv
	if err := d.check("cuMemsetD32", d.cuMemsetD32(w.resPtr, 0, 2)); err != nil {
		return nil, false, err
	}
	a := w.args
	a.base, a.count = base, count
	grid := w.grid
	if need := (count + blockSize - 1) / blockSize; need < uint64(grid) {
		grid = uint32(need)
	}
	if err := d.check("cuLaunchKernel", d.cuLaunchKernel(w.fn, grid, 1, 1, blockSize, 1, 1, 0, 0, unsafe.Pointer(&a.ptrs[0]), nil)); err != nil {
		return nil, false, err
	}
	if err := d.check("cuCtxSynchronize", d.cuCtxSynchronize()); err != nil {
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
	return append([]uint64(nil), a.hits[1:1+k]...), n > maxHits, nil
}

// sliceFor returns how many outer indices the next launch should take so it
// runs for about sliceTarget.
func (w *worker) sliceFor(inner uint64) uint64 {
	if w.rate <= 0 {
		return w.threads // first launch on this device: one outer index per thread
	}
	n := uint64(w.rate * sliceTarget.Seconds() / float64(inner))
	n = n / w.threads * w.threads
	return max(n, w.threads)
}

// measured records a launch's speed and bounds the growth of the next slice.
func (w *worker) measured(hashes uint64, took time.Duration, prevSlice, inner uint64) uint64 {
	if took > 0 {
		w.rate = float64(hashes) / took.Seconds()
	}
	n := w.sliceFor(inner)
	return min(n, max(prevSlice, w.threads)*maxSliceGrowth)
}

// errClosed is returned by calls on a closed solver.
var errClosed = errors.New("cuda: solver is closed")
