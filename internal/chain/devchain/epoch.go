package devchain

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/sn27/compute/internal/chain"
)

// epochDue reports whether netuid runs its epoch at block: once every tempo+1
// blocks, staggered by netuid ((block + netuid + 1) mod (tempo + 1) == 0);
// a tempo of 0 never runs, as on subtensor.
func epochDue(block uint64, netuid, tempo uint16) bool {
	return tempo > 0 && (block+uint64(netuid)+1)%(uint64(tempo)+1) == 0
}

// colMaxUpscale returns a copy of m with every column scaled so that its
// largest entry is 1 (all-zero columns stay zero).
func colMaxUpscale(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	if len(m) == 0 {
		return out
	}
	for j := range m[0] {
		top := 0.0
		for i := range m {
			top = math.Max(top, m[i][j])
		}
		if top == 0 {
			continue
		}
		for i := range out {
			out[i][j] /= top
		}
	}
	return out
}

// runEpochs runs the epoch of every subnet due at block, inside tx.
func (c *Chain) runEpochs(ctx context.Context, tx *sql.Tx, block uint64) error {
	rows, err := tx.QueryContext(ctx, `SELECT netuid FROM subnets ORDER BY netuid`)
	if err != nil {
		return fmt.Errorf("list subnets: %w", err)
	}
	var netuids []uint16
	for rows.Next() {
		var n uint16
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("list subnets: %w", err)
		}
		netuids = append(netuids, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list subnets: %w", err)
	}
	for _, netuid := range netuids {
		p, err := loadParams(ctx, tx, netuid)
		if err != nil {
			return err
		}
		if !epochDue(block, netuid, p.Tempo) {
			continue
		}
		if err := c.epoch(ctx, tx, block, netuid, p); err != nil {
			return fmt.Errorf("epoch of netuid %d at block %d: %w", netuid, block, err)
		}
	}
	return nil
}

func (c *Chain) epoch(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, p Params) error {
	n := int(p.SubnetworkN)
	if n == 0 {
		return nil
	}
	in := EpochInput{
		Block:              block,
		Tempo:              uint64(p.Tempo),
		Stake:              make([]float64, n),
		LastUpdate:         make([]uint64, n),
		RegisteredAt:       make([]uint64, n),
		ValidatorPermit:    make([]bool, n),
		Weights:            newMatrix(n),
		Bonds:              newMatrix(n),
		Kappa:              float64(p.Kappa) / chain.U16Max,
		BondsMovingAverage: float64(p.BondsMovingAverage) / 1e6,
		ActivityCutoff:     p.ActivityCutoff,
		MaxValidators:      int(p.MaxValidators),
		MinValidatorStake:  float64(p.MinValidatorStakeRao),
		Emission:           float64(p.EmissionPerBlockRao) * float64(uint64(p.Tempo)+1),
	}
	hotkeys := make([]string, n)
	coldkeys := make([]string, n)
	rows, err := tx.QueryContext(ctx, `SELECT n.uid, n.hotkey, n.coldkey, n.last_update, n.registered_block, n.validator_permit,
		COALESCE((SELECT SUM(amount) FROM stakes s WHERE s.hotkey = n.hotkey), 0)
		FROM neurons n WHERE n.netuid = ?`, netuid)
	if err != nil {
		return err
	}
	for rows.Next() {
		var uid uint16
		var hk, ck string
		var lu, rb, stake uint64
		var permit bool
		if err := rows.Scan(&uid, &hk, &ck, &lu, &rb, &permit, &stake); err != nil {
			rows.Close()
			return err
		}
		if int(uid) >= n {
			rows.Close()
			return fmt.Errorf("uid %d beyond subnet size %d", uid, n)
		}
		hotkeys[uid], coldkeys[uid] = hk, ck
		in.LastUpdate[uid], in.RegisteredAt[uid], in.ValidatorPermit[uid] = lu, rb, permit
		in.Stake[uid] = float64(stake)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range []struct {
		table string
		dst   [][]float64
	}{{"weights", in.Weights}, {"bonds", in.Bonds}} {
		rows, err := tx.QueryContext(ctx, `SELECT uid, dest, value FROM `+m.table+` WHERE netuid = ?`, netuid)
		if err != nil {
			return err
		}
		for rows.Next() {
			var i, j int
			var v uint16
			if err := rows.Scan(&i, &j, &v); err != nil {
				rows.Close()
				return err
			}
			if i < n && j < n {
				m.dst[i][j] = float64(v) / chain.U16Max
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}

	out := Epoch(in)

	u16 := func(x float64) int64 { return int64(math.Round(math.Min(math.Max(x, 0), 1) * chain.U16Max)) }
	for uid := 0; uid < n; uid++ {
		emission := uint64(math.Floor(out.Emission[uid]))
		_, err := tx.ExecContext(ctx, `UPDATE neurons SET active = ?, rank = ?, trust = ?, consensus = ?, incentive = ?,
			dividends = ?, validator_trust = ?, emission = ?, validator_permit = ?, pruning_score = ?
			WHERE netuid = ? AND uid = ?`,
			out.Active[uid], u16(out.Rank[uid]), u16(out.Trust[uid]), u16(out.Consensus[uid]), u16(out.Incentive[uid]),
			u16(out.Dividends[uid]), u16(out.ValidatorTrust[uid]), emission, out.ValidatorPermit[uid], u16(out.PruningScore[uid]),
			netuid, uid)
		if err != nil {
			return err
		}
		if emission > 0 {
			// Emission is staked to the hotkey, credited to its owning coldkey.
			_, err := tx.ExecContext(ctx, `INSERT INTO stakes (hotkey, coldkey, amount) VALUES (?, ?, ?)
				ON CONFLICT(hotkey, coldkey) DO UPDATE SET amount = amount + excluded.amount`, hotkeys[uid], coldkeys[uid], emission)
			if err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM bonds WHERE netuid = ?`, netuid); err != nil {
		return err
	}
	// Stored like subtensor's: each column max-upscaled to 1, which keeps the
	// most u16 precision; the next epoch column-normalises them again.
	bonds := colMaxUpscale(out.Bonds)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if v := u16(bonds[i][j]); v > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO bonds (netuid, uid, dest, value) VALUES (?, ?, ?, ?)`, netuid, i, j, v); err != nil {
					return err
				}
			}
		}
	}
	c.log.Debug("epoch", "netuid", netuid, "block", block, "neurons", n)
	return nil
}
