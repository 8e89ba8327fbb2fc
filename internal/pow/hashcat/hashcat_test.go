package hashcat_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/hashcat"
)

// requireHashcat skips unless the real hashcat is installed; with
// COMPUTE_REQUIRE_REAL=1 a missing hashcat fails the test instead.
func requireHashcat(t *testing.T) *hashcat.Solver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := hashcat.New(ctx, hashcat.Options{}, nil)
	if err != nil {
		if os.Getenv("COMPUTE_REQUIRE_REAL") == "1" {
			t.Fatalf("hashcat required (COMPUTE_REQUIRE_REAL=1): %v", err)
		}
		t.Skipf("hashcat not usable: %v", err)
	}
	return s
}

// TestRealHashcatCracksOurChallenges: challenges made by pow.New are cracked
// by hashcat (through PoCL on machines without a GPU).
func TestRealHashcatCracksOurChallenges(t *testing.T) {
	s := requireHashcat(t)
	t.Logf("hashcat %s, -D %s", s.Version(), s.DeviceTypes())
	for _, d := range []int{4, 5} {
		c, pw, err := pow.New(d)
		if err != nil {
			t.Fatal(err)
		}
		j, err := c.Job()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		got, err := s.Solve(ctx, j)
		cancel()
		if err != nil {
			t.Fatalf("difficulty %d: %v", d, err)
		}
		if got != pw || !pow.Verify(c, got) {
			t.Fatalf("difficulty %d: got %q, want %q", d, got, pw)
		}
	}
}

func TestRealHashcatCancel(t *testing.T) {
	s := requireHashcat(t)
	c := pow.Challenge{Hash: pow.HashOf("none", "00"), Salt: "0011223344556677", Mode: "610", Chars: "?a", Mask: strings.Repeat("?1", 8), Difficulty: 8}
	j, err := c.Job()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t0 := time.Now()
	_, err = s.Solve(ctx, j)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	if el := time.Since(t0); el > 3*time.Second {
		t.Fatalf("hashcat was stopped after %v", el)
	}
}

// fake writes a shell script standing in for hashcat.
func fake(t *testing.T, body string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	p := filepath.Join(t.TempDir(), "hashcat")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersionGate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		version string
		ok      bool
	}{{"v6.2.5", false}, {"v5.1.0", false}, {"v6.2.6", true}, {"v6.2.6-851-g6716447df", true}, {"v7.0.0", true}, {"garbage", false}} {
		p := fake(t, `if [ "$1" = "--version" ]; then echo `+tc.version+`; exit 0; fi
echo "Type...........: GPU"
`)
		s, err := hashcat.New(ctx, hashcat.Options{Path: p}, nil)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err %v", tc.version, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, pow.ErrUnavailable) {
				t.Errorf("%s: %v does not wrap ErrUnavailable", tc.version, err)
			}
			if tc.version == "v6.2.5" && !strings.Contains(err.Error(), "older than 6.2.6") {
				t.Errorf("unclear message: %v", err)
			}
			continue
		}
		if s.DeviceTypes() != "2" {
			t.Errorf("GPU machine: -D %s, want 2", s.DeviceTypes())
		}
	}
	if _, err := hashcat.New(ctx, hashcat.Options{Path: "/nonexistent/hashcat"}, nil); !errors.Is(err, pow.ErrUnavailable) {
		t.Errorf("missing binary: %v", err)
	}
}

func TestArgs(t *testing.T) {
	p := fake(t, `[ "$1" = "--version" ] && echo v6.2.6; exit 0`)
	s, err := hashcat.New(context.Background(), hashcat.Options{Path: p, WorkloadProfile: 4, ExtendedOptions: "-O --force"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.DeviceTypes() != "1,2" {
		t.Errorf("CPU-only machine: -D %s, want 1,2", s.DeviceTypes())
	}
	c := pow.Challenge{Hash: pow.HashOf("ab?", "0a0b"), Salt: "0a0b", Mode: "610", Chars: "ab", Mask: "?1?1??", Difficulty: 3}
	j, _ := c.Job()
	args, line, err := s.Args(j)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Hash + ":0a0b -a 3 -D 1,2 -m 610 --hex-charset -1 6162 ?1?1?? -w 4 -O --force"
	if got := strings.Join(args, " "); got != want || line != c.Hash+":0a0b" {
		t.Errorf("args\n got %s\nwant %s", got, want)
	}
	// More than 4 distinct charsets cannot be expressed.
	j.Charsets = [][]byte{[]byte("ab"), []byte("cd"), []byte("ef"), []byte("gh"), []byte("ij")}
	if _, _, err := s.Args(j); !errors.Is(err, pow.ErrInvalidChallenge) {
		t.Errorf("5 charsets: %v", err)
	}
}

func TestSplitOptions(t *testing.T) {
	for in, want := range map[string]string{"": "-O", "None": "", "none": "", "-O  --force": "-O --force"} {
		if got := strings.Join(hashcat.SplitOptions(in), " "); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestFakeSolveAndKill drives Solve through a fake hashcat: stdout parsing,
// outfile parsing and killing the whole process group on cancellation.
func TestFakeSolveAndKill(t *testing.T) {
	c, pw, _ := pow.New(3)
	j, _ := c.Job()
	stdout := fake(t, `[ "$1" = "--version" ] && { echo v6.2.6; exit 0; }
[ "$1" = "-I" ] && exit 0
echo "$1:`+pw+`"; exit 0`)
	s, err := hashcat.New(context.Background(), hashcat.Options{Path: stdout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Solve(context.Background(), j); err != nil || got != pw {
		t.Fatalf("stdout: %q, %v", got, err)
	}
	outfile := fake(t, `[ "$1" = "--version" ] && { echo v6.2.6; exit 0; }
[ "$1" = "-I" ] && exit 0
while [ $# -gt 0 ]; do [ "$1" = "--outfile" ] && echo '`+pw+`' > "$2"; shift; done; exit 0`)
	s, _ = hashcat.New(context.Background(), hashcat.Options{Path: outfile}, nil)
	if got, err := s.Solve(context.Background(), j); err != nil || got != pw {
		t.Fatalf("outfile: %q, %v", got, err)
	}
	exhausted := fake(t, `[ "$1" = "--version" ] && { echo v6.2.6; exit 0; }
[ "$1" = "-I" ] && exit 0
echo "$1:wrong"; exit 1`)
	s, _ = hashcat.New(context.Background(), hashcat.Options{Path: exhausted}, nil)
	if _, err := s.Solve(context.Background(), j); !errors.Is(err, pow.ErrNotFound) {
		t.Fatalf("exhausted: %v", err)
	}
	pidfile := filepath.Join(t.TempDir(), "child")
	hang := fake(t, `[ "$1" = "--version" ] && { echo v6.2.6; exit 0; }
[ "$1" = "-I" ] && exit 0
sleep 60 & echo $! > `+pidfile+`
wait`)
	s, _ = hashcat.New(context.Background(), hashcat.Options{Path: hang}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	t0 := time.Now()
	if _, err := s.Solve(ctx, j); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	if el := time.Since(t0); el > 200*time.Millisecond+100*time.Millisecond {
		t.Errorf("Solve returned %v after start, want prompt return after cancel at 200ms", el)
	}
	b, _ := os.ReadFile(pidfile)
	if pid := strings.TrimSpace(string(b)); pid != "" {
		time.Sleep(50 * time.Millisecond)
		if _, err := os.Stat("/proc/" + pid); err == nil {
			st, _ := os.ReadFile("/proc/" + pid + "/stat")
			if !strings.Contains(string(st), ") Z") {
				t.Errorf("child %s of the hashcat process group survived cancellation", pid)
			}
		}
	}
}

func TestParseOutput(t *testing.T) {
	line := "$BLAKE2$ABCDEF:00ff"
	out := []byte("noise\n$blake2$abcdef:00ff:pa:ss\r\nStatus...: Cracked\n$BLAKE2$abcdef:00ff:$HEX[00ff]\n")
	got := hashcat.ParseOutput(out, line)
	want := []string{"pa:ss", "ss", "\x00\xff", "\x00\xff"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := hashcat.ParseOutput(out, ""); got != nil {
		t.Errorf("empty hash line matched %q", got)
	}
}

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{
		"Speed.#1.........: 28735.2 kH/s (13.47ms) @ Accel:256 Loops:1024 Thr:1 Vec:8\n":         28735.2e3,
		"Speed.#1.........: 12576.1 MH/s (75.69ms)\nSpeed.#2.........: 12576.1 MH/s (75.69ms)\n": 25152.2e6,
		"Speed.#1...: 1 GH/s\nSpeed.#2...: 1 GH/s\nSpeed.#*...: 2.5 GH/s\n":                      2.5e9,
	} {
		got, err := hashcat.ParseSpeed([]byte(in))
		if err != nil || got < want*0.999 || got > want*1.001 {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := hashcat.ParseSpeed([]byte("nothing")); err == nil {
		t.Error("no speed: want error")
	}
}

func FuzzParseOutput(f *testing.F) {
	f.Add([]byte("$BLAKE2$ab:00:pw\n"), "$BLAKE2$ab:00")
	f.Add([]byte("$BLAKE2$ab:00:$HEX[zz]\n"), "$BLAKE2$ab:00")
	f.Add([]byte("Speed.#1...: 1.5 MH/s\n"), "")
	f.Fuzz(func(t *testing.T, out []byte, line string) {
		_ = hashcat.ParseOutput(out, line)
		_, _ = hashcat.ParseSpeed(out)
		_, _ = hashcat.ParsePlain(string(out))
	})
}
