package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/compute/internal/score"
)

var t0 = time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)

func openTest(t *testing.T, cfg ValidatorConfig) (*Validator, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "validator.db")
	v, err := OpenValidator(context.Background(), path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, path
}

func hk(i int) string { return fmt.Sprintf("5Miner%03d", i) }

func res(uid int, ok bool, elapsed float64, diff int) ChallengeResult {
	r := ChallengeResult{
		Miner:      Miner{UID: uint16(uid), Hotkey: hk(uid), Coldkey: "5Cold"},
		Success:    ok,
		Elapsed:    time.Duration(elapsed * float64(time.Second)),
		Difficulty: diff,
	}
	if !ok {
		r.Error = "wrong password"
	}
	return r
}

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	v, path := openTest(t, DefaultValidatorConfig())
	if got, err := SchemaVersion(ctx, v.db); err != nil || got != len(validatorMigrations) {
		t.Fatalf("schema version %d, %v; want %d", got, err, len(validatorMigrations))
	}
	var mode string
	var fk int
	if err := v.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
	if err := v.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign keys %d, %v", fk, err)
	}
	if _, err := v.RecordRound(ctx, Round{Block: 10, At: t0, Results: []ChallengeResult{res(1, true, 2, 7)}}); err != nil {
		t.Fatal(err)
	}
	v.Close()

	// Re-open: no migration re-runs, data kept.
	v2, err := OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	var n int
	if err := v2.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&n); err != nil || n != len(validatorMigrations) {
		t.Fatalf("schema_version rows %d, %v", n, err)
	}
	stats, err := v2.Stats(ctx, t0)
	if err != nil || stats[hk(1)].Successes != 1 {
		t.Fatalf("stats after reopen: %+v, %v", stats, err)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	step1 := []Migration{{1, "one", "CREATE TABLE a (x INTEGER)"}}
	step2 := append(step1, Migration{2, "two", "ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b (z INTEGER);"})
	db, err := Open(ctx, path, step1)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path, step2)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := SchemaVersion(ctx, db); v != 2 {
		t.Fatalf("version %d, want 2", v)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO a (x, y) VALUES (1, 'q'); INSERT INTO b VALUES (2)"); err != nil {
		t.Fatalf("migrated schema unusable: %v", err)
	}
	db.Close()

	// Older program on a newer database.
	if _, err := Open(ctx, path, step1); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("open with fewer migrations: %v, want ErrNewerSchema", err)
	}
	// A failing migration leaves the previous version intact.
	bad := append(step2, Migration{3, "bad", "CREATE TABLE c (x INTEGER); INSERT INTO nope VALUES (1);"})
	if _, err := Open(ctx, path, bad); err == nil {
		t.Fatal("failing migration accepted")
	}
	db, err = Open(ctx, path, step2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := SchemaVersion(ctx, db); v != 2 {
		t.Fatalf("version %d after failed migration, want 2", v)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("half-applied migration left table c (%d, %v)", n, err)
	}
	// Versions must be contiguous.
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), []Migration{{2, "gap", "SELECT 1"}}); err == nil {
		t.Fatal("gap in versions accepted")
	}
	if _, err := Open(ctx, "bad?name", step1); err == nil {
		t.Fatal("path with '?' accepted")
	}
}

func TestRoundIsAtomic(t *testing.T) {
	ctx := context.Background()
	v, _ := openTest(t, DefaultValidatorConfig())
	round := Round{Block: 5, At: t0, Results: []ChallengeResult{res(1, true, 1, 7), res(2, false, 30, 7), res(3, true, 3, 8)}}
	if _, err := v.RecordRound(ctx, round); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	v.beforeResult = func(i int) error {
		if i == 2 {
			return boom
		}
		return nil
	}
	round2 := round
	round2.At = t0.Add(time.Minute)
	round2.Results = append([]ChallengeResult{res(9, true, 1, 7)}, round.Results...) // new miner 9 too
	if _, err := v.RecordRound(ctx, round2); !errors.Is(err, boom) {
		t.Fatalf("err %v, want the injected failure", err)
	}
	// A cancelled context aborts too.
	v.beforeResult = nil
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.RecordRound(cctx, round2); err == nil {
		t.Fatal("round recorded with a cancelled context")
	}
	var rounds, rows, miners int
	v.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM rounds").Scan(&rounds)
	v.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM challenge_details").Scan(&rows)
	v.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM miners").Scan(&miners)
	if rounds != 1 || rows != 3 || miners != 3 {
		t.Fatalf("after failed rounds: %d rounds, %d rows, %d miners; want 1, 3, 3", rounds, rows, miners)
	}
	if _, err := v.RecordRound(ctx, Round{At: t0, Results: []ChallengeResult{{}}}); err == nil {
		t.Fatal("result without hotkey accepted")
	}
	if _, err := v.RecordRound(ctx, Round{}); err == nil {
		t.Fatal("round without time accepted")
	}
	if err := v.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultValidatorConfig()
	cfg.RecentChallenges = 4 // small window so the hand computation stays short
	v, _ := openTest(t, cfg)
	now := t0.Add(24 * time.Hour)
	// Miner 1, oldest first:
	//   -20h ok 10s d9   (outside 12 h)
	//   -11h ok  2s d7
	//   -10h fail    d8
	//    -9h ok  4s d10
	//    -8h ok  6s d11
	//    -7h fail    d12
	// 12 h: attempts 5, successes 3, avg elapsed (2+4+6)/3 = 4.
	// last 4 (d8 fail, d10 ok, d11 ok, d12 fail): failures 2, avg difficulty 10.5.
	// Miner 2: one old success only (-13h): no attempts in 12 h; last 4 = that one.
	// Miner 3: only failures.
	plan := []struct {
		ago   time.Duration
		rs    []ChallengeResult
		block uint64
	}{
		{20 * time.Hour, []ChallengeResult{res(1, true, 10, 9)}, 1},
		{13 * time.Hour, []ChallengeResult{res(2, true, 5, 8)}, 2},
		{11 * time.Hour, []ChallengeResult{res(1, true, 2, 7), res(3, false, 30, 7)}, 3},
		{10 * time.Hour, []ChallengeResult{res(1, false, 30, 8), res(3, false, 30, 7)}, 4},
		{9 * time.Hour, []ChallengeResult{res(1, true, 4, 10)}, 5},
		{8 * time.Hour, []ChallengeResult{res(1, true, 6, 11)}, 6},
		{7 * time.Hour, []ChallengeResult{res(1, false, 12, 12)}, 7},
	}
	for _, p := range plan {
		if _, err := v.RecordRound(ctx, Round{Block: p.block, At: now.Add(-p.ago), Results: p.rs}); err != nil {
			t.Fatal(err)
		}
	}
	// A miner seen in the metagraph but never challenged.
	if err := v.UpsertMiners(ctx, now, []Miner{{UID: 4, Hotkey: hk(4)}}); err != nil {
		t.Fatal(err)
	}
	got, err := v.Stats(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]score.Stats{
		hk(1): {Attempts: 5, Successes: 3, AvgElapsed: 4, RecentFailures: 2, RecentAvgDifficulty: 10.5},
		hk(2): {RecentAvgDifficulty: 8},
		hk(3): {Attempts: 2, RecentFailures: 2},
		hk(4): {},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d miners, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		g := got[k]
		if g.Attempts != w.Attempts || g.Successes != w.Successes || g.RecentFailures != w.RecentFailures ||
			math.Abs(g.AvgElapsed-w.AvgElapsed) > 1e-9 || math.Abs(g.RecentAvgDifficulty-w.RecentAvgDifficulty) > 1e-9 {
			t.Errorf("%s: got %+v, want %+v", k, g, w)
		}
	}
}

func TestPurgeAndRetention(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultValidatorConfig()
	cfg.MaxPerMiner = 25
	v, _ := openTest(t, cfg)
	now := t0.Add(30 * 24 * time.Hour)
	// 40 rounds, one every 6 hours (10 days): miners 1 and 2 in every round,
	// miner 3 only in the last 10.
	for i := range 40 {
		at := now.Add(-time.Duration(39-i) * 6 * time.Hour)
		rs := []ChallengeResult{res(1, true, 1, 7), res(2, i%2 == 0, 2, 8)}
		if i >= 30 {
			rs = append(rs, res(3, true, 3, 9))
		}
		if _, err := v.RecordRound(ctx, Round{Block: uint64(i), At: at, Results: rs}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := v.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// 7 days = 28 rounds of 6 h kept by age (the one exactly 7 days old stays),
	// 29 rows; then the cap keeps 25 per miner.
	deleted, err := v.Prune(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	perMiner := func(i int) int {
		return count("SELECT COUNT(*) FROM challenge_details WHERE ss58_address = ?", hk(i))
	}
	if perMiner(1) != 25 || perMiner(2) != 25 || perMiner(3) != 10 {
		t.Fatalf("rows per miner %d %d %d, want 25 25 10", perMiner(1), perMiner(2), perMiner(3))
	}
	if deleted != 2*(40-25) {
		t.Fatalf("deleted %d, want %d", deleted, 2*(40-25))
	}
	if n := count("SELECT COUNT(*) FROM challenge_details WHERE created_at < ?", now.Add(-7*24*time.Hour).UnixMilli()); n != 0 {
		t.Fatalf("%d rows older than 7 days", n)
	}
	if n := count("SELECT COUNT(*) FROM rounds"); n != 29 {
		t.Fatalf("%d rounds left, want 29 (empty old rounds removed)", n)
	}
	// The newest rows are the ones kept.
	if n := count("SELECT COUNT(*) FROM challenge_details WHERE ss58_address = ? AND created_at >= ?", hk(1),
		now.Add(-24*6*time.Hour).UnixMilli()); n != 25 {
		t.Fatalf("kept %d of the newest 25 rows of miner 1", n)
	}
	// Prune is idempotent.
	if d, err := v.Prune(ctx, now); err != nil || d != 0 {
		t.Fatalf("second prune deleted %d, %v", d, err)
	}

	// uid 2 now belongs to a new hotkey; uid 3 is gone from the metagraph.
	if err := v.SaveSpecs(ctx, hk(2), json.RawMessage(`{"cpu":{"count":4}}`), now); err != nil {
		t.Fatal(err)
	}
	purged, err := v.PurgeReplaced(ctx, map[uint16]string{1: hk(1), 2: "5NewOwner"})
	if err != nil {
		t.Fatal(err)
	}
	if len(purged) != 2 {
		t.Fatalf("purged %v, want miners 2 and 3", purged)
	}
	if perMiner(2) != 0 || perMiner(3) != 0 || perMiner(1) != 25 {
		t.Fatalf("after purge rows %d %d %d", perMiner(1), perMiner(2), perMiner(3))
	}
	if n := count("SELECT COUNT(*) FROM miner_details"); n != 0 {
		t.Fatalf("specs of a purged miner kept")
	}
	stats, err := v.Stats(ctx, now)
	if err != nil || len(stats) != 1 {
		t.Fatalf("stats after purge: %v, %v", stats, err)
	}
	if err := v.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSpecsAndAllocations(t *testing.T) {
	ctx := context.Background()
	v, _ := openTest(t, DefaultValidatorConfig())
	if n, err := v.MissedSpecs(ctx, hk(1), t0); err != nil || n != 1 {
		t.Fatalf("missed %d, %v", n, err)
	}
	if n, _ := v.MissedSpecs(ctx, hk(1), t0); n != 2 {
		t.Fatalf("missed %d, want 2", n)
	}
	if err := v.SaveSpecs(ctx, hk(1), json.RawMessage(`{"gpu":{"count":1}}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := v.SaveSpecs(ctx, hk(1), json.RawMessage(`{not json`), t0); err == nil {
		t.Fatal("invalid JSON accepted")
	}
	specs, err := v.Specs(ctx)
	if err != nil || specs[hk(1)].NoSpecsCount != 0 || string(specs[hk(1)].Details) != `{"gpu":{"count":1}}` {
		t.Fatalf("specs %+v, %v", specs, err)
	}

	a := Allocation{Hotkey: hk(1), Details: json.RawMessage(`{"ip":"127.0.0.1","port":4444}`), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	b := Allocation{Hotkey: hk(2), Details: json.RawMessage(`{}`), CreatedAt: t0.Add(time.Minute)}
	for _, x := range []Allocation{a, b} {
		if err := v.SaveAllocation(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	all, err := v.Allocations(ctx)
	if err != nil || len(all) != 2 || all[0].Hotkey != hk(1) || !all[0].ExpiresAt.Equal(a.ExpiresAt) || !all[1].ExpiresAt.IsZero() {
		t.Fatalf("allocations %+v, %v", all, err)
	}
	alloc, err := v.Allocated(ctx, t0.Add(2*time.Hour))
	if err != nil || alloc[hk(1)] || !alloc[hk(2)] {
		t.Fatalf("allocated after expiry %v, %v", alloc, err)
	}
	if ok, err := v.DeleteAllocation(ctx, hk(2)); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, _ := v.DeleteAllocation(ctx, hk(2)); ok {
		t.Fatal("second delete reported a row")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []func(*ValidatorConfig){
		func(c *ValidatorConfig) { c.StatsWindow = 0 },
		func(c *ValidatorConfig) { c.RecentChallenges = 0 },
		func(c *ValidatorConfig) { c.MaxAge = time.Hour },
		func(c *ValidatorConfig) { c.MaxPerMiner = 3 },
	}
	for i, f := range bad {
		cfg := DefaultValidatorConfig()
		f(&cfg)
		if _, err := OpenValidator(context.Background(), filepath.Join(t.TempDir(), "v.db"), cfg); err == nil {
			t.Errorf("case %d: bad config accepted", i)
		}
	}
}
