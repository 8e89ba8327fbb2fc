package wire

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/wallet"
)

const (
	aliceSS58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	leopard42 = "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX"
)

func TestDeadbeefVerify(t *testing.T) {
	alice, err := wallet.FromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString("dc7cf771e1989a5c3cddca30ec5efaeff9a5c14a36c3c032510019e7144e0375f9207ef6745390ca3dc76b307b26f60125c942e2b7fb23100cc79402a12dde8b")
	msg := []byte{0xde, 0xad, 0xbe, 0xef}
	if !wallet.VerifySS58(alice.SS58Address(), msg, sig) {
		t.Fatal("vector 2 signature rejected")
	}
	sig[0] = 0x0c
	if wallet.VerifySS58(alice.SS58Address(), msg, sig) {
		t.Fatal("tampered vector 2 signature accepted")
	}
}

// hashed is vector 8's synapse: a, b and d are hashed, c is not.
type hashed struct {
	SynapseBase
	A int      `json:"a"`
	B int      `json:"b"`
	C int      `json:"c"`
	D []string `json:"d"`
}

func (*hashed) SynapseName() string   { return "Hashed" }
func (h *hashed) HashedFields() []any { return []any{h.A, h.B, h.D} }

func TestBodyHash(t *testing.T) {
	tests := []struct {
		name string
		s    Synapse
		want string
	}{
		{"vector 8", &hashed{A: 1, B: 2, C: 3, D: []string{"foobar"}}, "ae06397d08f30f75c91395c59f05c62ac3b62b88250eb78b109213258e6ced0c"},
		{"c ignored", &hashed{A: 1, B: 2, C: 99, D: []string{"foobar"}}, "ae06397d08f30f75c91395c59f05c62ac3b62b88250eb78b109213258e6ced0c"},
		{"ping", &Ping{}, EmptyBodyHash},
		{"specs", &Specs{SpecsInput: "x"}, EmptyBodyHash},
		{"challenge", &Challenge{}, EmptyBodyHash},
		{"allocate", &Allocate{Timeline: 3}, EmptyBodyHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BodyHash(tc.s)
			if err != nil || got != tc.want {
				t.Fatalf("BodyHash = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestPyStr(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "None"}, {true, "True"}, {false, "False"}, {1, "1"}, {int64(-7), "-7"},
		{12.0, "12.0"}, {0.1, "0.1"}, {1e16, "1e+16"}, {1.5e-5, "1.5e-05"}, {0.0001, "0.0001"}, {123456789012345.0, "123456789012345.0"},
		{"plain", "plain"}, {[]string{"foobar"}, "['foobar']"}, {[]any{"it's", `a"b`, "x\n"}, `["it's", 'a"b', 'x\n']`},
		{[]any{"both'\""}, `['both\'"']`}, {[]int{1, 2}, "[1, 2]"}, {[]any{}, "[]"},
		{PyDict{{"b", 1}, {"a", []any{nil, true}}}, "{'b': 1, 'a': [None, True]}"},
		{map[string]any{"z": 1.5, "a": "x"}, "{'a': 'x', 'z': 1.5}"},
		{[]any{"é\x01"}, `['é\x01']`},
	}
	for _, tc := range tests {
		got, err := PyStr(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("PyStr(%#v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := PyStr(struct{}{}); err == nil {
		t.Error("PyStr of a struct: want an error")
	}
}

func TestSampleSignedMessage(t *testing.T) {
	const want = "1712000000000000000.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX.5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a.a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
	got := SignatureMessage(1712000000000000000, aliceSS58, leopard42, "5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a", EmptyBodyHash)
	if got != want {
		t.Fatalf("message\n got %s\nwant %s", got, want)
	}
	alice, _ := wallet.FromURI("//Alice")
	sig, err := SignMessage(alice, got)
	if err != nil || !strings.HasPrefix(sig, "0x") || len(sig) != 130 {
		t.Fatalf("SignMessage = %q, %v", sig, err)
	}
	hi := &HeaderInfo{ComputedBodyHash: EmptyBodyHash, Dendrite: TerminalInfo{
		Nonce: ptr(int64(1712000000000000000)), Hotkey: ptr(aliceSS58), UUID: ptr("5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a"), Signature: &sig}}
	if err := VerifySignature(hi, leopard42); err != nil {
		t.Fatalf("verify own signature: %v", err)
	}
	if err := VerifySignature(hi, aliceSS58); err == nil || !strings.HasPrefix(err.Error(), "Signature mismatch with ") {
		t.Fatalf("verify against another axon hotkey: %v", err)
	}
}

// Vector 11: Bittensor's from_headers cases.
func TestParseHeadersVector11(t *testing.T) {
	h := http.Header{}
	for k, v := range map[string]string{
		"bt_header_axon_nonce":        "111",
		"bt_header_dendrite_ip":       "12.1.1.2",
		"bt_header_input_obj_key1":    "WzEsIDIsIDMsIDRd", // base64(json.dumps([1, 2, 3, 4]))
		"timeout":                     "12",
		"name":                        "Test",
		"header_size":                 "111",
		"total_size":                  "111",
		"computed_body_hash":          "0xabcdef",
		"bt_header_axon_placeholder1": "1",
	} {
		h[k] = []string{v}
	}
	hi, err := ParseHeaders(h)
	if err != nil {
		t.Fatal(err)
	}
	if hi.Axon.Nonce == nil || *hi.Axon.Nonce != 111 || hi.Dendrite.IP == nil || *hi.Dendrite.IP != "12.1.1.2" ||
		hi.Timeout != 12 || hi.Name != "Test" || hi.HeaderSize != 111 || hi.TotalSize != 111 || hi.ComputedBodyHash != "0xabcdef" {
		t.Fatalf("parsed %+v", hi)
	}
	var key1 []int
	if err := json.Unmarshal(hi.Inputs["key1"], &key1); err != nil || len(key1) != 4 || key1[3] != 4 {
		t.Fatalf("key1 = %v, %v", key1, err)
	}

	// Go-canonicalized names parse the same.
	h2 := http.Header{}
	h2.Set("Bt_header_dendrite_nonce", "5")
	h2.Set("Timeout", "60.0")
	if hi, err := ParseHeaders(h2); err != nil || *hi.Dendrite.Nonce != 5 || hi.Timeout != 60 {
		t.Fatalf("canonical names: %+v, %v", hi, err)
	}

	bad := []map[string]string{
		{"timeout": "soon"}, {"timeout": "-1"}, {"timeout": "nan"},
		{"bt_header_dendrite_nonce": "0x12"}, {"bt_header_axon_port": "99999999999"},
		{"header_size": "1.5"}, {"bt_header_axon_process_time": "fast"},
	}
	for _, m := range bad {
		h := http.Header{}
		for k, v := range m {
			h[k] = []string{v}
		}
		if _, err := ParseHeaders(h); err == nil {
			t.Errorf("ParseHeaders(%v): want an error", m)
		}
	}
}

// The default Synapse().dict() shape.
func TestDefaultShape(t *testing.T) {
	p := &Ping{SynapseBase{Name: "Synapse", Timeout: 12}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	term := `{"status_code":null,"status_message":null,"process_time":null,"ip":null,"port":null,"version":null,"nonce":null,"uuid":null,"hotkey":null,"signature":null}`
	want := `{"name":"Synapse","timeout":12,"total_size":0,"header_size":0,"dendrite":` + term + `,"axon":` + term + `,"computed_body_hash":"","required_hash_fields":[]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	h := http.Header{}
	WriteHeaders(h, &p.SynapseBase, EmptyBodyHash)
	if h["timeout"][0] != "12.0" || h["name"][0] != "Synapse" || h["computed_body_hash"][0] != EmptyBodyHash {
		t.Fatalf("headers %v", h)
	}
}

func TestSynapseJSON(t *testing.T) {
	c := NewChallenge(testChallenge())
	b, _ := json.Marshal(c)
	for _, k := range []string{`"challenge_hash":`, `"challenge_salt":`, `"challenge_mode":"610"`, `"challenge_chars":`, `"challenge_mask":`, `"challenge_difficulty":7`, `"output":{"password":null,"local_execution_time":0,"error":null}`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("challenge JSON lacks %s: %s", k, b)
		}
	}
	a := &Allocate{Timeline: 1}
	b, _ = json.Marshal(a)
	if !strings.Contains(string(b), `"device_requirement":{}`) || !strings.Contains(string(b), `"output":{"status":false}`) {
		t.Errorf("allocate JSON: %s", b)
	}
	in := `{"timeline":2,"device_requirement":{"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},"hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824},"extra":true},"checking":true,"public_key":"pem","output":{}}`
	var got Allocate
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	r, err := got.Requirement()
	if err != nil || r.GPU.Type != "4090" || r.GPU.Capacity != 24576 || r.HardDisk.Capacity != 10737418240 || !got.Checking {
		t.Fatalf("requirement %+v, %v", r, err)
	}
	if err := json.Unmarshal([]byte(`{"device_requirement":[1]}`), &got); err == nil {
		t.Fatal("array device_requirement accepted")
	}
	// TerminalInfo accepts numeric strings as pydantic does.
	var ti TerminalInfo
	if err := json.Unmarshal([]byte(`{"status_code":"200","process_time":"0.5","nonce":1712000000000000000,"port":8091.0,"hotkey":"h"}`), &ti); err != nil ||
		*ti.StatusCode != 200 || *ti.ProcessTime != 0.5 || *ti.Nonce != 1712000000000000000 || *ti.Port != 8091 || *ti.Hotkey != "h" {
		t.Fatalf("lenient terminal: %+v, %v", ti, err)
	}
	if err := json.Unmarshal([]byte(`{"status_code":"two hundred"}`), &ti); err == nil {
		t.Fatal("non-numeric status accepted")
	}
}

func TestCheckNonce(t *testing.T) {
	now := mustTime("2024-04-01T00:00:00Z")
	ns := now.UnixNano()
	sec := int64(1e9)
	tests := []struct {
		name    string
		nonce   int64
		version int64
		last    int64
		seen    bool
		ok      bool
	}{
		{"modern 1s old", ns - 1*sec, Version720, 0, false, true},
		{"modern 15s old", ns - 15*sec, Version720, 0, false, true},
		{"modern 18s old", ns - 18*sec, Version720, 0, false, false},
		{"modern future", ns + 100*sec, Version720, 0, false, true},
		{"modern replay", ns, Version720, ns, true, false},
		{"modern newer", ns, Version720, ns - 1, true, true},
		{"legacy small nonce first", 5, Version693, 0, false, true},
		{"legacy increasing", 6, Version693, 5, true, true},
		{"legacy equal", 5, Version693, 5, true, false},
		{"absent version", 5, 0, 9, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNonce(tc.nonce, tc.version, 12, now, tc.last, tc.seen)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckNonce: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// Timeouts out of range are clamped, never overflow into a wider window.
	for _, timeout := range []float64{1e12, 1e300, math.Inf(1), math.NaN(), -5} {
		if err := CheckNonce(ns-2*3600*sec, Version720, timeout, now, 0, false); err == nil {
			t.Errorf("timeout %v: a two-hour-old nonce was accepted", timeout)
		}
	}
	if err := CheckNonce(ns-3*sec, Version720, math.NaN(), now, 0, false); err != nil {
		t.Errorf("NaN timeout: a fresh nonce was refused: %v", err)
	}
}

func TestNonceStoreBounded(t *testing.T) {
	s := newNonceStore(3)
	for i, k := range []string{"a", "b", "c", "d"} {
		if !s.commit(k, int64(i+1)) {
			t.Fatalf("commit %s", k)
		}
	}
	if s.len() != 3 {
		t.Fatalf("len %d", s.len())
	}
	if _, ok := s.get("a"); ok {
		t.Fatal("oldest key kept")
	}
	if s.commit("d", 4) {
		t.Fatal("equal nonce committed")
	}
}

func TestNewUUID(t *testing.T) {
	u := NewUUID()
	if len(u) != 36 || u[14] != '1' || strings.Count(u, "-") != 4 {
		t.Fatalf("uuid %q", u)
	}
	if NewUUID() == u {
		t.Fatal("uuids repeat")
	}
}
