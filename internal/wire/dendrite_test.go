package wire

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
