package store

import (
	"context"
	"testing"
	"time"

	"github.com/sn27/compute/internal/score"
)

// TestStatsHistoryMatchesStats: each point of StatsHistory is what Stats
// gave right after that round, including rounds older than the window and
// more rounds than the recent count, whose recent figures reach back past
// the window.
func TestStatsHistoryMatchesStats(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultValidatorConfig()
	cfg.StatsWindow, cfg.RecentChallenges, cfg.MaxAge = 20*time.Minute, 4, 24*time.Hour
	v, _ := openTest(t, cfg)
	var want []score.Stats
	var times []time.Time
	for i := range 30 {
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		results := []ChallengeResult{res(1, i%3 != 0, 1+float64(i%5), 5+i%3), res(2, true, 2, 6)}
		if _, err := v.RecordRound(ctx, Round{Block: uint64(100 + i), At: at, Results: results}); err != nil {
			t.Fatal(err)
		}
		st, err := v.Stats(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, st[hk(1)])
		times = append(times, at)
	}
	since := times[10]
	got, err := v.StatsHistory(ctx, hk(1), since, times[29], 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 {
		t.Fatalf("%d points, want 20", len(got))
	}
	for k, p := range got {
		i := 10 + k
		if !p.At.Equal(times[i]) {
			t.Errorf("point %d at %v, want %v", k, p.At, times[i])
		}
		if !sameStats(p.Stats, want[i]) {
			t.Errorf("point %d (round %d): %+v, want %+v", k, i, p.Stats, want[i])
		}
	}

	// Capped: evenly spread, the newest kept.
	got, err = v.StatsHistory(ctx, hk(1), times[0], times[29], 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 || !got[0].At.Equal(times[0]) || !got[6].At.Equal(times[29]) {
		t.Fatalf("capped history: %d points from %v to %v", len(got), got[0].At, got[len(got)-1].At)
	}
	for k := 1; k < len(got); k++ {
		if !got[k].At.After(got[k-1].At) {
			t.Errorf("points not in order at %d", k)
		}
	}
	for _, tc := range []struct {
		name         string
		since, until time.Time
		max          int
	}{
		{"none asked", times[0], times[29], 0},
		{"until before since", times[5], times[4], 10},
		{"after the last round", times[29].Add(time.Minute), times[29].Add(time.Hour), 10},
	} {
		got, err := v.StatsHistory(ctx, hk(1), tc.since, tc.until, tc.max)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("%s: %v, %v; want an empty list", tc.name, got, err)
		}
	}
	if got, err := v.StatsHistory(ctx, "5Nobody", times[0], times[29], 10); err != nil || len(got) != 0 {
		t.Errorf("unknown miner: %v, %v", got, err)
	}
}

func sameStats(a, b score.Stats) bool {
	d := a.AvgElapsed - b.AvgElapsed
	e := a.RecentAvgDifficulty - b.RecentAvgDifficulty
	return a.Attempts == b.Attempts && a.Successes == b.Successes && a.RecentFailures == b.RecentFailures &&
		d < 1e-9 && d > -1e-9 && e < 1e-9 && e > -1e-9
}

func TestChallengesAndRounds(t *testing.T) {
	ctx := context.Background()
	v, _ := openTest(t, DefaultValidatorConfig())
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if _, err := v.RecordRound(ctx, Round{Block: uint64(10 + i), At: at, Results: []ChallengeResult{
			res(1, i != 2, 1.5, 6), res(2, true, 3, 7), res(3, false, 0, 7),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := v.Challenges(ctx, hk(1), t0.Add(time.Minute), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 || !ch[0].At.Equal(t0.Add(2*time.Minute)) || !ch[2].At.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("challenges %+v: want the newest 3, oldest first", ch)
	}
	if ch[0].Success || ch[0].Error == "" || ch[0].Difficulty != 6 || !ch[1].Success || ch[1].Elapsed != 1500*time.Millisecond {
		t.Errorf("challenge figures %+v", ch)
	}
	if ch, err := v.Challenges(ctx, hk(1), t0, 0); err != nil || ch == nil || len(ch) != 0 {
		t.Errorf("limit 0: %v, %v", ch, err)
	}

	rounds, err := v.Rounds(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != 2 || rounds[0].Block != 14 || rounds[1].Block != 13 {
		t.Fatalf("rounds %+v: want the newest two, newest first", rounds)
	}
	if r := rounds[0]; r.Challenges != 3 || r.Successes != 2 || !r.At.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("round %+v: want 3 challenges, 2 successes", r)
	}
	all, err := v.Rounds(ctx, 100)
	if err != nil || len(all) != 5 || all[2].Successes != 1 {
		t.Errorf("all rounds %+v, %v: the third has one success", all, err)
	}

	miners, err := v.KnownMiners(ctx)
	if err != nil || len(miners) != 3 || miners[0].Hotkey != hk(1) || miners[2].UID != 3 || miners[0].Coldkey != "5Cold" {
		t.Errorf("known miners %+v, %v", miners, err)
	}
}
