package devchain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/wallet"
)

// RaoPerTAO is the number of rao in one TAO.
const RaoPerTAO = 1_000_000_000

// DefaultBlockTime is the block interval of the real chain.
const DefaultBlockTime = 12 * time.Second

// SudoURI is the development key allowed to administer every subnet.
const SudoURI = "//Alice"

// Params are a subnet's settings: the hyperparameters the roles read plus the
// dev chain's own knobs for Yuma and emission.
type Params struct {
	chain.Hyperparameters
	ActivityCutoff       uint64 `json:"activity_cutoff"`
	MaxValidators        uint16 `json:"max_allowed_validators"`
	MinValidatorStakeRao uint64 `json:"min_validator_stake"`
	EmissionPerBlockRao  uint64 `json:"emission_per_block"`
	// CommitRevealVersion is the commit-reveal version a timelocked commit
	// must carry (finney's CommitRevealWeightsVersion); 0 reads as the default.
	CommitRevealVersion uint16 `json:"commit_reveal_version"`
	// RevealPeriodEpochs: a commit made in epoch e is revealed in epoch
	// e + RevealPeriodEpochs (1..100); 0 reads as the default.
	RevealPeriodEpochs uint64 `json:"reveal_period_epochs"`
}

// Commit-reveal defaults and bounds, as on finney.
const (
	DefaultCommitRevealVersion = 4
	DefaultRevealPeriodEpochs  = 1
	MaxRevealPeriodEpochs      = 100
)

// DefaultParams are subtensor's defaults, commit-reveal v4 included (plain
// set_weights is refused; weights go through timelocked commits revealed by
// the dev chain's own beacon), with a tempo that suits a local network.
func DefaultParams() Params {
	return Params{
		Hyperparameters: chain.Hyperparameters{
			Tempo:               360,
			WeightsRateLimit:    100,
			WeightsVersionKey:   0,
			MinAllowedWeights:   1,
			MaxWeightsLimit:     65535,
			MaxAllowedUIDs:      256,
			ImmunityPeriod:      4096,
			BurnRao:             RaoPerTAO / 10,
			CommitRevealEnabled: true,
			ServingRateLimit:    50,
			Kappa:               32767,
			BondsMovingAverage:  900_000,
			RegistrationAllowed: true,
		},
		ActivityCutoff:       5000,
		MaxValidators:        64,
		MinValidatorStakeRao: 1024 * RaoPerTAO,
		EmissionPerBlockRao:  RaoPerTAO,
		CommitRevealVersion:  DefaultCommitRevealVersion,
		RevealPeriodEpochs:   DefaultRevealPeriodEpochs,
	}
}

// withDefaults fills the commit-reveal fields that state written before they
// existed (or a caller that leaves them out) has as zero.
func (p Params) withDefaults() Params {
	if p.CommitRevealVersion == 0 {
		p.CommitRevealVersion = DefaultCommitRevealVersion
	}
	if p.RevealPeriodEpochs == 0 {
		p.RevealPeriodEpochs = DefaultRevealPeriodEpochs
	}
	return p
}

// validate checks the settings; its errors start with the JSON field.
func (p Params) validate() error {
	switch {
	case p.Tempo == 0:
		return errors.New("tempo must be at least 1 block")
	case p.MaxAllowedUIDs == 0 || p.MaxAllowedUIDs > 4096:
		return fmt.Errorf("max_allowed_uids %d must be in 1..4096", p.MaxAllowedUIDs)
	case p.BondsMovingAverage > 1_000_000:
		return fmt.Errorf("bonds_moving_avg %d must be at most 1000000", p.BondsMovingAverage)
	case p.MaxValidators == 0:
		return errors.New("max_allowed_validators must be at least 1")
	case p.EmissionPerBlockRao > MaxEmissionPerBlockRao:
		return fmt.Errorf("emission_per_block %d rao must be at most %d", p.EmissionPerBlockRao, uint64(MaxEmissionPerBlockRao))
	case p.RevealPeriodEpochs > MaxRevealPeriodEpochs:
		return fmt.Errorf("reveal_period_epochs %d must be in 1..%d", p.RevealPeriodEpochs, MaxRevealPeriodEpochs)
	}
	return nil
}

// Config configures a dev chain.
type Config struct {
	// Path is the SQLite state file; "" or ":memory:" keeps state in memory.
	Path string
	// BlockTime is the interval of Run's block producer (DefaultBlockTime when 0).
	BlockTime time.Duration
	// Log receives block and call logs (discarded when nil).
	Log *slog.Logger
	// BeaconPeriod is the local beacon's pulse interval, fixed when the state
	// is created (DefaultBeaconPeriod, quicknet's, when 0).
	BeaconPeriod time.Duration
	// KeepPulses is how many of the latest pulses stay stored on chain
	// (DefaultKeepPulses when 0).
	KeepPulses uint64
	// Now is the wall clock the beacon follows (time.Now when nil); tests
	// drive it to publish pulses deterministically.
	Now func() time.Time
	// Rand is the entropy for a new beacon key (crypto/rand when nil).
	Rand io.Reader
	// FaucetAccountCapRao bounds what the faucet credits to one account over
	// the chain's life (DefaultFaucetAccountCapRao when 0).
	FaucetAccountCapRao uint64
	// FaucetTotalCapRao bounds what the faucet mints in all
	// (DefaultFaucetTotalCapRao when 0; at most MaxIssuanceRao).
	FaucetTotalCapRao uint64
}

// Chain is the in-process dev chain. Create it with Open, produce blocks with
// Run (or Step in tests) and Close it when done.
type Chain struct {
	signedCalls
	db        *sql.DB
	log       *slog.Logger
	blockTime time.Duration
	sudo      string
	now       func() time.Time
	beacon    *tlock.Beacon // the local beacon's key, loaded once
	info      chain.Beacon  // its public description
	keep      uint64        // pulses kept on chain
	// faucetAccountCap and faucetTotalCap bound the faucet (Config's).
	faucetAccountCap, faucetTotalCap uint64
	// epochFault, when set (by tests), runs at the start of every epoch and
	// fails it with the error it returns.
	epochFault func(netuid uint16, block uint64) error

	mu       sync.Mutex // guards block, stamp and newBlock
	block    uint64
	stamp    time.Time     // when block was produced (zero: not known)
	newBlock chan struct{} // closed and replaced on every new block
}

var (
	_ chain.Chain      = (*Chain)(nil)
	_ chain.BlockClock = (*Chain)(nil)
)

// Open opens or creates the dev chain state described by cfg.
func Open(ctx context.Context, cfg Config) (*Chain, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BlockTime < 0 {
		return nil, fmt.Errorf("block time %v must be positive", cfg.BlockTime)
	}
	if cfg.BlockTime == 0 {
		cfg.BlockTime = DefaultBlockTime
	}
	if cfg.FaucetAccountCapRao == 0 {
		cfg.FaucetAccountCapRao = DefaultFaucetAccountCapRao
	}
	if cfg.FaucetTotalCapRao == 0 {
		cfg.FaucetTotalCapRao = DefaultFaucetTotalCapRao
	}
	if cfg.FaucetAccountCapRao > MaxIssuanceRao || cfg.FaucetTotalCapRao > MaxIssuanceRao {
		return nil, fmt.Errorf("faucet caps (%d rao per account, %d rao in total) must be at most %d rao", cfg.FaucetAccountCapRao, cfg.FaucetTotalCapRao, uint64(MaxIssuanceRao))
	}
	sudo, err := wallet.FromURI(SudoURI)
	if err != nil {
		return nil, fmt.Errorf("derive sudo key: %w", err)
	}
	db, err := openDB(ctx, cfg.Path, log)
	if err != nil {
		return nil, err
	}
	c := &Chain{db: db, log: log, blockTime: cfg.BlockTime, sudo: sudo.SS58Address(), newBlock: make(chan struct{}),
		now: cfg.Now, keep: cfg.KeepPulses, faucetAccountCap: cfg.FaucetAccountCapRao, faucetTotalCap: cfg.FaucetTotalCapRao}
	if c.now == nil {
		c.now = time.Now
	}
	if c.keep == 0 {
		c.keep = DefaultKeepPulses
	}
	c.signedCalls = signedCalls{c}
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'block'`).Scan(&c.block); err != nil {
		db.Close()
		return nil, fmt.Errorf("read dev chain block: %w", err)
	}
	var ms int64
	switch err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'timestamp_ms'`).Scan(&ms); {
	case err == nil:
		c.stamp = time.UnixMilli(ms)
	case !errors.Is(err, sql.ErrNoRows):
		db.Close()
		return nil, fmt.Errorf("read dev chain block timestamp: %w", err)
	}
	if err := c.loadBeacon(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the state database.
func (c *Chain) Close() error { return c.db.Close() }

// SudoAddress is the SS58 address of the dev chain's sudo key (//Alice).
func (c *Chain) SudoAddress() string { return c.sudo }

// Run produces a block every BlockTime until ctx ends. A block that cannot
// be produced is logged and tried again at the next tick: Run never gives up
// on the chain, and returns nil when ctx ends.
func (c *Chain) Run(ctx context.Context) error {
	t := time.NewTicker(c.blockTime)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := c.Step(ctx, 1); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				c.log.Error("block not produced; retrying at the next tick", "err", err)
			}
		}
	}
}

// Step produces n blocks at once (running any epochs they reach) and returns
// the new block number. Tests use it to drive the chain deterministically.
//
// A subnet whose epoch (or reveal) fails is skipped for that block (see
// runEpochs). Should the block's work fail as a whole, the block is still
// produced without it, and the failure logged; Step returns an error only
// when not even the block number can be advanced.
func (c *Chain) Step(ctx context.Context, n int) (uint64, error) {
	var block uint64
	for k := 0; k < n; k++ {
		stamp := c.now().Truncate(time.Millisecond)
		err := inTx(ctx, c.db, func(tx *sql.Tx) error {
			if err := advanceBlock(ctx, tx, stamp, &block); err != nil {
				return err
			}
			return c.produce(ctx, tx, block)
		})
		if err != nil && ctx.Err() == nil {
			c.log.Error("block work failed; the block is produced without it", "block", block, "err", err)
			err = inTx(ctx, c.db, func(tx *sql.Tx) error { return advanceBlock(ctx, tx, stamp, &block) })
		}
		if err != nil {
			return 0, err
		}
		c.mu.Lock()
		c.block, c.stamp = block, stamp
		close(c.newBlock)
		c.newBlock = make(chan struct{})
		c.mu.Unlock()
		c.log.Log(ctx, slog.LevelDebug-4, "block", "block", block)
	}
	return c.Block(ctx)
}

// Block returns the current block number.
func (c *Chain) Block(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.block, nil
}

// advanceBlock moves the chain to the next block, stamped at (stored in
// milliseconds, as substrate's Timestamp.Now), and sets *block to its number.
func advanceBlock(ctx context.Context, tx *sql.Tx, at time.Time, block *uint64) error {
	if err := tx.QueryRowContext(ctx, `UPDATE meta SET value = value + 1 WHERE key = 'block' RETURNING value`).Scan(block); err != nil {
		return fmt.Errorf("advance block: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('timestamp_ms', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, max(at.UnixMilli(), 0)); err != nil {
		return fmt.Errorf("stamp block %d: %w", *block, err)
	}
	return nil
}

// BlockTimestamp returns the current block and the time it was produced
// (chain.BlockClock). A chain that has produced no block since its state was
// created has no timestamp: the error wraps chain.ErrNotFound.
func (c *Chain) BlockTimestamp(ctx context.Context) (uint64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stamp.IsZero() {
		return c.block, time.Time{}, fmt.Errorf("timestamp of block %d: no block produced yet: %w", c.block, chain.ErrNotFound)
	}
	return c.block, c.stamp, nil
}

// WaitBlock blocks until the chain is past block after.
func (c *Chain) WaitBlock(ctx context.Context, after uint64) (uint64, error) {
	for {
		c.mu.Lock()
		b, ch := c.block, c.newBlock
		c.mu.Unlock()
		if b > after {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-ch:
		}
	}
}

// Params returns a subnet's settings.
func (c *Chain) Params(ctx context.Context, netuid uint16) (Params, error) {
	return loadParams(ctx, c.db, netuid)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func loadParams(ctx context.Context, q querier, netuid uint16) (Params, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT params FROM subnets WHERE netuid = ?`, netuid).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return Params{}, fmt.Errorf("%w: netuid %d", chain.ErrSubnetNotFound, netuid)
	}
	if err != nil {
		return Params{}, fmt.Errorf("read subnet %d: %w", netuid, err)
	}
	var p Params
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return Params{}, fmt.Errorf("decode subnet %d params: %w", netuid, err)
	}
	p = p.withDefaults()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM neurons WHERE netuid = ?`, netuid).Scan(&n); err != nil {
		return Params{}, fmt.Errorf("count subnet %d neurons: %w", netuid, err)
	}
	p.SubnetworkN = uint16(n)
	return p, nil
}

// Hyperparameters returns the subnet's parameters.
func (c *Chain) Hyperparameters(ctx context.Context, netuid uint16) (*chain.Hyperparameters, error) {
	p, err := loadParams(ctx, c.db, netuid)
	if err != nil {
		return nil, err
	}
	return &p.Hyperparameters, nil
}

const neuronColumns = `n.uid, n.netuid, n.hotkey, n.coldkey, n.registered_block, n.last_update, n.active,
	n.rank, n.trust, n.consensus, n.incentive, n.dividends, n.validator_trust, n.emission,
	n.validator_permit, n.pruning_score, n.axon,
	COALESCE((SELECT SUM(amount) FROM stakes s WHERE s.hotkey = n.hotkey), 0)`

func scanNeuron(sc interface{ Scan(...any) error }) (chain.Neuron, error) {
	var (
		nr                                     chain.Neuron
		rank, trust, cons, inc, div, vtrust, p uint16
		emission                               uint64
		axon                                   string
	)
	err := sc.Scan(&nr.UID, &nr.Netuid, &nr.Hotkey, &nr.Coldkey, &nr.BlockAtRegistered, &nr.LastUpdate, &nr.Active,
		&rank, &trust, &cons, &inc, &div, &vtrust, &emission, &nr.ValidatorPermit, &p, &axon, &nr.StakeRao)
	if err != nil {
		return nr, err
	}
	u := func(v uint16) float64 { return float64(v) / chain.U16Max }
	nr.Rank, nr.Trust, nr.Consensus, nr.Incentive, nr.Dividends, nr.ValidatorTrust = u(rank), u(trust), u(cons), u(inc), u(div), u(vtrust)
	nr.PruningScore = p
	nr.Emission = float64(emission) / RaoPerTAO
	nr.Stake = float64(nr.StakeRao) / RaoPerTAO
	nr.Axon = chain.AxonInfo{IP: "0.0.0.0"}
	if axon != "" {
		if err := json.Unmarshal([]byte(axon), &nr.Axon); err != nil {
			return nr, fmt.Errorf("decode axon of uid %d: %w", nr.UID, err)
		}
	}
	return nr, nil
}

// Metagraph returns every neuron of a subnet.
func (c *Chain) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	var mg *chain.Metagraph
	err := inTx(ctx, c.db, func(tx *sql.Tx) error {
		var err error
		mg, err = metagraph(ctx, tx, netuid)
		return err
	})
	return mg, err
}

func metagraph(ctx context.Context, q querier, netuid uint16) (*chain.Metagraph, error) {
	if _, err := loadParams(ctx, q, netuid); err != nil {
		return nil, err
	}
	mg := &chain.Metagraph{Netuid: netuid, Neurons: []chain.Neuron{}}
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'block'`).Scan(&mg.Block); err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+neuronColumns+` FROM neurons n WHERE n.netuid = ? ORDER BY n.uid`, netuid)
	if err != nil {
		return nil, fmt.Errorf("read neurons of subnet %d: %w", netuid, err)
	}
	defer rows.Close()
	for rows.Next() {
		nr, err := scanNeuron(rows)
		if err != nil {
			return nil, fmt.Errorf("read neurons of subnet %d: %w", netuid, err)
		}
		mg.Neurons = append(mg.Neurons, nr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read neurons of subnet %d: %w", netuid, err)
	}
	return mg, nil
}

// Neuron returns one neuron by uid.
func (c *Chain) Neuron(ctx context.Context, netuid, uid uint16) (*chain.Neuron, error) {
	if _, err := loadParams(ctx, c.db, netuid); err != nil {
		return nil, err
	}
	nr, err := scanNeuron(c.db.QueryRowContext(ctx, `SELECT `+neuronColumns+` FROM neurons n WHERE n.netuid = ? AND n.uid = ?`, netuid, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: uid %d on netuid %d", chain.ErrNotFound, uid, netuid)
	}
	if err != nil {
		return nil, fmt.Errorf("read uid %d on netuid %d: %w", uid, netuid, err)
	}
	return &nr, nil
}

// NeuronByHotkey returns the neuron a hotkey holds.
func (c *Chain) NeuronByHotkey(ctx context.Context, netuid uint16, hotkey string) (*chain.Neuron, error) {
	if _, err := loadParams(ctx, c.db, netuid); err != nil {
		return nil, err
	}
	nr, err := scanNeuron(c.db.QueryRowContext(ctx, `SELECT `+neuronColumns+` FROM neurons n WHERE n.netuid = ? AND n.hotkey = ?`, netuid, hotkey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s on netuid %d", chain.ErrNotRegistered, hotkey, netuid)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s on netuid %d: %w", hotkey, netuid, err)
	}
	return &nr, nil
}

// IsRegistered reports whether hotkey holds a uid on netuid.
func (c *Chain) IsRegistered(ctx context.Context, netuid uint16, hotkey string) (bool, error) {
	_, err := c.NeuronByHotkey(ctx, netuid, hotkey)
	if errors.Is(err, chain.ErrNotRegistered) {
		return false, nil
	}
	return err == nil, err
}

// Commitment reads the hotkey's commitment.
func (c *Chain) Commitment(ctx context.Context, netuid uint16, hotkey string) (*chain.Commitment, error) {
	cm := &chain.Commitment{Hotkey: hotkey}
	err := c.db.QueryRowContext(ctx, `SELECT block, data FROM commitments WHERE netuid = ? AND hotkey = ?`, netuid, hotkey).Scan(&cm.Block, &cm.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no commitment of %s on netuid %d", chain.ErrNotFound, hotkey, netuid)
	}
	if err != nil {
		return nil, fmt.Errorf("read commitment of %s on netuid %d: %w", hotkey, netuid, err)
	}
	return cm, nil
}

// Account is a key's balance and last used nonce.
type Account struct {
	Address    string `json:"address"`
	BalanceRao uint64 `json:"balance"`
	Nonce      uint64 `json:"nonce"`
	Exists     bool   `json:"exists"`
}

// Account returns the balance and nonce of address (zero values if unknown).
func (c *Chain) Account(ctx context.Context, address string) (Account, error) {
	a := Account{Address: address}
	err := c.db.QueryRowContext(ctx, `SELECT balance, nonce FROM accounts WHERE address = ?`, address).Scan(&a.BalanceRao, &a.Nonce)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("read account %s: %w", address, err)
	}
	a.Exists = true
	return a, nil
}

// Stake returns the total stake on hotkey (rao).
func (c *Chain) Stake(ctx context.Context, hotkey string) (uint64, error) {
	var s uint64
	err := c.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM stakes WHERE hotkey = ?`, hotkey).Scan(&s)
	if err != nil {
		return 0, fmt.Errorf("read stake of %s: %w", hotkey, err)
	}
	return s, nil
}

// Fund is the dev faucet: it credits rao to address, creating the account.
// One payment is at most MaxFaucetRao; what one account receives over the
// chain's life and what the faucet mints in all are capped (Config), and the
// chain's issuance stays within MaxIssuanceRao. A refused payment changes
// nothing.
func (c *Chain) Fund(ctx context.Context, address string, rao uint64) error {
	if _, err := wallet.PublicKeyFromSS58(address); err != nil {
		return fmt.Errorf("%w: address %s is not an SS58 address: %v", chain.ErrUnknownKey, address, err)
	}
	if rao == 0 || rao > MaxFaucetRao {
		return fmt.Errorf("%w: amount: a faucet payment of %d rao must be in 1..%d", ErrInvalidCall, rao, uint64(MaxFaucetRao))
	}
	return inTx(ctx, c.db, func(tx *sql.Tx) error {
		var balance, received uint64
		err := tx.QueryRowContext(ctx, `SELECT balance, faucet FROM accounts WHERE address = ?`, address).Scan(&balance, &received)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("dev chain state: account %s: %w", address, err)
		}
		after, err := addRao(received, rao, "faucet total of "+address)
		if err != nil {
			return err
		}
		if after > c.faucetAccountCap {
			return fmt.Errorf("%w: %s has received %s from the faucet; %s more would pass the per-account faucet cap of %s",
				ErrFaucetCap, address, tao(received), tao(rao), tao(c.faucetAccountCap))
		}
		is, err := loadIssuance(ctx, tx)
		if err != nil {
			return err
		}
		minted, err := addRao(is.MintedRao, rao, "faucet total")
		if err != nil {
			return err
		}
		if minted > c.faucetTotalCap {
			return fmt.Errorf("%w: the faucet has minted %s; %s more would pass its total cap of %s",
				ErrFaucetCap, tao(is.MintedRao), tao(rao), tao(c.faucetTotalCap))
		}
		if _, err := addRao(is.TotalRao(), rao, "chain issuance"); err != nil {
			return err
		}
		nb, err := addRao(balance, rao, "balance of "+address)
		if err != nil {
			return err
		}
		is.MintedRao = minted
		_, err = tx.ExecContext(ctx, `INSERT INTO accounts (address, balance, faucet) VALUES (?1, ?2, ?3)
			ON CONFLICT(address) DO UPDATE SET balance = ?2, faucet = ?3`, address, nb, after)
		if err != nil {
			return fmt.Errorf("dev chain state: fund %s: %w", address, err)
		}
		return storeIssuance(ctx, tx, is)
	})
}

// MaxFaucetRao bounds one faucet payment (1,000,000 TAO).
const MaxFaucetRao = 1_000_000 * RaoPerTAO
