package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// Chart is a LineChart or a BarChart.
type Chart interface {
	size() (w, h float64)
	draw(c *canvas)
}

// WriteSVG writes one SVG document holding the charts stacked top to bottom.
func WriteSVG(w io.Writer, charts ...Chart) error {
	var width, height float64
	for _, ch := range charts {
		cw, chh := ch.size()
		width, height = max(width, cw), height+chh
	}
	if len(charts) == 0 {
		width, height = defaultWidth, 40
	}
	c := &canvas{}
	y := 0.0
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">`+"\n",
		num(width), num(height), num(width), num(height))
	c.rect(0, 0, width, height, `fill="#ffffff"`)
	for _, ch := range charts {
		c.b.WriteString("<g transform=\"translate(0," + num(y) + ")\">\n")
		ch.draw(c)
		c.b.WriteString("</g>\n")
		_, h := ch.size()
		y += h
	}
	c.b.WriteString("</svg>\n")
	_, err := w.Write(c.b.Bytes())
	return err
}

const (
	defaultWidth  = 760
	defaultHeight = 320
	charWidth     = 7.0 // rough width of a 12px sans-serif character
	maxLabel      = 40  // runes kept of a series name in the legend
	minLeft       = 64  // left margin: stacked charts line up
)

// palette is a colour-blind-friendly cycle.
var palette = [...]string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

func color(i int) string { return palette[i%len(palette)] }

// dashes tell series apart once the palette has cycled.
func dash(i int) string {
	switch (i / len(palette)) % 3 {
	case 1:
		return ` stroke-dasharray="6 3"`
	case 2:
		return ` stroke-dasharray="2 2"`
	}
	return ""
}

// canvas collects the markup; each chart draws in its own coordinates.
type canvas struct{ b bytes.Buffer }

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

func (c *canvas) rect(x, y, w, h float64, attrs string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" %s/>`+"\n", num(x), num(y), num(max(w, 0)), num(max(h, 0)), attrs)
}

func (c *canvas) line(x1, y1, x2, y2 float64, attrs string) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" %s/>`+"\n", num(x1), num(y1), num(x2), num(y2), attrs)
}

// text writes an escaped label; attrs must be constant markup.
func (c *canvas) text(x, y float64, s, attrs string) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" %s>`, num(x), num(y), attrs)
	xml.EscapeText(&c.b, []byte(clean(s)))
	c.b.WriteString("</text>\n")
}

// title draws the chart title in the top margin.
func (c *canvas) title(x float64, s string) {
	if s != "" {
		c.text(x, 20, s, `font-size="15" font-weight="bold" fill="#222"`)
	}
}

// clean turns control characters into spaces (XML forbids most of them)
// and keeps labels on one line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// short cuts a label to n runes with an ellipsis.
func short(s string, n int) string {
	s = clean(s)
	r := []rune(s)
	if n < 1 {
		n = 1
	}
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func textWidth(s string) float64 { return float64(len([]rune(s))) * charWidth }

// legendChars is how many runes of a name the legend keeps on a chart w
// pixels wide: at most about a third of the width goes to the legend.
func legendChars(w float64) int {
	return max(min(maxLabel, int((w*0.35-40)/charWidth)), 4)
}

// legend draws one entry per name in a column starting at (x, y).
func (c *canvas) legend(x, y float64, names []string, chars int, line bool) {
	for i, n := range names {
		yy := y + float64(i)*18
		if line {
			c.line(x, yy-4, x+18, yy-4, `stroke="`+color(i)+`" stroke-width="2.5"`+dash(i))
		} else {
			c.rect(x+4, yy-10, 11, 11, `fill="`+color(i)+`"`)
		}
		c.text(x+24, yy, short(n, chars), `fill="#222"`)
	}
}

func legendWidth(names []string, chars int) float64 {
	w := 0.0
	for _, n := range names {
		w = max(w, textWidth(short(n, chars)))
	}
	if w == 0 {
		return 0
	}
	return w + 24 + 16
}

// finite reports whether v can be plotted.
func finite(v float64) bool { return !math.IsNaN(v) && math.Abs(v) <= 1e300 }

// axis is a linear scale with round ticks.
type axis struct {
	lo, hi float64 // data range covered, lo < hi
	ticks  []float64
	step   float64
}

// newAxis covers [lo, hi] with about n round ticks, rounded out to whole
// steps; lo > hi (no finite value) gives 0..1.
func newAxis(lo, hi float64, n int) axis { return makeAxis(lo, hi, n, false) }

// tightAxis covers exactly [lo, hi] (widened only when lo == hi), with the
// round ticks that fall inside: the x axis of a line chart.
func tightAxis(lo, hi float64, n int) axis { return makeAxis(lo, hi, n, true) }

func makeAxis(lo, hi float64, n int, tight bool) axis {
	if lo > hi {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-200 || hi-lo < math.Max(math.Abs(lo), math.Abs(hi))*1e-12 {
		d := math.Abs(hi) * 0.1
		if d < 1e-200 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	step := niceStep((hi - lo) / float64(max(n-1, 1)))
	first := math.Floor(lo/step) * step
	a := axis{lo: first, hi: math.Ceil(hi/step) * step, step: step}
	if tight {
		a.lo, a.hi = lo, hi
	}
	for i := 0; i <= 50; i++ {
		t := first + float64(i)*step
		if t > a.hi+step*1e-9 {
			break
		}
		if t < a.lo-step*1e-9 {
			continue
		}
		if math.Abs(t) < step*1e-9 {
			t = 0
		}
		a.ticks = append(a.ticks, t)
	}
	if !(a.lo < a.hi) { // precision exhausted at this magnitude
		a.lo, a.hi = lo, hi
	}
	return a
}

// niceStep rounds x to the nearest 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	if p == 0 || math.IsInf(p, 0) {
		return 1
	}
	switch f := x / p; {
	case f < 1.5:
		return p
	case f < 3:
		return 2 * p
	case f < 7:
		return 5 * p
	}
	return 10 * p
}

// at maps v into [from, to] (pixels).
func (a axis) at(v, from, to float64) float64 {
	return from + (v-a.lo)/(a.hi-a.lo)*(to-from)
}

// label prints a tick with as many decimals as the step needs.
func (a axis) label(v float64) string {
	unit, suffix := siUnit(math.Max(math.Abs(a.lo), math.Abs(a.hi)))
	dec := 0
	if s := a.step / unit; s < 1 {
		dec = min(int(math.Ceil(-math.Log10(s)-1e-9)), 12)
	}
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v/unit, 'f', dec, 64) + suffix
}

func siUnit(m float64) (float64, string) {
	switch {
	case m >= 1e15:
		return 1, "" // FormatFloat below falls back to plain digits
	case m >= 1e9:
		return 1e9, "G"
	case m >= 1e6:
		return 1e6, "M"
	case m >= 1e4:
		return 1e3, "k"
	}
	return 1, ""
}

// Format prints a value with at most four significant digits (as a
// table would quote it), no trailing zeros, and an SI suffix from 10k up:
// the bar labels.
func Format(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	m := math.Abs(v)
	if m >= 1e15 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	unit, suffix := siUnit(m)
	if unit == 1e3 && m < 1e4 {
		unit, suffix = 1, ""
	}
	x, ax := v/unit, m/unit
	var t string
	switch {
	case ax == 0:
		return "0"
	case ax >= 1000:
		t = strconv.FormatFloat(x, 'f', 0, 64)
	case ax >= 100:
		t = strconv.FormatFloat(x, 'f', 1, 64)
	case ax >= 10:
		t = strconv.FormatFloat(x, 'f', 2, 64)
	case ax >= 1:
		t = strconv.FormatFloat(x, 'f', 3, 64)
	default:
		t = strconv.FormatFloat(x, 'g', 4, 64)
	}
	if strings.Contains(t, ".") && !strings.Contains(t, "e") {
		t = strings.TrimRight(strings.TrimRight(t, "0"), ".")
	}
	return t + suffix
}

// WriteFile writes the charts to path as one SVG document.
func WriteFile(path string, charts ...Chart) error {
	var b bytes.Buffer
	if err := WriteSVG(&b, charts...); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the plot: %w", err)
	}
	return nil
}
