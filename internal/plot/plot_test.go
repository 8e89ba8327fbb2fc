package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// element is one parsed SVG element with its attributes and text.
type element struct {
	name  string
	attrs map[string]string
	text  string
}

// parse checks that svg is well-formed XML and returns its elements.
func parse(t testing.TB, svg []byte) []element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var els []element
	var open []int // indices of the open elements
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			open = append(open, len(els))
			e := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			els = append(els, e)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				els[open[len(open)-1]].text += string(tok)
			}
		}
	}
	if len(open) != 0 || len(els) == 0 || els[0].name != "svg" {
		t.Fatalf("not one svg document")
	}
	return els
}

func render(t testing.TB, charts ...Chart) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSVG(&b, charts...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func texts(els []element) []string {
	var out []string
	for _, e := range els {
		if e.name == "text" {
			out = append(out, e.text)
		}
	}
	return out
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func attr(t testing.TB, e element, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.name, name, e.attrs[name], err)
	}
	return v
}

func TestLineChart(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name    string
		chart   LineChart
		circles int      // dots drawn
		paths   int      // series with a line
		want    []string // texts that must appear
	}{
		{"two series", LineChart{Title: "score", XLabel: "block", YLabel: "score", Series: []Series{
			{Name: "Miner1", X: []float64{10, 20, 30}, Y: []float64{0, 0.5, 1}},
			{Name: "Miner2", X: []float64{10, 20, 30}, Y: []float64{0, 0.25, 0.5}},
		}}, 6, 2, []string{"score", "block", "Miner1", "Miner2", "0", "1.0"}},
		{"empty", LineChart{Title: "nothing"}, 0, 0, []string{"no data"}},
		{"series without points", LineChart{Series: []Series{{Name: "a"}}}, 0, 0, []string{"no data", "a"}},
		{"one point", LineChart{Series: []Series{{Name: "p", X: []float64{5}, Y: []float64{7}}}}, 1, 1, []string{"p"}},
		{"all equal", LineChart{Series: []Series{{Name: "flat", X: []float64{1, 2, 3}, Y: []float64{2, 2, 2}}}}, 3, 1, []string{"flat"}},
		{"all zero", LineChart{Series: []Series{{Name: "z", X: []float64{0, 0}, Y: []float64{0, 0}}}}, 2, 1, []string{"z"}},
		{"NaN and Inf are skipped", LineChart{Series: []Series{{Name: "gaps",
			X: []float64{1, 2, 3, 4, inf}, Y: []float64{1, nan, 3, 4, 5}}}}, 3, 1, []string{"gaps"}},
		{"only NaN", LineChart{Series: []Series{{Name: "n", X: []float64{1}, Y: []float64{nan}}}}, 0, 0, []string{"no data"}},
		{"mismatched lengths", LineChart{Series: []Series{{Name: "m", X: []float64{1, 2, 3}, Y: []float64{1}}}}, 1, 1, nil},
		{"markup in names", LineChart{Title: "<b>&", Series: []Series{{Name: `"]]></text><script>`, X: []float64{1}, Y: []float64{1}}}},
			1, 1, []string{"<b>&", `"]]></text><script>`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			els := parse(t, render(t, &tc.chart))
			var circles, paths int
			for _, e := range els {
				switch e.name {
				case "circle":
					circles++
				case "path":
					paths++
				case "script":
					t.Fatal("a label became markup")
				}
			}
			if circles != tc.circles || paths != tc.paths {
				t.Errorf("%d circles, %d paths; want %d, %d", circles, paths, tc.circles, tc.paths)
			}
			got := texts(els)
			for _, w := range tc.want {
				if !has(got, w) {
					t.Errorf("no text %q in %q", w, got)
				}
			}
		})
	}
}

// TestLineScale checks that the dots sit where the data says: the lowest
// value at the bottom of the range, values in proportion.
func TestLineScale(t *testing.T) {
	ch := &LineChart{Series: []Series{{Name: "s", X: []float64{0, 50, 100}, Y: []float64{0, 50, 100}}}}
	var cx, cy []float64
	for _, e := range parse(t, render(t, ch)) {
		if e.name == "circle" {
			cx, cy = append(cx, attr(t, e, "cx")), append(cy, attr(t, e, "cy"))
		}
	}
	if len(cx) != 3 {
		t.Fatalf("%d dots", len(cx))
	}
	if !(cx[0] < cx[1] && cx[1] < cx[2]) || !(cy[0] > cy[1] && cy[1] > cy[2]) {
		t.Fatalf("dots not increasing: x %v y %v", cx, cy)
	}
	for _, d := range [][]float64{cx, cy} {
		if math.Abs((d[1]-d[0])-(d[2]-d[1])) > 0.2 {
			t.Errorf("not linear: %v", d)
		}
	}
}

func TestAxis(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		ticks  string
	}{
		{0, 1, 5, "0 0.2 0.4 0.6 0.8 1.0"},
		{0, 100, 5, "0 20 40 60 80 100"},
		{3, 97, 5, "0 20 40 60 80 100"},
		{-1, 1, 3, "-1 0 1"},
		{5, 5, 5, "4.4 4.6 4.8 5.0 5.2 5.4 5.6"},
		{0, 0, 3, "-1 0 1"},
		{0, 164.8e6, 5, "0 50M 100M 150M 200M"},
		{math.Inf(1), math.Inf(-1), 3, "0 0.5 1.0"}, // no data
	}
	for _, tc := range tests {
		a := newAxis(tc.lo, tc.hi, tc.n)
		var got []string
		for _, v := range a.ticks {
			got = append(got, a.label(v))
		}
		if s := strings.Join(got, " "); s != tc.ticks {
			t.Errorf("axis(%g, %g): %s, want %s", tc.lo, tc.hi, s, tc.ticks)
		}
		if a.at(a.lo, 300, 100) != 300 || a.at(a.hi, 300, 100) != 100 {
			t.Errorf("axis(%g, %g) does not map its range onto the pixels", tc.lo, tc.hi)
		}
	}
}

func TestTightAxis(t *testing.T) {
	a := tightAxis(100, 513, 5)
	if a.lo != 100 || a.hi != 513 {
		t.Fatalf("range %g..%g, want 100..513", a.lo, a.hi)
	}
	if got := fmt.Sprint(a.ticks); got != "[100 200 300 400 500]" {
		t.Errorf("ticks %s", got)
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 0.027: "0.027", 1.5: "1.5", 27.04: "27.04", 27.356: "27.36", 164.8: "164.8", 161.84: "161.8", 9999: "9999",
		80.2e6: "80.2M", 164_812_345: "164.8M", 0.03125: "0.03125", 1.6e9: "1.6G", -3: "-3", -0.5: "-0.5", 100: "100", 2.9999: "3", math.NaN(): "n/a", math.Inf(-1): "n/a",
	} {
		if got := Format(v); got != want {
			t.Errorf("Format(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestBarChart(t *testing.T) {
	tests := []struct {
		name  string
		chart BarChart
		bars  int
		want  []string
	}{
		{"grouped", BarChart{Title: "ours vs hashcat", YLabel: "MH/s", Categories: []string{"1", "2", "mean"},
			Series: []BarSeries{{"ours", []float64{161.8, 166.5, 164.8}}, {"hashcat", []float64{67.2, 103.9, 80.2}}}},
			6, []string{"ours vs hashcat", "MH/s", "ours", "hashcat", "mean", "161.8", "80.2"}},
		{"single unnamed series has no legend", BarChart{Categories: []string{"7", "8"},
			Series: []BarSeries{{"", []float64{0.027, 0.188}}}}, 2, []string{"7", "8", "0.027", "0.188"}},
		{"empty", BarChart{Title: "t"}, 0, []string{"no data"}},
		{"NaN gets no bar", BarChart{Categories: []string{"a", "b"}, Series: []BarSeries{{"s", []float64{math.NaN(), 2}}}},
			1, []string{"n/a", "2"}},
		{"negative", BarChart{Categories: []string{"a", "b"}, Series: []BarSeries{{"s", []float64{-2, 3}}}}, 2, []string{"-2", "3"}},
		{"all zero", BarChart{Categories: []string{"a"}, Series: []BarSeries{{"s", []float64{0}}}}, 1, []string{"0"}},
		{"more values than categories", BarChart{Categories: []string{"a"}, Series: []BarSeries{{"s", []float64{1, 2}}}}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			els := parse(t, render(t, &tc.chart))
			bars := 0
			for _, e := range els[1:] {
				if e.name == "rect" && strings.HasPrefix(e.attrs["fill"], "#") && e.attrs["fill"] != "#ffffff" && e.attrs["width"] != "11" {
					bars++
				}
			}
			if bars != tc.bars {
				t.Errorf("%d bars, want %d", bars, tc.bars)
			}
			got := texts(els)
			for _, w := range tc.want {
				if !has(got, w) {
					t.Errorf("no text %q in %q", w, got)
				}
			}
		})
	}
}

// TestBarScale checks that bar heights are proportional to the values.
func TestBarScale(t *testing.T) {
	ch := &BarChart{Categories: []string{"a", "b", "c"}, Series: []BarSeries{{"", []float64{10, 20, 40}}}}
	var hs []float64
	for _, e := range parse(t, render(t, ch)) {
		if e.name == "rect" && e.attrs["fill"] == color(0) {
			hs = append(hs, attr(t, e, "height"))
		}
	}
	if len(hs) != 3 || math.Abs(hs[1]-2*hs[0]) > 0.2 || math.Abs(hs[2]-4*hs[0]) > 0.2 {
		t.Fatalf("bar heights %v not proportional to 10, 20, 40", hs)
	}
}

func TestDeterministicAndStacked(t *testing.T) {
	mk := func() []Chart {
		return []Chart{
			&LineChart{Title: "a", Series: []Series{{Name: "x", X: []float64{1, 2}, Y: []float64{3, 4}}}},
			&LineChart{Title: "b", Height: 200, Series: []Series{{Name: "y", X: []float64{1, 2}, Y: []float64{5, 6}}}},
		}
	}
	a, b := render(t, mk()...), render(t, mk()...)
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings differ")
	}
	els := parse(t, a)
	if h := attr(t, els[0], "height"); h != defaultHeight+200 {
		t.Errorf("stacked height %g", h)
	}
}

// TestGallery renders awkward charts; with PLOT_TEST_OUT=dir it also writes
// them there, to be looked at in a browser.
func TestGallery(t *testing.T) {
	many := &LineChart{Title: "twelve series, long names", XLabel: "block", YLabel: "score"}
	for i := range 12 {
		s := Series{Name: "Miner" + strconv.Itoa(i+1) + strings.Repeat(" with a very long name", i%3)}
		for b := range 60 {
			s.X = append(s.X, float64(100+b*7))
			s.Y = append(s.Y, math.Sin(float64(b+i)/9)*float64(i+1))
		}
		many.Series = append(many.Series, s)
	}
	narrow := &BarChart{Title: "narrow bars", YLabel: "H/s", Categories: []string{"7", "8", "9", "10", "11", "12"}}
	for i := range 5 {
		bs := BarSeries{Name: "solver " + strconv.Itoa(i)}
		for k := range 6 {
			bs.Values = append(bs.Values, 1.234567e7*float64(i+1)*float64(k+1))
		}
		narrow.Series = append(narrow.Series, bs)
	}
	gallery := map[string][]Chart{
		"many.svg":   {many},
		"narrow.svg": {narrow},
		"edge.svg": {
			&LineChart{Title: "one point", Series: []Series{{Name: "p", X: []float64{42}, Y: []float64{0.5}}}},
			&LineChart{Title: "empty"},
			&BarChart{Title: "negative and NaN", Categories: []string{"a", "b", "a category name far too long to fit", "d"},
				Series: []BarSeries{{"s", []float64{-2, 3, math.NaN(), 0}}, {"t", []float64{1, -0.5, 2, 4}}}},
		},
	}
	for name, charts := range gallery {
		svg := render(t, charts...)
		parse(t, svg)
		if dir := os.Getenv("PLOT_TEST_OUT"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func FuzzCharts(f *testing.F) {
	f.Add("title", "series", "cat", 1.0, 2.0, 3.0)
	f.Add("<&>\"'", "]]>\x00\xff", "\u2028", math.NaN(), math.Inf(1), -1e308)
	f.Add("", "", "", 0.0, 0.0, 0.0)
	f.Add("t", "s", "c", 5e-324, -5e-324, 1e300)
	f.Fuzz(func(t *testing.T, title, name, cat string, a, b, c float64) {
		charts := []Chart{
			&LineChart{Title: title, XLabel: cat, YLabel: name, Series: []Series{
				{Name: name, X: []float64{a, b, c}, Y: []float64{c, a, b}},
				{Name: cat, X: []float64{a}, Y: []float64{b}},
			}},
			&BarChart{Title: title, YLabel: name, Categories: []string{cat, name},
				Series: []BarSeries{{name, []float64{a, b}}, {cat, []float64{c}}}},
		}
		for _, e := range parse(t, render(t, charts...)) {
			for k, v := range e.attrs {
				if strings.Contains(v, "NaN") || strings.Contains(v, "Inf") {
					t.Fatalf("%s %s=%q", e.name, k, v)
				}
			}
		}
	})
}
