package bench

import (
	"math"
	"strconv"

	"github.com/sn27/compute/internal/plot"
)

// Chart is a bar per difficulty: the mean time of the successful solves,
// "n/a" where none succeeded.
func Chart(solver string, rs []Result) plot.Chart {
	ch := &plot.BarChart{Title: "Mean solve time per difficulty: " + solver, YLabel: "mean solve time (s)"}
	s := plot.BarSeries{}
	for _, r := range rs {
		ch.Categories = append(ch.Categories, "difficulty "+strconv.Itoa(r.Difficulty))
		v := math.NaN()
		if r.Successes > 0 {
			v = r.MeanS
		}
		s.Values = append(s.Values, v)
	}
	ch.Series = []plot.BarSeries{s}
	return ch
}

// ThroughputChart is one bar: the raw hash rate of solver.
func ThroughputChart(solver string, hashesPerSecond float64) plot.Chart {
	return &plot.BarChart{Title: "Raw hash rate (BLAKE2b-512, hashcat mode 610)", YLabel: "H/s", Height: 280,
		Categories: []string{solver}, Series: []plot.BarSeries{{Values: []float64{hashesPerSecond}}}}
}
