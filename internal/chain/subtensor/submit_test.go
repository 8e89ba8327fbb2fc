package subtensor

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
	"github.com/sn27/compute/internal/wallet"
)

// fakeNode answers the write path on top of the metagraph recording: the head is the
// recorded block 6,852,690, runtime spec 343; submitted extrinsics land in a block whose
// events are built from the metadata (success, or failure with errName).
type fakeNode struct {
	mu      sync.Mutex
	m       *metadata.Metadata
	xts     []string
	errName string
	// store is synthetic storage (hex key without 0x -> hex value), standing in
	// for items the finney recordings lack; reads of other keys find nothing.
	store map[string]string
}

func (f *fakeNode) get(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.store[strings.ToLower(strings.TrimPrefix(key, "0x"))]
	return v, ok
}

const headHash = "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"
const inclusionHash = "0x1111111111111111111111111111111111111111111111111111111111111111"

func (f *fakeNode) install(t *testing.T, srv *replay.Server) {
	srv.Handle("chain_getFinalizedHead", func(*replay.Call) (any, error) { return headHash, nil })
	if err := srv.AnyParamsFromRecording("state_getRuntimeVersion"); err != nil {
		t.Fatal(err)
	}
	srv.Handle("chain_getBlockHash", func(c *replay.Call) (any, error) {
		if string(c.Params[0]) == "0" {
			return "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03", nil
		}
		return headHash, nil
	})
	srv.Handle("system_accountNextIndex", func(*replay.Call) (any, error) { return 7, nil })
	srv.Handle("author_submitAndWatchExtrinsic", func(c *replay.Call) (any, error) {
		var xt string
		_ = json.Unmarshal(c.Params[0], &xt)
		f.mu.Lock()
		f.xts = append(f.xts, xt)
		f.mu.Unlock()
		c.Notify("author_extrinsicUpdate", "sub1", "ready")
		c.Notify("author_extrinsicUpdate", "sub1", map[string]any{"inBlock": inclusionHash})
		return "sub1", nil
	})
	srv.Handle("state_queryStorageAt", func(c *replay.Call) (any, error) {
		var keys []string
		_ = json.Unmarshal(c.Params[0], &keys)
		changes := [][2]any{}
		for _, k := range keys {
			if v, ok := f.get(k); ok {
				changes = append(changes, [2]any{k, v})
			}
		}
		return []any{map[string]any{"block": headHash, "changes": changes}}, nil
	})
	srv.Handle("state_getKeysPaged", func(c *replay.Call) (any, error) {
		var prefix string
		_ = json.Unmarshal(c.Params[0], &prefix)
		prefix = strings.ToLower(strings.TrimPrefix(prefix, "0x"))
		f.mu.Lock()
		defer f.mu.Unlock()
		keys := []string{}
		for k := range f.store {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, "0x"+k)
			}
		}
		sort.Strings(keys)
		return keys, nil
	})
	srv.Handle("chain_getHeader", func(c *replay.Call) (any, error) {
		if len(c.Params) > 0 && strings.Contains(string(c.Params[0]), strings.TrimPrefix(inclusionHash, "0x")) {
			return map[string]any{"number": "0x689053", "parentHash": headHash}, nil
		}
		return map[string]any{"number": "0x689052", "parentHash": headHash}, nil
	})
	srv.Handle("author_unwatchExtrinsic", func(*replay.Call) (any, error) { return true, nil })
	srv.Handle("chain_getBlock", func(*replay.Call) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return map[string]any{"block": map[string]any{"extrinsics": []string{"0x0400", f.xts[len(f.xts)-1]}}}, nil
	})
	srv.Handle("state_getStorage", func(c *replay.Call) (any, error) {
		var key string
		_ = json.Unmarshal(c.Params[0], &key)
		if strings.TrimPrefix(key, "0x") == hex.EncodeToString(metadata.StoragePrefix("System", "Events")) {
			return f.events(t), nil
		}
		if v, ok := f.get(key); ok {
			return v, nil
		}
		if strings.HasPrefix(strings.TrimPrefix(key, "0x"), hex.EncodeToString(metadata.StoragePrefix("SubtensorModule", "Uids"))) {
			if len(f.xts) == 0 {
				return nil, nil
			}
			return "0x2a00", nil // uid 42 once registered
		}
		return nil, nil
	})
}

func (f *fakeNode) events(t *testing.T) string {
	_, e, _ := f.m.Storage("System", "Events")
	info := map[string]any{"weight": map[string]any{"ref_time": uint64(1), "proof_size": uint64(0)}, "class": "Normal", "pays_fee": "Yes"}
	ev := &metadata.VariantValue{Name: "ExtrinsicSuccess", Fields: info}
	if f.errName != "" {
		p, _ := f.m.Pallet("SubtensorModule")
		et, _ := f.m.Type(p.ErrorType)
		v, _ := et.VariantByName(f.errName)
		ev = &metadata.VariantValue{Name: "ExtrinsicFailed", Fields: map[string]any{
			"dispatch_error": &metadata.VariantValue{Name: "Module", Fields: map[string]any{"index": 7, "error": []byte{v.Index, 0, 0, 0}}},
			"dispatch_info":  info}}
	}
	rec := func(i uint32, ev *metadata.VariantValue) map[string]any {
		return map[string]any{"phase": &metadata.VariantValue{Name: "ApplyExtrinsic", Fields: i},
			"event": &metadata.VariantValue{Name: "System", Fields: ev}, "topics": []any{}}
	}
	raw, err := f.m.Encode(nil, e.Value, []any{
		rec(0, &metadata.VariantValue{Name: "ExtrinsicSuccess", Fields: info}),
		rec(1, ev),
	})
	if err != nil {
		t.Error(err)
	}
	return "0x" + hex.EncodeToString(raw)
}

func TestSubmitFlow(t *testing.T) {
	m := loadV14(t)
	kp := alice(t)
	hot, _ := wallet.FromURI("//Alice//hot")
	for _, tc := range []struct {
		name    string
		errName string
		run     func(c *Client) error
		pallet  string
		call    string
		want    error
	}{
		{"set_weights", "", func(c *Client) error {
			return c.SetWeights(ctx10(t), 1, kp, []uint16{0, 5}, []uint16{65535, 100}, 142)
		}, "SubtensorModule", "set_weights", nil},
		{"set_weights_rate_limited", "SettingWeightsTooFast", func(c *Client) error {
			return c.SetWeights(ctx10(t), 1, kp, []uint16{0}, []uint16{65535}, 142)
		}, "SubtensorModule", "set_weights", chain.ErrRateLimited},
		{"serve_axon", "", func(c *Client) error {
			return c.ServeAxon(ctx10(t), 1, kp, chain.AxonInfo{IP: "10.1.2.3", Port: 8091, Version: 142})
		}, "SubtensorModule", "serve_axon", nil},
		{"commit", "", func(c *Client) error {
			return c.Commit(ctx10(t), 1, kp, []byte("bitmap"))
		}, "Commitments", "set_commitment", nil},
		{"register", "", func(c *Client) error {
			uid, err := c.Register(ctx10(t), 1, kp, hot.SS58Address())
			if err == nil && uid != 42 {
				t.Errorf("uid %d", uid)
			}
			return err
		}, "SubtensorModule", "burned_register", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := newReplayClient(t, "metagraph")
			f := &fakeNode{m: m, errName: tc.errName}
			f.install(t, srv)
			err := tc.run(c)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if len(f.xts) != 1 {
				t.Fatalf("%d extrinsics submitted", len(f.xts))
			}
			raw, _ := decodeHex(f.xts[0])
			dx, err := DecodeExtrinsic(m, raw)
			if err != nil {
				t.Fatal(err)
			}
			if dx.Pallet != tc.pallet || dx.Call != tc.call || dx.Signer != kp.PublicKey() {
				t.Fatalf("submitted %s.%s", dx.Pallet, dx.Call)
			}
			// era 0x0526 (block 6852690, period 128), nonce 7 (compact 0x1c), tip 0, metadata hash off
			if hex.EncodeToString(dx.Extra) != "26051c0000" {
				t.Fatalf("extra %x", dx.Extra)
			}
		})
	}
}

func TestPoolErrors(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want error
	}{
		{"node error 1010: Invalid Transaction: Transaction has a bad signature", chain.ErrBadSignature},
		{"node error 1010: Invalid Transaction: Transaction is outdated", chain.ErrReplay},
		{"node error 1014: Priority is too low: (140 vs 140)", chain.ErrReplay},
		{"node error 1010: Invalid Transaction: Inability to pay some fees (e.g. account balance too low)", chain.ErrInsufficientBalance},
		{"node error 1010: Invalid Transaction: Custom error: 6", chain.ErrRateLimited},
		{"node error 1010: Invalid Transaction: Custom error: 10", chain.ErrNotRegistered},
		{"node error 1010: Invalid Transaction: Custom error: 12", chain.ErrRateLimited},
		{"node error 1010: Invalid Transaction: Custom error: 3", chain.ErrSubnetNotFound},
		{"node error 1010: Invalid Transaction: Custom error: 18", chain.ErrInvalidWeights},
		{"node error 1010: Invalid Transaction: Custom error: 15", chain.ErrInvalidRevealRound},
		{"node error 1010: Invalid Transaction: Custom error: 19", chain.ErrNotRegistered},
		{"node error 1010: Invalid Transaction: Custom error: 20", chain.ErrRateLimited},
	} {
		if err := mapPoolError(errors.New(tc.msg)); !errors.Is(err, tc.want) {
			t.Errorf("%q -> %v, want %v", tc.msg, err, tc.want)
		}
	}
	// A code without a chain error still names the rejection for the operator.
	if err := mapPoolError(errors.New("Invalid Transaction: Custom error: 13")); !strings.Contains(err.Error(), "InvalidPort") {
		t.Errorf("custom error 13 -> %v, want it named InvalidPort", err)
	}
}
