package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/version"
	"github.com/sn27/compute/internal/wallet"
)

// Bounds of the read endpoints' answers.
const (
	defaultLimit    = 50
	maxLimit        = 1000
	defaultHours    = 24
	maxHours        = 7 * 24
	maxChallenges   = 2000 // challenges in one history answer (the newest)
	maxScorePoints  = 500  // score points in one history answer (evenly spread)
	verifiedNone    = "unchecked"
	unknownSpecsRaw = "null"
)

// marshal is v as one line of JSON, "<" and ">" left as they are.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a failed write is a client gone: nothing more to say
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	return writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
	return nil
}

// timestamp is a time as the API writes it: RFC 3339 in UTC, null when zero.
func timestamp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// metagraph returns the subnet's metagraph, read at most every
// MetagraphTTL; when the chain cannot be read, the last one read.
func (s *Server) metagraph(ctx context.Context) (*chain.Metagraph, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if s.meta != nil && s.now().Sub(s.metaAt) < s.cfg.MetagraphTTL {
		return s.meta, nil
	}
	mg, err := s.deps.Chain.Metagraph(ctx, s.cfg.Netuid)
	if err != nil {
		if s.meta != nil {
			s.log.Warn("reading the metagraph failed; answering with the last one read", "block", s.meta.Block, "err", err)
			return s.meta, nil
		}
		return nil, err
	}
	s.meta, s.metaAt = mg, s.now()
	return mg, nil
}

// minerView is a miner as /v1/miners shows it.
type minerView struct {
	UID            uint16     `json:"uid"`
	Hotkey         string     `json:"hotkey"`
	Coldkey        string     `json:"coldkey"`
	Axon           string     `json:"axon"`
	Specs          *specsView `json:"specs"`
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

	raw json.RawMessage // the stored specs report
}

// minerDetail is one miner with its stored specs report.
type minerDetail struct {
	minerView
	SpecsRaw json.RawMessage `json:"specs_raw"`
}

type specsView struct {
	CPUCount  int       `json:"cpu_count"`
	RAMBytes  int64     `json:"ram_bytes"`
	DiskBytes int64     `json:"disk_bytes"`
	GPUs      []gpuView `json:"gpus"`
	GPUCount  int       `json:"gpu_count"`
}

type gpuView struct {
	Model       string `json:"model"`
	MemoryBytes int64  `json:"memory_bytes"`
}

// listMiners is every neuron of the metagraph but this validator, with
// what the store knows of it, by uid. Without the chain it lists the
// miners the store knows, without their axons.
func (s *Server) listMiners(ctx context.Context) ([]minerView, uint64, error) {
	st := s.deps.Store
	now := s.now()
	var neurons []chain.Neuron
	var block uint64
	mg, err := s.metagraph(ctx)
	if err == nil {
		neurons, block = mg.Neurons, mg.Block
	} else {
		s.log.Warn("reading the metagraph failed; listing the miners the store knows", "err", err)
		known, kerr := st.KnownMiners(ctx)
		if kerr != nil {
			return nil, 0, kerr
		}
		for _, m := range known {
			neurons = append(neurons, chain.Neuron{UID: m.UID, Hotkey: m.Hotkey, Coldkey: m.Coldkey})
		}
	}
	specs, err := st.Specs(ctx)
	if err != nil {
		return nil, 0, err
	}
	verdicts, err := st.CanaryStatuses(ctx)
	if err != nil {
		return nil, 0, err
	}
	stats, err := st.Stats(ctx, now)
	if err != nil {
		return nil, 0, err
	}
	allocated, err := st.Allocated(ctx, now)
	if err != nil {
		return nil, 0, err
	}
	weights, err := s.lastWeights(ctx)
	if err != nil {
		return nil, 0, err
	}
	out := make([]minerView, 0, len(neurons))
	for _, n := range neurons {
		if n.Hotkey == s.deps.Hotkey {
			continue
		}
		m := minerView{UID: n.UID, Hotkey: n.Hotkey, Coldkey: n.Coldkey, Verified: verifiedNone,
			Weight: weights[n.UID], Allocated: allocated[n.Hotkey]}
		if n.Axon.IP != "" && n.Axon.IP != "0.0.0.0" && n.Axon.Port != 0 {
			m.Axon = net.JoinHostPort(n.Axon.IP, strconv.Itoa(int(n.Axon.Port)))
		}
		if sp, ok := specs[n.Hotkey]; ok {
			m.raw = sp.Details
			m.Specs = specsOf(sp)
			if m.Specs != nil {
				m.SpecsUpdatedAt = timestamp(sp.UpdatedAt)
			}
		}
		if v, ok := verdicts[n.Hotkey]; ok {
			m.Verified, m.VerifiedReason, m.VerifiedAt = v.State, v.Reason, timestamp(v.VerifiedAt)
		}
		sc := stats[n.Hotkey]
		m.Difficulty, m.AverageTime, m.Challenges = sc.RecentAvgDifficulty, sc.AvgElapsed, sc.Attempts
		if sc.Attempts > 0 {
			m.SuccessRate = float64(sc.Successes) / float64(sc.Attempts)
		}
		m.Score = score.Score(s.cfg.Score, sc, m.Allocated).Normalized
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b minerView) int {
		return cmp.Or(cmp.Compare(a.UID, b.UID), strings.Compare(a.Hotkey, b.Hotkey))
	})
	return out, block, nil
}

// specsOf reads a stored specs report; nil when there is none or it
// cannot be read.
func specsOf(sp store.MinerSpecs) *specsView {
	rep, err := renter.ParseSpecs(sp.Details)
	if err != nil {
		return nil
	}
	v := &specsView{CPUCount: max(rep.CPU.Count, rep.CPU.Logical), RAMBytes: rep.RAM.Total, DiskBytes: rep.HardDisk.Total,
		GPUs: []gpuView{}}
	for _, g := range rep.GPU.Details {
		v.GPUs = append(v.GPUs, gpuView{Model: g.Name, MemoryBytes: g.Capacity << 20})
	}
	v.GPUCount = len(v.GPUs)
	return v
}

// lastWeights is the normalised weight of each uid in the validator's
// latest weights submission (none: empty).
func (s *Server) lastWeights(ctx context.Context) (map[uint16]float64, error) {
	out := map[uint16]float64{}
	rec, err := s.deps.Store.LastWeights(ctx, s.cfg.Netuid, s.deps.Hotkey)
	if err != nil || rec == nil {
		return out, err
	}
	var sum float64
	for _, w := range rec.Weights {
		sum += float64(w)
	}
	if sum == 0 {
		return out, nil
	}
	for i, u := range rec.UIDs {
		if i < len(rec.Weights) {
			out[u] = float64(rec.Weights[i]) / sum
		}
	}
	return out, nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, _ *caller) error {
	miners, block, err := s.listMiners(r.Context())
	if err != nil {
		return err
	}
	if b, err := s.deps.Chain.Block(r.Context()); err == nil {
		block = b
	}
	out := struct {
		Netuid          uint16    `json:"netuid"`
		ValidatorHotkey string    `json:"validator_hotkey"`
		Block           uint64    `json:"block"`
		Version         string    `json:"version"`
		Miners          int       `json:"miners"`
		Verified        int       `json:"verified"`
		Allocated       int       `json:"allocated"`
		Time            time.Time `json:"time"`
	}{Netuid: s.cfg.Netuid, ValidatorHotkey: s.deps.Hotkey, Block: block, Version: version.String, Miners: len(miners),
		Time: s.now().UTC()}
	for _, m := range miners {
		if m.Verified == store.CanaryVerified {
			out.Verified++
		}
		if m.Allocated {
			out.Allocated++
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, invalid(name, "%s must be true or false, got %q", name, v)
	}
	return &b, nil
}

// intParam reads an optional integer query parameter between lo and hi.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "%s must be a whole number from %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}

func (s *Server) miners(w http.ResponseWriter, r *http.Request, _ *caller) error {
	verified, err := boolParam(r, "verified")
	if err != nil {
		return err
	}
	allocated, err := boolParam(r, "allocated")
	if err != nil {
		return err
	}
	model := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("gpu_model")))
	miners, _, err := s.listMiners(r.Context())
	if err != nil {
		return err
	}
	out := make([]minerView, 0, len(miners))
	for _, m := range miners {
		if verified != nil && (m.Verified == store.CanaryVerified) != *verified {
			continue
		}
		if allocated != nil && m.Allocated != *allocated {
			continue
		}
		if model != "" && (m.Specs == nil || !slices.ContainsFunc(m.Specs.GPUs, func(g gpuView) bool {
			return strings.Contains(strings.ToLower(g.Model), model)
		})) {
			continue
		}
		out = append(out, m)
	}
	return writeJSON(w, http.StatusOK, map[string][]minerView{"miners": out})
}

// findMiner returns the listed miner with the path's hotkey.
func (s *Server) findMiner(r *http.Request) (minerView, error) {
	hk := r.PathValue("hotkey")
	if _, _, err := wallet.SS58Decode(hk); err != nil {
		return minerView{}, invalid("hotkey", "%q is not an SS58 address", clipText(hk))
	}
	miners, _, err := s.listMiners(r.Context())
	if err != nil {
		return minerView{}, err
	}
	for _, m := range miners {
		if m.Hotkey == hk {
			return m, nil
		}
	}
	return minerView{}, problemf(http.StatusNotFound, kindNotFound, "no miner %s on netuid %d", hk, s.cfg.Netuid)
}

// clipText shortens a client's text for an answer.
func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (s *Server) miner(w http.ResponseWriter, r *http.Request, _ *caller) error {
	m, err := s.findMiner(r)
	if err != nil {
		return err
	}
	d := minerDetail{minerView: m, SpecsRaw: json.RawMessage(unknownSpecsRaw)}
	if len(m.raw) > 0 {
		d.SpecsRaw = m.raw
		// A report stored as the JSON string it came in is shown as its object.
		var inner string
		if json.Unmarshal(m.raw, &inner) == nil && json.Valid([]byte(inner)) {
			d.SpecsRaw = json.RawMessage(inner)
		}
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, _ *caller) error {
	hours, err := intParam(r, "hours", defaultHours, 1, maxHours)
	if err != nil {
		return err
	}
	m, err := s.findMiner(r)
	if err != nil {
		return err
	}
	now := s.now()
	since := now.Add(-time.Duration(hours) * time.Hour)
	chs, err := s.deps.Store.Challenges(r.Context(), m.Hotkey, since, maxChallenges)
	if err != nil {
		return err
	}
	points, err := s.deps.Store.StatsHistory(r.Context(), m.Hotkey, since, now, maxScorePoints)
	if err != nil {
		return err
	}
	type challenge struct {
		Time       time.Time `json:"time"`
		Round      int64     `json:"round"`
		Difficulty int       `json:"difficulty"`
		Success    bool      `json:"success"`
		Elapsed    float64   `json:"elapsed"`
		Error      string    `json:"error,omitempty"`
	}
	type point struct {
		Time  time.Time `json:"time"`
		Score float64   `json:"score"`
	}
	out := struct {
		Hotkey     string      `json:"hotkey"`
		Hours      int         `json:"hours"`
		Challenges []challenge `json:"challenges"`
		Scores     []point     `json:"scores"`
	}{Hotkey: m.Hotkey, Hours: hours, Challenges: make([]challenge, 0, len(chs)), Scores: make([]point, 0, len(points))}
	for _, c := range chs {
		out.Challenges = append(out.Challenges, challenge{Time: c.At.UTC(), Round: c.RoundID, Difficulty: c.Difficulty,
			Success: c.Success, Elapsed: c.Elapsed.Seconds(), Error: c.Error})
	}
	for _, p := range points {
		// The challenge score as the rounds measured it (no allocation bonus).
		out.Scores = append(out.Scores, point{Time: p.At.UTC(), Score: score.Score(s.cfg.Score, p.Stats, false).Normalized})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) gpus(w http.ResponseWriter, r *http.Request, _ *caller) error {
	miners, _, err := s.listMiners(r.Context())
	if err != nil {
		return err
	}
	type model struct {
		Model    string `json:"model"`
		Count    int    `json:"count"`
		Miners   int    `json:"miners"`
		Verified int    `json:"verified"`
	}
	byModel := map[string]*model{}
	for _, m := range miners {
		if m.Specs == nil {
			continue
		}
		seen := map[string]bool{}
		for _, g := range m.Specs.GPUs {
			e := byModel[g.Model]
			if e == nil {
				e = &model{Model: g.Model}
				byModel[g.Model] = e
			}
			e.Count++
			if m.Verified == store.CanaryVerified {
				e.Verified++
			}
			if !seen[g.Model] {
				seen[g.Model] = true
				e.Miners++
			}
		}
	}
	out := make([]model, 0, len(byModel))
	for _, e := range byModel {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b model) int { return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Model, b.Model)) })
	return writeJSON(w, http.StatusOK, map[string][]model{"models": out})
}

func (s *Server) available(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.deps.Renter == nil {
		return problemf(http.StatusNotImplemented, kindNotImplemented, "this server has no renter to match requirements with")
	}
	res := renter.DefaultResources()
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		to   *int
	}{{"cpu_count", &res.CPUCount}, {"gpu_count", &res.GPUCount}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return invalid(p.name, "%s must be a whole number, got %q", p.name, clipText(v))
			}
			*p.to = n
		}
	}
	for _, p := range []struct {
		name string
		to   *string
	}{{"gpu_type", &res.GPUType}, {"gpu_capacity", &res.GPUCapacity}, {"ram", &res.RAM}, {"disk", &res.Disk}} {
		if q.Has(p.name) {
			*p.to = q.Get(p.name)
		}
	}
	req, err := res.Requirement()
	if err != nil {
		return err
	}
	cands, err := s.deps.Renter.Candidates(r.Context(), req)
	if err != nil {
		return err
	}
	type candidate struct {
		UID    uint16  `json:"uid"`
		Hotkey string  `json:"hotkey"`
		Score  float64 `json:"score"`
	}
	out := make([]candidate, 0, len(cands))
	for _, c := range cands {
		out = append(out, candidate{UID: c.UID, Hotkey: c.Hotkey, Score: c.Score})
	}
	return writeJSON(w, http.StatusOK, map[string][]candidate{"miners": out})
}

func (s *Server) allocations(w http.ResponseWriter, r *http.Request, _ *caller) error {
	recs, err := s.deps.Store.Allocations(r.Context())
	if err != nil {
		return err
	}
	type allocation struct {
		Hotkey    string     `json:"hotkey"`
		UID       uint16     `json:"uid"`
		IP        string     `json:"ip"`
		Port      int        `json:"port"`
		Username  string     `json:"username"`
		KeyOnly   bool       `json:"key_only"`
		Resource  any        `json:"resource"`
		CreatedAt time.Time  `json:"created_at"`
		ExpiresAt *time.Time `json:"expires_at"`
		Expired   bool       `json:"expired"`
	}
	now := s.now()
	out := make([]allocation, 0, len(recs))
	for _, a := range renter.Records(recs) {
		out = append(out, allocation{Hotkey: a.Hotkey, UID: a.UID, IP: a.IP, Port: a.Port, Username: a.Username,
			KeyOnly: a.KeyOnly, Resource: a.Requirement, CreatedAt: a.CreatedAt.UTC(), ExpiresAt: timestamp(a.ExpiresAt),
			Expired: !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"allocations": out})
}

func (s *Server) rounds(w http.ResponseWriter, r *http.Request, _ *caller) error {
	limit, err := intParam(r, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	rs, err := s.deps.Store.Rounds(r.Context(), limit)
	if err != nil {
		return err
	}
	type round struct {
		ID         int64     `json:"id"`
		Block      uint64    `json:"block"`
		Time       time.Time `json:"time"`
		Challenges int       `json:"challenges"`
		Successes  int       `json:"successes"`
	}
	out := make([]round, 0, len(rs))
	for _, x := range rs {
		out = append(out, round{ID: x.ID, Block: x.Block, Time: x.At.UTC(), Challenges: x.Challenges, Successes: x.Successes})
	}
	return writeJSON(w, http.StatusOK, map[string][]round{"rounds": out})
}

func (s *Server) weights(w http.ResponseWriter, r *http.Request, _ *caller) error {
	limit, err := intParam(r, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	recs, err := s.deps.Store.WeightsLog(r.Context(), s.cfg.Netuid, s.deps.Hotkey, limit)
	if err != nil {
		return err
	}
	out := make([]store.WeightsRecord, 0, len(recs))
	for _, rec := range recs {
		rec.CreatedAt = rec.CreatedAt.UTC()
		if rec.UIDs == nil {
			rec.UIDs = []uint16{}
		}
		if rec.Weights == nil {
			rec.Weights = []uint16{}
		}
		out = append(out, rec)
	}
	return writeJSON(w, http.StatusOK, map[string][]store.WeightsRecord{"weights": out})
}
