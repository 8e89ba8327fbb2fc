package validator

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sn27/compute/internal/store"
)

const crashStoreEnv = "COMPUTE_VALIDATOR_CRASH_DB"

// Messages of the child's JSON log that the parent reads.
const (
	msgStarting  = "validator starting"
	msgRoundDone = "challenge round done"
)

// TestValidatorCrashChild is the child process of TestValidatorKilledAnyMoment:
// a validator loop on an in-process dev chain with fast blocks, two honest
// miners and a cheater, its store at $COMPUTE_VALIDATOR_CRASH_DB, logging
// JSON to stdout until it is killed.
func TestValidatorCrashChild(t *testing.T) {
	path := os.Getenv(crashStoreEnv)
	if path == "" {
		t.Skip("runs only as the child of TestValidatorKilledAnyMoment")
	}
	n := newTestNetAt(t, 100*time.Millisecond, 10, path)
	n.addMiner("Fast", startAxon(t, mustKey(t, "//Fast//hot"), cpuSolve(t, 0)))
	n.addMiner("Slow", startAxon(t, mustKey(t, "//Slow//hot"), cpuSolve(t, 150*time.Millisecond)))
	n.addMiner("Cheat", startAxon(t, mustKey(t, "//Cheat//hot"), wrongSolve))
	cfg := n.config()
	cfg.ChallengeMinBlocks, cfg.ChallengeMaxBlocks = 1, 2
	cfg.PruneEvery = 3 // retention runs often, so kills land in it too
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	v, err := New(cfg, Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Run(n.ctx); err != nil {
		t.Fatal(err)
	}
}

// TestValidatorKilledAnyMoment SIGKILLs a running validator process at
// random moments (in a round, while storing it, between rounds) and checks
// after each kill that the store is intact, that no round is partial, and
// that every round the process logged as done with a round id is stored
// with all its challenges.
func TestValidatorKilledAnyMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns validator processes")
	}
	path := filepath.Join(t.TempDir(), store.ValidatorFile)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	ctx := context.Background()
	type logged struct{ id, miners int64 }
	var all []logged
	const kills = 6
	for iter := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestValidatorCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashStoreEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		lines := make(chan logged, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			once := false
			for sc.Scan() {
				var rec struct {
					Msg     string `json:"msg"`
					RoundID int64  `json:"round_id"`
					Miners  int64  `json:"miners"`
				}
				if json.Unmarshal(sc.Bytes(), &rec) != nil {
					continue // the test framework's own lines
				}
				switch {
				case rec.Msg == msgStarting && !once:
					once = true
					close(started)
				case rec.Msg == msgRoundDone && rec.RoundID > 0:
					lines <- logged{rec.RoundID, rec.Miners}
				}
			}
		}()
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("iteration %d: the validator did not start", iter)
		}
		delay := time.Duration(200+rng.IntN(1800)) * time.Millisecond
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var committed []logged
		for l := range lines {
			committed = append(committed, l)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("iteration %d: child ended with %v, want killed", iter, err)
		}
		all = append(all, committed...)

		st, err := store.OpenValidator(ctx, path, store.DefaultValidatorConfig())
		if err != nil {
			t.Fatalf("iteration %d: reopen the store after the kill: %v", iter, err)
		}
		if err := st.CheckIntegrity(ctx); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		st.Close()
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var partial, rounds int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM rounds r
			WHERE r.challenges != (SELECT COUNT(*) FROM challenge_details c WHERE c.round_id = r.id)`).Scan(&partial); err != nil {
			t.Fatal(err)
		}
		if partial != 0 {
			t.Fatalf("iteration %d: %d partial rounds in the store", iter, partial)
		}
		for _, l := range all {
			var n int64
			err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM challenge_details WHERE round_id = ?", l.id).Scan(&n)
			if err != nil || n != l.miners {
				t.Fatalf("iteration %d: round %d was logged done with %d miners; the store holds %d challenges of it (%v)",
					iter, l.id, l.miners, n, err)
			}
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM rounds").Scan(&rounds); err != nil {
			t.Fatal(err)
		}
		db.Close()
		t.Logf("iteration %d: killed %v after start; %d rounds logged done, %d rounds stored", iter, delay, len(committed), rounds)
	}
	if len(all) == 0 {
		t.Fatal("no round was logged done in any run: the kills proved nothing")
	}
}
