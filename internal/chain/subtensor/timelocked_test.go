package subtensor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/wallet"
)

const headBlock = 6852690

// synthStore builds synthetic storage values through the metadata. The finney
// recordings hold none of the weights items at the recorded head, so these
// values are made up for the tests (SYNTHETIC, not recorded).
type synthStore struct {
	t     *testing.T
	m     *metadata.Metadata
	store map[string]string
}

func newSynthStore(t *testing.T, m *metadata.Metadata) *synthStore {
	return &synthStore{t: t, m: m, store: map[string]string{}}
}

func (s *synthStore) put(pallet, item string, value any, keys ...any) {
	s.t.Helper()
	k, e, err := s.m.StorageKey(pallet, item, keys...)
	if err != nil {
		s.t.Fatal(err)
	}
	v, err := s.m.Encode(nil, e.Value, value)
	if err != nil {
		s.t.Fatalf("%s: %v", item, err)
	}
	s.store[hex.EncodeToString(k)] = "0x" + hex.EncodeToString(v)
}

// weightsStorage is a synthetic subnet 1 at the recorded head: tempo 360,
// rate limit 100, commit-reveal on (version 4, period 1), the signer at uid 5
// with its last weights at lastUpdate.
func weightsStorage(t *testing.T, m *metadata.Metadata, hot [32]byte, lastUpdate uint64) *synthStore {
	s := newSynthStore(t, m)
	s.put("SubtensorModule", "NetworksAdded", true, uint16(1))
	s.put("SubtensorModule", "Tempo", uint16(360), uint16(1))
	s.put("SubtensorModule", "WeightsSetRateLimit", uint64(100), uint16(1))
	s.put("SubtensorModule", "CommitRevealWeightsEnabled", true, uint16(1))
	s.put("SubtensorModule", "CommitRevealWeightsVersion", uint16(4))
	s.put("SubtensorModule", "RevealPeriodEpochs", uint64(1), uint16(1))
	s.put("SubtensorModule", "Uids", uint16(5), uint16(1), hot)
	s.put("SubtensorModule", "LastUpdate", []uint64{0, 0, 0, 0, 0, lastUpdate, 7}, uint16(1))
	s.put("SubtensorModule", "BlocksSinceLastStep", uint64(130), uint16(1))
	return s
}

// withScheduleStorage returns m plus the stateful scheduler's storage items
// (LastEpochBlock, PendingEpochAt, SubnetEpochIndex: Identity(netuid) -> u64
// at spec 425), which the spec-343 recording predates. They have the shape of
// BlocksSinceLastStep, so its entry is copied under their names.
func withScheduleStorage(t *testing.T, m *metadata.Metadata) *metadata.Metadata {
	p, e, err := m.Storage("SubtensorModule", "BlocksSinceLastStep")
	if err != nil {
		t.Fatal(err)
	}
	base := *e
	for _, name := range scheduleItems {
		n := base
		n.Name = name
		p.Storage = append(p.Storage, n)
	}
	return m
}

func quicknetBeacon() chain.Beacon {
	return chain.Beacon{Name: "quicknet", PublicKey: tlock.QuicknetPublicKey(),
		GenesisTime: time.Unix(1692803367, 0), Period: 3 * time.Second}
}

func TestWeightsInfo(t *testing.T) {
	kp := alice(t)
	hot := kp.PublicKey()
	for _, tc := range []struct {
		name     string
		stateful bool
		want     chain.EpochSchedule
	}{
		{"legacy spec 343", false, chain.EpochSchedule{Legacy: true, BlocksSinceLastStep: 130}},
		{"stateful scheduler", true, chain.EpochSchedule{LastEpochBlock: headBlock - 130, PendingEpochAt: 0, EpochIndex: 19_001, BlocksSinceLastStep: 130}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadV14(t)
			if tc.stateful {
				m = withScheduleStorage(t, m)
			}
			c, srv := newReplayClient(t, "metagraph")
			s := weightsStorage(t, m, hot, headBlock-60)
			if tc.stateful {
				s.put("SubtensorModule", "LastEpochBlock", uint64(headBlock-130), uint16(1))
				s.put("SubtensorModule", "SubnetEpochIndex", uint64(19_001), uint16(1))
				// PendingEpochAt absent: its default 0
				c.meta[343] = m
			}
			f := &fakeNode{m: m, store: s.store}
			f.install(t, srv)
			info, err := c.WeightsInfo(ctx10(t), 1, kp.SS58Address())
			if err != nil {
				t.Fatal(err)
			}
			want := &chain.WeightsInfo{Netuid: 1, Block: headBlock, BlockTime: 12 * time.Second, Tempo: 360,
				RateLimit: 100, LastUpdate: headBlock - 60, CommitReveal: true, CommitRevealVersion: 4,
				RevealPeriodEpochs: 1, Schedule: tc.want, Beacon: quicknetBeacon()}
			if !reflect.DeepEqual(info, want) {
				t.Fatalf("weights info\n got %+v\nwant %+v", info, want)
			}
			if len(f.xts) != 0 {
				t.Fatal("reading weights info submitted an extrinsic")
			}
		})
	}
}

func TestWeightsInfoUnregisteredAndDefaults(t *testing.T) {
	m := loadV14(t)
	c, srv := newReplayClient(t, "metagraph")
	s := newSynthStore(t, m)
	s.put("SubtensorModule", "NetworksAdded", true, uint16(1))
	f := &fakeNode{m: m, store: s.store}
	f.install(t, srv)
	info, err := c.WeightsInfo(ctx10(t), 1, alice(t).SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	// Runtime defaults at spec 343: tempo 360, rate limit 100, commit-reveal
	// on, version 4, period 1, BlocksSinceLastStep 0.
	if info.Tempo != 360 || info.RateLimit != 100 || !info.CommitReveal || info.CommitRevealVersion != 4 ||
		info.RevealPeriodEpochs != 1 || info.LastUpdate != 0 || !info.Schedule.Legacy {
		t.Fatalf("defaults %+v", info)
	}
	if _, err := c.WeightsInfo(ctx10(t), 2, alice(t).SS58Address()); !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Fatalf("netuid 2: %v, want ErrSubnetNotFound", err)
	}
}

func TestBeaconOverride(t *testing.T) {
	key := bytes.Repeat([]byte{0xa5}, 96)
	c, err := New(Config{Endpoint: "ws://127.0.0.1:1", BeaconPublicKey: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if b := c.beacon(); !bytes.Equal(b.PublicKey, key) || b.Period != 3*time.Second || b.GenesisTime.Unix() != 1692803367 {
		t.Fatalf("beacon %+v", b)
	}
	if _, err := New(Config{Endpoint: "ws://127.0.0.1:1", BeaconPublicKey: key[:10]}, nil); err == nil {
		t.Fatal("a 10-byte beacon key was accepted")
	}
}

// futureRound is a reveal round the beacon has not published yet.
func futureRound() uint64 { return quicknetBeacon().RoundAt(time.Now()) + 200 }

// TestTimelockedCommitDecodes: a timelocked commit we build decodes back,
// through the recorded metadata, to the intended call and arguments.
func TestTimelockedCommitDecodes(t *testing.T) {
	v15 := func(t testing.TB) *metadata.Metadata {
		opaque, err := replay.MetadataV15Opaque()
		if err != nil {
			t.Fatal(err)
		}
		m, err := metadata.Parse(opaque[1+compactLen(opaque[1:]):])
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	noMech := func(t testing.TB) *metadata.Metadata {
		m := loadV14(t)
		p, _ := m.Pallet("SubtensorModule")
		ct := &m.Types[p.CallType]
		ct.Variants = slices.DeleteFunc(ct.Variants, func(v metadata.Variant) bool {
			return v.Name == "commit_timelocked_mechanism_weights"
		})
		return m
	}
	ct := bytes.Repeat([]byte{0x5a}, 4000)
	ct[0], ct[3999] = 1, 2
	for _, tc := range []struct {
		name     string
		meta     func(testing.TB) *metadata.Metadata
		call     string
		callIdx  [2]byte
		wantArgs map[string]any
	}{
		{"V14 spec 343", loadV14, "commit_timelocked_mechanism_weights", [2]byte{7, 118},
			map[string]any{"netuid": uint64(27), "mecid": uint64(0), "commit": ct, "reveal_round": uint64(21_000_123), "commit_reveal_version": uint64(4)}},
		{"V15 spec 343", v15, "commit_timelocked_mechanism_weights", [2]byte{7, 118},
			map[string]any{"netuid": uint64(27), "mecid": uint64(0), "commit": ct, "reveal_round": uint64(21_000_123), "commit_reveal_version": uint64(4)}},
		{"runtime without mechanisms", noMech, "commit_timelocked_weights", [2]byte{7, 113},
			map[string]any{"netuid": uint64(27), "commit": ct, "reveal_round": uint64(21_000_123), "commit_reveal_version": uint64(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.meta(t)
			call, err := TimelockedCommitCall(m, 27, ct, 21_000_123, 4)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := EncodeCall(m, call)
			if err != nil {
				t.Fatal(err)
			}
			if cb[0] != tc.callIdx[0] || cb[1] != tc.callIdx[1] {
				t.Fatalf("call index %d/%d, want %d/%d", cb[0], cb[1], tc.callIdx[0], tc.callIdx[1])
			}
			kp := alice(t)
			xt, err := BuildSigned(m, cb, testParams(t), kp)
			if err != nil {
				t.Fatal(err)
			}
			dx, err := DecodeExtrinsic(m, xt)
			if err != nil {
				t.Fatal(err)
			}
			if dx.Pallet != "SubtensorModule" || dx.Call != tc.call || dx.Signer != kp.PublicKey() {
				t.Fatalf("decoded %s.%s by %x", dx.Pallet, dx.Call, dx.Signer)
			}
			if !reflect.DeepEqual(dx.Args, tc.wantArgs) {
				t.Fatalf("args\n got %v\nwant %v", dx.Args, tc.wantArgs)
			}
			// The payload is longer than 256 bytes: the signature covers its blake2-256.
			extra, implicit, _ := Extensions(m, testParams(t))
			if !wallet.Verify(kp.PublicKey(), SigningPayload(cb, extra, implicit), dx.Signature) {
				t.Fatal("signature does not verify")
			}
		})
	}
}

func compactLen(b []byte) int {
	switch b[0] & 3 {
	case 0:
		return 1
	case 1:
		return 2
	case 2:
		return 4
	}
	return 1 + int(b[0]>>2) + 4
}

func TestCommitTimelockedWeights(t *testing.T) {
	kp := alice(t)
	hot := kp.PublicKey()
	round := futureRound()
	ct := bytes.Repeat([]byte{0xc7}, 700)
	for _, tc := range []struct {
		name       string
		lastUpdate uint64
		errName    string
		round      uint64
		ct         []byte
		want       error
		submitted  int
		noUID      bool // the hotkey holds no uid on the subnet
	}{
		{"included", headBlock - 99, "", round, ct, nil, 1, false},
		{"never set", 0, "", round, ct, nil, 1, false},
		// head+1 - last = 99 < 100: refused before submission.
		{"rate limited", headBlock - 98, "", round, ct, chain.ErrRateLimited, 0, false},
		{"round in the past", 0, "", 1000, ct, chain.ErrInvalidRevealRound, 0, false},
		{"too large", 0, "", round, make([]byte, 5001), chain.ErrCommitTooLarge, 0, false},
		{"wrong version", 0, "IncorrectCommitRevealVersion", round, ct, chain.ErrIncorrectCommitRevealVersion, 1, false},
		{"too many", 0, "TooManyUnrevealedCommits", round, ct, chain.ErrTooManyUnrevealedCommits, 1, false},
		{"disabled", 0, "CommitRevealDisabled", round, ct, chain.ErrCommitRevealDisabled, 1, false},
		{"chain rate limit", 0, "CommittingWeightsTooFast", round, ct, chain.ErrRateLimited, 1, false},
		{"chain says not registered", 0, "HotKeyNotRegisteredInSubNet", round, ct, chain.ErrNotRegistered, 1, false},
		{"no uid", 0, "", round, ct, chain.ErrNotRegistered, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadV14(t)
			c, srv := newReplayClient(t, "metagraph")
			s := weightsStorage(t, m, hot, tc.lastUpdate)
			if tc.noUID {
				k, _, _ := m.StorageKey("SubtensorModule", "Uids", uint16(1), hot)
				delete(s.store, hex.EncodeToString(k))
			}
			f := &fakeNode{m: m, errName: tc.errName, store: s.store}
			f.install(t, srv)
			block, err := c.CommitTimelockedWeights(ctx10(t), 1, kp, tc.ct, tc.round, 4)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if len(f.xts) != tc.submitted {
				t.Fatalf("%d extrinsics submitted, want %d", len(f.xts), tc.submitted)
			}
			if err != nil {
				t.Log(err)
			}
			if tc.submitted == 0 {
				return
			}
			if tc.want == nil && block != headBlock+1 {
				t.Errorf("included at %d, want %d", block, headBlock+1)
			}
			raw, _ := decodeHex(f.xts[0])
			dx, err := DecodeExtrinsic(m, raw)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"netuid": uint64(1), "mecid": uint64(0), "commit": tc.ct,
				"reveal_round": tc.round, "commit_reveal_version": uint64(4)}
			if dx.Call != "commit_timelocked_mechanism_weights" || !reflect.DeepEqual(dx.Args, want) {
				t.Fatalf("submitted %s %v", dx.Call, dx.Args)
			}
		})
	}
}

func TestSetWeightsRateLimited(t *testing.T) {
	kp := alice(t)
	m := loadV14(t)
	c, srv := newReplayClient(t, "metagraph")
	f := &fakeNode{m: m, store: weightsStorage(t, m, kp.PublicKey(), headBlock-10).store}
	f.install(t, srv)
	err := c.SetWeights(ctx10(t), 1, kp, []uint16{0}, []uint16{65535}, 142)
	if !errors.Is(err, chain.ErrRateLimited) || !strings.Contains(err.Error(), "next allowed at block 6852780") {
		t.Fatalf("err %v, want ErrRateLimited naming block 6852780", err)
	}
	if len(f.xts) != 0 {
		t.Fatalf("%d extrinsics submitted", len(f.xts))
	}
}

func TestTimelockedCommitsAndWeights(t *testing.T) {
	kp := alice(t)
	bob, err := wallet.FromURI("//Bob")
	if err != nil {
		t.Fatal(err)
	}
	m := loadV14(t)
	s := weightsStorage(t, m, kp.PublicKey(), 0)
	entry := func(who [32]byte, block uint64, ct string, round uint64) []any {
		return []any{who, block, []byte(ct), round}
	}
	a, b := kp.PublicKey(), bob.PublicKey()
	s.put("SubtensorModule", "TimelockedWeightCommits", []any{
		entry(a, headBlock-400, "first", 100), entry(b, headBlock-390, "bob", 101)}, uint16(1), uint64(18_999))
	s.put("SubtensorModule", "TimelockedWeightCommits", []any{
		entry(a, headBlock-10, "second", 200)}, uint16(1), uint64(19_000))
	s.put("SubtensorModule", "TimelockedWeightCommits", []any{
		entry(a, headBlock-5, "other subnet", 300)}, uint16(2), uint64(19_000))
	s.put("SubtensorModule", "Weights", []any{[]any{uint16(0), uint16(65535)}, []any{uint16(3), uint16(100)}}, uint16(1), uint16(5))
	c, srv := newReplayClient(t, "metagraph")
	f := &fakeNode{m: m, store: s.store}
	f.install(t, srv)

	got, err := c.TimelockedCommits(ctx10(t), 1, kp.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y chain.TimelockedCommit) int { return int(x.Block) - int(y.Block) })
	want := []chain.TimelockedCommit{
		{Hotkey: kp.SS58Address(), Block: headBlock - 400, RevealRound: 100, Ciphertext: []byte("first")},
		{Hotkey: kp.SS58Address(), Block: headBlock - 10, RevealRound: 200, Ciphertext: []byte("second")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("commits\n got %+v\nwant %+v", got, want)
	}
	none, err := c.TimelockedCommits(ctx10(t), 3, kp.SS58Address())
	if err != nil || len(none) != 0 {
		t.Fatalf("netuid 3: %v, %v", none, err)
	}

	uids, vals, err := c.Weights(ctx10(t), 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uids, []uint16{0, 3}) || !slices.Equal(vals, []uint16{65535, 100}) {
		t.Fatalf("weights %v %v", uids, vals)
	}
	uids, vals, err = c.Weights(ctx10(t), 1, 6)
	if err != nil || len(uids) != 0 || len(vals) != 0 {
		t.Fatalf("empty row: %v %v %v", uids, vals, err)
	}
}

// spySigner records whether it was asked to sign.
type spySigner struct {
	*wallet.Keypair
	signed bool
}

func (s *spySigner) Sign(msg []byte) ([]byte, error) {
	s.signed = true
	return s.Keypair.Sign(msg)
}

// TestExtensionsNewerRuntimes replays the extension lists of specs 393 and
// 425 on the recorded metadata's types: SudoTransactionExtension and
// CheckShieldedTxValidity carry nothing (PhantomData, implicit ()), and
// ChargeTransactionPaymentWrapper wraps the payment extension (compact tip).
// An extension that carries data the client does not know fails before signing.
func TestExtensionsNewerRuntimes(t *testing.T) {
	base := loadV14(t)
	byName := map[string]metadata.SignedExtension{}
	for _, e := range base.Extensions {
		byName[e.Identifier] = e
	}
	zero := byName["DrandPriority"] // a PhantomData extension with () implicit data
	rename := func(e metadata.SignedExtension, id string) metadata.SignedExtension { e.Identifier = id; return e }
	list := func(ids ...string) []metadata.SignedExtension {
		out := []metadata.SignedExtension{}
		for _, id := range ids {
			switch id {
			case "SudoTransactionExtension", "CheckShieldedTxValidity":
				out = append(out, rename(zero, id))
			case "ChargeTransactionPaymentWrapper":
				out = append(out, rename(byName["ChargeTransactionPayment"], id))
			default:
				out = append(out, byName[id])
			}
		}
		return out
	}
	system := []string{"CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality", "CheckNonce", "CheckWeight"}
	spec393 := list(append(slices.Clone(system), "ChargeTransactionPayment", "SudoTransactionExtension", "CheckShieldedTxValidity",
		"SubtensorTransactionExtension", "DrandPriority", "CheckMetadataHash")...)
	spec425 := list(append(slices.Clone(system), "ChargeTransactionPaymentWrapper", "SudoTransactionExtension", "CheckShieldedTxValidity",
		"SubtensorTransactionExtension", "DrandPriority", "CheckMetadataHash")...)
	// An extension carrying a u64 (the explicit type of CheckNonce's inner
	// value is not reused; Tempo's value type is a plain u16 primitive).
	_, tempo, _ := base.Storage("SubtensorModule", "Tempo")
	unknownExtra := append(slices.Clone(spec425), metadata.SignedExtension{Identifier: "CheckFutureThing", Type: tempo.Value, AdditionalSigned: zero.AdditionalSigned})
	unknownImplicit := append(slices.Clone(spec425), metadata.SignedExtension{Identifier: "CheckFutureImplicit", Type: zero.Type, AdditionalSigned: tempo.Value})
	unknownZero := append(slices.Clone(spec425), rename(zero, "CheckFutureNothing"))
	p := testParams(t)
	p.Tip = 1000
	for _, tc := range []struct {
		name    string
		exts    []metadata.SignedExtension
		wantErr string
	}{
		{"spec 393", spec393, ""},
		{"spec 425", spec425, ""},
		{"unknown zero-sized", unknownZero, ""},
		{"unknown explicit data", unknownExtra, "CheckFutureThing"},
		{"unknown implicit data", unknownImplicit, "CheckFutureImplicit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadV14(t)
			m.Extensions = tc.exts
			call, err := TimelockedCommitCall(m, 1, []byte{1, 2, 3}, 1000, 4)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := EncodeCall(m, call)
			if err != nil {
				t.Fatal(err)
			}
			s := &spySigner{Keypair: alice(t)}
			xt, err := BuildSigned(m, cb, p, s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				if s.signed {
					t.Fatal("signed before refusing the extension")
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			dx, err := DecodeExtrinsic(m, xt)
			if err != nil {
				t.Fatal(err)
			}
			// era, nonce 5, tip 1000 (compact 0xa10f), metadata hash disabled
			if hex.EncodeToString(dx.Extra) != "260514a10f00" {
				t.Fatalf("extra %x", dx.Extra)
			}
			_, implicit, err := Extensions(m, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(implicit) != 4+4+32+32+1 {
				t.Fatalf("implicit part of %d bytes", len(implicit))
			}
		})
	}
}
