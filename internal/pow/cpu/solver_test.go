package cpu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/cpu"
)

type vector struct {
	pow.Challenge
	Password string `json:"password"`
}

func solvers(t *testing.T) []*cpu.Solver {
	t.Helper()
	var ss []*cpu.Solver
	for _, k := range cpu.Kernels() {
		s, err := cpu.New(cpu.Options{Kernel: k})
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	return ss
}

func solve(t *testing.T, s *cpu.Solver, c pow.Challenge, want string) {
	t.Helper()
	j, err := c.Job()
	if err != nil {
		t.Fatal(err)
	}
	// A bound against a hang, not a speed target: the portable kernel under
	// -race on a loaded machine can take tens of seconds for difficulty 6.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	got, err := s.Solve(ctx, j)
	if err != nil {
		t.Fatalf("%s: solve %+v: %v", s.Kernel(), c, err)
	}
	if !pow.Verify(c, got) {
		t.Fatalf("%s: answer %q does not verify", s.Kernel(), got)
	}
	if want != "" && got != want {
		t.Fatalf("%s: got %q, want %q", s.Kernel(), got, want)
	}
}

func TestSolveVectors(t *testing.T) {
	for _, f := range []string{"python_hashlib.json", "hashcat_example.json"} {
		b, err := os.ReadFile("../testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		var vs []vector
		if err := json.Unmarshal(b, &vs); err != nil {
			t.Fatal(err)
		}
		for _, s := range solvers(t) {
			for _, v := range vs {
				solve(t, s, v.Challenge, v.Password)
			}
		}
	}
}

// TestSolveFreshPython cracks hashes made right now by Python's hashlib.
func TestSolveFreshPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script := `
import hashlib, secrets, json
chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_+=[]{};:,.<>"
out = []
for d in (3, 4, 5):
    cs = "".join(secrets.SystemRandom().sample(chars, 10))
    pw = "".join(secrets.choice(cs) for _ in range(d))
    salt = secrets.token_hex(8)
    out.append({"challenge_hash": "$BLAKE2$" + hashlib.blake2b((pw + salt).encode()).hexdigest(),
                "challenge_salt": salt, "challenge_mode": "610", "challenge_chars": cs,
                "challenge_mask": "?1" * d, "challenge_difficulty": d, "password": pw})
print(json.dumps(out))
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Skipf("python3 cannot run the generator: %v", err)
	}
	var vs []vector
	if err := json.Unmarshal(out, &vs); err != nil {
		t.Fatal(err)
	}
	s, _ := cpu.New(cpu.Options{})
	for _, v := range vs {
		solve(t, s, v.Challenge, v.Password)
	}
}

func TestSolveGenerated(t *testing.T) {
	s, _ := cpu.New(cpu.Options{})
	for d := 1; d <= 5; d++ {
		c, pw, err := pow.New(d)
		if err != nil {
			t.Fatal(err)
		}
		solve(t, s, c, pw)
	}
}

// TestEveryDifficulty exercises the position split (table, word 0, word 1,
// later words) at every password length with small charsets.
func TestEveryDifficulty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 27))
	for _, s := range solvers(t) {
		for d := 1; d <= pow.MaxPasswordLength; d++ {
			var mask strings.Builder
			var pw []byte
			varying := 0
			for i := range d {
				switch {
				case varying < 13 && (d <= 13 || rng.IntN(d) < 13):
					varying++
					if i%4 == 3 {
						mask.WriteString("?2")
						pw = append(pw, "012"[rng.IntN(3)])
					} else {
						mask.WriteString("?1")
						pw = append(pw, "xy"[rng.IntN(2)])
					}
				default:
					c := byte('A' + rng.IntN(26))
					mask.WriteByte(c)
					pw = append(pw, c)
				}
			}
			salt := fmt.Sprintf("%016x", rng.Uint64())
			c := pow.Challenge{Hash: pow.HashOf(string(pw), salt), Salt: salt, Mode: "610",
				Chars: "xy", Mask: mask.String(), Difficulty: d}
			sets, err := pow.ParseMask(c.Mask, "xy", "012")
			if err != nil {
				t.Fatal(err)
			}
			// The synapse carries only ?1; build the job with both charsets.
			one, err := (pow.Challenge{Hash: c.Hash, Salt: salt, Mode: "610", Chars: "x", Mask: "?1", Difficulty: 1}).Job()
			if err != nil {
				t.Fatal(err)
			}
			j := &pow.Job{Target: one.Target, Charsets: sets, Salt: []byte(salt)}
			got, err := s.Solve(context.Background(), j)
			if err != nil || got != string(pw) {
				t.Fatalf("%s difficulty %d mask %s: got %q, %v; want %q", s.Kernel(), d, c.Mask, got, err, pw)
			}
		}
	}
}

func TestLongSaltFallback(t *testing.T) {
	salt := strings.Repeat("ab", 60)
	c := pow.Challenge{Hash: pow.HashOf("zq9", salt), Salt: salt, Mode: "610", Chars: "?d", Mask: "zq?1", Difficulty: 3}
	s, _ := cpu.New(cpu.Options{})
	solve(t, s, c, "zq9")
	// Exactly one block (128 bytes) stays on the fast path.
	salt = strings.Repeat("cd", 62)
	c = pow.Challenge{Hash: pow.HashOf("x7b4", salt), Salt: salt, Mode: "610", Chars: "abcdx0123456789", Mask: "?1?1?1?1", Difficulty: 4}
	for _, s := range solvers(t) {
		solve(t, s, c, "x7b4")
	}
}

func TestNotFound(t *testing.T) {
	c := pow.Challenge{Hash: pow.HashOf("zzzz", "00"), Salt: "00", Mode: "610", Chars: "abc", Mask: "?1?1?1?1", Difficulty: 4}
	j, _ := c.Job()
	for _, s := range solvers(t) {
		if _, err := s.Solve(context.Background(), j); !errors.Is(err, pow.ErrNotFound) {
			t.Fatalf("%s: error %v, want ErrNotFound", s.Kernel(), err)
		}
	}
}

func TestCancellation(t *testing.T) {
	c := pow.Challenge{Hash: pow.HashOf("nope", "00"), Salt: "0011223344556677", Mode: "610", Chars: "?a", Mask: strings.Repeat("?1", 9), Difficulty: 9}
	j, err := c.Job()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range solvers(t) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.Solve(ctx, j)
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		t0 := time.Now()
		cancel()
		err := <-done
		if lat := time.Since(t0); lat > 100*time.Millisecond {
			t.Errorf("%s: Solve returned %v after cancellation", s.Kernel(), lat)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %v, want context.Canceled", s.Kernel(), err)
		}
		// Deadlines stop it too.
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
		_, err = s.Solve(ctx, j)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: error %v, want DeadlineExceeded", s.Kernel(), err)
		}
	}
}

func TestBadJobs(t *testing.T) {
	s, _ := cpu.New(cpu.Options{})
	for _, j := range []*pow.Job{nil, {}, {Charsets: [][]byte{{'a'}, {}}}} {
		if _, err := s.Solve(context.Background(), j); !errors.Is(err, pow.ErrInvalidChallenge) {
			t.Errorf("job %+v: error %v", j, err)
		}
	}
	if _, err := cpu.New(cpu.Options{Kernel: "sse9"}); !errors.Is(err, pow.ErrUnavailable) {
		t.Errorf("unknown kernel: %v", err)
	}
}

func BenchmarkSolveDifficulty7(b *testing.B) {
	s, _ := cpu.New(cpu.Options{})
	for b.Loop() {
		c, _, _ := pow.New(7)
		j, _ := c.Job()
		if _, err := s.Solve(context.Background(), j); err != nil {
			b.Fatal(err)
		}
	}
}
