package devchain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/sn27/compute/internal/chain"
)

// newSchedule is a new subnet's schedule, as subtensor's init_new_network
// sets it: the last epoch is placed netuid mod tempo blocks back, so subnets
// created together do not run their epochs at the same block.
func newSchedule(block uint64, netuid, tempo uint16) chain.EpochSchedule {
	stagger := uint64(netuid) % max(uint64(tempo), 1)
	return chain.EpochSchedule{LastEpochBlock: block - min(block, stagger)}
}

// loadSchedule reads a subnet's schedule state (left by the head's step).
// Subnets created before the schedule was stored start a new one at the head.
func loadSchedule(ctx context.Context, q querier, netuid uint16) (chain.EpochSchedule, error) {
	var raw string
	var created uint64
	err := q.QueryRowContext(ctx, `SELECT schedule, created_block FROM subnets WHERE netuid = ?`, netuid).Scan(&raw, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return chain.EpochSchedule{}, fmt.Errorf("%w: netuid %d", chain.ErrSubnetNotFound, netuid)
	}
	if err != nil {
		return chain.EpochSchedule{}, fmt.Errorf("read schedule of netuid %d: %w", netuid, err)
	}
	if raw == "" {
		p, err := loadParams(ctx, q, netuid)
		if err != nil {
			return chain.EpochSchedule{}, err
		}
		var head uint64
		if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'block'`).Scan(&head); err != nil {
			return chain.EpochSchedule{}, fmt.Errorf("read block: %w", err)
		}
		return newSchedule(head, netuid, p.Tempo), nil
	}
	var s chain.EpochSchedule
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return chain.EpochSchedule{}, fmt.Errorf("decode schedule of netuid %d: %w", netuid, err)
	}
	return s, nil
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

// produce is the chain's work for a new block, inside tx and in subtensor's
// order: the beacon's pulses published by now are stored, then for every
// subnet the commits due at block are revealed, the schedule steps and, when
// it says so, the epoch runs.
func (c *Chain) produce(ctx context.Context, tx *sql.Tx, block uint64) error {
	if err := c.storePulses(ctx, tx, block); err != nil {
		return err
	}
	if err := c.runEpochs(ctx, tx, block); err != nil {
		return err
	}
	return pruneEvents(ctx, tx)
}

// runEpochs reveals due commits and runs the epoch of every subnet due at
// block, inside tx.
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
		if err := c.stepSubnet(ctx, tx, block, netuid); err != nil {
			return err
		}
	}
	return nil
}

// stepSubnet reveals netuid's due commits, steps its schedule and runs its
// epoch when due. The reveal and the epoch run under a savepoint: when they
// fail, for whatever reason, their writes are undone, the failure is logged
// and recorded as an epoch_failed event, and the schedule still steps, so
// the subnet's epoch state stays consistent and the block goes on. A subnet
// whose settings cannot be read is skipped for the block, logged.
func (c *Chain) stepSubnet(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16) error {
	p, err := loadParams(ctx, tx, netuid)
	if err == nil {
		var sched chain.EpochSchedule
		if sched, err = loadSchedule(ctx, tx, netuid); err == nil {
			return c.stepSchedule(ctx, tx, block, netuid, p, sched)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.log.Error("subnet skipped for this block: its state cannot be read", "netuid", netuid, "block", block, "err", err)
	return nil
}

func (c *Chain) stepSchedule(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, p Params, sched chain.EpochSchedule) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT subnet_step`); err != nil {
		return fmt.Errorf("netuid %d: savepoint: %w", netuid, err)
	}
	next, runs := sched.Step(block, p.Tempo, netuid)
	err := c.revealCommits(ctx, tx, block, netuid, p, sched.EpochAt(block, p.Tempo, netuid))
	if err != nil {
		err = fmt.Errorf("reveal commits: %w", err)
	} else if runs {
		// The emission accrued over the blocks since the last epoch.
		err = c.epoch(ctx, tx, block, netuid, p, sched.BlocksSinceLastStep+1)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO subnet_step`); rbErr != nil {
			return errors.Join(fmt.Errorf("epoch of netuid %d at block %d: %w", netuid, block, err), rbErr)
		}
		if evErr := c.event(ctx, tx, block, netuid, EventEpochFailed, "", "skipped: "+err.Error()); evErr != nil {
			return evErr
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE subnet_step`); err != nil {
		return fmt.Errorf("netuid %d: release savepoint: %w", netuid, err)
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subnets SET schedule = ? WHERE netuid = ?`, string(raw), netuid); err != nil {
		return fmt.Errorf("store schedule of netuid %d: %w", netuid, err)
	}
	return nil
}

func (c *Chain) epoch(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, p Params, blocks uint64) error {
	if c.epochFault != nil {
		if err := c.epochFault(netuid, block); err != nil {
			return err
		}
	}
	n := int(p.SubnetworkN)
	if n == 0 {
		return nil
	}
	// The epoch's emission, checked and bounded by what the chain may still
	// issue: once the issuance reaches MaxIssuanceRao, epochs emit nothing.
	is, err := loadIssuance(ctx, tx)
	if err != nil {
		return err
	}
	total, err := mulRao(p.EmissionPerBlockRao, blocks, "epoch emission")
	if err != nil || total > is.room() {
		total = is.room()
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
		Emission:           float64(total),
	}
	hotkeys := make([]string, n)
	coldkeys := make([]string, n)
	rows, err := tx.QueryContext(ctx, `SELECT n.uid, n.hotkey, n.coldkey, n.last_update, n.registered_block, n.validator_permit,
		COALESCE((SELECT TOTAL(amount) FROM stakes s WHERE s.hotkey = n.hotkey), 0)
		FROM neurons n WHERE n.netuid = ?`, netuid)
	if err != nil {
		return err
	}
	for rows.Next() {
		var uid uint16
		var hk, ck string
		var lu, rb uint64
		var stake float64 // Yuma works in floats; TOTAL never overflows
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
		in.Stake[uid] = stake
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
	l := newLedger(ctx, tx)
	left := total
	for uid := 0; uid < n; uid++ {
		// Float shares may round past the total by a few rao: what is
		// credited never exceeds it.
		share := out.Emission[uid]
		var emission uint64
		if share > 0 && !math.IsNaN(share) {
			emission = uint64(math.Min(math.Floor(share), float64(left)))
			emission = min(emission, left)
		}
		left -= emission
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
			if err := l.stake(hotkeys[uid], coldkeys[uid], emission); err != nil {
				return err
			}
		}
	}
	if emitted := total - left; emitted > 0 {
		if is.EmittedRao, err = addRao(is.EmittedRao, emitted, "emitted issuance"); err != nil {
			return err
		}
		if err := storeIssuance(ctx, tx, is); err != nil {
			return err
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
