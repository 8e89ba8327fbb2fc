package devchain

import (
	"context"
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
)

// openCapped opens a file-backed chain whose faucet caps are as high as the
// chain allows, so that only its arithmetic stands between a caller and an
// overflow.
func openCapped(t *testing.T, path string) *Chain {
	t.Helper()
	c, err := Open(context.Background(), Config{Path: path, FaucetAccountCapRao: MaxIssuanceRao, FaucetTotalCapRao: MaxIssuanceRao})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkInvariants checks the chain's amounts: every balance, stake and
// counter is an integer in 0..2^63-1; balances + stakes + burned == minted +
// emitted (summed exactly); the gross issuance is within MaxIssuanceRao; and
// every account and every hotkey's stake reads back.
func checkInvariants(t *testing.T, c *Chain) {
	t.Helper()
	ctx := context.Background()
	var bad int
	err := c.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM accounts WHERE typeof(balance) <> 'integer' OR balance < 0 OR typeof(faucet) <> 'integer' OR faucet < 0) +
		(SELECT COUNT(*) FROM stakes WHERE typeof(amount) <> 'integer' OR amount < 0) +
		(SELECT COUNT(*) FROM meta WHERE typeof(value) <> 'integer' OR value < 0)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Fatalf("%d amounts are not integers in range (%v)", bad, err)
	}
	sum := func(q string) *big.Int {
		rows, err := c.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		s := new(big.Int)
		for rows.Next() {
			var v uint64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			s.Add(s, new(big.Int).SetUint64(v))
		}
		return s
	}
	is, err := c.Issuance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := sum(`SELECT balance FROM accounts`)
	held.Add(held, sum(`SELECT amount FROM stakes`))
	held.Add(held, new(big.Int).SetUint64(is.BurnedRao))
	issued := new(big.Int).SetUint64(is.MintedRao)
	issued.Add(issued, new(big.Int).SetUint64(is.EmittedRao))
	if held.Cmp(issued) != 0 {
		t.Fatalf("balances + stakes + burned = %v, minted + emitted = %v (%+v)", held, issued, is)
	}
	if issued.Cmp(big.NewInt(MaxIssuanceRao)) > 0 {
		t.Fatalf("issuance %v beyond %d", issued, int64(MaxIssuanceRao))
	}
	rows, err := c.db.QueryContext(ctx, `SELECT address FROM accounts`)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		addrs = append(addrs, a)
	}
	rows.Close()
	for _, a := range addrs {
		if _, err := c.Account(ctx, a); err != nil {
			t.Fatalf("account %s unreadable: %v", a, err)
		}
		if _, err := c.Stake(ctx, a); err != nil {
			t.Fatalf("stake of %s unreadable: %v", a, err)
		}
	}
}

// payMax makes n maximal faucet payments to address and returns the first
// refusal (nil when all were accepted). Under the race detector, whose
// instrumented SQLite makes 9,000 calls take a minute, all but the last 8
// payments are written at once, as Fund would have written them.
func payMax(t *testing.T, c *Chain, address string, n int) (paid int, err error) {
	t.Helper()
	ctx := context.Background()
	if raceDetector && n > 8 {
		if err := c.Fund(ctx, address, MaxFaucetRao); err != nil {
			return 0, err
		}
		is, _ := c.Issuance(ctx)
		fit := int(min(uint64(n), (MaxIssuanceRao-is.TotalRao())/MaxFaucetRao))
		if fit > 9 {
			bulk := uint64(fit-9) * MaxFaucetRao
			if _, err := c.db.Exec(`UPDATE accounts SET balance = balance + ?1, faucet = faucet + ?1 WHERE address = ?2`, bulk, address); err != nil {
				t.Fatal(err)
			}
			if _, err := c.db.Exec(`UPDATE meta SET value = value + ? WHERE key = 'minted'`, bulk); err != nil {
				t.Fatal(err)
			}
			paid = fit - 8
		} else {
			paid = 1
		}
	}
	for ; paid < n; paid++ {
		if err := c.Fund(ctx, address, MaxFaucetRao); err != nil {
			return paid, err
		}
	}
	return paid, nil
}

func TestCheckedArithmetic(t *testing.T) {
	for _, tc := range []struct {
		a, b         uint64
		sum, prod    uint64
		sumOK, mulOK bool
	}{
		{a: 1, b: 2, sum: 3, prod: 2, sumOK: true, mulOK: true},
		{a: math.MaxInt64 - 1, b: 1, sum: math.MaxInt64, prod: math.MaxInt64 - 1, sumOK: true, mulOK: true},
		{a: math.MaxInt64, b: 1, prod: math.MaxInt64, mulOK: true},
		{a: math.MaxInt64, b: 2},
		{a: math.MaxUint64, b: 1},
		{a: math.MaxUint64, b: math.MaxUint64},
		{a: 0, b: math.MaxInt64, sum: math.MaxInt64, prod: 0, sumOK: true, mulOK: true},
		{a: 1 << 32, b: 1 << 31, sum: 1<<32 + 1<<31, prod: 1 << 63, sumOK: true},
		{a: 1 << 32, b: 1<<31 - 1, sum: 1<<32 + 1<<31 - 1, prod: 1<<63 - 1<<32, sumOK: true, mulOK: true},
	} {
		s, err := addRao(tc.a, tc.b, "x")
		if tc.sumOK != (err == nil) || (err == nil && s != tc.sum) || (err != nil && !errors.Is(err, ErrOverflow)) {
			t.Errorf("addRao(%d, %d) = %d, %v", tc.a, tc.b, s, err)
		}
		p, err := mulRao(tc.a, tc.b, "x")
		if tc.mulOK != (err == nil) || (err == nil && p != tc.prod) || (err != nil && !errors.Is(err, ErrOverflow)) {
			t.Errorf("mulRao(%d, %d) = %d, %v", tc.a, tc.b, p, err)
		}
	}
}

// TestFaucetCannotPoisonBalance replays the first attack: about 9,200
// maximal faucet payments to one account. The caps refuse it early by
// default; with the caps lifted to the chain's limit, the payment that would
// push the balance past 2^63-1 rao is refused instead, and the account stays
// readable and exact.
func TestFaucetCannotPoisonBalance(t *testing.T) {
	ctx := context.Background()
	eve := key(t, "//Eve").SS58Address()

	t.Run("default caps", func(t *testing.T) {
		c, _ := memChain(t)
		if err := c.Fund(ctx, eve, MaxFaucetRao); err != nil {
			t.Fatal(err)
		}
		err := c.Fund(ctx, eve, 1)
		if !errors.Is(err, ErrFaucetCap) || !strings.Contains(err.Error(), "per-account faucet cap of 1000000 TAO") {
			t.Fatalf("second payment: %v", err)
		}
		if a, err := c.Account(ctx, eve); err != nil || a.BalanceRao != MaxFaucetRao {
			t.Fatalf("account %+v, %v", a, err)
		}
		checkInvariants(t, c)
	})

	t.Run("total cap", func(t *testing.T) {
		c, err := Open(ctx, Config{FaucetAccountCapRao: 10 * RaoPerTAO, FaucetTotalCapRao: 15 * RaoPerTAO})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		must(t, c.Fund(ctx, eve, 10*RaoPerTAO))
		must(t, c.Fund(ctx, key(t, "//Bob").SS58Address(), 5*RaoPerTAO))
		err = c.Fund(ctx, key(t, "//Dave").SS58Address(), 1)
		if !errors.Is(err, ErrFaucetCap) || !strings.Contains(err.Error(), "total cap of 15 TAO") {
			t.Fatalf("payment past the total cap: %v", err)
		}
		if a, _ := c.Account(ctx, key(t, "//Dave").SS58Address()); a.Exists {
			t.Fatal("a refused payment created the account")
		}
		checkInvariants(t, c)
	})

	t.Run("caps lifted", func(t *testing.T) {
		c := openCapped(t, filepath.Join(t.TempDir(), "chain.db"))
		n, err := payMax(t, c, eve, 9300)
		if n != MaxIssuanceRao/MaxFaucetRao || !errors.Is(err, ErrOverflow) {
			t.Fatalf("%d payments accepted, then %v", n, err)
		}
		a, err := c.Account(ctx, eve)
		if err != nil || a.BalanceRao != uint64(n)*MaxFaucetRao {
			t.Fatalf("account after the refused payment: %+v, %v", a, err)
		}
		// What fits exactly is accepted; one rao more is not.
		must(t, c.Fund(ctx, eve, MaxIssuanceRao-a.BalanceRao))
		if err := c.Fund(ctx, eve, 1); !errors.Is(err, ErrOverflow) {
			t.Fatalf("one rao past the limit: %v", err)
		}
		if a, err := c.Account(ctx, eve); err != nil || a.BalanceRao != MaxIssuanceRao {
			t.Fatalf("full account: %+v, %v", a, err)
		}
		checkInvariants(t, c)
	})
}

// TestStakeCannotOverflow replays the second attack: two large add_stake
// calls to one hotkey whose sum used to overflow, after which every epoch
// failed with "integer overflow" and the chain could not restart. Now the
// issuance bound keeps the sum in range, epochs run, and the chain restarts
// on its state.
func TestStakeCannotOverflow(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chain.db")
	c := openCapped(t, path)
	must(t, c.CreateSubnet(ctx, key(t, SudoURI), 1, testParams()))
	a, b, hk := key(t, "//A"), key(t, "//B"), key(t, "//A//hot")
	if _, err := payMax(t, c, a.SS58Address(), 4690); err != nil {
		t.Fatal(err)
	}
	if _, err := payMax(t, c, b.SS58Address(), 4690); !errors.Is(err, ErrOverflow) {
		t.Fatalf("funding past the limit: %v", err)
	}
	_, err := c.Register(ctx, 1, a, hk.SS58Address())
	must(t, err)
	must(t, c.AddStake(ctx, a, hk.SS58Address(), 4689*MaxFaucetRao))
	bal, _ := c.Account(ctx, b.SS58Address())
	must(t, c.AddStake(ctx, b, hk.SS58Address(), bal.BalanceRao))
	checkInvariants(t, c)

	step := func(c *Chain, n int) {
		t.Helper()
		if _, err := c.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	toEpoch(t, ctx, c, 1, func(n int) { step(c, n) })
	if evs := eventsOf(t, c, EventEpochFailed); len(evs) != 0 {
		t.Fatalf("epoch failed: %+v", evs)
	}
	nr, err := c.NeuronByHotkey(ctx, 1, hk.SS58Address())
	if staked := 4689*MaxFaucetRao + bal.BalanceRao; err != nil || nr.StakeRao < staked || nr.StakeRao-staked > 9*RaoPerTAO {
		t.Fatalf("neuron %+v, %v", nr, err)
	}
	checkInvariants(t, c)
	c.Close()

	c2 := openCapped(t, path)
	toEpoch(t, ctx, c2, 1, func(n int) { step(c2, n) })
	if evs := eventsOf(t, c2, EventEpochFailed); len(evs) != 0 {
		t.Fatalf("epoch failed after restart: %+v", evs)
	}
	checkInvariants(t, c2)
}

// TestOverflowRefusedWithoutWrites crafts amounts at the edge of the range
// (as no call could) and checks that the call that would overflow is
// refused with ErrOverflow and writes nothing, nonce included.
func TestOverflowRefusedWithoutWrites(t *testing.T) {
	ctx := context.Background()
	c, _ := memChain(t)
	f := setup(t, c, func(int) {})
	hk := f.valHK.SS58Address()
	if _, err := c.db.Exec(`UPDATE stakes SET amount = ? WHERE hotkey = ?`, int64(MaxIssuanceRao-5), hk); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Account(ctx, f.cold.SS58Address())
	err := c.AddStake(ctx, f.cold, hk, 10)
	if !errors.Is(err, ErrOverflow) || !strings.Contains(err.Error(), "stake on "+hk) {
		t.Fatalf("stake past the limit: %v", err)
	}
	after, _ := c.Account(ctx, f.cold.SS58Address())
	if after != before {
		t.Fatalf("refused call wrote: %+v -> %+v", before, after)
	}
	if s, _ := c.Stake(ctx, hk); s != MaxIssuanceRao-5 {
		t.Fatalf("stake %d", s)
	}

	// A balance at the edge: the faucet's credit is refused.
	if _, err := c.db.Exec(`UPDATE accounts SET balance = ? WHERE address = ?`, int64(MaxIssuanceRao-5), f.cold.SS58Address()); err != nil {
		t.Fatal(err)
	}
	if err := c.Fund(ctx, f.cold.SS58Address(), 10); !errors.Is(err, ErrOverflow) {
		t.Fatalf("credit past the limit: %v", err)
	}
	// The schema refuses what SQLite would make of an overflowing sum.
	if _, err := c.db.Exec(`UPDATE accounts SET balance = balance + 10 WHERE address = ?`, f.cold.SS58Address()); err == nil {
		t.Fatal("the state accepted a REAL balance")
	}
	if _, err := c.db.Exec(`UPDATE stakes SET amount = -1`); err == nil {
		t.Fatal("the state accepted a negative stake")
	}
	// A nonce beyond the INTEGER range is a refused call, not a state error.
	call, _ := SignCall(f.cold, MethodAddStake, 1<<63, AddStakeArgs{Hotkey: hk, AmountRao: 1})
	if _, err := c.Submit(ctx, call); !errors.Is(err, ErrInvalidCall) {
		t.Fatalf("nonce 2^63: %v", err)
	}
}

// TestEmissionBounded: epochs stop emitting when the issuance reaches the
// limit (an epoch there runs, emitting nothing), and emission_per_block is
// bounded.
func TestEmissionBounded(t *testing.T) {
	ctx := context.Background()
	c := openCapped(t, "")
	f := setup(t, c, func(n int) {
		if _, err := c.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
	})
	p := testParams()
	p.EmissionPerBlockRao = MaxEmissionPerBlockRao + 1
	if err := c.SetParams(ctx, f.sudo, 1, *p); !errors.Is(err, ErrInvalidCall) {
		t.Fatalf("emission past its bound: %v", err)
	}
	f.toEpoch()
	is, _ := c.Issuance(ctx)
	if is.EmittedRao == 0 {
		t.Fatal("no emission")
	}
	// Mint to within 3 rao of the limit.
	eve := key(t, "//Eve").SS58Address()
	if _, err := payMax(t, c, eve, 9300); !errors.Is(err, ErrOverflow) {
		t.Fatal(err)
	}
	is, _ = c.Issuance(ctx)
	must(t, c.Fund(ctx, eve, MaxIssuanceRao-is.TotalRao()-3))
	is, _ = c.Issuance(ctx)
	f.toEpoch()
	is2, _ := c.Issuance(ctx)
	if is2.TotalRao() > MaxIssuanceRao || is2.EmittedRao > is.EmittedRao+3 {
		t.Fatalf("issuance %+v after %+v", is2, is)
	}
	f.toEpoch()
	if evs := eventsOf(t, c, EventEpochFailed); len(evs) != 0 {
		t.Fatalf("epoch failed at the limit: %+v", evs)
	}
	checkInvariants(t, c)
	if err := c.Fund(ctx, eve, 4); !errors.Is(err, ErrOverflow) {
		t.Fatalf("faucet past the limit: %v", err)
	}
}
