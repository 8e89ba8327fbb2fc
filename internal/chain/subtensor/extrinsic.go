package subtensor

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/scale"
)

// Call is a runtime call: pallet and call names plus arguments by field name.
type Call struct {
	Pallet string
	Name   string
	Args   map[string]any
}

// EncodeCall encodes call through the metadata: pallet index, call index, then each field.
func EncodeCall(m *metadata.Metadata, call Call) ([]byte, error) {
	p, v, err := m.Call(call.Pallet, call.Name)
	if err != nil {
		return nil, err
	}
	out := []byte{p.Index, v.Index}
	for _, f := range v.Fields {
		a, ok := call.Args[f.Name]
		if !ok {
			return nil, fmt.Errorf("call %s.%s: missing argument %q", call.Pallet, call.Name, f.Name)
		}
		if out, err = m.Encode(out, f.Type, a); err != nil {
			return nil, fmt.Errorf("call %s.%s argument %s: %w", call.Pallet, call.Name, f.Name, err)
		}
	}
	if len(call.Args) != len(v.Fields) {
		return nil, fmt.Errorf("call %s.%s takes %d arguments, got %d", call.Pallet, call.Name, len(v.Fields), len(call.Args))
	}
	return out, nil
}

// MortalEra encodes a mortal era of period blocks (rounded to a power of two in 4..65536)
// starting at block current; it returns the two era bytes and the era's birth block.
func MortalEra(current, period uint64) ([]byte, uint64) {
	period = min(max(period, 4), 1<<16)
	if period&(period-1) != 0 {
		period = 1 << bits.Len64(period) // next power of two
		period = min(period, 1<<16)
	}
	phase := current % period
	quant := max(period>>12, 1)
	qphase := phase / quant * quant
	low := min(max(bits.TrailingZeros64(period)-1, 1), 15)
	enc := uint16(low) | uint16(qphase/quant)<<4
	birth := (max(current, qphase)-qphase)/period*period + qphase
	return scale.AppendU16(nil, enc), birth
}

// TxParams are the chain values an extrinsic commits to.
type TxParams struct {
	SpecVersion uint32
	TxVersion   uint32
	Genesis     [32]byte
	EraBlock    [32]byte // hash of the era's birth block (genesis for immortal)
	Era         []byte   // encoded era: 0x00 for immortal
	Nonce       uint64
	Tip         uint64
}

// Extensions encodes the signed extensions the metadata declares: the explicit part
// (sent in the extrinsic) and the implicit part (signed only). Extensions the client does
// not know must be zero-sized, otherwise it refuses to build the transaction.
//
// Filled here: CheckMortality (era; birth block hash), CheckNonce (compact nonce),
// ChargeTransactionPayment and spec 425's ChargeTransactionPaymentWrapper (compact tip),
// CheckMetadataHash (mode Disabled; implicit None), CheckSpecVersion, CheckTxVersion and
// CheckGenesis (implicit only). Zero-sized in both parts, so nothing to fill:
// CheckNonZeroSender, CheckWeight, SubtensorTransactionExtension, DrandPriority, and
// spec 393's SudoTransactionExtension and CheckShieldedTxValidity.
func Extensions(m *metadata.Metadata, p TxParams) (extra, implicit []byte, err error) {
	for _, ext := range m.Extensions {
		var xv, iv any
		switch ext.Identifier {
		case "CheckMortality", "CheckEra":
			extra = append(extra, p.Era...)
			implicit = append(implicit, p.EraBlock[:]...)
			continue
		case "CheckNonce":
			xv = p.Nonce
		case "ChargeTransactionPayment", "ChargeTransactionPaymentWrapper":
			xv = p.Tip
		case "CheckMetadataHash":
			xv = map[string]any{"mode": "Disabled"}
			iv = &metadata.VariantValue{Name: "None"}
		case "CheckSpecVersion":
			iv = uint64(p.SpecVersion)
		case "CheckTxVersion":
			iv = uint64(p.TxVersion)
		case "CheckGenesis":
			iv = p.Genesis
		}
		if extra, err = encodeExt(m, extra, ext.Type, xv); err != nil {
			return nil, nil, fmt.Errorf("signed extension %s: %w", ext.Identifier, err)
		}
		if implicit, err = encodeExt(m, implicit, ext.AdditionalSigned, iv); err != nil {
			return nil, nil, fmt.Errorf("signed extension %s (implicit part): %w", ext.Identifier, err)
		}
	}
	return extra, implicit, nil
}

// encodeExt encodes v as type id; a nil v is only accepted for zero-sized types.
func encodeExt(m *metadata.Metadata, b []byte, id uint32, v any) ([]byte, error) {
	if v != nil {
		return m.Encode(b, id, v)
	}
	if !zeroSized(m, id, 0) {
		name := fmt.Sprintf("type %d", id)
		if t, err := m.Type(id); err == nil && t.Name() != "" {
			name = t.Name()
		}
		return nil, fmt.Errorf("it carries data (%s) this client does not know how to fill; refusing to sign a transaction the node would reject", name)
	}
	return b, nil
}

func zeroSized(m *metadata.Metadata, id uint32, depth int) bool {
	t, err := m.Type(id)
	if err != nil || depth > 16 {
		return false
	}
	switch t.Kind {
	case metadata.KindComposite:
		for _, f := range t.Fields {
			if !zeroSized(m, f.Type, depth+1) {
				return false
			}
		}
		return true
	case metadata.KindTuple:
		for _, e := range t.Tuple {
			if !zeroSized(m, e, depth+1) {
				return false
			}
		}
		return true
	case metadata.KindArray:
		return t.Len == 0 || zeroSized(m, t.Elem, depth+1)
	}
	return false
}

// SigningPayload is call ++ extra ++ implicit, blake2-256 hashed when longer than 256 bytes.
func SigningPayload(call, extra, implicit []byte) []byte {
	p := append(append(append([]byte(nil), call...), extra...), implicit...)
	if len(p) > 256 {
		return metadata.Blake2(p, 32)
	}
	return p
}

// BuildSigned signs call and returns the encoded v4 extrinsic (with its length prefix).
func BuildSigned(m *metadata.Metadata, call []byte, p TxParams, signer chain.Signer) ([]byte, error) {
	extra, implicit, err := Extensions(m, p)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(SigningPayload(call, extra, implicit))
	if err != nil {
		return nil, fmt.Errorf("sign extrinsic with %s: %w", signer.SS58Address(), err)
	}
	if len(sig) != 64 {
		return nil, fmt.Errorf("sign extrinsic: signature is %d bytes, want 64", len(sig))
	}
	pub := signer.PublicKey()
	body := []byte{0x84, 0x00} // signed, format 4; MultiAddress::Id
	body = append(body, pub[:]...)
	body = append(body, 0x01) // MultiSignature::Sr25519
	body = append(body, sig...)
	body = append(body, extra...)
	body = append(body, call...)
	return append(scale.AppendCompact(nil, uint64(len(body))), body...), nil
}

// DecodedExtrinsic is a signed extrinsic read back through the metadata.
type DecodedExtrinsic struct {
	Signer    [32]byte
	Signature []byte
	Extra     []byte
	Pallet    string
	Call      string
	Args      map[string]any
}

// DecodeExtrinsic parses a signed v4 extrinsic built for m, consuming every byte.
func DecodeExtrinsic(m *metadata.Metadata, b []byte) (*DecodedExtrinsic, error) {
	d := scale.NewDecoder(b)
	n := d.Len(1)
	if d.Err() == nil && n != d.Remaining() {
		return nil, fmt.Errorf("extrinsic length prefix %d, but %d bytes follow", n, d.Remaining())
	}
	if v := d.U8(); d.Err() == nil && v != 0x84 {
		return nil, fmt.Errorf("extrinsic version byte %#x, want 0x84 (signed v4)", v)
	}
	if a := d.U8(); d.Err() == nil && a != 0 {
		return nil, fmt.Errorf("extrinsic address kind %d, want 0 (Id)", a)
	}
	out := &DecodedExtrinsic{Signer: d.Array32()}
	if s := d.U8(); d.Err() == nil && s != 1 {
		return nil, fmt.Errorf("signature kind %d, want 1 (Sr25519)", s)
	}
	out.Signature = d.Bytes(64)
	start := d.Offset()
	for _, ext := range m.Extensions {
		m.Decode(d, ext.Type)
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("decode extrinsic extensions: %w", err)
	}
	out.Extra = append([]byte(nil), b[start:d.Offset()]...)
	pi, ci := d.U8(), d.U8()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("decode extrinsic call: %w", err)
	}
	p, ok := m.PalletByIndex(pi)
	if !ok || !p.HasCalls {
		return nil, fmt.Errorf("extrinsic calls unknown pallet %d", pi)
	}
	t, _ := m.Type(p.CallType)
	v, ok := t.VariantByIndex(ci)
	if !ok {
		return nil, fmt.Errorf("extrinsic calls unknown call %d of pallet %s", ci, p.Name)
	}
	out.Pallet, out.Call, out.Args = p.Name, v.Name, map[string]any{}
	for _, f := range v.Fields {
		out.Args[f.Name] = m.Decode(d, f.Type)
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode extrinsic %s.%s: %w", p.Name, v.Name, err)
	}
	return out, nil
}

// submit builds, signs and submits call for signer, waits for inclusion and returns the
// block hash and the events of the extrinsic; dispatch failures come back as errors.
func (c *Client) submit(ctx context.Context, signer chain.Signer, call Call) (string, []Event, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	log := c.log.With("call", call.Pallet+"."+call.Name, "signer", signer.SS58Address())

	var finHash string
	if err := c.rpc.Call(ctx, &finHash, "chain_getFinalizedHead"); err != nil {
		return "", nil, fmt.Errorf("%s.%s: read finalized head: %w", call.Pallet, call.Name, err)
	}
	num, err := c.blockNumber(ctx, finHash)
	if err != nil {
		return "", nil, err
	}
	m, rv, err := c.Metadata(ctx, finHash)
	if err != nil {
		return "", nil, err
	}
	callBytes, err := EncodeCall(m, call)
	if err != nil {
		return "", nil, err
	}
	gen, err := c.genesisHash(ctx)
	if err != nil {
		return "", nil, err
	}
	era, birth := MortalEra(num, c.cfg.EraPeriod)
	birthHash := finHash
	if birth != num {
		if birthHash, err = c.BlockHash(ctx, birth); err != nil {
			return "", nil, err
		}
	}
	var nonce uint64
	if err := c.rpc.Call(ctx, &nonce, "system_accountNextIndex", signer.SS58Address()); err != nil {
		return "", nil, fmt.Errorf("%s.%s: read nonce of %s: %w", call.Pallet, call.Name, signer.SS58Address(), err)
	}
	p := TxParams{SpecVersion: rv.SpecVersion, TxVersion: rv.TransactionVersion, Era: era, Nonce: nonce}
	if err := hash32(gen, &p.Genesis); err != nil {
		return "", nil, err
	}
	if err := hash32(birthHash, &p.EraBlock); err != nil {
		return "", nil, err
	}
	xt, err := BuildSigned(m, callBytes, p, signer)
	if err != nil {
		return "", nil, err
	}
	xtHex := encodeHex(xt)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.InclusionTimeout)
	defer cancel()
	sub, err := c.rpc.Subscribe(ctx, "author_submitAndWatchExtrinsic", "author_unwatchExtrinsic", xtHex)
	if err != nil {
		return "", nil, fmt.Errorf("%s.%s: submit: %w", call.Pallet, call.Name, mapPoolError(err))
	}
	defer func() { _ = sub.Unsubscribe(context.WithoutCancel(ctx)) }()
	log.Debug("extrinsic submitted", "nonce", nonce, "era_birth", birth)
	var block string
	for block == "" {
		msg, err := sub.Next(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("%s.%s: waiting for inclusion: %w", call.Pallet, call.Name, err)
		}
		status, hash, err := parseStatus(msg)
		if err != nil {
			return "", nil, fmt.Errorf("%s.%s: %w", call.Pallet, call.Name, err)
		}
		log.Debug("extrinsic status", "status", status)
		switch status {
		case "inBlock", "finalized":
			block = hash
		case "dropped", "invalid", "usurped", "finalityTimeout":
			return "", nil, fmt.Errorf("%s.%s: transaction %s by the node: %w", call.Pallet, call.Name, status, chain.ErrReplay)
		}
	}
	events, err := c.extrinsicEvents(ctx, m, block, xtHex)
	if err != nil {
		return block, nil, fmt.Errorf("%s.%s in block %s: %w", call.Pallet, call.Name, block, err)
	}
	if err := Outcome(m, events); err != nil {
		return block, events, fmt.Errorf("%s.%s: %w", call.Pallet, call.Name, err)
	}
	log.Info("extrinsic included", "block_hash", block)
	return block, events, nil
}

func hash32(s string, dst *[32]byte) error {
	b, err := decodeHex(s)
	if err != nil {
		return err
	}
	if len(b) != 32 {
		return fmt.Errorf("node returned a %d-byte block hash", len(b))
	}
	copy(dst[:], b)
	return nil
}

// parseStatus reads a transaction status notification: a plain string or {"kind": value}.
func parseStatus(msg json.RawMessage) (string, string, error) {
	var s string
	if json.Unmarshal(msg, &s) == nil {
		return s, "", nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(msg, &obj); err != nil || len(obj) != 1 {
		return "", "", fmt.Errorf("unreadable transaction status %s", msg)
	}
	for k, v := range obj {
		var h string
		_ = json.Unmarshal(v, &h)
		return k, h, nil
	}
	return "", "", nil
}

// mapPoolError maps a transaction-pool rejection onto the chain package's errors.
func mapPoolError(err error) error {
	msg := strings.ToLower(err.Error())
	var target error
	switch {
	case strings.Contains(msg, "bad signature"):
		target = chain.ErrBadSignature
	case strings.Contains(msg, "outdated"), strings.Contains(msg, "stale"), strings.Contains(msg, "priority is too low"),
		strings.Contains(msg, "already imported"), strings.Contains(msg, "ancientbirthblock"), strings.Contains(msg, "ancient birth"):
		target = chain.ErrReplay
	case strings.Contains(msg, "inability to pay"), strings.Contains(msg, "payment"):
		target = chain.ErrInsufficientBalance
	case strings.Contains(msg, "rate limit"):
		target = chain.ErrRateLimited
	default:
		// subtensor's transaction extension rejects with numbered custom errors
		if i := strings.Index(msg, "custom error: "); i >= 0 {
			var code int
			if _, serr := fmt.Sscanf(msg[i+len("custom error: "):], "%d", &code); serr == nil {
				name, t := customError(code)
				switch {
				case t != nil:
					return fmt.Errorf("%w (%s): %w", t, name, err)
				case name != "":
					return fmt.Errorf("chain refused the transaction: %s: %w", name, err)
				}
			}
		}
	}
	if target == nil {
		return err
	}
	return fmt.Errorf("%w: %w", target, err)
}

// customError names subtensor's CustomTransactionError code (common/src/
// transaction_error.rs) and maps it onto a chain error where one fits; an
// unknown code gives "" and nil.
func customError(code int) (string, error) {
	switch code {
	case 0:
		return "ColdkeyInSwapSchedule", nil
	case 1:
		return "StakeAmountTooLow", chain.ErrInsufficientBalance
	case 2:
		return "BalanceTooLow", chain.ErrInsufficientBalance
	case 3:
		return "SubnetNotExists", chain.ErrSubnetNotFound
	case 4:
		return "HotkeyAccountDoesntExist", chain.ErrUnknownKey
	case 5:
		return "NotEnoughStakeToWithdraw", chain.ErrInsufficientBalance
	case 6:
		return "RateLimitExceeded", chain.ErrRateLimited
	case 7:
		return "InsufficientLiquidity", nil
	case 8:
		return "SlippageTooHigh", nil
	case 9:
		return "TransferDisallowed", nil
	case 10:
		return "HotKeyNotRegisteredInNetwork", chain.ErrNotRegistered
	case 11:
		return "InvalidIpAddress", nil
	case 12:
		return "ServingRateLimitExceeded", chain.ErrRateLimited
	case 13:
		return "InvalidPort", nil
	case 14:
		return "ZeroMaxAmount", nil
	case 15:
		return "InvalidRevealRound", chain.ErrInvalidRevealRound
	case 16:
		return "CommitNotFound", chain.ErrNotFound
	case 17:
		return "CommitBlockNotInRevealRange", nil
	case 18:
		return "InputLengthsUnequal", chain.ErrInvalidWeights
	case 19:
		// the transaction extension's answer to HotKeyNotRegisteredInSubNet
		return "UidNotFound", chain.ErrNotRegistered
	case 20:
		return "EvmKeyAssociateRateLimitExceeded", chain.ErrRateLimited
	case 21:
		return "ColdkeySwapDisputed", nil
	case 22:
		return "InvalidRealAccount", nil
	case 23:
		return "FailedShieldedTxParsing", nil
	case 24:
		return "InvalidShieldedTxPubKeyHash", nil
	case 25:
		return "NonAssociatedColdKey", chain.ErrUnknownKey
	case 26:
		return "DelegateTakeTooLow", nil
	case 27:
		return "DelegateTakeTooHigh", nil
	case 255:
		return "BadRequest", nil
	}
	return "", nil
}
