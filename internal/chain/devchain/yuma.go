package devchain

import (
	"math"
	"sort"
)

// EpochInput is everything Yuma Consensus reads for one subnet at one epoch.
// Slices are indexed by uid and all have length N; Weights and Bonds are N×N
// row-major (row = validator, column = miner), as u16 proportions in [0, 1].
type EpochInput struct {
	Block           uint64
	Tempo           uint64    // blocks per epoch; bonds to uids registered within the last tempo are reset
	Stake           []float64 // stake of each hotkey (any unit; normalised inside)
	LastUpdate      []uint64  // block of each uid's last set_weights (0 = never)
	RegisteredAt    []uint64  // block at which each uid was registered
	ValidatorPermit []bool    // permits from the previous epoch
	Weights         [][]float64
	Bonds           [][]float64

	Kappa              float64 // consensus majority, 0.5 on subtensor
	BondsMovingAverage float64 // EMA weight of past bonds, 0.9 on subtensor (900_000 / 1e6)
	ActivityCutoff     uint64  // blocks after which a validator without weights is inactive
	MaxValidators      int     // validator permits are given to the top-k stake
	MinValidatorStake  float64 // stake below this counts as 0 everywhere (same unit as Stake)
	Emission           float64 // emission of this epoch to split (rao)
}

// EpochOutput is what one epoch writes back, indexed by uid.
type EpochOutput struct {
	Active          []bool
	Rank            []float64 // normalised, equal to Incentive as on subtensor
	Trust           []float64
	Consensus       []float64
	Incentive       []float64
	Dividends       []float64
	ValidatorTrust  []float64
	PruningScore    []float64 // combined emission share, max-upscaled to 1
	Emission        []float64 // rao for this epoch
	ValidatorPermit []bool    // permits for the next epoch
	Bonds           [][]float64
}

// Epoch runs Yuma Consensus the way subtensor's (non-liquid-alpha) epoch does,
// in dense form: stake below the minimum is zeroed and the rest normalised;
// new permits go to the top-k non-zero stakes; the stake that votes is that of
// active uids holding a permit from the previous epoch; weights of permitted
// validators, minus self-weights and weights set before the target
// registered, are row-normalised; a stake-weighted median per miner (kappa) is
// the consensus and weights are clipped at it; ranks (normalised, = incentive)
// and trust come from the clipped weights; bonds are an exponential moving
// average of stake-weighted clipped weights (bonds penalty 1, subtensor's
// default), with columns of uids registered within the last tempo reset;
// dividends come from bonds and incentive; and the epoch's emission is split
// in proportion to incentive + dividends.
func Epoch(in EpochInput) EpochOutput {
	n := len(in.Stake)
	out := EpochOutput{
		Active:          make([]bool, n),
		ValidatorPermit: make([]bool, n),
	}
	if n == 0 {
		return out
	}

	// Activity: a uid is inactive when its last update is older than the cutoff.
	for i := 0; i < n; i++ {
		out.Active[i] = at(in.LastUpdate, i)+in.ActivityCutoff >= in.Block
	}

	// Stake under the threshold counts as nothing, for permits and votes alike.
	filtered := clampNonNeg(in.Stake)
	for i, s := range filtered {
		if s < in.MinValidatorStake {
			filtered[i] = 0
		}
	}
	stake := normalize(filtered)

	// New permits: top-k of the non-zero stakes.
	out.ValidatorPermit = topKNonZero(stake, in.MaxValidators)

	// Voting stake: active uids that held a permit in the previous epoch.
	activeStake := make([]float64, n)
	for i := range activeStake {
		if out.Active[i] && atBool(in.ValidatorPermit, i) {
			activeStake[i] = stake[i]
		}
	}
	activeStake = normalize(activeStake)

	// Weights: only rows of validators holding a permit (from the previous
	// epoch), no self-weight, nothing set before the target registered.
	w := newMatrix(n)
	for i := 0; i < n; i++ {
		if !atBool(in.ValidatorPermit, i) || i >= len(in.Weights) {
			continue
		}
		for j := 0; j < n && j < len(in.Weights[i]); j++ {
			if i == j || at(in.LastUpdate, i) <= at(in.RegisteredAt, j) {
				continue
			}
			if v := in.Weights[i][j]; v > 0 {
				w[i][j] = v
			}
		}
		w[i] = normalize(w[i])
	}

	preranks := matVec(w, activeStake)
	out.Consensus = make([]float64, n)
	for j := 0; j < n; j++ {
		out.Consensus[j] = weightedMedianCol(activeStake, w, j, in.Kappa)
	}

	clipped := newMatrix(n)
	out.ValidatorTrust = make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			clipped[i][j] = math.Min(w[i][j], out.Consensus[j])
			out.ValidatorTrust[i] += clipped[i][j]
		}
	}
	ranks := matVec(clipped, activeStake)
	out.Trust = make([]float64, n)
	for j := range out.Trust {
		if preranks[j] > 0 {
			out.Trust[j] = ranks[j] / preranks[j]
		}
	}
	out.Incentive = normalize(ranks)
	out.Rank = append([]float64(nil), out.Incentive...)

	// Bonds: previous bonds, minus columns of uids registered since the last
	// tempo, column-normalised, moved towards this epoch's stake-weighted
	// clipped weights.
	lastTempo := uint64(0)
	if in.Block > in.Tempo {
		lastTempo = in.Block - in.Tempo
	}
	prev := newMatrix(n)
	for i := 0; i < n && i < len(in.Bonds); i++ {
		for j := 0; j < n && j < len(in.Bonds[i]); j++ {
			if lastTempo <= at(in.RegisteredAt, j) {
				continue
			}
			prev[i][j] = in.Bonds[i][j]
		}
	}
	colNormalize(prev)
	delta := newMatrix(n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			delta[i][j] = clipped[i][j] * activeStake[i]
		}
	}
	colNormalize(delta)
	alpha := 1 - in.BondsMovingAverage
	ema := newMatrix(n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			ema[i][j] = alpha*delta[i][j] + (1-alpha)*prev[i][j]
		}
	}
	colNormalize(ema)

	out.Dividends = make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out.Dividends[i] += ema[i][j] * out.Incentive[j]
		}
	}
	out.Dividends = normalize(out.Dividends)

	// Emission: in proportion to incentive + dividends; with neither, by the
	// voting stake (or, without any, by all stake).
	out.Emission = make([]float64, n)
	combined := make([]float64, n)
	for i := range combined {
		combined[i] = out.Incentive[i] + out.Dividends[i]
	}
	if sum(combined) == 0 {
		byStake := activeStake
		if sum(byStake) == 0 {
			byStake = stake
		}
		copy(combined, byStake)
	} else {
		combined = normalize(combined)
	}
	for i := range combined {
		out.Emission[i] = combined[i] * in.Emission
	}
	out.PruningScore = maxUpscale(combined)

	// Bonds persist only for validators that keep a permit (a uid without a
	// permit in either epoch has no bonds to keep).
	out.Bonds = ema
	for i := 0; i < n; i++ {
		if !out.ValidatorPermit[i] {
			out.Bonds[i] = make([]float64, n)
		}
	}
	return out
}

// weightedMedianCol returns the largest weight c in column j such that the
// active stake of validators giving j at least c is at least kappa of the
// total stake considered (every validator with stake counts, a missing weight
// as 0). A lone validator rating a miner that the majority ignores gets 0.
func weightedMedianCol(stake []float64, w [][]float64, j int, kappa float64) float64 {
	type vs struct{ v, s float64 }
	var col []vs
	total := 0.0
	for i := range stake {
		if stake[i] <= 0 {
			continue
		}
		col = append(col, vs{w[i][j], stake[i]})
		total += stake[i]
	}
	if total == 0 {
		return 0
	}
	sort.Slice(col, func(a, b int) bool { return col[a].v > col[b].v })
	support := 0.0
	for k := 0; k < len(col); k++ {
		support += col[k].s
		// Only decide at the end of a run of equal values.
		if k+1 < len(col) && col[k+1].v == col[k].v {
			continue
		}
		if support >= kappa*total-1e-12 {
			return col[k].v
		}
	}
	return 0
}

// topKNonZero marks the k largest non-zero entries. As on subtensor, every
// non-zero entry is marked when there are fewer than k entries, and among
// equal values the higher uid wins.
func topKNonZero(v []float64, k int) []bool {
	n := len(v)
	marked := make([]bool, n)
	for i, x := range v {
		marked[i] = x != 0
	}
	if n < k {
		return marked
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	for _, i := range idx[:n-k] {
		marked[i] = false
	}
	return marked
}

func newMatrix(n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
	}
	return m
}

// matVec returns, per column j, Σ_i m[i][j]·v[i].
func matVec(m [][]float64, v []float64) []float64 {
	out := make([]float64, len(v))
	for i := range m {
		for j := range m[i] {
			out[j] += m[i][j] * v[i]
		}
	}
	return out
}

func colNormalize(m [][]float64) {
	if len(m) == 0 {
		return
	}
	for j := range m[0] {
		s := 0.0
		for i := range m {
			s += m[i][j]
		}
		if s == 0 {
			continue
		}
		for i := range m {
			m[i][j] /= s
		}
	}
}

func normalize(v []float64) []float64 {
	out := make([]float64, len(v))
	s := sum(v)
	if s == 0 {
		return out
	}
	for i := range v {
		out[i] = v[i] / s
	}
	return out
}

func maxUpscale(v []float64) []float64 {
	out := make([]float64, len(v))
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	if m == 0 {
		return out
	}
	for i := range v {
		out[i] = v[i] / m
	}
	return out
}

func clampNonNeg(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if x > 0 && !math.IsInf(x, 0) {
			out[i] = x
		}
	}
	return out
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func at(v []uint64, i int) uint64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func atBool(v []bool, i int) bool { return i < len(v) && v[i] }
