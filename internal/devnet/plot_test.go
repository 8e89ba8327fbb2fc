package devnet

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/plot"
)

func TestHistory(t *testing.T) {
	h := &History{Names: []string{"Miner1", "Miner2"}}
	rows := func(s1, s2, i1 float64) *Result {
		// Rows come in rank order; History keeps the order of Names.
		return &Result{Rows: []Row{{Name: "Miner2", Score: s2}, {Name: "Miner1", Score: s1, Incentive: i1}}}
	}
	h.add(10, rows(0.5, 0.2, 0))
	h.add(14, rows(0.6, 0.3, 0))
	h.add(14, rows(0.7, 0.3, 0.9)) // same block: replaces
	h.add(20, rows(0.8, 0.1, 1))
	if len(h.Samples) != 3 {
		t.Fatalf("%d samples, want 3", len(h.Samples))
	}
	if s := h.Samples[1]; s.Block != 14 || s.Score[0] != 0.7 || s.Score[1] != 0.3 || s.Incentive[0] != 0.9 {
		t.Fatalf("sample at 14: %+v", s)
	}
	charts := h.Charts()
	if len(charts) != 2 {
		t.Fatalf("%d charts", len(charts))
	}
	score := charts[0].(*plot.LineChart)
	if len(score.Series) != 2 || score.Series[0].Name != "Miner1" || len(score.Series[0].X) != 3 || score.Series[0].Y[2] != 0.8 {
		t.Fatalf("score series %+v", score.Series)
	}

	path := filepath.Join(t.TempDir(), "devnet.svg")
	if err := h.WritePlot(path); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := plot.WriteSVG(&b, charts...); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	d := xml.NewDecoder(&b)
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("plot is not XML: %v", err)
		}
	}
	for _, want := range []string{"Miner1", "Miner2", "score by block", "Incentive"} {
		if !strings.Contains(svg, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
}

func TestPlotPath(t *testing.T) {
	if err := checkPlotPath(filepath.Join(t.TempDir(), "x.svg")); err != nil {
		t.Fatal(err)
	}
	if err := checkPlotPath(filepath.Join(t.TempDir(), "missing", "x.svg")); err == nil {
		t.Fatal("a missing directory was accepted")
	}
}
