package metadata_test

import (
	"encoding/hex"
	"testing"

	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
	"github.com/sn27/compute/internal/scale"
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

func v15Bytes(t testing.TB) []byte {
	t.Helper()
	opaque, err := replay.MetadataV15Opaque()
	if err != nil {
		t.Fatal(err)
	}
	d := scale.NewDecoder(opaque)
	if !d.Option() {
		t.Fatal("V15 metadata option is None")
	}
	b := d.VecU8()
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRecorded(t *testing.T) {
	v15, err := metadata.Parse(v15Bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	v14 := loadV14(t)
	for _, tc := range []struct {
		m                     *metadata.Metadata
		version               uint8
		types, pallets, calls int
		apis                  int
	}{
		{v14, 14, 552, 26, 246, 0},
		{v15, 15, 0, 26, 246, 0},
	} {
		t.Logf("V%d: %d types, %d pallets, %d calls, %d runtime APIs, %d extensions",
			tc.m.Version, len(tc.m.Types), len(tc.m.Pallets), tc.m.CallCount(), len(tc.m.APIs), len(tc.m.Extensions))
		if tc.m.Version != tc.version || len(tc.m.Pallets) != tc.pallets || tc.m.CallCount() != tc.calls {
			t.Errorf("V%d: %d pallets %d calls, want %d/%d", tc.m.Version, len(tc.m.Pallets), tc.m.CallCount(), tc.pallets, tc.calls)
		}
		if tc.types != 0 && len(tc.m.Types) != tc.types {
			t.Errorf("V%d: %d types, want %d", tc.m.Version, len(tc.m.Types), tc.types)
		}
		var ids []string
		for _, e := range tc.m.Extensions {
			ids = append(ids, e.Identifier)
		}
		want := []string{"CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality",
			"CheckNonce", "CheckWeight", "ChargeTransactionPayment", "SubtensorTransactionExtension", "DrandPriority", "CheckMetadataHash"}
		if len(ids) != len(want) {
			t.Fatalf("extensions %v", ids)
		}
		for i := range want {
			if ids[i] != want[i] {
				t.Fatalf("extensions %v, want %v", ids, want)
			}
		}
		for _, pc := range []struct {
			pallet string
			index  uint8
		}{{"System", 0}, {"Balances", 5}, {"SubtensorModule", 7}, {"Commitments", 18}, {"AdminUtils", 19}} {
			p, err := tc.m.Pallet(pc.pallet)
			if err != nil || p.Index != pc.index {
				t.Errorf("pallet %s: %v index %v", pc.pallet, err, p)
			}
		}
		for _, cc := range []struct {
			name  string
			index uint8
		}{{"set_weights", 0}, {"serve_axon", 4}, {"burned_register", 7}} {
			_, v, err := tc.m.Call("SubtensorModule", cc.name)
			if err != nil || v.Index != cc.index {
				t.Errorf("call %s: %v", cc.name, err)
			}
		}
	}
	if len(v15.APIs) == 0 {
		t.Error("V15 declares no runtime APIs")
	}
}

func TestStorageKeys(t *testing.T) {
	m := loadV14(t)
	hot := mustHex(t, "3e9947bb89c47cd7ad643c5d30c0e6954af7598952f87683204a2a0c2266f941") // recorded Uids key tail
	_ = hot
	for _, tc := range []struct {
		pallet, item string
		keys         []any
		want         string
	}{
		{"SubtensorModule", "SubnetworkN", []any{uint16(1)}, "658faa385070e074c85bf6b568cf0555a1048e9d244171852dfe8db314dc68ca0100"},
		{"SubtensorModule", "NetworksAdded", []any{uint16(1)}, "658faa385070e074c85bf6b568cf05550e30450fc4d507a846032a7fa65d9a430100"},
		{"SubtensorModule", "Tempo", []any{uint16(23)}, "658faa385070e074c85bf6b568cf05557641384bb339f3758acddfd7053d33171700"},
		{"SubtensorModule", "MinAllowedWeights", []any{uint16(23)}, "658faa385070e074c85bf6b568cf05555cd1c97edf92be296fb8ae73ee8611261700"},
		{"SubtensorModule", "ImmunityPeriod", []any{uint16(23)}, "658faa385070e074c85bf6b568cf0555b6522cfe03433e9e101a258ee2f580ab1700"},
	} {
		k, _, err := m.StorageKey(tc.pallet, tc.item, tc.keys...)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(k) != tc.want {
			t.Errorf("%s.%s = %x, want %s", tc.pallet, tc.item, k, tc.want)
		}
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestXXHash64(t *testing.T) {
	// Reference values of xxHash64 (seed 0) for short and long inputs.
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0xef46db3751d8e999},
		{"a", 0xd24ec4f1a98c6e5b},
		{"abc", 0x44bc2cf5ad770999},
		{"Nobody inspects the spammish repetition", 0xfbcea83c8a378bf1},
	} {
		if got := metadata.XXHash64([]byte(tc.in), 0); got != tc.want {
			t.Errorf("xxhash64(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	raw, err := replay.MetadataV14()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw[:4096])
	f.Add([]byte("meta\x0e\x00"))
	f.Add([]byte("meta\x0f\x04\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := metadata.Parse(b)
		if err != nil {
			return
		}
		for id := range m.Types {
			_, _ = m.DecodeAll(b[:min(len(b), 64)], uint32(id))
		}
	})
}

func FuzzDecodeValue(f *testing.F) {
	m := loadV14(f)
	_, e, err := m.Storage("System", "Events")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{0x04, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = m.DecodeAll(b, e.Value)
	})
}
