package bench_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/plot"
	"github.com/sn27/compute/internal/pow/bench"
)

func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatalf("not XML: %v", err)
		}
	}
}

func TestChart(t *testing.T) {
	rs := []bench.Result{
		{Difficulty: 7, Runs: 3, Successes: 3, Mean: 27 * time.Millisecond, MeanS: 0.027},
		{Difficulty: 8, Runs: 3, Successes: 0}, // every run failed: no bar
	}
	ch := bench.Chart("cpu <avx512>", rs).(*plot.BarChart)
	if got := ch.Categories; len(got) != 2 || got[0] != "difficulty 7" {
		t.Fatalf("categories %q", got)
	}
	if v := ch.Series[0].Values; v[0] != 0.027 || !math.IsNaN(v[1]) {
		t.Fatalf("values %v", v)
	}
	for _, tc := range []struct {
		chart plot.Chart
		want  []string
	}{
		{ch, []string{"0.027", "n/a", "cpu &lt;avx512&gt;", "difficulty 8"}},
		{bench.ThroughputChart("cpu", 164.8e6), []string{"164.8M", "cpu", "H/s"}},
	} {
		var b bytes.Buffer
		if err := plot.WriteSVG(&b, tc.chart); err != nil {
			t.Fatal(err)
		}
		wellFormed(t, b.String())
		for _, want := range tc.want {
			if !strings.Contains(b.String(), want) {
				t.Errorf("chart lacks %q", want)
			}
		}
	}
}
