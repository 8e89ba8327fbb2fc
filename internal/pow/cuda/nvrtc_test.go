package cuda

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/pow"
)

// kernelDumpEnv names a directory where TestNVRTCCompiles writes the cubin and
// the PTX it built, for inspection with cuobjdump -sass.
const kernelDumpEnv = "COMPUTE_KERNEL_DUMP"

// TestNVRTCCompiles builds kernel.cu with the NVRTC found here (no GPU is
// needed) for sm_90 and for the oldest and newest architectures NVRTC knows:
// a cubin (an ELF image) and PTX naming the kernel and the c_job symbol.
// Without NVRTC it skips.
func TestNVRTCCompiles(t *testing.T) {
	nv, err := loadNVRTC(0, 0)
	if err != nil {
		// NVRTC comes with a CUDA toolkit or driver bundle, not with the
		// components the suite provisions: only a GPU run requires it.
		if errors.Is(err, pow.ErrUnavailable) && os.Getenv(requireGPUEnv) != "1" {
			t.Skipf("no NVRTC: %v", err)
		}
		t.Fatal(err)
	}
	major, minor := nv.version()
	archs, err := nv.supportedArchs()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NVRTC %d.%d at %s, architectures %v", major, minor, nv.path, archs)
	if len(archs) == 0 {
		t.Fatal("NVRTC lists no architectures")
	}
	want := []int{archs[0], archs[len(archs)-1]}
	for _, a := range archs {
		if a == 90 {
			want = append(want, 90)
		}
	}
	dump := os.Getenv(kernelDumpEnv)
	for _, sm := range want {
		for k := range numKernels {
			defs := kernelDefines(k)
			img, err := nv.compile(kernelSource, sm, defs...)
			if err != nil {
				t.Fatalf("compile for sm_%d %v: %v", sm, defs, err)
			}
			if !strings.HasPrefix(img.kind, "cubin") || !bytes.HasPrefix(img.data, []byte("\x7fELF")) {
				t.Errorf("sm_%d %v: got %s, %d bytes, want an ELF cubin", sm, defs, img.kind, len(img.data))
			}
			ptx, err := nv.ptx(kernelSource, sm, defs...)
			if err != nil {
				t.Fatalf("PTX for compute_%d %v: %v", sm, defs, err)
			}
			text := string(bytes.TrimRight(ptx.data, "\x00"))
			for _, name := range []string{".entry " + kernelName, jobSymbol} {
				if !strings.Contains(text, name) {
					t.Errorf("compute_%d %v PTX lacks %q", sm, defs, name)
				}
			}
			if dump != "" {
				if err := os.MkdirAll(dump, 0o755); err != nil {
					t.Fatal(err)
				}
				base := filepath.Join(dump, fmt.Sprintf("kernel_sm%d_%d", sm, k))
				if err := os.WriteFile(base+".cubin", img.data, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(base+".ptx", []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestNotNewer(t *testing.T) {
	for _, tc := range []struct {
		major, minor, dmajor, dminor int
		want                         bool
	}{
		{13, 0, 13, 0, true},
		{12, 9, 13, 0, true},
		{13, 1, 13, 0, false},
		{14, 0, 13, 2, false},
		{13, 2, 0, 0, true},
	} {
		if got := notNewer(tc.major, tc.minor, tc.dmajor, tc.dminor); got != tc.want {
			t.Errorf("notNewer(%d.%d, driver %d.%d) = %v, want %v", tc.major, tc.minor, tc.dmajor, tc.dminor, got, tc.want)
		}
	}
}
