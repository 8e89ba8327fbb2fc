package subtensor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
	"github.com/sn27/compute/internal/wallet"
)

func loadV14(t testing.TB) *metadata.Metadata {
	t.Helper()
	raw, err := replay.MetadataV14()
	if err != nil {
		t.Fatal(err)
	}
	m, err := metadata.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func alice(t testing.TB) *wallet.Keypair {
	t.Helper()
	kp, err := wallet.FromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func testParams(t testing.TB) TxParams {
	t.Helper()
	era, birth := MortalEra(6852690, 128)
	if birth != 6852690 {
		t.Fatalf("era birth %d", birth)
	}
	p := TxParams{SpecVersion: 343, TxVersion: 1, Era: era, Nonce: 5}
	copy(p.Genesis[:], unhex(t, "2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03"))
	copy(p.EraBlock[:], unhex(t, "db13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"))
	return p
}

// TestSetWeightsBytes checks a set_weights extrinsic against bytes derived by hand.
func TestSetWeightsBytes(t *testing.T) {
	m := loadV14(t)
	call, err := EncodeCall(m, SetWeightsCall(1, []uint16{0, 5}, []uint16{65535, 32768}, 142))
	if err != nil {
		t.Fatal(err)
	}
	wantCall := unhex(t, ""+
		"07 00"+ // SubtensorModule (7), set_weights (0)
		"0100"+ // netuid 1, u16 LE
		"08 0000 0500"+ // dests: compact len 2, uids 0 and 5
		"08 ffff 0080"+ // weights: compact len 2, 65535 and 32768
		"8e00000000000000") // version_key 142, u64 LE
	if !bytes.Equal(call, wantCall) {
		t.Fatalf("call\n got %x\nwant %x", call, wantCall)
	}
	p := testParams(t)
	extra, implicit, err := Extensions(m, p)
	if err != nil {
		t.Fatal(err)
	}
	// block 6852690 % 128 = 82 -> era = (82 << 4) | (log2(128) - 1) = 0x0526, LE
	wantExtra := unhex(t, "2605"+ // CheckMortality
		"14"+ // CheckNonce: compact 5
		"00"+ // ChargeTransactionPayment: compact tip 0
		"00") // CheckMetadataHash: mode Disabled
	if !bytes.Equal(extra, wantExtra) {
		t.Fatalf("extra %x, want %x", extra, wantExtra)
	}
	wantImplicit := unhex(t, "57010000"+ // spec_version 343
		"01000000"+ // transaction_version 1
		"2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03"+ // genesis
		"db13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"+ // era birth block
		"00") // metadata hash: None
	if !bytes.Equal(implicit, wantImplicit) {
		t.Fatalf("implicit %x, want %x", implicit, wantImplicit)
	}
	kp := alice(t)
	xt, err := BuildSigned(m, call, p, kp)
	if err != nil {
		t.Fatal(err)
	}
	pub := kp.PublicKey()
	// length prefix: 2+32+1+64 + 5 extra + 22 call = 126 -> compact (126<<2|1) = 0x01f9, LE
	if hex.EncodeToString(xt[:2]) != "f901" || len(xt) != 128 {
		t.Fatalf("length prefix %x, total %d", xt[:2], len(xt))
	}
	if xt[2] != 0x84 || xt[3] != 0 || !bytes.Equal(xt[4:36], pub[:]) || xt[36] != 1 {
		t.Fatalf("header %x", xt[:37])
	}
	sig := xt[37:101]
	if !bytes.Equal(xt[101:106], wantExtra) || !bytes.Equal(xt[106:], wantCall) {
		t.Fatalf("tail %x", xt[101:])
	}
	payload := append(append(append([]byte{}, wantCall...), wantExtra...), wantImplicit...)
	if len(payload) > 256 {
		t.Fatal("payload should be short")
	}
	if !wallet.Verify(pub, payload, sig) {
		t.Fatal("signature does not verify over the signing payload")
	}
	dx, err := DecodeExtrinsic(m, xt)
	if err != nil {
		t.Fatal(err)
	}
	if dx.Pallet != "SubtensorModule" || dx.Call != "set_weights" || dx.Signer != pub {
		t.Fatalf("decoded %+v", dx)
	}
}

func TestLongPayloadHashed(t *testing.T) {
	m := loadV14(t)
	data := bytes.Repeat([]byte{0xab}, 300)
	call, err := CommitCall(27, data)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := EncodeCall(m, call)
	if err != nil {
		t.Fatal(err)
	}
	p := testParams(t)
	extra, implicit, _ := Extensions(m, p)
	payload := SigningPayload(cb, extra, implicit)
	if len(payload) != 32 {
		t.Fatalf("payload of %d bytes not hashed", len(payload))
	}
	full := append(append(append([]byte{}, cb...), extra...), implicit...)
	if !bytes.Equal(payload, metadata.Blake2(full, 32)) {
		t.Fatal("payload is not blake2-256 of call++extra++implicit")
	}
	kp := alice(t)
	xt, err := BuildSigned(m, cb, p, kp)
	if err != nil {
		t.Fatal(err)
	}
	dx, err := DecodeExtrinsic(m, xt)
	if err != nil {
		t.Fatal(err)
	}
	if !wallet.Verify(kp.PublicKey(), payload, dx.Signature) {
		t.Fatal("signature does not verify over the hashed payload")
	}
}

// TestCallsRoundTrip builds every call the client sends and decodes it back through the metadata.
func TestCallsRoundTrip(t *testing.T) {
	m := loadV14(t)
	kp := alice(t)
	hot := kp.PublicKey()
	axon, err := AxonCall(27, chain.AxonInfo{IP: "192.222.59.109", Port: 6028, Version: 142})
	if err != nil {
		t.Fatal(err)
	}
	axon6, err := AxonCall(27, chain.AxonInfo{IP: "2001:db8::1", Port: 8091, Version: 142, Protocol: 4})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := CommitCall(27, []byte("allocated:0011"))
	if err != nil {
		t.Fatal(err)
	}
	commitLong, err := CommitCall(27, bytes.Repeat([]byte{7}, 200))
	if err != nil {
		t.Fatal(err)
	}
	ip6 := new(big.Int).SetBytes(unhex(t, "20010db8000000000000000000000001"))
	for _, tc := range []struct {
		name string
		call Call
		want map[string]any
	}{
		{"set_weights", SetWeightsCall(27, []uint16{1, 2, 3}, []uint16{10, 20, 65535}, 183),
			map[string]any{"netuid": uint64(27), "dests": []any{uint64(1), uint64(2), uint64(3)},
				"weights": []any{uint64(10), uint64(20), uint64(65535)}, "version_key": uint64(183)}},
		{"burned_register", Call{"SubtensorModule", "burned_register", map[string]any{"netuid": uint16(27), "hotkey": hot}},
			map[string]any{"netuid": uint64(27), "hotkey": hot[:]}},
		{"serve_axon", axon, map[string]any{"netuid": uint64(27), "version": uint64(142),
			"ip": big.NewInt(0xc0de3b6d), "port": uint64(6028), "ip_type": uint64(4), "protocol": uint64(4),
			"placeholder1": uint64(0), "placeholder2": uint64(0)}},
		{"serve_axon6", axon6, map[string]any{"netuid": uint64(27), "version": uint64(142),
			"ip": ip6, "port": uint64(8091), "ip_type": uint64(6), "protocol": uint64(4),
			"placeholder1": uint64(0), "placeholder2": uint64(0)}},
		{"set_commitment", commit, map[string]any{"netuid": uint64(27), "info": []any{
			&metadata.VariantValue{Name: "Raw14", Index: 15, Fields: []byte("allocated:0011")}}}},
		{"set_commitment_long", commitLong, map[string]any{"netuid": uint64(27), "info": []any{
			&metadata.VariantValue{Name: "Raw128", Index: 129, Fields: bytes.Repeat([]byte{7}, 128)},
			&metadata.VariantValue{Name: "Raw72", Index: 73, Fields: bytes.Repeat([]byte{7}, 72)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := EncodeCall(m, tc.call)
			if err != nil {
				t.Fatal(err)
			}
			xt, err := BuildSigned(m, cb, testParams(t), kp)
			if err != nil {
				t.Fatal(err)
			}
			dx, err := DecodeExtrinsic(m, xt)
			if err != nil {
				t.Fatal(err)
			}
			if dx.Pallet != tc.call.Pallet || dx.Call != tc.call.Name {
				t.Fatalf("decoded %s.%s", dx.Pallet, dx.Call)
			}
			if !reflect.DeepEqual(dx.Args, tc.want) {
				t.Fatalf("args\n got %#v\nwant %#v", dx.Args, tc.want)
			}
		})
	}
}

func TestMortalEra(t *testing.T) {
	for _, tc := range []struct {
		current, period uint64
		want            string
		birth           uint64
	}{
		{6852690, 128, "2605", 6852690},
		{0, 64, "0500", 0},
		{5000, 100, "8600", 5000}, // period rounds up to 128: 5000%128=8 -> 8<<4|6 = 0x86
		{1 << 20, 1 << 17, "0f00", 1 << 20},
	} {
		era, birth := MortalEra(tc.current, tc.period)
		if hex.EncodeToString(era) != tc.want || birth != tc.birth {
			t.Errorf("MortalEra(%d, %d) = %x, %d; want %s, %d", tc.current, tc.period, era, birth, tc.want, tc.birth)
		}
	}
}

// TestEventsSynthetic builds System.Events from the metadata and checks outcome mapping.
func TestEventsSynthetic(t *testing.T) {
	m := loadV14(t)
	_, e, err := m.Storage("System", "Events")
	if err != nil {
		t.Fatal(err)
	}
	pallet, _ := m.Pallet("SubtensorModule")
	errType, _ := m.Type(pallet.ErrorType)
	idx := func(name string) uint8 {
		v, ok := errType.VariantByName(name)
		if !ok {
			t.Fatalf("no error %s", name)
		}
		return v.Index
	}
	weight := map[string]any{"ref_time": uint64(1000), "proof_size": uint64(0)}
	info := map[string]any{"weight": weight, "class": "Normal", "pays_fee": "Yes"}
	record := func(xt uint32, event *metadata.VariantValue) map[string]any {
		return map[string]any{
			"phase":  &metadata.VariantValue{Name: "ApplyExtrinsic", Fields: xt},
			"event":  &metadata.VariantValue{Name: "System", Fields: event},
			"topics": []any{},
		}
	}
	failed := func(name string) *metadata.VariantValue {
		return &metadata.VariantValue{Name: "ExtrinsicFailed", Fields: map[string]any{
			"dispatch_error": &metadata.VariantValue{Name: "Module", Fields: map[string]any{
				"index": uint8(7), "error": []byte{idx(name), 0, 0, 0}}},
			"dispatch_info": info,
		}}
	}
	for _, tc := range []struct {
		name  string
		event *metadata.VariantValue
		want  error
	}{
		{"success", &metadata.VariantValue{Name: "ExtrinsicSuccess", Fields: info}, nil},
		{"rate", failed("SettingWeightsTooFast"), chain.ErrRateLimited},
		{"notreg", failed("HotKeyNotRegisteredInSubNet"), chain.ErrNotRegistered},
		{"short", failed("WeightVecLengthIsLow"), chain.ErrInvalidWeights},
		{"version", failed("IncorrectWeightVersionKey"), chain.ErrVersionKey},
		{"permit", failed("NeuronNoValidatorPermit"), chain.ErrNoValidatorPermit},
		{"cr", failed("CommitRevealEnabled"), chain.ErrCommitRevealEnabled},
		{"already", failed("HotKeyAlreadyRegisteredInSubNet"), chain.ErrAlreadyRegistered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := m.Encode(nil, e.Value, []any{
				record(0, &metadata.VariantValue{Name: "ExtrinsicSuccess", Fields: info}),
				record(1, tc.event),
			})
			if err != nil {
				t.Fatal(err)
			}
			events, err := DecodeEvents(m, raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || events[1].ExtrinsicIndex != 1 || events[1].Pallet != "System" {
				t.Fatalf("events %+v", events)
			}
			err = Outcome(m, events[1:])
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("outcome %v, want %v", err, tc.want)
			}
			var de *DispatchError
			if !errors.As(err, &de) || de.Pallet != "SubtensorModule" {
				t.Fatalf("not a named module error: %v", err)
			}
			t.Log(err)
		})
	}
}
