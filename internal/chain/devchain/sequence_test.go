package devchain

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"path/filepath"
	"testing"

	"github.com/sn27/compute/internal/wallet"
)

// Operations of FuzzCallSequence: an opcode byte, then argument bytes.
const (
	opFund         = iota // who, amount
	opFundMany            // who, count: up to 255 maximal payments
	opAddStake            // coldkey, hotkey, amount
	opRegister            // coldkey, hotkey
	opSetWeights          // hotkey, n, then n (uid, weight) byte pairs
	opCommit              // hotkey, length
	opStep                // blocks
	opSetParams           // tempo, emission amount, burn amount
	opRestart             //
	opCreateSubnet        // coldkey, netuid
	opCount
)

// progReader hands out a program's bytes, zeros once it is exhausted.
type progReader struct{ b []byte }

func (r *progReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *progReader) done() bool { return len(r.b) == 0 }

// amount picks an amount: edges of every range, or 8 raw bytes.
func (r *progReader) amount(all uint64) uint64 {
	switch r.byte() % 12 {
	case 0:
		return 0
	case 1:
		return 1
	case 2:
		return RaoPerTAO
	case 3:
		return 1000 * RaoPerTAO
	case 4:
		return MaxFaucetRao
	case 5:
		return MaxFaucetRao + 1
	case 6:
		return math.MaxInt64
	case 7:
		return math.MaxInt64 + 1
	case 8:
		return math.MaxUint64
	case 9:
		return all
	case 10:
		return all + 1
	default:
		var b [8]byte
		for i := range b {
			b[i] = r.byte()
		}
		return binary.LittleEndian.Uint64(b[:])
	}
}

// refused reports whether err is a typed refusal, one the API maps to a
// client error; anything else would be a state error (a bug).
func refused(err error) bool {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return true
		}
	}
	return false
}

// mintDirect writes a faucet payment of rao to address the way Fund does,
// without its per-payment bound: it brings a fuzzed chain near the issuance
// limit in one step.
func mintDirect(t *testing.T, c *Chain, address string, rao uint64) {
	t.Helper()
	if _, err := c.db.Exec(`INSERT INTO accounts (address, balance, faucet) VALUES (?1, ?2, ?2)
		ON CONFLICT(address) DO UPDATE SET balance = balance + ?2, faucet = faucet + ?2`, address, int64(rao)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Exec(`UPDATE meta SET value = value + ? WHERE key = 'minted'`, int64(rao)); err != nil {
		t.Fatal(err)
	}
}

// seqKeys are the keys a sequence uses, derived once.
type seqKeys struct {
	sudo        *wallet.Keypair
	colds, hots []*wallet.Keypair
}

func newSeqKeys(t testing.TB) *seqKeys {
	k := &seqKeys{sudo: key(t, SudoURI), colds: make([]*wallet.Keypair, 3), hots: make([]*wallet.Keypair, 4)}
	for i := range k.colds {
		k.colds[i] = key(t, fmt.Sprintf("//F%d", i))
	}
	for i := range k.hots {
		k.hots[i] = key(t, fmt.Sprintf("//F%d//h%d", i%3, i))
	}
	return k
}

// checkAmounts is checkInvariants' cheap part, run after every operation:
// every amount an integer in range and the issuance conserved.
func checkAmounts(t *testing.T, c *Chain) {
	t.Helper()
	var bad int
	var balances, stakes uint64
	err := c.db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM accounts WHERE typeof(balance) <> 'integer' OR balance < 0 OR typeof(faucet) <> 'integer' OR faucet < 0) +
		(SELECT COUNT(*) FROM stakes WHERE typeof(amount) <> 'integer' OR amount < 0) +
		(SELECT COUNT(*) FROM meta WHERE typeof(value) <> 'integer' OR value < 0),
		(SELECT COALESCE(SUM(balance), 0) FROM accounts), (SELECT COALESCE(SUM(amount), 0) FROM stakes)`).Scan(&bad, &balances, &stakes)
	if err != nil || bad != 0 {
		t.Fatalf("%d amounts out of range (%v)", bad, err)
	}
	is, err := c.Issuance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	held, c1 := bits.Add64(balances, stakes, 0)
	held, c2 := bits.Add64(held, is.BurnedRao, 0)
	if c1+c2 != 0 || held != is.TotalRao() || is.TotalRao() > MaxIssuanceRao {
		t.Fatalf("balances %d + stakes %d + burned %d != minted %d + emitted %d", balances, stakes, is.BurnedRao, is.MintedRao, is.EmittedRao)
	}
}

// runSequence plays prog against a fresh file-backed chain and checks the
// invariants after every operation and across restarts: every amount an
// integer in range, balances + stakes + burned == minted + emitted, every
// account readable, and every refusal a typed one that wrote nothing.
func runSequence(t *testing.T, k *seqKeys, prog []byte) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chain.db")
	r := &progReader{b: prog}
	mode := r.byte()
	cfg := Config{Path: path}
	if mode&1 != 0 {
		cfg.FaucetAccountCapRao, cfg.FaucetTotalCapRao = MaxIssuanceRao, MaxIssuanceRao
	}
	open := func() *Chain {
		c, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return c
	}
	c := open()
	defer func() { c.Close() }()

	colds, hots := k.colds, k.hots
	p := testParams()
	p.Tempo, p.WeightsRateLimit, p.MinValidatorStakeRao, p.WeightsVersionKey = 3, 1, RaoPerTAO, 0
	must(t, c.CreateSubnet(ctx, k.sudo, 1, p))
	if mode&2 != 0 {
		// Near the limit: a few maximal payments are left.
		mintDirect(t, c, colds[2].SS58Address(), MaxIssuanceRao-5*MaxFaucetRao-12345)
	}
	checkInvariants(t, c)

	balance := func(addr string) uint64 {
		a, err := c.Account(ctx, addr)
		if err != nil {
			t.Fatalf("account %s: %v", addr, err)
		}
		return a.BalanceRao
	}
	for ops := 0; !r.done() && ops < 64; ops++ {
		var err error
		op := r.byte() % opCount
		switch op {
		case opFund:
			who := r.byte()
			addr := colds[int(who)%3].SS58Address()
			if who&0x80 != 0 {
				addr = hots[int(who)%4].SS58Address()
			}
			err = c.Fund(ctx, addr, r.amount(0))
		case opFundMany:
			addr := colds[int(r.byte())%3].SS58Address()
			for n := int(r.byte()); n > 0 && err == nil; n-- {
				err = c.Fund(ctx, addr, MaxFaucetRao)
			}
		case opAddStake:
			cold, hot := colds[int(r.byte())%3], hots[int(r.byte())%4]
			err = c.AddStake(ctx, cold, hot.SS58Address(), r.amount(balance(cold.SS58Address())))
		case opRegister:
			cold, hot := colds[int(r.byte())%3], hots[int(r.byte())%4]
			_, err = c.Register(ctx, 1, cold, hot.SS58Address())
		case opSetWeights:
			hot := hots[int(r.byte())%4]
			n := int(r.byte() % 5)
			uids, weights := make([]uint16, n), make([]uint16, n)
			for i := range uids {
				uids[i], weights[i] = uint16(r.byte()%6), uint16(r.byte())<<8|uint16(r.byte())
			}
			err = c.SetWeights(ctx, 1, hot, uids, weights, 0)
		case opCommit:
			hot := hots[int(r.byte())%4]
			err = c.Commit(ctx, 1, hot, make([]byte, int(r.byte())*8))
		case opStep:
			_, err = c.Step(ctx, int(r.byte()%24)+1)
			if err != nil {
				t.Fatalf("step: %v", err)
			}
			if evs, err := c.Events(ctx, EventQuery{AllSubnets: true}); err == nil {
				for _, ev := range evs {
					if ev.Kind == EventEpochFailed {
						t.Fatalf("epoch failed: %+v", ev)
					}
				}
			}
		case opSetParams:
			q := *p
			q.Tempo = uint16(r.byte()%6) + 1
			q.EmissionPerBlockRao = r.amount(0)
			q.BurnRao = r.amount(0)
			err = c.SetParams(ctx, k.sudo, 1, q)
		case opRestart:
			c.Close()
			c = open()
			checkInvariants(t, c)
		case opCreateSubnet:
			cold := colds[int(r.byte())%3]
			err = c.CreateSubnet(ctx, cold, uint16(r.byte()%3)+2, nil)
		}
		if err != nil && !refused(err) {
			t.Fatalf("op %d: untyped error (a state error?): %v", op, err)
		}
		checkAmounts(t, c)
	}

	// The chain restarts on whatever state it wrote, and goes on.
	c.Close()
	c = open()
	if _, err := c.Step(ctx, 7); err != nil {
		t.Fatalf("step after restart: %v", err)
	}
	if _, err := c.Metagraph(ctx, 1); err != nil {
		t.Fatalf("metagraph after restart: %v", err)
	}
	checkInvariants(t, c)
}

// sequenceSeeds are programs worth keeping: the two attacks scaled to the
// near-limit mode, and ordinary use.
func sequenceSeeds() [][]byte {
	return [][]byte{
		// Ordinary use: fund, register, stake, weights, commits, epochs.
		{0, opFund, 0, 3, opRegister, 0, 0, opRegister, 0, 1, opAddStake, 0, 0, 2, opStep, 5,
			opSetWeights, 0, 2, 0, 0, 255, 1, 0, 100, opCommit, 1, 4, opStep, 10, opRestart, opStep, 3},
		// Attack 1 near the limit, caps lifted: maximal payments until refused.
		{3, opFundMany, 2, 9, opFund, 2, 6, opFund, 2, 8, opStep, 4, opRestart},
		// Attack 2 near the limit: two coldkeys stake everything on one hotkey, epochs run.
		{3, opFundMany, 0, 3, opFundMany, 1, 3, opRegister, 0, 0, opAddStake, 0, 0, 9, opAddStake, 1, 0, 9,
			opAddStake, 2, 0, 9, opStep, 10, opAddStake, 1, 0, 6, opStep, 10, opRestart, opStep, 4},
		// Default caps: a coldkey asks for more than its share.
		{0, opFundMany, 1, 120, opFund, 1, 4, opAddStake, 1, 1, 8},
		// Emission and burn at the edges of their ranges.
		{3, opSetParams, 2, 8, 6, opSetParams, 2, 4, 4, opRegister, 2, 2, opStep, 20, opSetParams, 0, 3, 1, opStep, 20},
		// Subnets created by coldkeys, registrations on a full subnet.
		{1, opFund, 1, 4, opCreateSubnet, 1, 0, opRegister, 1, 0, opRegister, 1, 1, opRegister, 1, 2, opRegister, 1, 3,
			opStep, 12, opRegister, 1, 0},
	}
}

// TestCallSequences runs the seed programs in every test run.
func TestCallSequences(t *testing.T) {
	k := newSeqKeys(t)
	for i, prog := range sequenceSeeds() {
		t.Run(fmt.Sprint(i), func(t *testing.T) { runSequence(t, k, prog) })
	}
}

// FuzzCallSequence plays arbitrary sequences of faucet payments, stakes,
// registrations, weights, commitments, parameter changes, blocks and
// restarts against the chain's invariants.
func FuzzCallSequence(f *testing.F) {
	for _, s := range sequenceSeeds() {
		f.Add(s)
	}
	k := newSeqKeys(f)
	f.Fuzz(func(t *testing.T, prog []byte) { runSequence(t, k, prog) })
}
