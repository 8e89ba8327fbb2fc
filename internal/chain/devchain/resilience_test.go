package devchain

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFailingEpochSkipped injects a failing epoch: the block is produced,
// the epoch's writes are undone, the failure is logged and recorded, the
// schedule steps on, the next epoch runs, and the chain restarts on its
// state.
func TestFailingEpochSkipped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chain.db")
	var logs bytes.Buffer
	c, err := Open(ctx, Config{Path: path, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	step := func(n int) {
		t.Helper()
		if _, err := c.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	f := setup(t, c, step)
	first := f.toEpoch() // grants the validator its permit
	before, _ := c.Metagraph(ctx, 1)
	isBefore, _ := c.Issuance(ctx)

	fails := 0
	c.epochFault = func(netuid uint16, block uint64) error {
		fails++
		return errors.New("injected fault")
	}
	failed := f.toEpoch()
	if fails != 1 {
		t.Fatalf("fault ran %d times", fails)
	}
	if b, _ := c.Block(ctx); b != failed {
		t.Fatalf("block %d, want %d", b, failed)
	}
	evs := eventsOf(t, c, EventEpochFailed)
	if len(evs) != 1 || evs[0].Block != failed || !strings.Contains(evs[0].Detail, "injected fault") {
		t.Fatalf("events %+v", evs)
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=epoch_failed") {
		t.Fatalf("failure not logged: %s", logs.String())
	}
	after, _ := c.Metagraph(ctx, 1)
	if after.Neurons[0].StakeRao != before.Neurons[0].StakeRao {
		t.Fatalf("a skipped epoch changed stake: %d -> %d", before.Neurons[0].StakeRao, after.Neurons[0].StakeRao)
	}
	if is, _ := c.Issuance(ctx); is != isBefore {
		t.Fatalf("a skipped epoch emitted: %+v -> %+v", isBefore, is)
	}
	info, err := c.WeightsInfo(ctx, 1, "")
	if err != nil || info.Schedule.LastEpochBlock != failed {
		t.Fatalf("schedule did not step past the failed epoch: %+v, %v", info.Schedule, err)
	}
	checkInvariants(t, c)

	// The next epoch, with the fault gone, runs and emits.
	c.epochFault = nil
	next := f.toEpoch()
	if next-failed != failed-first {
		t.Fatalf("epochs at %d, %d (failed) and %d: the failure moved the schedule", first, failed, next)
	}
	if is, _ := c.Issuance(ctx); is.EmittedRao <= isBefore.EmittedRao {
		t.Fatalf("no emission after recovery: %+v", is)
	}
	checkInvariants(t, c)

	// Restart with a fault pending; the restarted chain keeps going.
	c.Close()
	c2, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.epochFault = func(uint16, uint64) error { return errors.New("injected again") }
	if _, err := c2.Step(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if evs := eventsOf(t, c2, EventEpochFailed); len(evs) < 3 {
		t.Fatalf("events after restart: %+v", evs)
	}
	checkInvariants(t, c2)
}

// TestRunSurvivesFailures: Run keeps producing blocks while every epoch
// fails, and while the block's work as a whole fails.
func TestRunSurvivesFailures(t *testing.T) {
	c, err := Open(context.Background(), Config{BlockTime: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := testParams()
	p.Tempo = 2
	must(t, c.CreateSubnet(context.Background(), key(t, SudoURI), 1, p))
	c.epochFault = func(uint16, uint64) error { return errors.New("always") }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if _, err := c.WaitBlock(wctx, 12); err != nil {
		t.Fatal(err)
	}
	// Break the block's work as a whole (its event log is gone): blocks go on.
	if _, err := c.db.Exec(`DROP TABLE events`); err != nil {
		t.Fatal(err)
	}
	b, _ := c.Block(ctx)
	if _, err := c.WaitBlock(wctx, b+6); err != nil {
		t.Fatalf("blocks stopped after the block's work broke: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPoisonedOlderStateOpens opens a state as the attacks left it under an
// older version (a REAL balance past 2^63-1, two stakes on one hotkey whose
// sum overflows): the migration brings the amounts back into range, the
// chain opens, every account reads, and epochs run.
func TestPoisonedOlderStateOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	eve, a, b, hk := key(t, "//Eve").SS58Address(), key(t, "//A").SS58Address(), key(t, "//B").SS58Address(), key(t, "//A//hot").SS58Address()
	params := `{"tempo":9,"max_allowed_uids":8,"immunity_period":3,"burn":100000000,"kappa":32767,"bonds_moving_avg":900000,
		"registration_allowed":true,"activity_cutoff":5000,"max_allowed_validators":64,"min_validator_stake":1000000000000,"emission_per_block":1000000000}`
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)`,
		migrations[0], migrations[1],
		`INSERT INTO schema_migrations (version) VALUES (1), (2)`,
		`INSERT INTO subnets (netuid, owner, params, created_block) VALUES (1, 'x', '` + params + `', 0)`,
		`INSERT INTO accounts (address, balance) VALUES ('` + eve + `', 9300000000000000000.0), ('` + a + `', 5), ('` + b + `', 7), ('` + hk + `', 0)`,
		`INSERT INTO hotkey_owner (hotkey, coldkey) VALUES ('` + hk + `', '` + a + `')`,
		`INSERT INTO stakes (hotkey, coldkey, amount) VALUES ('` + hk + `', '` + a + `', 4690000000000000000), ('` + hk + `', '` + b + `', 4690000000000000000)`,
		`INSERT INTO neurons (netuid, uid, hotkey, coldkey, registered_block) VALUES (1, 0, '` + hk + `', '` + a + `', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	var logs bytes.Buffer
	c, err := Open(ctx, Config{Path: path, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := strings.Count(logs.String(), "brought back into range"); n != 2 {
		t.Fatalf("%d repairs logged: %s", n, logs.String())
	}
	checkInvariants(t, c)
	if acct, err := c.Account(ctx, eve); err != nil || acct.BalanceRao != MaxIssuanceRao-4690000000000000000-12 {
		t.Fatalf("repaired account %+v, %v", acct, err)
	}
	if s, err := c.Stake(ctx, hk); err != nil || s != 4690000000000000000 {
		t.Fatalf("repaired stake %d, %v", s, err)
	}
	if _, err := c.Step(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if evs := eventsOf(t, c, EventEpochFailed); len(evs) != 0 {
		t.Fatalf("epochs failed on the repaired state: %+v", evs)
	}
	if _, err := c.Metagraph(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Fund(ctx, a, 1); !errors.Is(err, ErrFaucetCap) && !errors.Is(err, ErrOverflow) {
		t.Fatalf("faucet on a full chain: %v", err)
	}
	checkInvariants(t, c)
}

// TestStatePathWithURICharacters: a --state path holding '#', '?' or '%'
// opens that very file, not a truncated name.
func TestStatePathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"a#1.db", "b?x=1.db", "c%41.db"} {
		path := filepath.Join(dir, name)
		c, err := Open(ctx, Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		must(t, c.CreateSubnet(ctx, key(t, SudoURI), 1, nil))
		c.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, "a#1.db") && !strings.HasPrefix(n, "b?x=1.db") && !strings.HasPrefix(n, "c%41.db") {
			t.Errorf("stray file %q", n)
		}
	}
}
