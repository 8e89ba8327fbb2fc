package devnet

import (
	"os"
	"path/filepath"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/plot"
)

// Sample is the leaderboard at one block, taken when a round ended or new
// weights reached the chain; Score and Incentive follow Names.
type Sample struct {
	Block            uint64
	Score, Incentive []float64
}

// History is what the devnet recorded over its run, one column per miner.
type History struct {
	Names   []string
	Samples []Sample
}

func newHistory(nodes []*node) *History {
	h := &History{}
	for _, n := range nodes {
		h.Names = append(h.Names, n.name)
	}
	return h
}

// add records res at block b; a second sample at the same block replaces
// the first.
func (h *History) add(b uint64, res *Result) {
	s := Sample{Block: b, Score: make([]float64, len(h.Names)), Incentive: make([]float64, len(h.Names))}
	for i, name := range h.Names {
		for _, r := range res.Rows {
			if r.Name == name {
				s.Score[i], s.Incentive[i] = r.Score, r.Incentive
			}
		}
	}
	if k := len(h.Samples); k > 0 && h.Samples[k-1].Block == b {
		h.Samples[k-1] = s
		return
	}
	h.Samples = append(h.Samples, s)
}

// Charts returns the score and the incentive of every miner by block, to
// be stacked in one SVG.
func (h *History) Charts() []plot.Chart {
	score := &plot.LineChart{Title: "Validator score by block", XLabel: "block", YLabel: "score"}
	inc := &plot.LineChart{Title: "Incentive on the dev chain by block", XLabel: "block", YLabel: "incentive"}
	for i, name := range h.Names {
		s, in := plot.Series{Name: name}, plot.Series{Name: name}
		for _, smp := range h.Samples {
			x := float64(smp.Block)
			s.X, s.Y = append(s.X, x), append(s.Y, smp.Score[i])
			in.X, in.Y = append(in.X, x), append(in.Y, smp.Incentive[i])
		}
		score.Series, inc.Series = append(score.Series, s), append(inc.Series, in)
	}
	return []plot.Chart{score, inc}
}

// WritePlot writes the charts to path as one SVG document.
func (h *History) WritePlot(path string) error {
	return plot.WriteFile(path, h.Charts()...)
}

// checkPlotPath fails early, before a long run, when path cannot be written.
func checkPlotPath(path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return config.Errorf("devnet.Config.Plot", "directory of %s does not exist", path)
	}
	return nil
}
