package subtensor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
)

// Event is one System.Events record.
type Event struct {
	Phase          string // ApplyExtrinsic, Finalization, Initialization
	ExtrinsicIndex uint32 // for ApplyExtrinsic
	Pallet         string
	Name           string
	Fields         any // as metadata.Decode returns them
}

// DecodeEvents decodes a System.Events storage value through the metadata.
func DecodeEvents(m *metadata.Metadata, raw []byte) ([]Event, error) {
	_, e, err := m.Storage("System", "Events")
	if err != nil {
		return nil, err
	}
	v, err := m.DecodeAll(raw, e.Value)
	if err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("decode events: %w: %T", errUnexpected, v)
	}
	out := make([]Event, 0, len(list))
	for i, r := range list {
		rec, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("event %d: %w: %T", i, errUnexpected, r)
		}
		phase, ok1 := rec["phase"].(*metadata.VariantValue)
		outer, ok2 := rec["event"].(*metadata.VariantValue)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("event %d: %w: phase/event are not enums", i, errUnexpected)
		}
		ev := Event{Phase: phase.Name, Pallet: outer.Name}
		if phase.Name == "ApplyExtrinsic" {
			n, err := asU64(phase.Fields)
			if err != nil {
				return nil, fmt.Errorf("event %d phase: %w", i, err)
			}
			ev.ExtrinsicIndex = uint32(n)
		}
		inner, ok := outer.Fields.(*metadata.VariantValue)
		if !ok {
			return nil, fmt.Errorf("event %d: %w: %s event is %T", i, errUnexpected, outer.Name, outer.Fields)
		}
		ev.Name, ev.Fields = inner.Name, inner.Fields
		out = append(out, ev)
	}
	return out, nil
}

// extrinsicEvents finds xtHex in block and returns the events it emitted.
func (c *Client) extrinsicEvents(ctx context.Context, m *metadata.Metadata, block, xtHex string) ([]Event, error) {
	var blk struct {
		Block struct {
			Extrinsics []string `json:"extrinsics"`
		} `json:"block"`
	}
	if err := c.rpc.Call(ctx, &blk, "chain_getBlock", block); err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	idx := -1
	for i, x := range blk.Block.Extrinsics {
		if strings.EqualFold(strings.TrimPrefix(x, "0x"), strings.TrimPrefix(xtHex, "0x")) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, errors.New("the extrinsic is not in the block the node reported")
	}
	raw, err := c.Storage(ctx, metadata.StoragePrefix("System", "Events"), block)
	if err != nil {
		return nil, err
	}
	all, err := DecodeEvents(m, raw)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range all {
		if e.Phase == "ApplyExtrinsic" && e.ExtrinsicIndex == uint32(idx) {
			out = append(out, e)
		}
	}
	return out, nil
}

// DispatchError is a failed extrinsic's error, named through the metadata.
type DispatchError struct {
	Kind   string // Module, BadOrigin, Token, ...
	Pallet string // for Module errors
	Name   string // error variant name (Module) or sub-kind
	Docs   string
	kind   error // the chain package error it maps to, or nil
}

func (e *DispatchError) Error() string {
	s := "extrinsic failed: " + e.Kind
	if e.Pallet != "" {
		s = fmt.Sprintf("extrinsic failed: %s.%s", e.Pallet, e.Name)
	} else if e.Name != "" {
		s += "." + e.Name
	}
	if e.Docs != "" {
		s += " (" + e.Docs + ")"
	}
	return s
}

// Unwrap returns the chain package error the dispatch error maps to.
func (e *DispatchError) Unwrap() error { return e.kind }

// Outcome returns nil for ExtrinsicSuccess and a *DispatchError for ExtrinsicFailed.
func Outcome(m *metadata.Metadata, events []Event) error {
	for _, e := range events {
		if e.Pallet != "System" {
			continue
		}
		switch e.Name {
		case "ExtrinsicSuccess":
			return nil
		case "ExtrinsicFailed":
			de := e.Fields
			if mp, ok := de.(map[string]any); ok {
				de = mp["dispatch_error"]
			}
			return NameDispatchError(m, de)
		}
	}
	return errors.New("the block holds no ExtrinsicSuccess or ExtrinsicFailed event for the extrinsic")
}

// NameDispatchError turns a decoded DispatchError value into a *DispatchError.
func NameDispatchError(m *metadata.Metadata, v any) error {
	vv, ok := v.(*metadata.VariantValue)
	if !ok {
		return fmt.Errorf("extrinsic failed with an unreadable error (%T)", v)
	}
	de := &DispatchError{Kind: vv.Name}
	switch vv.Name {
	case "Module":
		f, ok := vv.Fields.(map[string]any)
		if !ok {
			return fmt.Errorf("extrinsic failed with an unreadable module error (%T)", vv.Fields)
		}
		idx, err1 := asU64(f["index"])
		eb, ok := f["error"].([]byte)
		if err1 != nil || !ok || len(eb) == 0 || idx > 255 {
			return fmt.Errorf("extrinsic failed with an unreadable module error %v", f)
		}
		pallet, variant, err := m.ModuleError(uint8(idx), eb[0])
		if err != nil {
			return fmt.Errorf("extrinsic failed with module error %d/%d: %w", idx, eb[0], err)
		}
		de.Pallet, de.Name = pallet, variant.Name
		de.Docs = strings.TrimSpace(strings.Join(variant.Docs, " "))
		de.kind = moduleErrorKind(variant.Name)
	case "Token", "Arithmetic", "Transactional":
		if sub, ok := vv.Fields.(*metadata.VariantValue); ok {
			de.Name = sub.Name
		}
		if vv.Name == "Token" {
			de.kind = chain.ErrInsufficientBalance
		}
	}
	return de
}

// moduleErrors maps subtensor and commitments pallet errors onto chain errors.
var moduleErrors = map[string]error{
	"SettingWeightsTooFast":            chain.ErrRateLimited,
	"ServingRateLimitExceeded":         chain.ErrRateLimited,
	"TxRateLimitExceeded":              chain.ErrRateLimited,
	"NetworkTxRateLimitExceeded":       chain.ErrRateLimited,
	"CommitmentSetRateLimitExceeded":   chain.ErrRateLimited,
	"SpaceLimitExceeded":               chain.ErrRateLimited,
	"TooManyRegistrationsThisBlock":    chain.ErrRegistrationClosed,
	"TooManyRegistrationsThisInterval": chain.ErrRegistrationClosed,
	"SubNetRegistrationDisabled":       chain.ErrRegistrationClosed,
	"NoNeuronIdAvailable":              chain.ErrRegistrationClosed,
	"HotKeyNotRegisteredInSubNet":      chain.ErrNotRegistered,
	"HotKeyNotRegisteredInNetwork":     chain.ErrNotRegistered,
	"AccountNotAllowedCommit":          chain.ErrNotRegistered,
	"HotKeyAlreadyRegisteredInSubNet":  chain.ErrAlreadyRegistered,
	"WeightVecLengthIsLow":             chain.ErrInvalidWeights,
	"WeightVecNotEqualSize":            chain.ErrInvalidWeights,
	"UidVecContainInvalidOne":          chain.ErrInvalidWeights,
	"UidsLengthExceedUidsInSubNet":     chain.ErrInvalidWeights,
	"DuplicateUids":                    chain.ErrInvalidWeights,
	"InvalidUid":                       chain.ErrInvalidWeights,
	"MaxWeightExceeded":                chain.ErrInvalidWeights,
	"IncorrectWeightVersionKey":        chain.ErrVersionKey,
	"NeuronNoValidatorPermit":          chain.ErrNoValidatorPermit,
	"SubNetworkDoesNotExist":           chain.ErrSubnetNotFound,
	"SubnetNotExists":                  chain.ErrSubnetNotFound,
	"MechanismDoesNotExist":            chain.ErrSubnetNotFound,
	"CommitRevealEnabled":              chain.ErrCommitRevealEnabled,
	"CommitRevealDisabled":             chain.ErrCommitRevealDisabled,
	"IncorrectCommitRevealVersion":     chain.ErrIncorrectCommitRevealVersion,
	"TooManyUnrevealedCommits":         chain.ErrTooManyUnrevealedCommits,
	"CommittingWeightsTooFast":         chain.ErrRateLimited,
	"InvalidRevealRound":               chain.ErrInvalidRevealRound,
	"NotEnoughBalanceToStake":          chain.ErrInsufficientBalance,
	"NotEnoughBalanceToPaySwapHotKey":  chain.ErrInsufficientBalance,
	"BalanceWithdrawalError":           chain.ErrInsufficientBalance,
	"NonAssociatedColdKey":             chain.ErrUnknownKey,
	"HotKeyAccountNotExists":           chain.ErrUnknownKey,
}

func moduleErrorKind(name string) error {
	if e, ok := moduleErrors[name]; ok {
		return e
	}
	switch {
	case strings.Contains(name, "RateLimit"):
		return chain.ErrRateLimited
	case strings.Contains(name, "NotRegistered"):
		return chain.ErrNotRegistered
	}
	return nil
}

// VariantRaw is the Data::RawN value holding b (len(b) <= 128).
func VariantRaw(b []byte) *metadata.VariantValue {
	return &metadata.VariantValue{Name: fmt.Sprintf("Raw%d", len(b)), Fields: b}
}
