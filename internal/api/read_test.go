package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/version"
)

// TestReadEndpoints reads every read endpoint over the network a real
// validator challenged: two miners with the specs they reported, Big
// verified by a canary verdict, Small allocated.
func TestReadEndpoints(t *testing.T) {
	ts := newTestServer(t, nil)
	n := ts.net
	tok, _ := ts.key(0, ScopeRead)

	t.Run("status", func(t *testing.T) {
		a := ts.get("/v1/status", tok)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		var st struct {
			Netuid          uint16    `json:"netuid"`
			ValidatorHotkey string    `json:"validator_hotkey"`
			Block           uint64    `json:"block"`
			Version         string    `json:"version"`
			Miners          int       `json:"miners"`
			Verified        int       `json:"verified"`
			Allocated       int       `json:"allocated"`
			Time            time.Time `json:"time"`
		}
		a.decode(t, &st)
		if st.Netuid != testNetuid || st.ValidatorHotkey != n.validator.SS58Address() || st.Block == 0 || st.Version != version.String ||
			st.Miners != 2 || st.Verified != 1 || st.Allocated != 1 || time.Since(st.Time) > time.Minute || st.Time.Location() != time.UTC {
			t.Errorf("status %+v", st)
		}
	})

	var miners []minerWire
	t.Run("miners", func(t *testing.T) {
		a := ts.get("/v1/miners", tok)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		var out struct{ Miners []minerWire }
		a.decode(t, &out)
		miners = out.Miners
		if len(miners) != 2 {
			t.Fatalf("%d miners, want Big and Small (the validator left out): %s", len(miners), a.body)
		}
		big, small := byHotkey(miners, n.big), byHotkey(miners, n.small)
		if big == nil || small == nil {
			t.Fatalf("miners %s", a.body)
		}
		if big.Specs == nil || big.Specs.CPUCount != 8 || big.Specs.GPUCount != 2 || len(big.Specs.GPUs) != 2 ||
			big.Specs.GPUs[0].Model != "NVIDIA H200" || big.Specs.GPUs[0].MemoryBytes != 143771<<20 || big.Specs.RAMBytes != 64<<30 {
			t.Errorf("Big's specs %+v", big.Specs)
		}
		if big.Verified != store.CanaryVerified || big.VerifiedAt == nil || big.VerifiedReason != "ok" || small.Verified != "unchecked" || small.VerifiedAt != nil {
			t.Errorf("verified: Big %q %v, Small %q %v", big.Verified, big.VerifiedAt, small.Verified, small.VerifiedAt)
		}
		for _, m := range []*minerWire{big, small} {
			if m.Challenges < 3 || m.SuccessRate <= 0 || m.SuccessRate > 1 || m.Difficulty < 3 || m.AverageTime <= 0 ||
				m.Score <= 0 || m.Score > 1 || m.Weight <= 0 || m.Axon == "" || m.Coldkey == "" || m.SpecsUpdatedAt == nil {
				t.Errorf("miner %d: %+v", m.UID, *m)
			}
		}
		if big.Allocated || !small.Allocated {
			t.Errorf("allocated: Big %v, Small %v", big.Allocated, small.Allocated)
		}
		if miners[0].UID > miners[1].UID {
			t.Errorf("not in uid order: %d, %d", miners[0].UID, miners[1].UID)
		}
		var sum float64
		for _, m := range miners {
			sum += m.Weight
		}
		if sum < 0.99 || sum > 1.01 {
			t.Errorf("weights sum to %v, want 1 (the validator's last weights, normalised)", sum)
		}
	})

	t.Run("miner filters", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"verified=true", []string{n.big}},
			{"verified=false", []string{n.small}},
			{"allocated=true", []string{n.small}},
			{"allocated=false", []string{n.big}},
			{"gpu_model=h200", []string{n.big}},
			{"gpu_model=4090", nil},
			{"gpu_model=H200&allocated=true", nil},
		} {
			a := ts.get("/v1/miners?"+tc.query, tok)
			var out struct{ Miners []minerWire }
			a.decode(t, &out)
			var got []string
			for _, m := range out.Miners {
				got = append(got, m.Hotkey)
			}
			if a.status != http.StatusOK || !slices.Equal(got, tc.want) || out.Miners == nil {
				t.Errorf("?%s: %d %v, want %v", tc.query, a.status, got, tc.want)
			}
		}
		a := ts.get("/v1/miners?verified=maybe", tok)
		if a.status != http.StatusBadRequest || a.problem(t).Field != "verified" {
			t.Errorf("verified=maybe: %d %s", a.status, a.body)
		}
	})

	t.Run("miner", func(t *testing.T) {
		a := ts.get("/v1/miners/"+n.big, tok)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		var d struct {
			minerWire
			SpecsRaw map[string]any `json:"specs_raw"`
		}
		a.decode(t, &d)
		cpu, _ := d.SpecsRaw["cpu"].(map[string]any)
		if d.Hotkey != n.big || d.Specs == nil || cpu == nil || cpu["count"] != float64(8) {
			t.Errorf("detail %s", a.body)
		}
		if a := ts.get("/v1/miners/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", tok); a.status != http.StatusNotFound {
			t.Errorf("unknown miner: %d %s", a.status, a.body)
		}
		if a := ts.get("/v1/miners/not-a-key", tok); a.status != http.StatusBadRequest || a.problem(t).Field != "hotkey" {
			t.Errorf("malformed hotkey: %d %s", a.status, a.body)
		}
	})

	t.Run("history", func(t *testing.T) {
		a := ts.get("/v1/miners/"+n.small+"/history?hours=2", tok)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		var h struct {
			Hotkey     string
			Hours      int
			Challenges []struct {
				Time       time.Time
				Round      int64
				Difficulty int
				Success    bool
				Elapsed    float64
			}
			Scores []struct {
				Time  time.Time
				Score float64
			}
		}
		a.decode(t, &h)
		if h.Hotkey != n.small || h.Hours != 2 || len(h.Challenges) < 3 || len(h.Scores) != len(h.Challenges) {
			t.Fatalf("history: %d challenges, %d scores: %s", len(h.Challenges), len(h.Scores), a.body)
		}
		for i, c := range h.Challenges {
			if c.Round == 0 || c.Difficulty < 3 || (c.Success && c.Elapsed <= 0) || !c.Time.Equal(h.Scores[i].Time) {
				t.Errorf("challenge %d %+v, score time %v", i, c, h.Scores[i].Time)
			}
			if i > 0 && c.Time.Before(h.Challenges[i-1].Time) {
				t.Errorf("challenges not oldest first at %d", i)
			}
		}
		if last := h.Scores[len(h.Scores)-1].Score; last <= 0 || last > 1 {
			t.Errorf("last score %v", last)
		}
		for _, q := range []string{"hours=0", "hours=169", "hours=x"} {
			if a := ts.get("/v1/miners/"+n.small+"/history?"+q, tok); a.status != http.StatusBadRequest || a.problem(t).Field != "hours" {
				t.Errorf("%s: %d %s", q, a.status, a.body)
			}
		}
	})

	t.Run("gpus", func(t *testing.T) {
		a := ts.get("/v1/gpus", tok)
		var out struct {
			Models []struct {
				Model                   string
				Count, Miners, Verified int
			}
		}
		a.decode(t, &out)
		if a.status != http.StatusOK || len(out.Models) != 1 || out.Models[0].Model != "NVIDIA H200" || out.Models[0].Count != 2 ||
			out.Models[0].Miners != 1 || out.Models[0].Verified != 2 {
			t.Errorf("gpus %d %s", a.status, a.body)
		}
	})

	t.Run("available", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{n.small, n.big}},
			{"cpu_count=4", []string{n.big}},
			{"gpu_type=H200&gpu_count=2", []string{n.big}},
			{"gpu_capacity=" + url.QueryEscape("200GiB"), nil},
			{"ram=3GiB&disk=50GiB", []string{n.small, n.big}},
			{"ram=8GiB", []string{n.big}},
		} {
			a := ts.get("/v1/available?"+tc.query, tok)
			var out struct {
				Miners []struct {
					UID    uint16
					Hotkey string
					Score  float64
				}
			}
			a.decode(t, &out)
			var got []string
			for _, m := range out.Miners {
				got = append(got, m.Hotkey)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if a.status != http.StatusOK || !slices.Equal(got, want) || out.Miners == nil {
				t.Errorf("?%s: %d %s, want %v", tc.query, a.status, a.body, tc.want)
			}
			for i := 1; i < len(out.Miners); i++ {
				if out.Miners[i].Score > out.Miners[i-1].Score {
					t.Errorf("?%s: not best score first: %s", tc.query, a.body)
				}
			}
		}
		for _, tc := range []struct{ query, field string }{
			{"ram=lots", "ram"}, {"cpu_count=-1", "cpu_count"}, {"cpu_count=0", "cpu_count"},
			{"gpu_capacity=1x", "gpu_capacity"}, {"disk=1MiB", "disk"},
		} {
			a := ts.get("/v1/available?"+tc.query, tok)
			if a.status != http.StatusBadRequest {
				t.Errorf("?%s: %d %s", tc.query, a.status, a.body)
				continue
			}
			if p := a.problem(t); p.Field != tc.field || !strings.Contains(p.Detail, tc.field) {
				t.Errorf("?%s: field %q, detail %q; want %s named", tc.query, p.Field, p.Detail, tc.field)
			}
		}
	})

	t.Run("allocations", func(t *testing.T) {
		a := ts.get("/v1/allocations", tok)
		var out struct {
			Allocations []struct {
				Hotkey    string
				UID       uint16
				IP        string
				Port      int
				Username  string
				KeyOnly   bool `json:"key_only"`
				Resource  map[string]any
				ExpiresAt *time.Time `json:"expires_at"`
				Expired   bool
			}
		}
		a.decode(t, &out)
		if a.status != http.StatusOK || len(out.Allocations) != 1 {
			t.Fatalf("allocations %d %s", a.status, a.body)
		}
		al := out.Allocations[0]
		if al.Hotkey != n.small || al.Port != 4444 || !al.KeyOnly || al.Resource["ram"] == nil || al.ExpiresAt == nil || al.Expired {
			t.Errorf("allocation %+v", al)
		}
		if strings.Contains(string(a.body), "key_file") || strings.Contains(string(a.body), "password") {
			t.Errorf("the allocation shows the server's key file or a password: %s", a.body)
		}
	})

	t.Run("rounds", func(t *testing.T) {
		a := ts.get("/v1/rounds?limit=2", tok)
		var out struct {
			Rounds []struct {
				ID, Block             int64
				Time                  time.Time
				Challenges, Successes int
			}
		}
		a.decode(t, &out)
		// The validator keeps running: the newest round may be one in which no
		// miner was queryable yet (0 challenges).
		if a.status != http.StatusOK || len(out.Rounds) != 2 || out.Rounds[0].ID <= out.Rounds[1].ID || out.Rounds[0].Block == 0 {
			t.Errorf("rounds %d %s", a.status, a.body)
		}
		for _, r := range out.Rounds {
			if r.Challenges > 2 || r.Successes > r.Challenges {
				t.Errorf("round %+v: more challenges than miners, or successes than challenges", r)
			}
		}
		all := ts.get("/v1/rounds", tok)
		all.decode(t, &out)
		if len(out.Rounds) < n.rounds {
			t.Errorf("%d rounds, the validator ran %d", len(out.Rounds), n.rounds)
		}
		full := false
		for _, r := range out.Rounds {
			full = full || r.Challenges == 2
		}
		if !full {
			t.Errorf("no round challenged both miners: %s", all.body)
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=ten"} {
			if a := ts.get("/v1/rounds?"+q, tok); a.status != http.StatusBadRequest || a.problem(t).Field != "limit" {
				t.Errorf("%s: %d %s", q, a.status, a.body)
			}
		}
	})

	t.Run("weights", func(t *testing.T) {
		a := ts.get("/v1/weights?limit=5", tok)
		var out struct{ Weights []store.WeightsRecord }
		a.decode(t, &out)
		if a.status != http.StatusOK || len(out.Weights) == 0 {
			t.Fatalf("weights %d %s", a.status, a.body)
		}
		w := out.Weights[0]
		if w.Hotkey != n.validator.SS58Address() || w.Mode != store.WeightsModeSet || len(w.UIDs) != len(w.Weights) || len(w.UIDs) == 0 ||
			w.CreatedAt.Location() != time.UTC {
			t.Errorf("weights record %+v", w)
		}
	})
}

// minerWire is a miner as a client decodes it.
type minerWire struct {
	UID     uint16 `json:"uid"`
	Hotkey  string `json:"hotkey"`
	Coldkey string `json:"coldkey"`
	Axon    string `json:"axon"`
	Specs   *struct {
		CPUCount  int   `json:"cpu_count"`
		RAMBytes  int64 `json:"ram_bytes"`
		DiskBytes int64 `json:"disk_bytes"`
		GPUs      []struct {
			Model       string `json:"model"`
			MemoryBytes int64  `json:"memory_bytes"`
		} `json:"gpus"`
		GPUCount int `json:"gpu_count"`
	} `json:"specs"`
	SpecsUpdatedAt *time.Time `json:"specs_updated_at"`
	Verified       string     `json:"verified"`
	VerifiedReason string     `json:"verified_reason"`
	VerifiedAt     *time.Time `json:"verified_at"`
	Difficulty     float64    `json:"difficulty"`
	SuccessRate    float64    `json:"success_rate"`
	AverageTime    float64    `json:"average_time"`
	Challenges     int        `json:"challenges"`
	Score          float64    `json:"score"`
	Weight         float64    `json:"weight"`
	Allocated      bool       `json:"allocated"`
}

func byHotkey(ms []minerWire, hk string) *minerWire {
	for i := range ms {
		if ms[i].Hotkey == hk {
			return &ms[i]
		}
	}
	return nil
}
