package devchain

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/wallet"
)

// Errors of the dev chain's own calls (the shared ones live in package chain).
var (
	ErrInvalidCall  = errors.New("devchain: invalid call")
	ErrNotOwner     = errors.New("devchain: signer does not own this subnet or hotkey")
	ErrSubnetExists = errors.New("devchain: subnet already exists")
)

// Call methods.
const (
	MethodRegister     = "register"      // coldkey-signed: RegisterArgs
	MethodServeAxon    = "serve_axon"    // hotkey-signed: ServeAxonArgs
	MethodSetWeights   = "set_weights"   // hotkey-signed: SetWeightsArgs
	MethodCommit       = "commit"        // hotkey-signed: CommitArgs
	MethodCreateSubnet = "create_subnet" // any funded key or sudo: SubnetArgs
	MethodSetParams    = "set_params"    // subnet owner or sudo: SubnetArgs
	MethodAddStake     = "add_stake"     // coldkey-signed: AddStakeArgs
	// MethodCommitTimelockedWeights is hotkey-signed: CommitTimelockedArgs.
	MethodCommitTimelockedWeights = "commit_timelocked_weights"
)

// MaxCommitBytes bounds one commitment (three 512-byte fields on subtensor, rounded).
const MaxCommitBytes = 1024

// commitSpacePerTempo is subtensor's MaxSpace: per tempo, commits may use at
// most this many bytes, each counted as at least commitMinSpace.
const (
	commitSpacePerTempo = 3100
	commitMinSpace      = 100
)

// Call is a signed state change. The signature covers SigningPayload.
type Call struct {
	Method    string          `json:"method"`
	Signer    string          `json:"signer"`
	Nonce     uint64          `json:"nonce"`
	Args      json.RawMessage `json:"args"`
	Signature string          `json:"signature"` // 0x-prefixed hex, 64 bytes
}

// SigningPayload is the exact byte string a call's signer signs.
func (c *Call) SigningPayload() []byte {
	var b bytes.Buffer
	b.WriteString("sn27-devchain/v1\n")
	b.WriteString(c.Method)
	b.WriteByte('\n')
	b.WriteString(c.Signer)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Nonce, 10))
	b.WriteByte('\n')
	b.Write(c.Args)
	return b.Bytes()
}

// SignCall builds and signs a call with the given nonce.
func SignCall(signer chain.Signer, method string, nonce uint64, args any) (*Call, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode %s arguments: %w", method, err)
	}
	c := &Call{Method: method, Signer: signer.SS58Address(), Nonce: nonce, Args: raw}
	sig, err := signer.Sign(c.SigningPayload())
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", method, err)
	}
	c.Signature = "0x" + hex.EncodeToString(sig)
	return c, nil
}

// CallResult is what a successful call returns.
type CallResult struct {
	// Block is the head the call was applied at; for a timelocked commit,
	// the next block, which includes it (see commit_timelocked_weights).
	Block uint64 `json:"block"`
	UID   uint16 `json:"uid,omitempty"` // register only
}

// RegisterArgs are burned_register's arguments.
type RegisterArgs struct {
	Netuid uint16 `json:"netuid"`
	Hotkey string `json:"hotkey"`
}

// ServeAxonArgs are serve_axon's arguments.
type ServeAxonArgs struct {
	Netuid   uint16 `json:"netuid"`
	Version  uint32 `json:"version"`
	IP       string `json:"ip"`
	Port     uint16 `json:"port"`
	IPType   uint8  `json:"ip_type"`
	Protocol uint8  `json:"protocol"`
}

// SetWeightsArgs are set_weights' arguments.
type SetWeightsArgs struct {
	Netuid     uint16   `json:"netuid"`
	UIDs       []uint16 `json:"uids"`
	Weights    []uint16 `json:"weights"`
	VersionKey uint64   `json:"version_key"`
}

// CommitArgs are set_commitment's arguments.
type CommitArgs struct {
	Netuid uint16 `json:"netuid"`
	Data   []byte `json:"data"`
}

// SubnetArgs create a subnet or replace its parameters.
type SubnetArgs struct {
	Netuid uint16  `json:"netuid"`
	Params *Params `json:"params,omitempty"` // DefaultParams when nil on create
}

// AddStakeArgs move balance of the signing coldkey into stake on hotkey.
type AddStakeArgs struct {
	Hotkey    string `json:"hotkey"`
	AmountRao uint64 `json:"amount"`
}

// Submit verifies and applies a signed call in one transaction. A refused call
// changes nothing, not even the signer's nonce.
func (c *Chain) Submit(ctx context.Context, call *Call) (CallResult, error) {
	if _, err := wallet.PublicKeyFromSS58(call.Signer); err != nil {
		return CallResult{}, fmt.Errorf("%w: signer %q is not an SS58 address", chain.ErrUnknownKey, call.Signer)
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(call.Signature, "0x"))
	if err != nil || len(sig) != 64 {
		return CallResult{}, fmt.Errorf("%w: signature: must be 64 bytes of hex", chain.ErrBadSignature)
	}
	if !wallet.VerifySS58(call.Signer, call.SigningPayload(), sig) {
		return CallResult{}, fmt.Errorf("%w: %s call not signed by %s", chain.ErrBadSignature, call.Method, call.Signer)
	}
	var res CallResult
	err = inTx(ctx, c.db, func(tx *sql.Tx) error {
		var balance, nonce uint64
		err := tx.QueryRowContext(ctx, `SELECT balance, nonce FROM accounts WHERE address = ?`, call.Signer).Scan(&balance, &nonce)
		switch {
		case errors.Is(err, sql.ErrNoRows) && call.Signer == c.sudo:
			if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (address) VALUES (?)`, call.Signer); err != nil {
				return fmt.Errorf("create sudo account: %w", err)
			}
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: %s has no account on this chain (fund a coldkey, register a hotkey)", chain.ErrUnknownKey, call.Signer)
		case err != nil:
			return fmt.Errorf("read account %s: %w", call.Signer, err)
		}
		if call.Nonce > math.MaxInt64 {
			return fmt.Errorf("%w: nonce: %d is beyond the chain's range (at most %d)", ErrInvalidCall, call.Nonce, int64(math.MaxInt64))
		}
		if call.Nonce <= nonce {
			return fmt.Errorf("%w: nonce %d of %s is not above %d", chain.ErrReplay, call.Nonce, call.Signer, nonce)
		}
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'block'`).Scan(&res.Block); err != nil {
			return fmt.Errorf("read block: %w", err)
		}
		s := &callState{ctx: ctx, tx: tx, c: c, signer: call.Signer, block: res.Block}
		if err := s.dispatch(call, &res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET nonce = ? WHERE address = ?`, call.Nonce, call.Signer); err != nil {
			return fmt.Errorf("update nonce: %w", err)
		}
		return nil
	})
	if err != nil {
		c.log.Debug("call refused", "method", call.Method, "signer", call.Signer, "err", err)
		return CallResult{}, err
	}
	c.log.Debug("call applied", "method", call.Method, "signer", call.Signer, "block", res.Block)
	return res, nil
}

type callState struct {
	ctx    context.Context
	tx     *sql.Tx
	c      *Chain
	signer string
	block  uint64
}

func (s *callState) dispatch(call *Call, res *CallResult) error {
	bad := func(err error) error {
		return fmt.Errorf("%w: %s: %v", ErrInvalidCall, call.Method, err)
	}
	switch call.Method {
	case MethodRegister:
		var a RegisterArgs
		if err := decodeStrict(call.Args, &a, "args"); err != nil {
			return bad(err)
		}
		uid, err := s.register(a)
		res.UID = uid
		return err
	case MethodServeAxon:
		var a ServeAxonArgs
		if err := decodeStrict(call.Args, &a, "args"); err != nil {
			return bad(err)
		}
		return s.serveAxon(a)
	case MethodSetWeights:
		var a SetWeightsArgs
		if err := decodeStrict(call.Args, &a, "args"); err != nil {
			return bad(err)
		}
		return s.setWeights(a)
	case MethodCommit:
		var a CommitArgs
		if err := decodeStrict(call.Args, &a, "args"); err != nil {
			return bad(err)
		}
		return s.commit(a)
	case MethodCreateSubnet, MethodSetParams:
		var a SubnetArgs
		if err := decodeStrict(call.Args, &a, "args"); err != nil {
			return bad(err)
		}
		if call.Method == MethodCreateSubnet {
			return s.createSubnet(a)
		}
		return s.setParams(a)
	case MethodAddStake:
		var a AddStakeArgs
		if err := decodeStrict(call.Args, &a, "args"); err != nil {
			return bad(err)
		}
		return s.addStake(a)
	case MethodCommitTimelockedWeights:
		a, err := DecodeCommitTimelockedArgs(call.Args)
		if err != nil {
			return err
		}
		block, err := s.commitTimelocked(a)
		if err == nil {
			res.Block = block
		}
		return err
	default:
		return fmt.Errorf("%w: unknown method %q", ErrInvalidCall, call.Method)
	}
}

func (s *callState) exec(query string, args ...any) error {
	if _, err := s.tx.ExecContext(s.ctx, query, args...); err != nil {
		return fmt.Errorf("dev chain state: %w", err)
	}
	return nil
}

func (s *callState) register(a RegisterArgs) (uint16, error) {
	p, err := loadParams(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return 0, err
	}
	if !p.RegistrationAllowed {
		return 0, fmt.Errorf("%w: registration is disabled on netuid %d", chain.ErrRegistrationClosed, a.Netuid)
	}
	if _, err := wallet.PublicKeyFromSS58(a.Hotkey); err != nil {
		return 0, fmt.Errorf("%w: args.hotkey %q is not an SS58 address", ErrInvalidCall, a.Hotkey)
	}
	var one int
	err = s.tx.QueryRowContext(s.ctx, `SELECT 1 FROM neurons WHERE netuid = ? AND hotkey = ?`, a.Netuid, a.Hotkey).Scan(&one)
	if err == nil {
		return 0, fmt.Errorf("%w: %s on netuid %d", chain.ErrAlreadyRegistered, a.Hotkey, a.Netuid)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("dev chain state: %w", err)
	}
	if err := s.claimHotkey(a.Hotkey); err != nil {
		return 0, err
	}
	l := newLedger(s.ctx, s.tx)
	balance, _, err := l.balance(s.signer)
	if err != nil {
		return 0, err
	}
	if balance < p.BurnRao {
		return 0, fmt.Errorf("%w: registration burns %s but %s holds %s", chain.ErrInsufficientBalance, tao(p.BurnRao), s.signer, tao(balance))
	}

	uid := p.SubnetworkN
	if p.SubnetworkN >= p.MaxAllowedUIDs {
		// Full: replace the lowest pruning score out of immunity, oldest first.
		var old string
		err := s.tx.QueryRowContext(s.ctx, `SELECT uid, hotkey FROM neurons
			WHERE netuid = ? AND ? - registered_block >= ?
			ORDER BY pruning_score ASC, registered_block ASC, uid ASC LIMIT 1`,
			a.Netuid, s.block, p.ImmunityPeriod).Scan(&uid, &old)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: netuid %d is full (%d uids) and every neuron is within its immunity period", chain.ErrRegistrationClosed, a.Netuid, p.SubnetworkN)
		}
		if err != nil {
			return 0, fmt.Errorf("dev chain state: %w", err)
		}
		for _, q := range []string{
			`DELETE FROM neurons WHERE netuid = ?1 AND uid = ?2`,
			`DELETE FROM weights WHERE netuid = ?1 AND uid = ?2`,
			`DELETE FROM bonds WHERE netuid = ?1 AND (uid = ?2 OR dest = ?2)`,
		} {
			if err := s.exec(q, a.Netuid, uid); err != nil {
				return 0, err
			}
		}
		if err := s.exec(`DELETE FROM commitments WHERE netuid = ? AND hotkey = ?`, a.Netuid, old); err != nil {
			return 0, err
		}
		s.c.log.Info("uid replaced", "netuid", a.Netuid, "uid", uid, "old_hotkey", old, "new_hotkey", a.Hotkey)
	}
	if err := s.exec(`INSERT INTO neurons (netuid, uid, hotkey, coldkey, registered_block) VALUES (?, ?, ?, ?, ?)`,
		a.Netuid, uid, a.Hotkey, s.signer, s.block); err != nil {
		return 0, err
	}
	if err := l.debit(s.signer, p.BurnRao, func(have uint64) error {
		return fmt.Errorf("%w: registration burns %s but %s holds %s", chain.ErrInsufficientBalance, tao(p.BurnRao), s.signer, tao(have))
	}); err != nil {
		return 0, err
	}
	if err := l.burn(p.BurnRao); err != nil {
		return 0, err
	}
	if err := s.exec(`INSERT INTO accounts (address) VALUES (?) ON CONFLICT(address) DO NOTHING`, a.Hotkey); err != nil {
		return 0, err
	}
	return uid, nil
}

// claimHotkey records the signer as the hotkey's owner, or refuses when
// another coldkey owns it.
func (s *callState) claimHotkey(hotkey string) error {
	var owner string
	err := s.tx.QueryRowContext(s.ctx, `SELECT coldkey FROM hotkey_owner WHERE hotkey = ?`, hotkey).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s.exec(`INSERT INTO hotkey_owner (hotkey, coldkey) VALUES (?, ?)`, hotkey, s.signer)
	case err != nil:
		return fmt.Errorf("dev chain state: %w", err)
	case owner != s.signer:
		return fmt.Errorf("%w: hotkey %s belongs to coldkey %s", ErrNotOwner, hotkey, owner)
	}
	return nil
}

// neuron returns the signer's uid and permit on netuid, or ErrNotRegistered.
func (s *callState) neuron(netuid uint16) (uid uint16, permit bool, lastUpdate, axonBlock uint64, err error) {
	err = s.tx.QueryRowContext(s.ctx, `SELECT uid, validator_permit, last_update, axon_block FROM neurons WHERE netuid = ? AND hotkey = ?`,
		netuid, s.signer).Scan(&uid, &permit, &lastUpdate, &axonBlock)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("%w: %s on netuid %d", chain.ErrNotRegistered, s.signer, netuid)
	} else if err != nil {
		err = fmt.Errorf("dev chain state: %w", err)
	}
	return
}

func (s *callState) serveAxon(a ServeAxonArgs) error {
	p, err := loadParams(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return err
	}
	uid, _, _, axonBlock, err := s.neuron(a.Netuid)
	if err != nil {
		return err
	}
	if axonBlock != 0 && since(s.block, axonBlock) < p.ServingRateLimit {
		return fmt.Errorf("%w: axon served at block %d, next allowed at block %d", chain.ErrRateLimited, axonBlock, axonBlock+p.ServingRateLimit)
	}
	ip, err := netip.ParseAddr(a.IP)
	if err != nil || ip.IsUnspecified() || ip.Zone() != "" {
		return fmt.Errorf("%w: args.ip %q is not a usable address", ErrInvalidCall, a.IP)
	}
	wantType := uint8(6)
	if ip.Is4() {
		wantType = 4
	}
	if a.IPType != wantType {
		return fmt.Errorf("%w: args.ip_type %d does not match args.ip %s (want %d)", ErrInvalidCall, a.IPType, a.IP, wantType)
	}
	if a.Port == 0 {
		return fmt.Errorf("%w: args.port must not be 0", ErrInvalidCall)
	}
	info := chain.AxonInfo{Block: s.block, Version: a.Version, IP: ip.String(), Port: a.Port, IPType: a.IPType, Protocol: a.Protocol}
	raw, err := json.Marshal(info)
	if err != nil {
		return err
	}
	// axon_block 0 means "never"; a serve at block 0 counts from block 1.
	return s.exec(`UPDATE neurons SET axon = ?, axon_block = ? WHERE netuid = ? AND uid = ?`, string(raw), max(s.block, 1), a.Netuid, uid)
}

func (s *callState) setWeights(a SetWeightsArgs) error {
	p, err := loadParams(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return err
	}
	if p.CommitRevealEnabled {
		return fmt.Errorf("%w: netuid %d (send a timelocked commit)", chain.ErrCommitRevealEnabled, a.Netuid)
	}
	return s.applyWeights(a, p)
}

// applyWeights checks and stores a weights row of the signer, for a plain
// set_weights or a revealed commit. As subtensor's, it checks the rate limit
// and updates last_update only when commit-reveal is off: with it on, the
// commit did both.
func (s *callState) applyWeights(a SetWeightsArgs, p Params) error {
	if len(a.UIDs) != len(a.Weights) {
		return fmt.Errorf("%w: %d uids but %d weights", chain.ErrInvalidWeights, len(a.UIDs), len(a.Weights))
	}
	uid, permit, lastUpdate, _, err := s.neuron(a.Netuid)
	if err != nil {
		return err
	}
	n := p.SubnetworkN
	if len(a.UIDs) > int(n) {
		return fmt.Errorf("%w: %d weights for %d uids", chain.ErrInvalidWeights, len(a.UIDs), n)
	}
	if p.WeightsVersionKey != 0 && a.VersionKey < p.WeightsVersionKey {
		return fmt.Errorf("%w: got %d, subnet requires at least %d", chain.ErrVersionKey, a.VersionKey, p.WeightsVersionKey)
	}
	if !p.CommitRevealEnabled && lastUpdate != 0 && since(s.block, lastUpdate) < p.WeightsRateLimit {
		return fmt.Errorf("%w: weights set at block %d, next allowed at block %d", chain.ErrRateLimited, lastUpdate, lastUpdate+p.WeightsRateLimit)
	}
	self := len(a.UIDs) == 1 && a.UIDs[0] == uid
	if !self && !permit {
		return fmt.Errorf("%w: uid %d on netuid %d", chain.ErrNoValidatorPermit, uid, a.Netuid)
	}
	seen := make(map[uint16]bool, len(a.UIDs))
	for _, d := range a.UIDs {
		if seen[d] {
			return fmt.Errorf("%w: uid %d appears twice", chain.ErrInvalidWeights, d)
		}
		seen[d] = true
		if d >= n {
			return fmt.Errorf("%w: uid %d out of range (subnet has %d)", chain.ErrInvalidWeights, d, n)
		}
	}
	if minW := min(n, p.MinAllowedWeights); !self && len(a.UIDs) < int(minW) {
		return fmt.Errorf("%w: %d weights, subnet requires at least %d", chain.ErrInvalidWeights, len(a.UIDs), minW)
	}
	var maxW, sumW uint64
	for _, w := range a.Weights {
		maxW = max(maxW, uint64(w))
		sumW += uint64(w)
	}
	if p.MaxWeightsLimit < chain.U16Max && sumW > 0 && maxW*chain.U16Max > uint64(p.MaxWeightsLimit)*sumW && !self {
		return fmt.Errorf("%w: largest weight exceeds the subnet's max weight limit %d/65535", chain.ErrInvalidWeights, p.MaxWeightsLimit)
	}
	if err := s.exec(`DELETE FROM weights WHERE netuid = ? AND uid = ?`, a.Netuid, uid); err != nil {
		return err
	}
	for i, d := range a.UIDs {
		if a.Weights[i] == 0 {
			continue
		}
		// Stored max-upscaled to u16, as subtensor does.
		v := math.Round(float64(a.Weights[i]) / float64(maxW) * chain.U16Max)
		if err := s.exec(`INSERT INTO weights (netuid, uid, dest, value) VALUES (?, ?, ?, ?)`, a.Netuid, uid, d, int64(v)); err != nil {
			return err
		}
	}
	if p.CommitRevealEnabled {
		return nil
	}
	return s.exec(`UPDATE neurons SET last_update = ? WHERE netuid = ? AND uid = ?`, max(s.block, 1), a.Netuid, uid)
}

func (s *callState) commit(a CommitArgs) error {
	p, err := loadParams(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return err
	}
	if _, _, _, _, err := s.neuron(a.Netuid); err != nil {
		return err
	}
	if len(a.Data) > MaxCommitBytes {
		return fmt.Errorf("%w: args.data: commitment of %d bytes exceeds %d", ErrInvalidCall, len(a.Data), MaxCommitBytes)
	}
	var start, used uint64
	err = s.tx.QueryRowContext(s.ctx, `SELECT window_start, window_used FROM commitments WHERE netuid = ? AND hotkey = ?`, a.Netuid, s.signer).Scan(&start, &used)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dev chain state: %w", err)
	}
	if errors.Is(err, sql.ErrNoRows) || s.block-start >= uint64(p.Tempo) {
		start, used = s.block, 0
	}
	cost := uint64(max(len(a.Data), commitMinSpace))
	if used+cost > commitSpacePerTempo {
		return fmt.Errorf("%w: commitments used %d of %d bytes this tempo; wait until block %d", chain.ErrRateLimited, used, commitSpacePerTempo, start+uint64(p.Tempo))
	}
	data := a.Data
	if data == nil {
		data = []byte{}
	}
	return s.exec(`INSERT INTO commitments (netuid, hotkey, block, data, window_start, window_used) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(netuid, hotkey) DO UPDATE SET block = excluded.block, data = excluded.data,
		window_start = excluded.window_start, window_used = excluded.window_used`,
		a.Netuid, s.signer, s.block, data, start, used+cost)
}

func (s *callState) createSubnet(a SubnetArgs) error {
	if a.Netuid == 0 {
		return fmt.Errorf("%w: args.netuid: netuid 0 is the root network", ErrInvalidCall)
	}
	p := DefaultParams()
	if a.Params != nil {
		p = a.Params.withDefaults()
	}
	if err := p.validate(); err != nil {
		return fmt.Errorf("%w: args.params.%v", ErrInvalidCall, err)
	}
	var one int
	err := s.tx.QueryRowContext(s.ctx, `SELECT 1 FROM subnets WHERE netuid = ?`, a.Netuid).Scan(&one)
	if err == nil {
		return fmt.Errorf("%w: netuid %d", ErrSubnetExists, a.Netuid)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dev chain state: %w", err)
	}
	p.SubnetworkN = 0
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sched, err := json.Marshal(newSchedule(s.block, a.Netuid, p.Tempo))
	if err != nil {
		return err
	}
	s.c.log.Info("subnet created", "netuid", a.Netuid, "owner", s.signer, "tempo", p.Tempo, "commit_reveal", p.CommitRevealEnabled)
	return s.exec(`INSERT INTO subnets (netuid, owner, params, created_block, schedule) VALUES (?, ?, ?, ?, ?)`,
		a.Netuid, s.signer, string(raw), s.block, string(sched))
}

func (s *callState) setParams(a SubnetArgs) error {
	if a.Params == nil {
		return fmt.Errorf("%w: args.params is required", ErrInvalidCall)
	}
	p := a.Params.withDefaults()
	if err := p.validate(); err != nil {
		return fmt.Errorf("%w: args.params.%v", ErrInvalidCall, err)
	}
	var owner string
	err := s.tx.QueryRowContext(s.ctx, `SELECT owner FROM subnets WHERE netuid = ?`, a.Netuid).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: netuid %d", chain.ErrSubnetNotFound, a.Netuid)
	}
	if err != nil {
		return fmt.Errorf("dev chain state: %w", err)
	}
	if s.signer != owner && s.signer != s.c.sudo {
		return fmt.Errorf("%w: netuid %d is owned by %s", ErrNotOwner, a.Netuid, owner)
	}
	old, err := loadParams(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return err
	}
	if old.Tempo != p.Tempo {
		// A new tempo restarts the cycle from this block, as set_tempo does.
		sched, err := loadSchedule(s.ctx, s.tx, a.Netuid)
		if err != nil {
			return err
		}
		sched.LastEpochBlock = s.block
		rawSched, err := json.Marshal(sched)
		if err != nil {
			return err
		}
		if err := s.exec(`UPDATE subnets SET schedule = ? WHERE netuid = ?`, string(rawSched), a.Netuid); err != nil {
			return err
		}
	}
	p.SubnetworkN = 0
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.exec(`UPDATE subnets SET params = ? WHERE netuid = ?`, string(raw), a.Netuid)
}

func (s *callState) addStake(a AddStakeArgs) error {
	if _, err := wallet.PublicKeyFromSS58(a.Hotkey); err != nil {
		return fmt.Errorf("%w: args.hotkey %q is not an SS58 address", ErrInvalidCall, a.Hotkey)
	}
	if a.AmountRao == 0 {
		return fmt.Errorf("%w: args.amount must be above 0 rao", ErrInvalidCall)
	}
	l := newLedger(s.ctx, s.tx)
	insufficient := func(have uint64) error {
		return fmt.Errorf("%w: staking %s but %s holds %s", chain.ErrInsufficientBalance, tao(a.AmountRao), s.signer, tao(have))
	}
	balance, _, err := l.balance(s.signer)
	if err != nil {
		return err
	}
	if balance < a.AmountRao {
		return insufficient(balance)
	}
	var owner string
	err = s.tx.QueryRowContext(s.ctx, `SELECT coldkey FROM hotkey_owner WHERE hotkey = ?`, a.Hotkey).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		if err := s.claimHotkey(a.Hotkey); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("dev chain state: %w", err)
	}
	if err := l.debit(s.signer, a.AmountRao, insufficient); err != nil {
		return err
	}
	if err := s.exec(`INSERT INTO accounts (address) VALUES (?) ON CONFLICT(address) DO NOTHING`, a.Hotkey); err != nil {
		return err
	}
	return l.stake(a.Hotkey, s.signer, a.AmountRao)
}

// since returns block - past, or 0 when past is not behind block (a call at
// block 0 is recorded as block 1, since 0 means "never").
func since(block, past uint64) uint64 {
	if block < past {
		return 0
	}
	return block - past
}

func tao(rao uint64) string {
	return strconv.FormatFloat(float64(rao)/RaoPerTAO, 'f', -1, 64) + " TAO"
}
