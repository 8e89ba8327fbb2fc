package devchain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Amounts. Balances, stakes and the issuance counters are u64 rao, as on
// subtensor, and every change to them is checked arithmetic: a result that
// would overflow is refused (ErrOverflow) and nothing is written.
//
// SQLite stores them as INTEGER, a signed 64-bit value; an addition past
// 2^63-1 silently becomes a REAL that can no longer be read back. The chain
// therefore bounds its gross issuance (everything the faucet ever minted plus
// everything epochs ever emitted) by MaxIssuanceRao = 2^63-1. Every balance,
// every stake and every sum of them is part of that issuance, so none of
// them can leave the INTEGER range. The real chain's supply is capped at 21
// million TAO, 2.1e16 rao, about 440 times below this bound: it constrains
// nothing a network could reach. Triggers in the schema refuse any
// non-integer or negative amount as a last line of defence.

// MaxIssuanceRao bounds the dev chain's gross issuance (faucet plus emission).
const MaxIssuanceRao = math.MaxInt64

// Faucet caps. DefaultFaucetTotalCapRao is the real chain's supply;
// DefaultFaucetAccountCapRao allows a hundred default payments of 10,000 TAO.
const (
	DefaultFaucetAccountCapRao = 1_000_000 * RaoPerTAO
	DefaultFaucetTotalCapRao   = 21_000_000 * RaoPerTAO
)

// MaxEmissionPerBlockRao bounds a subnet's emission_per_block (the real
// chain emits 1 TAO per block in total).
const MaxEmissionPerBlockRao = 1_000_000 * RaoPerTAO

var (
	// ErrOverflow: an amount would leave the u64 rao range or push the
	// chain's issuance past MaxIssuanceRao.
	ErrOverflow = errors.New("devchain: amount out of range")
	// ErrFaucetCap: the faucet's per-account or total cap would be exceeded.
	ErrFaucetCap = errors.New("devchain: faucet cap reached")
)

// addRao returns a + b, or ErrOverflow naming what was added.
func addRao(a, b uint64, what string) (uint64, error) {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 || s > MaxIssuanceRao {
		return 0, fmt.Errorf("%w: %s: %d + %d rao exceeds %d rao", ErrOverflow, what, a, b, uint64(MaxIssuanceRao))
	}
	return s, nil
}

// mulRao returns a * b, or ErrOverflow naming what was multiplied.
func mulRao(a, b uint64, what string) (uint64, error) {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 || lo > MaxIssuanceRao {
		return 0, fmt.Errorf("%w: %s: %d × %d rao exceeds %d rao", ErrOverflow, what, a, b, uint64(MaxIssuanceRao))
	}
	return lo, nil
}

// Issuance is the chain's accounting of rao: what the faucet minted and the
// epochs emitted came into existence; what registrations burned left it. The
// chain keeps Balances + Stakes + Burned == Minted + Emitted, and Minted +
// Emitted ≤ MaxIssuanceRao.
type Issuance struct {
	MintedRao  uint64 `json:"minted"`
	EmittedRao uint64 `json:"emitted"`
	BurnedRao  uint64 `json:"burned"`
}

// TotalRao is the gross issuance, Minted + Emitted.
func (is Issuance) TotalRao() uint64 { return is.MintedRao + is.EmittedRao }

// room is what may still be minted or emitted.
func (is Issuance) room() uint64 { return MaxIssuanceRao - min(is.TotalRao(), MaxIssuanceRao) }

func loadIssuance(ctx context.Context, q querier) (Issuance, error) {
	var is Issuance
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT value FROM meta WHERE key = 'minted'),
		(SELECT value FROM meta WHERE key = 'emitted'),
		(SELECT value FROM meta WHERE key = 'burned')`).Scan(&is.MintedRao, &is.EmittedRao, &is.BurnedRao)
	if err != nil {
		return is, fmt.Errorf("dev chain state: read issuance: %w", err)
	}
	return is, nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func storeIssuance(ctx context.Context, e execer, is Issuance) error {
	_, err := e.ExecContext(ctx, `UPDATE meta SET value = CASE key WHEN 'minted' THEN ?1 WHEN 'emitted' THEN ?2 ELSE ?3 END
		WHERE key IN ('minted', 'emitted', 'burned')`, is.MintedRao, is.EmittedRao, is.BurnedRao)
	if err != nil {
		return fmt.Errorf("dev chain state: store issuance: %w", err)
	}
	return nil
}

// Issuance returns the chain's issuance counters.
func (c *Chain) Issuance(ctx context.Context) (Issuance, error) {
	return loadIssuance(ctx, c.db)
}

// ledger applies checked amount changes inside one transaction.
type ledger struct {
	ctx context.Context
	tx  *sql.Tx
}

func newLedger(ctx context.Context, tx *sql.Tx) ledger { return ledger{ctx: ctx, tx: tx} }

// balance reads an account's balance (0, false when it has no account).
func (l ledger) balance(address string) (uint64, bool, error) {
	var b uint64
	err := l.tx.QueryRowContext(l.ctx, `SELECT balance FROM accounts WHERE address = ?`, address).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("dev chain state: balance of %s: %w", address, err)
	}
	return b, true, nil
}

// credit adds rao to address's balance, creating the account.
func (l ledger) credit(address string, rao uint64) error {
	b, _, err := l.balance(address)
	if err != nil {
		return err
	}
	nb, err := addRao(b, rao, "balance of "+address)
	if err != nil {
		return err
	}
	_, err = l.tx.ExecContext(l.ctx, `INSERT INTO accounts (address, balance) VALUES (?, ?)
		ON CONFLICT(address) DO UPDATE SET balance = excluded.balance`, address, nb)
	if err != nil {
		return fmt.Errorf("dev chain state: credit %s: %w", address, err)
	}
	return nil
}

// debit takes rao from address's balance, or refuses with
// chain.ErrInsufficientBalance worded by what ("staking", "registration burns").
func (l ledger) debit(address string, rao uint64, insufficient func(have uint64) error) error {
	b, _, err := l.balance(address)
	if err != nil {
		return err
	}
	if b < rao {
		return insufficient(b)
	}
	if _, err := l.tx.ExecContext(l.ctx, `UPDATE accounts SET balance = ? WHERE address = ?`, b-rao, address); err != nil {
		return fmt.Errorf("dev chain state: debit %s: %w", address, err)
	}
	return nil
}

// hotkeyStake sums a hotkey's stake rows with checked arithmetic.
func (l ledger) hotkeyStake(hotkey string) (uint64, error) {
	rows, err := l.tx.QueryContext(l.ctx, `SELECT amount FROM stakes WHERE hotkey = ?`, hotkey)
	if err != nil {
		return 0, fmt.Errorf("dev chain state: stake of %s: %w", hotkey, err)
	}
	defer rows.Close()
	var sum uint64
	for rows.Next() {
		var a uint64
		if err := rows.Scan(&a); err != nil {
			return 0, fmt.Errorf("dev chain state: stake of %s: %w", hotkey, err)
		}
		if sum, err = addRao(sum, a, "stake of "+hotkey); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("dev chain state: stake of %s: %w", hotkey, err)
	}
	return sum, nil
}

// stake adds rao to coldkey's stake on hotkey; the hotkey's total must stay
// in range too.
func (l ledger) stake(hotkey, coldkey string, rao uint64) error {
	total, err := l.hotkeyStake(hotkey)
	if err != nil {
		return err
	}
	if _, err := addRao(total, rao, "total stake on "+hotkey); err != nil {
		return err
	}
	var cur uint64
	err = l.tx.QueryRowContext(l.ctx, `SELECT amount FROM stakes WHERE hotkey = ? AND coldkey = ?`, hotkey, coldkey).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dev chain state: stake of %s on %s: %w", coldkey, hotkey, err)
	}
	next, err := addRao(cur, rao, "stake of "+coldkey+" on "+hotkey)
	if err != nil {
		return err
	}
	_, err = l.tx.ExecContext(l.ctx, `INSERT INTO stakes (hotkey, coldkey, amount) VALUES (?, ?, ?)
		ON CONFLICT(hotkey, coldkey) DO UPDATE SET amount = excluded.amount`, hotkey, coldkey, next)
	if err != nil {
		return fmt.Errorf("dev chain state: stake on %s: %w", hotkey, err)
	}
	return nil
}

// burn records rao leaving the chain (a registration's burn).
func (l ledger) burn(rao uint64) error {
	is, err := loadIssuance(l.ctx, l.tx)
	if err != nil {
		return err
	}
	if is.BurnedRao, err = addRao(is.BurnedRao, rao, "burned issuance"); err != nil {
		return err
	}
	return storeIssuance(l.ctx, l.tx, is)
}
