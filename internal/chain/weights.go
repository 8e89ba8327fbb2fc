package chain

import (
	"fmt"
	"math"
)

// U16Max is the u16 scale of on-chain weights.
const U16Max = 65535

// ConvertWeights turns float weights into the u16 form the chain stores, exactly
// as the Python SDK's convert_weights_and_uids_for_emit: weights arrive as
// float32 values, negatives and length mismatches are refused, an all-zero
// vector gives nothing, the largest weight becomes 65535, values are rounded
// half to even, and entries that round to zero are dropped with their uids.
func ConvertWeights(uids []uint16, weights []float64) ([]uint16, []uint16, error) {
	if len(uids) != len(weights) {
		return nil, nil, fmt.Errorf("%w: %d uids but %d weights", ErrInvalidWeights, len(uids), len(weights))
	}
	w32 := make([]float64, len(weights))
	maxW, sum := 0.0, 0.0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, nil, fmt.Errorf("%w: weight %d is %v", ErrInvalidWeights, i, w)
		}
		if w < 0 {
			return nil, nil, fmt.Errorf("%w: weight %d is negative (%v)", ErrInvalidWeights, i, w)
		}
		w32[i] = float64(float32(w))
		sum += w32[i]
		maxW = math.Max(maxW, w32[i])
	}
	if sum == 0 {
		return []uint16{}, []uint16{}, nil
	}
	var outU, outW []uint16
	for i, w := range w32 {
		v := math.RoundToEven(w / maxW * U16Max)
		if v == 0 {
			continue
		}
		outU = append(outU, uids[i])
		outW = append(outW, uint16(v))
	}
	return outU, outW, nil
}
