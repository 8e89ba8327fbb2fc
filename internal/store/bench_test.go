package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// seedHistory fills v with rounds of the given number of miners, one round
// every interval up to now, in one transaction (fast set-up).
func seedHistory(b *testing.B, v *Validator, miners, rounds int, interval time.Duration, now time.Time) {
	b.Helper()
	ctx := context.Background()
	err := inTx(ctx, v.db, func(tx *sql.Tx) error {
		for uid := range miners {
			if _, err := tx.ExecContext(ctx, upsertMinerSQL, hk(uid), uid, "", now.UnixMilli()); err != nil {
				return err
			}
		}
		rst, err := tx.PrepareContext(ctx, "INSERT INTO rounds (block, created_at, challenges) VALUES (?, ?, ?)")
		if err != nil {
			return err
		}
		cst, err := tx.PrepareContext(ctx, `INSERT INTO challenge_details
			(round_id, uid, ss58_address, success, elapsed_time, difficulty, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		for r := range rounds {
			at := now.Add(-time.Duration(rounds-r) * interval).UnixMilli()
			res, err := rst.ExecContext(ctx, r, at, miners)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			for uid := range miners {
				if _, err := cst.ExecContext(ctx, id, uid, hk(uid), (r+uid)%7 != 0, float64(uid%30), 7+(r+uid)%6, at); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStats: the one-pass stats query over 256 miners.
func BenchmarkStats(b *testing.B) {
	for _, rounds := range []int{1000, 4000} {
		b.Run(fmt.Sprintf("256x%d", rounds), func(b *testing.B) {
			cfg := DefaultValidatorConfig()
			cfg.MaxPerMiner = rounds
			v, err := OpenValidator(context.Background(), filepath.Join(b.TempDir(), "b.db"), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			now := time.Now()
			seedHistory(b, v, 256, rounds, 10*time.Minute, now)
			b.ResetTimer()
			for b.Loop() {
				st, err := v.Stats(context.Background(), now)
				if err != nil || len(st) != 256 {
					b.Fatalf("%d miners, %v", len(st), err)
				}
			}
		})
	}
}

// BenchmarkRecordRound: one durable round of 256 results.
func BenchmarkRecordRound(b *testing.B) {
	v, err := OpenValidator(context.Background(), filepath.Join(b.TempDir(), "b.db"), DefaultValidatorConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	r := Round{At: time.Now()}
	for uid := range 256 {
		r.Results = append(r.Results, res(uid, uid%3 != 0, 4.5, 9))
	}
	for b.Loop() {
		if _, err := v.RecordRound(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrune: retention over 256 miners x 4000 rows, none expired and
// under the cap, as in steady state.
func BenchmarkPrune(b *testing.B) {
	cfg := DefaultValidatorConfig()
	v, err := OpenValidator(context.Background(), filepath.Join(b.TempDir(), "b.db"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	now := time.Now()
	seedHistory(b, v, 256, 4000, 2*time.Minute, now) // 5.6 days: nothing expires
	for b.Loop() {
		if _, err := v.Prune(context.Background(), now); err != nil {
			b.Fatal(err)
		}
	}
}
