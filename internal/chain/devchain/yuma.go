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
	MinValidatorStake  float64 // and only to hotkeys with at least this stake (same unit as Stake)
	Emission           float64 // emission of this epoch to split (rao)
}

// EpochOutput is what one epoch writes back, indexed by uid.
type EpochOutput struct {
	Active          []bool
	Rank            []float64
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

// Epoch runs Yuma Consensus the way subtensor's epoch does (dense form):
// weights of permitted validators, minus self-weights and weights older than
// the target's registration, row-normalised; a stake-weighted median per miner
// (kappa) as consensus; weights clipped at consensus; ranks, trust and
// incentive from the clipped weights; bonds as an exponential moving average
// of stake-weighted clipped weights; dividends from bonds and incentive; and
// the epoch's emission split half to incentive and half to dividends.
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

	stake := normalize(clampNonNeg(in.Stake))
	activeStake := make([]float64, n)
	for i := range activeStake {
		if out.Active[i] {
			activeStake[i] = stake[i]
		}
	}
	activeStake = normalize(activeStake)

	// New permits: top-k by stake among those above the minimum stake.
	out.ValidatorPermit = topK(in.Stake, in.MaxValidators, in.MinValidatorStake)

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
	out.Rank = matVec(clipped, activeStake)
	out.Trust = make([]float64, n)
	for j := range out.Trust {
		if preranks[j] > 0 {
			out.Trust[j] = out.Rank[j] / preranks[j]
		}
	}
	out.Incentive = normalize(out.Rank)

	// Bonds: previous bonds (minus those older than the target's registration),
	// column-normalised, moved towards this epoch's stake-weighted clipped weights.
	prev := newMatrix(n)
	for i := 0; i < n && i < len(in.Bonds); i++ {
		for j := 0; j < n && j < len(in.Bonds[i]); j++ {
			if at(in.LastUpdate, i) <= at(in.RegisteredAt, j) {
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

	// Emission: half by incentive, half by dividends; with neither, by stake.
	out.Emission = make([]float64, n)
	combined := make([]float64, n)
	sumInc, sumDiv := sum(out.Incentive), sum(out.Dividends)
	if sumInc == 0 && sumDiv == 0 {
		byStake := activeStake
		if sum(byStake) == 0 {
			byStake = stake
		}
		for i := range combined {
			combined[i] = byStake[i]
			out.Emission[i] = byStake[i] * in.Emission
		}
	} else {
		for i := range combined {
			combined[i] = out.Incentive[i]/2 + out.Dividends[i]/2
			out.Emission[i] = combined[i] * in.Emission
		}
	}
	out.PruningScore = maxUpscale(combined)

	// Bonds persist only for validators that keep a permit.
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

func topK(stake []float64, k int, minStake float64) []bool {
	n := len(stake)
	permit := make([]bool, n)
	idx := make([]int, 0, n)
	for i, s := range stake {
		if s > 0 && s >= minStake {
			idx = append(idx, i)
		}
	}
	// Higher stake first; ties go to the lower uid.
	sort.SliceStable(idx, func(a, b int) bool { return stake[idx[a]] > stake[idx[b]] })
	for r, i := range idx {
		if r >= k {
			break
		}
		permit[i] = true
	}
	return permit
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
