package wire

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseHeaders(f *testing.F) {
	f.Add("bt_header_axon_nonce", "111", "timeout", "12")
	f.Add("bt_header_input_obj_key1", "WzEsIDIsIDMsIDRd", "Bt_header_dendrite_port", "8091")
	f.Add("bt_header_dendrite_process_time", "1e309", "header_size", "-1")
	f.Add("timeout", "inf", "bt_header_axon_status_code", "99999999999999999999")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := http.Header{k1: {v1}, k2: {v2}}
		hi, err := ParseHeaders(h)
		if err != nil {
			return
		}
		// What parses can be written and parsed again to the same terminals.
		out := http.Header{}
		b := SynapseBase{Name: hi.Name, Timeout: hi.Timeout, Axon: hi.Axon, Dendrite: hi.Dendrite}
		WriteHeaders(out, &b, hi.ComputedBodyHash)
		again, err := ParseHeaders(out)
		if err != nil {
			t.Fatalf("re-parse of written headers: %v", err)
		}
		if (again.Dendrite.Nonce == nil) != (hi.Dendrite.Nonce == nil) || (hi.Dendrite.Nonce != nil && *again.Dendrite.Nonce != *hi.Dendrite.Nonce) {
			t.Fatal("nonce changed in a round trip")
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	f.Add("Challenge", `{"challenge_hash":"x","challenge_difficulty":7,"output":{"password":null}}`)
	f.Add("Allocate", `{"timeline":1,"device_requirement":{"cpu":{"count":1}},"checking":true}`)
	f.Add("Specs", `{"dendrite":{"nonce":"12","status_code":200.0},"axon":null}`)
	f.Add("Hashed", `{"a":1,"b":2,"d":["x"]}`)
	f.Add("Synapse", `[`)
	f.Add("Allocate", `{"timeline":30.0,"total_size":4000.0,"device_requirement":{"gpu":{"capacity":24576.0}},"required_hash_fields":["timeline","device_requirement","docker_requirement"],"docker_requirement":{"ssh_key":"k","x":[1e3,null]}}`)
	f.Add("Allocate", `{"timeline":3.0,"checking":true,"public_key":"k","docker_change":true,"docker_action":{"action":"exchange_key","ssh_key":"a\nb","key_type":"","x":[1e3,null]},"required_hash_fields":["docker_change","docker_action","timeline"]}`)
	f.Add("Allocate", `{"docker_change":1,"docker_action":null}`)
	f.Add("Allocate", `{"docker_change":"yes","docker_action":["restart"]}`)
	f.Add("Challenge", `{"challenge_difficulty":7.5,"required_hash_fields":["challenge_difficulty","challenge_hash"]}`)
	e := &Axon{cfg: AxonConfig{Version: 1}, routes: map[string]*route{}}
	ok := func(context.Context, Synapse) error { return nil }
	must(f, Attach(e, Handler[Specs]{Forward: func(ctx context.Context, s *Specs) error { return ok(ctx, s) }}))
	must(f, Attach(e, Handler[Challenge]{Forward: func(ctx context.Context, s *Challenge) error { return ok(ctx, s) }}))
	must(f, Attach(e, Handler[Allocate]{Forward: func(ctx context.Context, s *Allocate) error {
		_, _ = s.Requirement()
		_, _ = s.LeaseAction()
		return nil
	}}))
	must(f, Attach(e, Handler[hashed]{Forward: func(ctx context.Context, s *hashed) error { return nil }}))
	must(f, Attach(e, Handler[Ping]{Forward: func(ctx context.Context, s *Ping) error { return nil }}))
	f.Fuzz(func(t *testing.T, name, body string) {
		rt, found := e.routes[name]
		if !found {
			rt = e.routes["Specs"]
		}
		hi := &HeaderInfo{ComputedBodyHash: EmptyBodyHash, Timeout: 12}
		out, base, _, err := rt.serve(context.Background(), []byte(body), hi, time.Now())
		if err != nil {
			return
		}
		if base == nil || !json.Valid(out) {
			t.Fatalf("served an invalid answer: %s", out)
		}
	})
}

func FuzzSignatureMessage(f *testing.F) {
	f.Add(int64(1712000000000000000), aliceSS58, leopard42, "5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a", EmptyBodyHash, "0x00")
	f.Add(int64(-1), "", ".", "..", "", "")
	f.Add(int64(5), "5NotAnAddress", "x", "u", "h", "0x"+strings.Repeat("ff", 64))
	f.Fuzz(func(t *testing.T, nonce int64, dk, ak, uuid, hash, sig string) {
		msg := SignatureMessage(nonce, dk, ak, uuid, hash)
		want := strconv.FormatInt(nonce, 10) + "." + dk + "." + ak + "." + uuid + "." + hash
		if msg != want {
			t.Fatalf("message %q, want %q", msg, want)
		}
		hi := &HeaderInfo{ComputedBodyHash: hash, Dendrite: TerminalInfo{Nonce: &nonce, Hotkey: &dk, UUID: &uuid, Signature: &sig}}
		if err := VerifySignature(hi, ak); err == nil {
			t.Fatalf("random signature verified: %q", msg)
		}
		_ = CheckNonce(nonce, nonce, float64(len(uuid)), time.Unix(0, nonce), nonce, len(dk)%2 == 0)
	})
}
