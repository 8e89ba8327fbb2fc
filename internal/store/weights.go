package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Weights record modes and statuses.
const (
	WeightsModeSet    = "set"    // plain set_weights
	WeightsModeCommit = "commit" // timelocked commit, revealed by the chain

	WeightsStatusSet      = "set"      // applied at Block
	WeightsStatusPending  = "pending"  // committed, not yet seen revealed
	WeightsStatusRevealed = "revealed" // the chain applied it at RevealedBlock
	WeightsStatusMissed   = "missed"   // the reveal block passed without the weights on chain
	// WeightsStatusSuperseded: a later commit revealed at the same block or
	// before this one was seen replaced it (the chain applies them in order).
	WeightsStatusSuperseded = "superseded"
)

// WeightsRecord is one weights submission of a validator hotkey: a plain
// set_weights or a timelocked commit and what became of it.
type WeightsRecord struct {
	ID            int64     `json:"id"`
	Netuid        uint16    `json:"netuid"`
	Hotkey        string    `json:"hotkey"`
	Mode          string    `json:"mode"`
	Block         uint64    `json:"block"` // inclusion block of the call
	RevealRound   uint64    `json:"reveal_round,omitempty"`
	RevealBlock   uint64    `json:"reveal_block,omitempty"` // expected
	UIDs          []uint16  `json:"uids"`
	Weights       []uint16  `json:"weights"`
	VersionKey    uint64    `json:"version_key"`
	Status        string    `json:"status"`
	RevealedBlock uint64    `json:"revealed_block,omitempty"` // block the chain was seen with the weights
	CreatedAt     time.Time `json:"created_at"`
}

// RecordWeights appends a submission to the weights log and returns its id.
func (v *Validator) RecordWeights(ctx context.Context, r WeightsRecord) (int64, error) {
	if len(r.UIDs) != len(r.Weights) {
		return 0, fmt.Errorf("record weights: %d uids but %d weights", len(r.UIDs), len(r.Weights))
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	uids, _ := json.Marshal(nonNil(r.UIDs))
	ws, _ := json.Marshal(nonNil(r.Weights))
	res, err := v.db.ExecContext(ctx, `INSERT INTO weights_log (netuid, hotkey, mode, block, reveal_round,
		reveal_block, uids, weights, version_key, status, revealed_block, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Netuid, r.Hotkey, r.Mode, int64(r.Block), int64(r.RevealRound), int64(r.RevealBlock), string(uids),
		string(ws), int64(r.VersionKey), r.Status, int64(r.RevealedBlock), r.CreatedAt.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("record weights of %s at block %d: %w", r.Hotkey, r.Block, err)
	}
	return res.LastInsertId()
}

// MarkWeights sets the status (and the block the weights were seen on
// chain) of a logged submission.
func (v *Validator) MarkWeights(ctx context.Context, id int64, status string, revealedBlock uint64) error {
	res, err := v.db.ExecContext(ctx, "UPDATE weights_log SET status = ?, revealed_block = ? WHERE id = ?",
		status, int64(revealedBlock), id)
	if err != nil {
		return fmt.Errorf("mark weights %d %s: %w", id, status, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark weights %d %s: no such record", id, status)
	}
	return nil
}

// WeightsLog returns the hotkey's latest submissions on netuid, newest
// first, at most limit of them.
func (v *Validator) WeightsLog(ctx context.Context, netuid uint16, hotkey string, limit int) ([]WeightsRecord, error) {
	return v.weightsQuery(ctx, `WHERE netuid = ? AND hotkey = ? ORDER BY id DESC LIMIT ?`, netuid, hotkey, limit)
}

// PendingWeights returns the hotkey's commits not yet seen revealed, oldest first.
func (v *Validator) PendingWeights(ctx context.Context, netuid uint16, hotkey string) ([]WeightsRecord, error) {
	return v.weightsQuery(ctx, `WHERE netuid = ? AND hotkey = ? AND status = 'pending' ORDER BY id`, netuid, hotkey)
}

// LastWeights returns the hotkey's latest submission on netuid, or nil.
func (v *Validator) LastWeights(ctx context.Context, netuid uint16, hotkey string) (*WeightsRecord, error) {
	recs, err := v.WeightsLog(ctx, netuid, hotkey, 1)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return &recs[0], nil
}

func (v *Validator) weightsQuery(ctx context.Context, where string, args ...any) ([]WeightsRecord, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT id, netuid, hotkey, mode, block, reveal_round, reveal_block,
		uids, weights, version_key, status, revealed_block, created_at FROM weights_log `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read weights log: %w", err)
	}
	defer rows.Close()
	var out []WeightsRecord
	for rows.Next() {
		r, err := scanWeights(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read weights log: %w", err)
	}
	return out, nil
}

func scanWeights(rows *sql.Rows) (WeightsRecord, error) {
	var r WeightsRecord
	var block, round, rblock, vkey, revealed, created int64
	var uids, ws string
	if err := rows.Scan(&r.ID, &r.Netuid, &r.Hotkey, &r.Mode, &block, &round, &rblock, &uids, &ws, &vkey,
		&r.Status, &revealed, &created); err != nil {
		return r, fmt.Errorf("read weights log: %w", err)
	}
	r.Block, r.RevealRound, r.RevealBlock = uint64(block), uint64(round), uint64(rblock)
	r.VersionKey, r.RevealedBlock = uint64(vkey), uint64(revealed)
	r.CreatedAt = time.UnixMilli(created)
	if err := errors.Join(json.Unmarshal([]byte(uids), &r.UIDs), json.Unmarshal([]byte(ws), &r.Weights)); err != nil {
		return r, fmt.Errorf("read weights log record %d: %w", r.ID, err)
	}
	return r, nil
}

func nonNil(s []uint16) []uint16 {
	if s == nil {
		return []uint16{}
	}
	return s
}
