package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtureAnchor is the "now" of the testdata documents; fakeAPI moves every
// time in them by the distance from it to the real now, so that expiry dates
// and history charts read as they would on a live validator.
var fixtureAnchor = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// The API keys the fake accepts: readKey has the read scope, rentKey read and rent.
const (
	readKey = "ck_read_3f9a1c7e5b2d4f60"
	rentKey = "ck_rent_8d2e6b1a9c4f7e30"
)

// fakeAPI answers the /v1 endpoints the dashboard reads with the documents
// of testdata/, in the shapes of the API contract, and acts on its rentals
// in memory. Its state is guarded by mu.
type fakeAPI struct {
	t          testing.TB
	publicRead bool // reads without a key, as --api.public-read

	mu        sync.Mutex
	docs      map[string]any   // by fixture name, times moved to now
	rentals   []map[string]any // the rentals of rentKey
	block     int              // grows by one at each /v1/status
	minerHits int              // GET /v1/miners answered
}

func newFakeAPI(t testing.TB, publicRead bool) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, publicRead: publicRead, docs: map[string]any{}}
	shift := time.Now().UTC().Truncate(time.Second).Sub(fixtureAnchor)
	for _, name := range []string{"status", "miners", "gpus", "history", "rounds", "weights", "rentals"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("testdata/%s.json: %v", name, err)
		}
		f.docs[name] = shiftTimes(v, shift)
	}
	for _, r := range f.docs["rentals"].(map[string]any)["rentals"].([]any) {
		f.rentals = append(f.rentals, r.(map[string]any))
	}
	f.block = int(f.docs["status"].(map[string]any)["block"].(float64))
	return f
}

// shiftTimes moves every RFC 3339 string in v by d.
func shiftTimes(v any, d time.Duration) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = shiftTimes(e, d)
		}
	case []any:
		for i, e := range x {
			x[i] = shiftTimes(e, d)
		}
	case string:
		if t, err := time.Parse(time.RFC3339, x); err == nil && len(x) >= 20 {
			return t.Add(d).UTC().Format(time.RFC3339)
		}
	}
	return v
}

func (f *fakeAPI) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.minerHits
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":     "https://compute.invalid/problems/" + strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "-")),
		"title":    title,
		"status":   status,
		"detail":   detail,
		"instance": r.URL.Path,
	})
}

// auth reports whether the request's key may do what need ("read" or
// "rent"); otherwise it writes the 401 or 403 and returns false.
func (f *fakeAPI) auth(w http.ResponseWriter, r *http.Request, need string) bool {
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case need == "read" && f.publicRead:
		return true
	case key == rentKey:
		return true
	case key == readKey && need == "read":
		return true
	case key == readKey:
		problem(w, r, http.StatusForbidden, "Forbidden", "this API key lacks the rent scope")
		return false
	case key == "":
		w.Header().Set("WWW-Authenticate", `Bearer realm="compute"`)
		problem(w, r, http.StatusUnauthorized, "Unauthorized", "this endpoint needs an API key (Authorization: Bearer <key>)")
		return false
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="compute", error="invalid_token"`)
		problem(w, r, http.StatusUnauthorized, "Unauthorized", "unknown or revoked API key")
		return false
	}
}

func (f *fakeAPI) miner(hotkey string) map[string]any {
	for _, m := range f.docs["miners"].(map[string]any)["miners"].([]any) {
		if mm := m.(map[string]any); mm["hotkey"] == hotkey {
			return mm
		}
	}
	return nil
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/v1")
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if r.Method == http.MethodGet && parts[0] != "rentals" {
		if !f.auth(w, r, "read") {
			return
		}
		switch {
		case p == "/status":
			f.block++
			st := f.docs["status"].(map[string]any)
			st["block"] = f.block
			st["time"] = time.Now().UTC().Format(time.RFC3339)
			writeJSON(w, http.StatusOK, st)
		case p == "/miners":
			f.minerHits++
			writeJSON(w, http.StatusOK, f.docs["miners"])
		case p == "/gpus" || p == "/rounds" || p == "/weights":
			writeJSON(w, http.StatusOK, f.docs[parts[0]])
		case len(parts) == 2 && parts[0] == "miners":
			m := f.miner(parts[1])
			if m == nil {
				problem(w, r, http.StatusNotFound, "Not Found", "no miner with hotkey "+parts[1])
				return
			}
			out := map[string]any{}
			for k, v := range m {
				out[k] = v
			}
			if sp, ok := m["specs"].(map[string]any); ok {
				out["specs_raw"] = map[string]any{"cpu": map[string]any{"count": sp["cpu_count"]},
					"ram": map[string]any{"total": sp["ram_bytes"]}, "hard_disk": map[string]any{"total": sp["disk_bytes"]},
					"gpu": map[string]any{"count": sp["gpu_count"], "details": sp["gpus"]}}
			}
			writeJSON(w, http.StatusOK, out)
		case len(parts) == 3 && parts[0] == "miners" && parts[2] == "history":
			m := f.miner(parts[1])
			if m == nil {
				problem(w, r, http.StatusNotFound, "Not Found", "no miner with hotkey "+parts[1])
				return
			}
			if m["challenges"].(float64) == 0 {
				writeJSON(w, http.StatusOK, map[string]any{"hotkey": parts[1], "challenges": []any{}, "scores": []any{}})
				return
			}
			h := f.docs["history"].(map[string]any)
			writeJSON(w, http.StatusOK, map[string]any{"hotkey": parts[1], "challenges": h["challenges"], "scores": h["scores"]})
		default:
			problem(w, r, http.StatusNotFound, "Not Found", "no such endpoint: "+r.URL.Path)
		}
		return
	}
	if parts[0] != "rentals" {
		problem(w, r, http.StatusMethodNotAllowed, "Method Not Allowed", r.Method+" "+r.URL.Path)
		return
	}
	if !f.auth(w, r, "rent") {
		return
	}
	if len(parts) == 1 && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{"rentals": f.rentals})
		return
	}
	var rental map[string]any
	for _, x := range f.rentals {
		if x["id"] == parts[1] {
			rental = x
		}
	}
	if rental == nil {
		problem(w, r, http.StatusNotFound, "Not Found", "no rental "+parts[1])
		return
	}
	if st := rental["status"]; r.Method != http.MethodGet && (st == "released" || st == "expired") {
		problem(w, r, http.StatusConflict, "Rental ended", fmt.Sprintf("rental %s is %s", parts[1], st))
		return
	}
	now := time.Now().UTC().Format(time.RFC3339)
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, rental)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		rental["status"] = "released"
		rental["released_at"] = now
		writeJSON(w, http.StatusOK, rental)
	case len(parts) == 3 && parts[2] == "extend" && r.Method == http.MethodPost:
		var body struct {
			Days int `json:"days"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Days < 1 {
			problem(w, r, http.StatusBadRequest, "Bad Request", "days: a whole number of days, at least 1")
			return
		}
		created, _ := time.Parse(time.RFC3339, rental["created_at"].(string))
		expires, _ := time.Parse(time.RFC3339, rental["expires_at"].(string))
		next := expires.Add(time.Duration(body.Days) * 24 * time.Hour)
		if next.Sub(created) > 7*24*time.Hour {
			problem(w, r, http.StatusUnprocessableEntity, "Lease too long",
				"extending by "+strconv.Itoa(body.Days)+" days would make the lease longer than the 7 days the miner allows from its creation")
			return
		}
		rental["expires_at"] = next.UTC().Format(time.RFC3339)
		writeJSON(w, http.StatusOK, rental)
	case len(parts) == 3 && parts[2] == "restart" && r.Method == http.MethodPost:
		writeJSON(w, http.StatusAccepted, rental)
	default:
		problem(w, r, http.StatusNotFound, "Not Found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}
