package subtensor

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
	"github.com/sn27/compute/internal/scale"
)

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStorageReadsRecorded(t *testing.T) {
	for _, tc := range []struct {
		scenario, item string
		netuid         uint16
		hash           string
		want           uint64
		width          int
	}{
		{"subnetwork_n", "SubnetworkN", 1, "", 1024, 2},
		{"tempo", "Tempo", 23, "0x03a008636efbe7706f79f2c7d7d4e85ff26a3e67922e5fefab71e7f6d9dab43d", 1000, 2},
		{"min_allowed_weights", "MinAllowedWeights", 23, "0x056fb97cc61bb3892f5c1f58574cd8a489ccfb7681079137b7bb2f7aaaaeef35", 1, 2},
		{"immunity_period", "ImmunityPeriod", 23, "0x8d3cb34e83a45c0d2a2896bbe5fd34e108d9d82b7261a4eaf1c4b585c17a4689", 5000, 2},
		{"subnetwork_n", "NetworksAdded", 1, "", 1, 1},
	} {
		t.Run(tc.scenario+"/"+tc.item, func(t *testing.T) {
			c, _ := newReplayClient(t, tc.scenario)
			raw, err := c.Storage(ctx10(t), NetuidKey(tc.item, tc.netuid), tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			d := scale.NewDecoder(raw)
			var got uint64
			if tc.width == 1 {
				got = uint64(d.U8())
			} else {
				got = uint64(d.U16())
			}
			if err := d.Finish(); err != nil || got != tc.want {
				t.Fatalf("%s(%d) = %d (%v), want %d", tc.item, tc.netuid, got, err, tc.want)
			}
		})
	}
}

func TestUIDRecorded(t *testing.T) {
	c, _ := newReplayClient(t, "get_uid_for_hotkey_on_subnet")
	// hotkey whose Uids(23, ·) entry was recorded (key tail = blake2_128 ++ account)
	hot := ss58([32]byte(unhex(t, "4af7598952f87683204a2a0c2266f941a74899bd69b0ce56e42a82820f689446")))
	uid, err := c.UID(ctx10(t), 23, hot, "")
	if err != nil || uid != 5 {
		t.Fatalf("uid %d, %v", uid, err)
	}
	ok, err := c.IsRegistered(ctx10(t), 23, hot)
	if err != nil || !ok {
		t.Fatalf("registered %v, %v", ok, err)
	}
}

func TestCurrentBlockRecorded(t *testing.T) {
	c, _ := newReplayClient(t, "get_current_block", "get_block_hash")
	n, err := c.Block(ctx10(t))
	if err != nil || n != 6522038 {
		t.Fatalf("block %d, %v", n, err)
	}
	h, err := c.BlockHash(ctx10(t), 6522038)
	if err != nil || h != "0x4f0bbe5e96a78ca4cc1df9a7e757d335165d6d71c545cf6eb4794986424bcd29" {
		t.Fatalf("hash %s, %v", h, err)
	}
}

func TestNeuronsLiteOldRuntimeWrapped(t *testing.T) {
	rec, err := replay.Recorded()
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Result string }
	if err := json.Unmarshal(rec["neurons_lite"]["state_call"][`["NeuronInfoRuntimeApi_get_neurons_lite", "0x1700"]`], &resp); err != nil {
		t.Fatal(err)
	}
	raw, _ := decodeHex(resp.Result)
	ns, err := DecodeNeuronsLite(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 19 || ns[0].Netuid != 23 {
		t.Fatalf("%d neurons, netuid %d", len(ns), ns[0].Netuid)
	}
}

func TestSubnetStateRecorded(t *testing.T) {
	rec, err := replay.Recorded()
	if err != nil {
		t.Fatal(err)
	}
	for params, r := range rec["metagraph"]["state_call"] {
		var p []any
		_ = json.Unmarshal([]byte(params), &p)
		if p[0] != "SubnetInfoRuntimeApi_get_subnet_state" {
			continue
		}
		var resp struct{ Result string }
		_ = json.Unmarshal(r, &resp)
		raw, _ := decodeHex(resp.Result)
		s, err := DecodeSubnetState(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Hotkeys) != 1024 || s.TotalStake[0] != 2557172316 || s.AlphaStake[0] != 2557172316 || s.TaoStake[0] != 0 {
			t.Fatalf("subnet state: %d hotkeys, uid 0 stake %d/%d/%d", len(s.Hotkeys), s.TotalStake[0], s.AlphaStake[0], s.TaoStake[0])
		}
		// A truncated or extended blob must be rejected.
		if _, err := DecodeSubnetState(raw[:len(raw)-1]); err == nil {
			t.Fatal("truncated subnet state accepted")
		}
		if _, err := DecodeSubnetState(append(raw, 0)); !errors.Is(err, scale.ErrTrailing) {
			t.Fatalf("trailing byte: %v", err)
		}
		return
	}
	t.Fatal("no subnet state recording")
}

func TestMetagraphUnknownMethodIsError(t *testing.T) {
	c, _ := newReplayClient(t, "get_current_block")
	if _, err := c.Metagraph(ctx10(t), 1); err == nil {
		t.Fatal("metagraph without recordings succeeded")
	}
	if _, err := c.Neuron(ctx10(t), 1, 0); err == nil {
		t.Fatal("neuron without recordings succeeded")
	}
	_ = chain.ErrNotFound
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		network, endpoint, want string
		bad                     bool
	}{
		{"finney", "", "wss://entrypoint-finney.opentensor.ai:443", false},
		{"test", "", "wss://test.finney.opentensor.ai:443", false},
		{"archive", "", "wss://archive.chain.opentensor.ai:443", false},
		{"local", "", "ws://127.0.0.1:9944", false},
		{"", "", "wss://entrypoint-finney.opentensor.ai:443", false},
		{"finney", "ws://10.0.0.1:9944", "ws://10.0.0.1:9944", false},
		{"ws://h:1", "", "ws://h:1", false},
		{"mainnet", "", "", true},
		{"", "http://x", "", true},
	} {
		got, err := Endpoint(tc.network, tc.endpoint)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("Endpoint(%q, %q) = %q, %v", tc.network, tc.endpoint, got, err)
		}
	}
}

func TestHyperparameters(t *testing.T) {
	c, srv := newReplayClient(t, "metagraph")
	if err := srv.AnyParamsFromRecording("state_getRuntimeVersion"); err != nil {
		t.Fatal(err)
	}
	added := "0x01"
	srv.Handle("state_getStorage", func(*replay.Call) (any, error) { return added, nil }) // NetworksAdded
	srv.Handle("state_queryStorageAt", func(call *replay.Call) (any, error) {
		var keys []string
		_ = json.Unmarshal(call.Params[0], &keys)
		set := map[string]string{
			hex0x(NetuidKey("Tempo", 1)):                      "0x6801",             // 360
			hex0x(NetuidKey("WeightsVersionKey", 1)):          "0x8e00000000000000", // 142
			hex0x(NetuidKey("CommitRevealWeightsEnabled", 1)): "0x00",
			hex0x(NetuidKey("SubnetworkN", 1)):                "0x0004", // 1024
		}
		var changes [][2]any
		for _, k := range keys {
			if v, ok := set[k]; ok {
				changes = append(changes, [2]any{k, v})
			} else {
				changes = append(changes, [2]any{k, nil})
			}
		}
		return []any{map[string]any{"block": headHash, "changes": changes}}, nil
	})
	h, err := c.Hyperparameters(ctx10(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := chain.Hyperparameters{Tempo: 360, WeightsVersionKey: 142, SubnetworkN: 1024, CommitRevealEnabled: false,
		// absent items take the runtime's declared defaults
		WeightsRateLimit: 100, MinAllowedWeights: 1024, MaxWeightsLimit: 65535, MaxAllowedUIDs: 4096, ImmunityPeriod: 4096,
		BurnRao: 100000000, ServingRateLimit: 50, Kappa: 32767, BondsMovingAverage: 900000, RegistrationAllowed: true}
	if *h != want {
		t.Fatalf("hyperparameters\n got %+v\nwant %+v", *h, want)
	}
	added = "0x00"
	if _, err := c.Hyperparameters(ctx10(t), 1); !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Fatalf("absent subnet: %v", err)
	}
}

func hex0x(b []byte) string { return encodeHex(b) }
