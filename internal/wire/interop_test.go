package wire

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// pythonSpecsRequest builds a Specs request with the exact header set and
// body layout a Python dendrite sends (recorded from bittensor 6.9.3 and
// 7.4.0 talking to this axon): lowercase synapse headers, json.dumps spacing,
// required_hash_fields in the body only before 7.2.
func (e *env) pythonSpecsRequest(version, nonce int64, uuid string) *http.Request {
	e.t.Helper()
	hot := e.callKP.SS58Address()
	sig, err := SignMessage(e.callKP, SignatureMessage(nonce, hot, e.target.Hotkey, uuid, EmptyBodyHash))
	if err != nil {
		e.t.Fatal(err)
	}
	hashFields := `"required_hash_fields": [], `
	if version >= Version720 {
		hashFields = ""
	}
	body := fmt.Sprintf(`{"name": "Specs", "timeout": 10.0, "total_size": 3014, "header_size": 0, `+
		`"dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": "10.255.255.1", "port": null, "version": %d, "nonce": %d, "uuid": "%s", "hotkey": "%s", "signature": "%s"}, `+
		`"axon": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": %d, "version": null, "nonce": null, "uuid": null, "hotkey": "%s", "signature": null}, `+
		`"computed_body_hash": "", %s"specs_input": "", "specs_output": ""}`,
		version, nonce, uuid, hot, sig, e.port, e.target.Hotkey, hashFields)
	req, err := http.NewRequest(http.MethodPost, "http://"+e.addr+"/Specs", bytes.NewReader([]byte(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range map[string]string{
		"name": "Specs", "timeout": "10.0", "header_size": "464", "total_size": "3014", "computed_body_hash": EmptyBodyHash,
		"bt_header_axon_ip": "127.0.0.1", "bt_header_axon_port": strconv.Itoa(e.port), "bt_header_axon_hotkey": e.target.Hotkey,
		"bt_header_dendrite_ip": "10.255.255.1", "bt_header_dendrite_version": strconv.FormatInt(version, 10),
		"bt_header_dendrite_nonce": strconv.FormatInt(nonce, 10), "bt_header_dendrite_uuid": uuid,
		"bt_header_dendrite_hotkey": hot, "bt_header_dendrite_signature": sig,
		"Content-Type": "application/json", "User-Agent": "Python/3.11 aiohttp/3.8.4",
	} {
		req.Header[k] = []string{v}
	}
	return req
}

// A Python dendrite that queries one axon several times at once
// (dendrite.forward over a list of axons that repeats one, or concurrent
// calls) signs the requests in order, but this axon may verify them in any
// order. Python axons accepted all 30 of such a batch, this one only 2 or 3
// before the reorder window; here the batch arrives in exactly reverse order.
func TestPythonConcurrentQueryReordered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version int64
		base    int64 // first nonce of the batch
		stale   string
	}{
		{"6.9.3 monotonic nonces", Version693, 3896261197563, "Not Verified with error: Nonce is too small"},
		{"7.4.0 wall-clock nonces", 7_004_000, time.Now().UnixNano(), "Not Verified with error: Nonce is too old, a newer one was last processed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			const uuid = "ff1afe68-e8b1-11f1-9158-02fc00000001"
			const n = 30
			nonce := func(i int) int64 { return tc.base + int64(i)*137_000 } // ~0.14 ms apart, as observed
			for i := n - 1; i >= 0; i-- {
				if a := send(t, e.pythonSpecsRequest(tc.version, nonce(i), uuid)); a.status != 200 {
					t.Fatalf("request %d of the batch: %d %q", i, a.status, a.message)
				}
			}
			// Every nonce is still accepted only once.
			for _, i := range []int{0, n / 2, n - 1} {
				if a := send(t, e.pythonSpecsRequest(tc.version, nonce(i), uuid)); a.status != 401 || a.message != tc.stale {
					t.Fatalf("replay of request %d: %d %q", i, a.status, a.message)
				}
			}
			// A nonce further below the newest than the window is refused.
			old := nonce(n-1) - int64(NonceReorderWindow) - 1
			if a := send(t, e.pythonSpecsRequest(tc.version, old, uuid)); a.status != 401 || a.message != tc.stale {
				t.Fatalf("nonce below the reorder window: %d %q", a.status, a.message)
			}
			// Another dendrite (uuid) of the same hotkey has its own sequence.
			if a := send(t, e.pythonSpecsRequest(tc.version, nonce(0), "0b7274a2-e8b2-11f1-9a38-02fc00000001")); a.status != 200 {
				t.Fatalf("second dendrite: %d %q", a.status, a.message)
			}
		})
	}
}

func TestNonceStoreReorderWindow(t *testing.T) {
	const w = int64(NonceReorderWindow)
	s := newNonceStore(10)
	base := int64(1_000_000_000_000)
	steps := []struct {
		nonce int64
		ok    bool
	}{
		{base, true},
		{base, false},              // replay of the newest
		{base + 10, true},          // newer
		{base + 5, true},           // unseen, inside the window
		{base + 5, false},          // replay inside the window
		{base, false},              // replay of a former newest
		{base + 10 - w, false},     // at the window edge
		{base + 10 - w + 1, true},  // just inside
		{base + 3*w, true},         // jump: everything below base+2w is forgotten
		{base + 2*w, false},        // at the new edge
		{base + 10 - w + 1, false}, // old ones stay refused
	}
	for i, st := range steps {
		if ok := s.check("k", st.nonce) && s.commit("k", st.nonce); ok != st.ok {
			t.Fatalf("step %d: nonce %d accepted=%v, want %v", i, st.nonce-base, ok, st.ok)
		}
	}
	// The remembered nonces per key are bounded; overflowing raises a floor.
	s = newNonceStore(10)
	top := base + 1000
	if !s.commit("k", top) {
		t.Fatal("first commit")
	}
	for i := int64(1); i <= maxReorderNonces+1; i++ {
		if !s.commit("k", top-i) {
			t.Fatalf("reordered nonce %d refused", i)
		}
	}
	el := s.m["k"].Value.(*nonceEntry)
	if len(el.older) != maxReorderNonces {
		t.Fatalf("remembered %d nonces, want %d", len(el.older), maxReorderNonces)
	}
	if s.check("k", top-maxReorderNonces-1) || s.check("k", top-maxReorderNonces-2) {
		t.Fatal("a nonce at or below the floor is accepted")
	}
	if !s.check("k", top+1) {
		t.Fatal("a newer nonce is refused")
	}
}
