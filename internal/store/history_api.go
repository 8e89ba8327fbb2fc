package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sn27/compute/internal/score"
)

// ChallengeRecord is one challenge a miner was sent and its outcome.
type ChallengeRecord struct {
	ID         int64
	RoundID    int64
	At         time.Time
	Success    bool
	Elapsed    time.Duration
	Difficulty int
	Error      string // why it failed; empty on success
}

// Challenges returns a miner's challenges recorded at or after since,
// oldest first; when there are more than limit, the newest limit of them.
func (v *Validator) Challenges(ctx context.Context, hotkey string, since time.Time, limit int) ([]ChallengeRecord, error) {
	out := []ChallengeRecord{}
	if limit < 1 {
		return out, nil
	}
	rows, err := v.db.QueryContext(ctx, `SELECT id, round_id, created_at, success, elapsed_time, difficulty, error
		FROM challenge_details INDEXED BY challenge_miner_time
		WHERE ss58_address = ? AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		hotkey, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("read the challenges of %s: %w", hotkey, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c ChallengeRecord
		var at int64
		var elapsed float64
		if err := rows.Scan(&c.ID, &c.RoundID, &at, &c.Success, &elapsed, &c.Difficulty, &c.Error); err != nil {
			return nil, fmt.Errorf("read the challenges of %s: %w", hotkey, err)
		}
		c.At = time.UnixMilli(at)
		c.Elapsed = time.Duration(elapsed * float64(time.Second))
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the challenges of %s: %w", hotkey, err)
	}
	slices.Reverse(out)
	return out, nil
}

// RoundSummary is one challenge round: how many miners were challenged and
// how many solved theirs.
type RoundSummary struct {
	ID         int64
	Block      uint64
	At         time.Time
	Challenges int
	Successes  int
}

// Rounds returns the newest rounds first, at most limit of them.
func (v *Validator) Rounds(ctx context.Context, limit int) ([]RoundSummary, error) {
	out := []RoundSummary{}
	if limit < 1 {
		return out, nil
	}
	rows, err := v.db.QueryContext(ctx, `SELECT r.id, r.block, r.created_at, r.challenges,
		(SELECT COALESCE(SUM(c.success), 0) FROM challenge_details c INDEXED BY challenge_round WHERE c.round_id = r.id)
		FROM rounds r ORDER BY r.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read rounds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RoundSummary
		var block, at int64
		if err := rows.Scan(&r.ID, &block, &at, &r.Challenges, &r.Successes); err != nil {
			return nil, fmt.Errorf("read rounds: %w", err)
		}
		r.Block, r.At = uint64(block), time.UnixMilli(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rounds: %w", err)
	}
	return out, nil
}

// KnownMiners returns the miners the store knows (seen in the metagraph or
// challenged), by uid.
func (v *Validator) KnownMiners(ctx context.Context) ([]Miner, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT uid, hotkey, coldkey FROM miners ORDER BY uid, hotkey")
	if err != nil {
		return nil, fmt.Errorf("read miners: %w", err)
	}
	defer rows.Close()
	out := []Miner{}
	for rows.Next() {
		var m Miner
		var uid int
		if err := rows.Scan(&uid, &m.Hotkey, &m.Coldkey); err != nil {
			return nil, fmt.Errorf("read miners: %w", err)
		}
		m.UID = uint16(uid)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read miners: %w", err)
	}
	return out, nil
}

// StatsPoint is a miner's score figures as Stats computed them right after
// one of its challenges.
type StatsPoint struct {
	At    time.Time
	Stats score.Stats
}

// StatsHistory returns, for each challenge of a miner recorded between
// since and until (each challenge is one round), the miner's score figures
// as Stats would have given them right after that round, oldest first.
// When there are more than maxPoints such rounds, maxPoints of them evenly
// spread, the newest always among them. It reads the miner's rows once.
func (v *Validator) StatsHistory(ctx context.Context, hotkey string, since, until time.Time, maxPoints int) ([]StatsPoint, error) {
	out := []StatsPoint{}
	if maxPoints < 1 || until.Before(since) {
		return out, nil
	}
	lo := since.Add(-v.cfg.StatsWindow).UnixMilli()
	// The rows of the windows, and the RecentChallenges rows before them
	// (the recent figures look back by count, not by time).
	rows, err := v.db.QueryContext(ctx, `SELECT id, created_at, success, elapsed_time, difficulty FROM (
			SELECT id, created_at, success, elapsed_time, difficulty FROM challenge_details INDEXED BY challenge_miner_time
			WHERE ss58_address = ?1 AND created_at >= ?2 AND created_at <= ?3
			UNION ALL
			SELECT * FROM (SELECT id, created_at, success, elapsed_time, difficulty FROM challenge_details INDEXED BY challenge_miner_time
				WHERE ss58_address = ?1 AND created_at < ?2 ORDER BY created_at DESC, id DESC LIMIT ?4)
		) ORDER BY id`, hotkey, lo, until.UnixMilli(), v.cfg.RecentChallenges)
	if err != nil {
		return nil, fmt.Errorf("read the score history of %s: %w", hotkey, err)
	}
	defer rows.Close()
	type row struct {
		at         int64
		success    bool
		elapsed    float64
		difficulty int
	}
	var all []row
	for rows.Next() {
		var r row
		var id int64
		if err := rows.Scan(&id, &r.at, &r.success, &r.elapsed, &r.difficulty); err != nil {
			return nil, fmt.Errorf("read the score history of %s: %w", hotkey, err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the score history of %s: %w", hotkey, err)
	}
	var points []int // indexes of the rows in [since, until]
	for i, r := range all {
		if r.at >= since.UnixMilli() {
			points = append(points, i)
		}
	}
	if len(points) > maxPoints {
		picked := make([]int, 0, maxPoints)
		for k := range maxPoints {
			// Evenly spread, the last index being the last point.
			j := len(points) - 1 - (maxPoints-1-k)*(len(points)-1)/max(maxPoints-1, 1)
			picked = append(picked, points[j])
		}
		points = slices.Compact(picked)
	}
	window := v.cfg.StatsWindow.Milliseconds()
	for _, i := range points {
		t := all[i].at
		var s score.Stats
		var elapsed float64
		// The stats window: rows recorded by then and not older than the window.
		for j := i; j >= 0 && all[j].at >= t-window; j-- {
			if all[j].at > t {
				continue
			}
			s.Attempts++
			if all[j].success {
				s.Successes++
				elapsed += all[j].elapsed
			}
		}
		if s.Successes > 0 {
			s.AvgElapsed = elapsed / float64(s.Successes)
		}
		// The last RecentChallenges rows recorded by then.
		var diffs, n int
		for j := i; j >= 0 && j > i-v.cfg.RecentChallenges; j-- {
			if all[j].success {
				diffs += all[j].difficulty
				n++
			} else {
				s.RecentFailures++
			}
		}
		if n > 0 {
			s.RecentAvgDifficulty = float64(diffs) / float64(n)
		}
		out = append(out, StatsPoint{At: time.UnixMilli(t), Stats: s})
	}
	return out, nil
}
