package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "COMPUTE_STORE_CRASH_DB"

// TestCrashChild is the child process of TestKillAnyMoment: it writes rounds
// of 256 results in a loop and prints the id of each committed round.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as the child of TestKillAnyMoment")
	}
	ctx := context.Background()
	v, err := OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	fmt.Println("open")
	for i := 0; ; i++ {
		r := Round{Block: uint64(i), At: time.Now()}
		for uid := range 256 {
			r.Results = append(r.Results, res(uid, (i+uid)%5 != 0, float64(uid%30), 7+uid%6))
		}
		id, err := v.RecordRound(ctx, r)
		if err != nil {
			fmt.Fprintln(os.Stderr, "record:", err)
			os.Exit(3)
		}
		fmt.Printf("committed %d\n", id)
		if i%5 == 0 {
			if _, err := v.Stats(ctx, time.Now()); err != nil {
				fmt.Fprintln(os.Stderr, "stats:", err)
				os.Exit(3)
			}
			if _, err := v.Prune(ctx, time.Now()); err != nil {
				fmt.Fprintln(os.Stderr, "prune:", err)
				os.Exit(3)
			}
		}
	}
}

// TestKillAnyMoment SIGKILLs a writer at random moments, then checks that
// the database is intact, that every round the writer saw committed is
// there, and that no round is partial.
func TestKillAnyMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns writer processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	totalCommitted := 0
	for iter := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// The first kill may land while the schema is being created; the
		// others once the writer is running.
		delay := time.Duration(rng.IntN(30)) * time.Millisecond
		if iter > 0 {
			if l, ok := <-lines; !ok || l != "open" {
				t.Fatalf("child did not open the database (%q)", l)
			}
			delay = time.Duration(rng.IntN(400)) * time.Millisecond
		}
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var committed []int64
		for l := range lines {
			if s, ok := strings.CutPrefix(l, "committed "); ok {
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					t.Fatalf("child printed %q", l)
				}
				committed = append(committed, id)
			}
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("child ended with %v, want killed", err)
		}
		totalCommitted += len(committed)

		v, err := OpenValidator(ctx, path, DefaultValidatorConfig())
		if err != nil {
			t.Fatalf("iteration %d: reopen after kill: %v", iter, err)
		}
		if err := v.CheckIntegrity(ctx); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		var partial int
		if err := v.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM rounds r
			WHERE r.challenges != (SELECT COUNT(*) FROM challenge_details c WHERE c.round_id = r.id)`).Scan(&partial); err != nil {
			t.Fatal(err)
		}
		if partial != 0 {
			t.Fatalf("iteration %d: %d partial rounds", iter, partial)
		}
		for _, id := range committed {
			var n int
			if err := v.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM rounds WHERE id = ?", id).Scan(&n); err != nil || n != 1 {
				t.Fatalf("iteration %d: committed round %d lost (%d, %v)", iter, id, n, err)
			}
		}
		var rounds int
		v.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM rounds").Scan(&rounds)
		if rounds < totalCommitted {
			t.Fatalf("iteration %d: %d rounds stored, %d reported committed", iter, rounds, totalCommitted)
		}
		t.Logf("iteration %d: killed after %v, %d rounds committed, %d stored", iter, delay, len(committed), rounds)
		v.Close()
	}
}
