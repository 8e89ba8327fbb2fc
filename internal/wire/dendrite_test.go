package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/wallet"
)

// fakeAxon serves h on loopback and returns a target for it.
func fakeAxon(t *testing.T, h http.HandlerFunc) Target {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	return Target{Hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", IP: "127.0.0.1", Port: addr.Port}
}

// hang stalls a handler until the client goes away (or a few seconds pass).
func hang(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(3 * time.Second):
	}
}

func TestDendriteResponses(t *testing.T) {
	alice, _ := wallet.FromURI("//Alice")
	d, err := NewDendrite(DendriteConfig{Signer: alice, MaxResponseBytes: 1 << 10, Logger: quietLogger()})
	must(t, err)
	ctx := context.Background()

	tests := []struct {
		name    string
		h       http.HandlerFunc
		timeout time.Duration
		status  int
		msg     string
		err     bool
	}{
		{"non-json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, time.Second, 422, "Failed to parse response", true},
		{"oversize", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"x":"` + strings.Repeat("a", 4<<10) + `"}`))
		}, time.Second, 422, "Failed to parse response", true},
		{"never-ending body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.Write([]byte(`{"specs_output":"`))
			w.(http.Flusher).Flush()
			hang(r)
		}, 200 * time.Millisecond, 408, "Request timeout after 0.2 seconds", true},
		{"slow headers", func(w http.ResponseWriter, r *http.Request) { hang(r) }, 100 * time.Millisecond, 408, "Request timeout after 0.1 seconds", true},
		{"modern error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			w.Write([]byte(`{"message":"Forbidden. Key is blacklisted: no."}`))
		}, time.Second, 403, "Forbidden. Key is blacklisted: no.", false},
		{"legacy headers win", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["bt_header_axon_status_code"] = []string{"401"}
			w.Header()["bt_header_axon_status_message"] = []string{"Not Verified with error: x"}
			w.WriteHeader(200)
			w.Write([]byte(`{"specs_output":"ignored"}`))
		}, time.Second, 401, "Not Verified with error: x", false},
		{"python 6.9.3 axon success", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["bt_header_axon_status_code"] = []string{"200"}
			w.Header()["bt_header_axon_status_message"] = []string{"Success"}
			w.Header()["bt_header_axon_placeholder1"] = []string{"1"}
			w.Write([]byte(`{"name":"Specs","timeout":5.0,"axon":{"status_code":null},"dendrite":{},"specs_output":"{\"cpu\": 1}"}`))
		}, time.Second, 200, "Success", false},
		{"bad response header", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["bt_header_axon_status_code"] = []string{"OK"}
			w.Write([]byte(`{}`))
		}, time.Second, 422, "Failed to parse response", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := fakeAxon(t, tc.h)
			start := time.Now()
			r := Call(ctx, d, target, &Specs{}, tc.timeout)
			if r.StatusCode != tc.status || r.StatusMessage != tc.msg || (r.Err != nil) != tc.err {
				t.Fatalf("got %d %q %v; want %d %q err=%v", r.StatusCode, r.StatusMessage, r.Err, tc.status, tc.msg, tc.err)
			}
			if time.Since(start) > tc.timeout+2*time.Second {
				t.Fatalf("call outlived its timeout: %v", time.Since(start))
			}
			if r.Synapse == nil || r.Synapse.Dendrite.StatusCode == nil || *r.Synapse.Dendrite.StatusCode != tc.status {
				t.Fatalf("synapse dendrite status not set: %+v", r.Synapse)
			}
		})
	}
}

func TestDendriteRequestShape(t *testing.T) {
	alice, _ := wallet.FromURI("//Alice")
	d, err := NewDendrite(DendriteConfig{Signer: alice, ExternalIP: "10.1.2.3", Logger: quietLogger()})
	must(t, err)
	target := Target{Hotkey: leopard42, IP: "1.2.3.4", Port: 8091}
	req, url, err := d.build(context.Background(), &Specs{}, target, 12*time.Second)
	must(t, err)
	if url != "http://1.2.3.4:8091/Specs" {
		t.Fatalf("url %s", url)
	}
	for k, v := range map[string]string{"name": "Specs", "timeout": "12.0", "bt_header_axon_hotkey": leopard42, "bt_header_axon_ip": "1.2.3.4",
		"bt_header_axon_port": "8091", "bt_header_dendrite_hotkey": aliceSS58, "bt_header_dendrite_ip": "10.1.2.3",
		"bt_header_dendrite_uuid": d.UUID(), "computed_body_hash": EmptyBodyHash} {
		if got := req.Header[k]; len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %v, want %q", k, got, v)
		}
	}
	hi, err := ParseHeaders(req.Header)
	must(t, err)
	if *hi.Dendrite.Version != DefaultDendriteVersion || *hi.Dendrite.Nonce < time.Now().Add(-time.Minute).UnixNano() {
		t.Fatalf("modern version/nonce: %d %d", *hi.Dendrite.Version, *hi.Dendrite.Nonce)
	}
	if err := VerifySignature(hi, leopard42); err != nil {
		t.Fatal(err)
	}
	_, url, _ = d.build(context.Background(), &Specs{}, Target{Hotkey: leopard42, IP: "10.1.2.3", Port: 1}, time.Second)
	if url != "http://0.0.0.0:1/Specs" {
		t.Fatalf("own IP url %s", url)
	}
	a, b := d.nextNonce(), d.nextNonce()
	if b <= a {
		t.Fatal("nonces not increasing")
	}
	if _, err := NewDendrite(DendriteConfig{}); err == nil {
		t.Fatal("dendrite without signer")
	}
}

// pythonAxon answers like a recorded Python axon: status, lowercase headers
// and a body made from the request's dendrite headers by the given function.
func pythonAxon(status int, headers map[string]string, body func(d TerminalInfo) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hi, err := ParseHeaders(r.Header)
		if err != nil || hi.Dendrite.Nonce == nil || hi.Dendrite.UUID == nil || hi.Dendrite.Hotkey == nil {
			http.Error(w, "bad request headers", http.StatusTeapot)
			return
		}
		d := hi.Dendrite
		for k, v := range headers {
			w.Header()[k] = []string{v}
		}
		// A Python axon echoes the dendrite's own fields in its headers.
		w.Header()["bt_header_dendrite_nonce"] = []string{strconv.FormatInt(*d.Nonce, 10)}
		w.Header()["bt_header_dendrite_uuid"] = []string{*d.UUID}
		w.Header()["bt_header_dendrite_hotkey"] = []string{*d.Hotkey}
		w.Header()["content-type"] = []string{"application/json"}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body(d))
	}
}

// specsBody is a Specs synapse as pydantic dumps it; axon is the JSON of the
// axon terminal and legacy adds 6.x's required_hash_fields.
func specsBody(d TerminalInfo, axon string, legacy bool) string {
	rhf := ""
	if legacy {
		rhf = `"required_hash_fields": [], `
	}
	return fmt.Sprintf(`{"name": "Specs", "timeout": 5.0, "total_size": 1234, "header_size": 0, `+
		`"dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": null, "port": null, "version": %d, "nonce": %d, "uuid": "%s", "hotkey": "%s", "signature": "%s"}, `+
		`"axon": %s, "computed_body_hash": "", %s"specs_input": "", "specs_output": "{\"CPU\": {\"count\": 8}}"}`,
		*d.Version, *d.Nonce, *d.UUID, *d.Hotkey, *d.Signature, axon, rhf)
}

func messageBody(msg string) func(TerminalInfo) string {
	return func(TerminalInfo) string {
		b, _ := json.Marshal(map[string]string{"message": msg})
		return string(b)
	}
}

// TestDendriteReadsPythonAxons feeds responses shaped as bittensor 6.9.3 (with
// the original subnet's middleware) and >= 7.2 axons send them through Call.
func TestDendriteReadsPythonAxons(t *testing.T) {
	alice, _ := wallet.FromURI("//Alice")
	const axonUUID = "0f3c9a2e-1cec-11ee-b0dc-e29ce36fec1a"
	target := "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
	sig := "0x" + strings.Repeat("ab", 64)
	// 6.9.3 success: the header-synapse's headers (axon nonce, uuid,
	// signature, the subnet's version 142 and placeholders; the dendrite's
	// TCP port) and the forward's body, whose axon status is null.
	legacyOK := map[string]string{
		"name": "Specs", "timeout": "5.0", "header_size": "640", "total_size": "1234", "computed_body_hash": EmptyBodyHash,
		"bt_header_axon_status_code": "200", "bt_header_axon_status_message": "Success",
		"bt_header_axon_ip": "127.0.0.1", "bt_header_axon_port": "8091", "bt_header_axon_version": "142",
		"bt_header_axon_nonce": "86400123456789", "bt_header_axon_uuid": axonUUID, "bt_header_axon_hotkey": target,
		"bt_header_axon_signature": sig, "bt_header_axon_placeholder1": "1", "bt_header_axon_placeholder2": "2",
		"bt_header_dendrite_ip": "127.0.0.1", "bt_header_dendrite_port": "54321", "bt_header_dendrite_version": "693",
		"bt_header_dendrite_signature": sig,
	}
	legacyErr := func(code int, msg string) map[string]string {
		return map[string]string{"name": "Specs", "timeout": "5.0", "computed_body_hash": EmptyBodyHash,
			"bt_header_axon_status_code": strconv.Itoa(code), "bt_header_axon_status_message": msg,
			"bt_header_axon_version": "142", "bt_header_axon_nonce": "86400123456789", "bt_header_axon_uuid": axonUUID,
			"bt_header_axon_hotkey": target, "bt_header_axon_signature": sig, "bt_header_dendrite_port": "54321"}
	}
	// >= 7.2 success: the returned synapse in body and headers, with the
	// status and process time and no axon nonce, uuid or signature.
	modernOK := map[string]string{
		"name": "Specs", "timeout": "5.0", "header_size": "0", "total_size": "1234", "computed_body_hash": EmptyBodyHash,
		"bt_header_axon_status_code": "200", "bt_header_axon_status_message": "Success", "bt_header_axon_process_time": "0.0123",
		"bt_header_axon_ip": "127.0.0.1", "bt_header_axon_port": "8091", "bt_header_axon_hotkey": target,
	}
	modernErr := func(code int, msg string) map[string]string {
		return map[string]string{"name": "Specs", "timeout": "5.0", "computed_body_hash": EmptyBodyHash,
			"bt_header_axon_status_code": strconv.Itoa(code), "bt_header_axon_status_message": msg, "bt_header_axon_hotkey": target}
	}
	nullAxon := fmt.Sprintf(`{"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": 8091, "version": null, "nonce": null, "uuid": null, "hotkey": "%s", "signature": null}`, target)
	modernAxon := fmt.Sprintf(`{"status_code": 200, "status_message": "Success", "process_time": 0.0123, "ip": "127.0.0.1", "port": 8091, "version": null, "nonce": null, "uuid": null, "hotkey": "%s", "signature": null}`, target)
	conflictAxon := strings.Replace(strings.Replace(modernAxon, `"status_code": 200`, `"status_code": 409`, 1), `"Success"`, `"Conflict: busy"`, 1)

	tests := []struct {
		name      string
		status    int
		headers   map[string]string
		body      func(TerminalInfo) string
		wantCode  int
		wantMsg   string
		wantOut   bool  // specs_output filled in
		axonNonce int64 // expected axon nonce from the headers, 0 = none
		axonVer   int64
		procTime  bool
	}{
		{"6.9.3 success", 200, legacyOK, func(d TerminalInfo) string { return specsBody(d, nullAxon, true) },
			200, "Success", true, 86400123456789, 142, false},
		{"6.9.3 blacklist", 403, legacyErr(403, "Forbidden. Key is blacklisted: Unrecognized hotkey."),
			messageBody("Forbidden. Key is blacklisted: Unrecognized hotkey."), 403, "Forbidden. Key is blacklisted: Unrecognized hotkey.", false, 86400123456789, 142, false},
		{"6.9.3 not verified", 401, legacyErr(401, "Not Verified with error: Nonce is too small"),
			messageBody("Not Verified with error: Nonce is too small"), 401, "Not Verified with error: Nonce is too small", false, 86400123456789, 142, false},
		{"6.9.3 priority timeout", 503, legacyErr(503, "Response timeout after: 5.0s"),
			messageBody("Response timeout after: 5.0s"), 503, "Response timeout after: 5.0s", false, 86400123456789, 142, false},
		{"6.9.3 hash mismatch", 500, legacyErr(500, "Internal server error with error: Hash mismatch between header body hash and computed body hash"),
			messageBody("Internal server error with error: Hash mismatch between header body hash and computed body hash"),
			500, "Internal server error with error: Hash mismatch between header body hash and computed body hash", false, 86400123456789, 142, false},
		{">= 7.2 success", 200, modernOK, func(d TerminalInfo) string { return specsBody(d, modernAxon, false) },
			200, "Success", true, 0, 0, true},
		{">= 7.2 blacklist", 403, modernErr(403, "Forbidden. Key is blacklisted: Unrecognized hotkey."),
			messageBody("Forbidden. Key is blacklisted: Unrecognized hotkey."), 403, "Forbidden. Key is blacklisted: Unrecognized hotkey.", false, 0, 0, false},
		{">= 7.2 priority timeout", 408, modernErr(408, "Response timeout after: 5.0s"),
			messageBody("Response timeout after: 5.0s"), 408, "Response timeout after: 5.0s", false, 0, 0, false},
		{">= 7.2 forward error", 500, modernErr(500, "Internal Server Error #3f2b8c1e-7a4d-4f5e-9c1b-2d3e4f5a6b7c"),
			messageBody("Internal Server Error #3f2b8c1e-7a4d-4f5e-9c1b-2d3e4f5a6b7c"), 500, "Internal Server Error #3f2b8c1e-7a4d-4f5e-9c1b-2d3e4f5a6b7c", false, 0, 0, false},
		{">= 7.2 status set by forward", 409, modernErr(409, "Conflict: busy"),
			func(d TerminalInfo) string { return specsBody(d, conflictAxon, false) }, 409, "Conflict: busy", false, 0, 0, false},
		{">= 7.2 unknown synapse, no synapse headers", 404, map[string]string{},
			messageBody("Synapse name 'Specs' not found. Available synapses ['Synapse']"), 404, "Synapse name 'Specs' not found. Available synapses ['Synapse']", false, 0, 0, false},
	}
	for _, style := range []Style{StyleLegacy, StyleModern} {
		d, err := NewDendrite(DendriteConfig{Signer: alice, Style: style, Logger: quietLogger()})
		must(t, err)
		for _, tc := range tests {
			t.Run(fmt.Sprintf("style %d/%s", style, tc.name), func(t *testing.T) {
				tg := fakeAxon(t, pythonAxon(tc.status, tc.headers, tc.body))
				tg.Hotkey = target
				r := Call(context.Background(), d, tg, &Specs{}, 5*time.Second)
				if r.Err != nil || r.StatusCode != tc.wantCode || r.StatusMessage != tc.wantMsg || r.OK() != (tc.wantCode == 200) {
					t.Fatalf("got %d %q %v; want %d %q", r.StatusCode, r.StatusMessage, r.Err, tc.wantCode, tc.wantMsg)
				}
				s := r.Synapse
				if got := s.SpecsOutput != ""; got != tc.wantOut {
					t.Errorf("specs_output %q, want filled=%v", s.SpecsOutput, tc.wantOut)
				}
				if tc.wantOut && s.SpecsOutput != `{"CPU": {"count": 8}}` {
					t.Errorf("specs_output %q", s.SpecsOutput)
				}
				if *s.Dendrite.StatusCode != tc.wantCode || *s.Dendrite.StatusMessage != tc.wantMsg ||
					s.Dendrite.Hotkey == nil || *s.Dendrite.Hotkey != alice.SS58Address() || s.Dendrite.Nonce == nil || *s.Dendrite.UUID != d.UUID() {
					t.Errorf("dendrite terminal after the call: %+v", s.Dendrite)
				}
				if s.Axon.Hotkey == nil || *s.Axon.Hotkey != target || *s.Axon.StatusCode != tc.wantCode {
					t.Errorf("axon terminal after the call: %+v", s.Axon)
				}
				if (s.Axon.Nonce != nil && *s.Axon.Nonce != tc.axonNonce) || (s.Axon.Nonce == nil) != (tc.axonNonce == 0) {
					t.Errorf("axon nonce %v, want %d", s.Axon.Nonce, tc.axonNonce)
				}
				if (s.Axon.Version != nil && *s.Axon.Version != tc.axonVer) || (s.Axon.Version == nil) != (tc.axonVer == 0) {
					t.Errorf("axon version %v, want %d", s.Axon.Version, tc.axonVer)
				}
				if (s.Axon.ProcessTime != nil) != tc.procTime {
					t.Errorf("axon process_time %v, want present=%v", s.Axon.ProcessTime, tc.procTime)
				}
			})
		}
	}
}
