package devchain

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorsNameTheField: a malformed request is refused with
// invalid_request (400) and a message that names the field that was wrong.
func TestErrorsNameTheField(t *testing.T) {
	c, _ := memChain(t)
	ctx := context.Background()
	alice, bob := key(t, SudoURI), key(t, "//Bob")
	must(t, c.CreateSubnet(ctx, alice, 1, testParams()))
	must(t, c.Fund(ctx, bob.SS58Address(), 10*RaoPerTAO))
	h := NewHandler(c, nil)
	hk := key(t, "//Bob//hot").SS58Address()

	signed := func(method, args string) string {
		call, err := SignCall(bob, method, 1, json.RawMessage(args))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(call)
		return string(raw)
	}
	for _, tc := range []struct {
		name, path, body, want string
		status                 int
	}{
		{"negative amount", "/v1/call", signed(MethodAddStake, `{"hotkey":"`+hk+`","amount":-1}`),
			"add_stake: args.amount: -1 is not a whole number in 0..18446744073709551615", 400},
		{"amount as a string", "/v1/call", signed(MethodAddStake, `{"hotkey":"`+hk+`","amount":"5"}`),
			"add_stake: args.amount: got a JSON string, want a whole number in 0..18446744073709551615", 400},
		{"amount zero", "/v1/call", signed(MethodAddStake, `{"hotkey":"`+hk+`","amount":0}`),
			"args.amount must be above 0 rao", 400},
		{"uid out of range", "/v1/call", signed(MethodSetWeights, `{"netuid":1,"uids":[1,70000],"weights":[1,1],"version_key":0}`),
			"set_weights: args.uids: 70000 is not a whole number in 0..65535", 400},
		{"nested param type", "/v1/call", signed(MethodCreateSubnet, `{"netuid":2,"params":{"tempo":70000}}`),
			"create_subnet: args.params.tempo: 70000 is not a whole number in 0..65535", 400},
		{"nested param value", "/v1/call", signed(MethodCreateSubnet, `{"netuid":2,"params":{"tempo":0,"max_allowed_uids":8,"max_allowed_validators":1}}`),
			"args.params.tempo must be at least 1 block", 400},
		{"emission bound", "/v1/call", signed(MethodCreateSubnet, `{"netuid":2,"params":{"tempo":9,"max_allowed_uids":8,"max_allowed_validators":1,"emission_per_block":18446744073709551615}}`),
			"args.params.emission_per_block 18446744073709551615 rao must be at most", 400},
		{"bad hotkey", "/v1/call", signed(MethodRegister, `{"netuid":1,"hotkey":"nope"}`),
			`args.hotkey "nope" is not an SS58 address`, 400},
		{"unknown arg", "/v1/call", signed(MethodRegister, `{"netuid":1,"hotkey":"`+hk+`","extra":1}`),
			`register: args: unknown field "extra"`, 400},
		{"args not an object", "/v1/call", signed(MethodRegister, `[1]`),
			"register: args: got a JSON array, want an object", 400},
		{"nonce negative", "/v1/call", `{"method":"register","signer":"` + bob.SS58Address() + `","nonce":-1,"args":{},"signature":"0x00"}`,
			"nonce: -1 is not a whole number in 0..18446744073709551615", 400},
		{"missing signature", "/v1/call", `{"method":"register","signer":"` + bob.SS58Address() + `","nonce":1,"args":{}}`,
			"signature is required", 400},
		{"body not an object", "/v1/call", `[]`, "body: got a JSON array, want an object", 400},
		{"body cut short", "/v1/call", `{"method":"regi`, "body: malformed JSON", 400},
		{"unknown body field", "/v1/call", `{"method":"register","sig":1}`, `body: unknown field "sig"`, 400},
		{"fractional faucet amount", "/v1/dev/fund", `{"address":"` + hk + `","amount":1.5}`,
			"amount: 1.5 is not a whole number in 0..18446744073709551615", 400},
		{"zero faucet amount", "/v1/dev/fund", `{"address":"` + hk + `","amount":0}`,
			"amount: a faucet payment of 0 rao must be in 1..", 400},
		{"faucet address", "/v1/dev/fund", `{"address":"nope","amount":1}`,
			"address nope is not an SS58 address", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader([]byte(tc.body))))
			var e apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("reply %q: %v", rec.Body, err)
			}
			if rec.Code != tc.status || !strings.Contains(e.Error.Message, tc.want) {
				t.Fatalf("%d %+v, want %d and a message containing %q", rec.Code, e.Error, tc.status, tc.want)
			}
		})
	}
}

func TestFieldErrorWording(t *testing.T) {
	type inner struct {
		N int8 `json:"n"`
	}
	type v struct {
		A uint32  `json:"a"`
		B bool    `json:"b"`
		I inner   `json:"inner"`
		F float64 `json:"f"`
		D []byte  `json:"d"`
	}
	for _, tc := range []struct{ in, prefix, want string }{
		{`{"a":4294967296}`, "args", "args.a: 4294967296 is not a whole number in 0..4294967295"},
		{`{"b":1}`, "args", "args.b: got a JSON number, want true or false"},
		{`{"inner":{"n":200}}`, "", "inner.n: 200 is not a whole number in -128..127"},
		{`{"f":"x"}`, "", "f: got a JSON string, want a number"},
		{`{"d":5}`, "args", "args.d: got a JSON number, want a base64 string"},
		{`{"a":1} {}`, "args", "args: trailing data after the JSON value"},
		{`{"a":}`, "args", "args: malformed JSON at byte 6"},
		{``, "", "body: malformed JSON (it ends early)"},
	} {
		var x v
		err := decodeStrict([]byte(tc.in), &x, tc.prefix)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	// A field of an embedded struct is named by its JSON path.
	var p Params
	err := decodeStrict([]byte(`{"tempo":-1}`), &p, "args.params")
	if want := "args.params.tempo: -1 is not a whole number in 0..65535"; err == nil || err.Error() != want {
		t.Errorf("embedded field: %v, want %q", err, want)
	}
}
