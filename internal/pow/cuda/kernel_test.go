package cuda

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/sn27/compute/internal/pow"
)

// harness is kernel.cu's device code compiled as plain C (testdata/harness.c),
// answering one request per line.
type harness struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Scanner
}

func requireReal() bool { return os.Getenv("COMPUTE_REQUIRE_REAL") == "1" }

func startHarness(t *testing.T, defines ...string) *harness {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		if requireReal() {
			t.Fatalf("gcc not found and COMPUTE_REQUIRE_REAL=1: %v", err)
		}
		t.Skip("gcc not found: cannot compile the kernel as C")
	}
	bin := filepath.Join(t.TempDir(), "harness")
	args := append([]string{"-O1", "-std=c99", "-Wall", "-Wextra", "-Werror"}, defines...)
	cmd := exec.Command(gcc, append(args, "-o", bin, filepath.Join("testdata", "harness.c"))...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compile harness: %v\n%s", err, out)
	}
	run := exec.Command(bin)
	in, err := run.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = run.Wait()
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &harness{t: t, in: in, out: sc}
}

func (h *harness) ask(format string, args ...any) string {
	h.t.Helper()
	if _, err := fmt.Fprintf(h.in, format+"\n", args...); err != nil {
		h.t.Fatalf("write to harness: %v", err)
	}
	if !h.out.Scan() {
		h.t.Fatalf("harness ended: %v", h.out.Err())
	}
	line := h.out.Text()
	if strings.HasPrefix(line, "error") {
		h.t.Fatalf("harness: %s", line)
	}
	return line
}

func TestKernelLayout(t *testing.T) {
	h := startHarness(t)
	want := fmt.Sprint(jobSize, offM, offTarget0, offT, offLen, offInnerLen, offRadix, offCS)
	if got := h.ask("L"); got != want {
		t.Fatalf("struct job layout (size, offsets) = %s, host encodes %s", got, want)
	}
}

func TestKernelCompression(t *testing.T) {
	h := startHarness(t)
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 23, 26, 28, 63, 64, 65, 100, 127, 128}
	for range 20 {
		lengths = append(lengths, rng.IntN(129))
	}
	for _, n := range lengths {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		var block [128]byte
		copy(block[:], msg)
		want := blake2b.Sum512(msg)
		got := h.ask("C %d %s", n, hex.EncodeToString(block[:]))
		if got != hex.EncodeToString(want[:]) {
			t.Errorf("len %d: kernel digest %s, want %x", n, got, want)
		}
	}
}

// words returns message words 0..3 holding the password bytes of the outer
// positions of index idx (inner positions zero), as the kernel builds them.
func words(p *plan, innerLen int, idx uint64) [4]uint64 {
	buf := make([]byte, len(p.job.Charsets))
	candidate(p.job, idx, buf)
	var b [32]byte
	copy(b[innerLen:], buf[innerLen:])
	var w [4]uint64
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return w
}

// TestKernelSearch runs search_outer as built for each kernel (MSG_WORDS 16
// and shortWords) on the jobs newPlan gives that kernel.
func TestKernelSearch(t *testing.T) {
	for k := range numKernels {
		defs := kernelDefines(k)
		t.Run(strings.Join(defs, " "), func(t *testing.T) { testKernelSearch(t, startHarness(t, defs...), k) })
	}
}

func testKernelSearch(t *testing.T, h *harness, kern int) {
	rng := rand.New(rand.NewPCG(3, 4))
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_+=[]{};:,.<>"
	randCharset := func(n int) []byte {
		perm := rng.Perm(len(chars))
		cs := make([]byte, n)
		for i := range cs {
			cs[i] = chars[perm[i]]
		}
		return cs
	}
	tests := []struct {
		name    string
		length  int
		csLen   func(pos int) int
		saltLen int
	}{
		{"difficulty 7", 7, func(int) int { return 10 }, 16},
		{"difficulty 10", 10, func(int) int { return 10 }, 16},
		{"difficulty 12", 12, func(int) int { return 10 }, 16},
		{"one position", 1, func(int) int { return 10 }, 16},
		{"two positions", 2, func(int) int { return 5 }, 16},
		{"wide charsets", 6, func(int) int { return 86 }, 16},
		{"wide first position", 5, func(p int) int { return []int{256, 3, 2, 7, 1}[p] }, 16},
		{"mixed radix", 9, func(p int) int { return 1 + p%4*3 }, 16},
		{"longest password", 32, func(int) int { return 2 }, 16},
		{"full block", 20, func(int) int { return 3 }, 108},
		{"no salt", 8, func(int) int { return 10 }, 0},
	}
	ran := 0
	for _, tc := range tests {
		if kern == kernShort && tc.length+tc.saltLen > 8*shortWords {
			continue
		}
		ran++
		t.Run(tc.name, func(t *testing.T) {
			job := &pow.Job{Salt: []byte(hex.EncodeToString(make([]byte, tc.saltLen)))[:tc.saltLen]}
			for i := range job.Salt {
				job.Salt[i] = "0123456789abcdef"[rng.IntN(16)]
			}
			for p := range tc.length {
				if n := tc.csLen(p); n <= len(chars) {
					job.Charsets = append(job.Charsets, randCharset(n))
				} else {
					cs := make([]byte, n)
					for i := range cs {
						cs[i] = byte(i)
					}
					job.Charsets = append(job.Charsets, cs)
				}
			}
			ks := job.Keyspace()
			idx := rng.Uint64N(ks)
			pw := make([]byte, tc.length)
			candidate(job, idx, pw)
			job.Target = blake2b.Sum512(append(append([]byte(nil), pw...), job.Salt...))

			p, err := newPlan(job)
			if err != nil {
				t.Fatal(err)
			}
			want := kernShort
			if tc.length+tc.saltLen > 8*shortWords {
				want = kernFull
			}
			if p.kernel != want {
				t.Fatalf("%d-byte message planned on kernel %d, want %d", tc.length+tc.saltLen, p.kernel, want)
			}
			innerLen := int(binary.LittleEndian.Uint32(p.image[offInnerLen:]))
			if p.inner*p.outer != ks {
				t.Fatalf("inner %d x outer %d != keyspace %d", p.inner, p.outer, ks)
			}
			if got := h.ask("J %s", hex.EncodeToString(p.image)); got != "ok" {
				t.Fatalf("load job: %s", got)
			}
			o := idx / p.inner
			for _, oo := range []uint64{o, (o + 1) % p.outer, rng.Uint64N(p.outer)} {
				w := words(p, innerLen, oo*p.inner)
				want := fmt.Sprintf("%016x %016x %016x %016x", w[0], w[1], w[2], w[3])
				if got := h.ask("W %d", oo); got != want {
					t.Errorf("outer %d: kernel words %s, want %s", oo, got, want)
				}
			}
			if got, want := h.ask("S %d", o), "1 "+strconv.FormatUint(idx, 10); got != want {
				t.Errorf("search outer %d (password %q, index %d) = %q, want %q", o, pw, idx, got, want)
			}
			if p.outer > 1 {
				if got := h.ask("S %d", (o+1)%p.outer); got != "0" {
					t.Errorf("search of a neighbouring outer index reports hits: %q", got)
				}
			}
			if got, ok := p.confirm(idx); !ok || got != string(pw) {
				t.Errorf("host confirm(%d) = %q, %v; want %q", idx, got, ok, pw)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no job for this kernel")
	}
}

func TestNewPlanRejects(t *testing.T) {
	ten := []byte("0123456789")
	tests := []struct {
		name string
		job  pow.Job
	}{
		{"empty mask", pow.Job{Salt: []byte("ab")}},
		{"too long", pow.Job{Charsets: repeat(ten, maxLen+1)}},
		{"over one block", pow.Job{Salt: make([]byte, 100), Charsets: repeat(ten, 29)}},
		{"empty charset", pow.Job{Charsets: [][]byte{ten, {}}}},
		{"charset over 256", pow.Job{Charsets: [][]byte{make([]byte, 257)}}},
		{"keyspace over 2^63", pow.Job{Charsets: repeat(make([]byte, 256), 8)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newPlan(&tc.job); err == nil {
				t.Fatal("newPlan accepted the job")
			}
		})
	}
}

func repeat(cs []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = cs
	}
	return out
}
