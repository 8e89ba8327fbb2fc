package plot

import (
	"math"
	"strings"
)

// Series is one named line: Y[i] at X[i]. Extra values of the longer
// slice are ignored; a point with a value that is not finite is left out
// and breaks the line.
type Series struct {
	Name string
	X, Y []float64
}

// LineChart plots several series over a numeric x axis, with a legend on
// the right. Width and Height are in pixels (0: 760 by 320).
type LineChart struct {
	Title, XLabel, YLabel string
	Series                []Series
	Width, Height         int
}

// markersUpTo is the longest series drawn with a dot on every point.
const markersUpTo = 40

func (l *LineChart) names() []string {
	var ns []string
	for _, s := range l.Series {
		ns = append(ns, s.Name)
	}
	return ns
}

func (l *LineChart) size() (float64, float64) {
	w, h := dims(l.Width, l.Height)
	return w, max(h, l.minHeight())
}

func (l *LineChart) minHeight() float64 {
	return top(l.Title) + float64(len(l.Series))*18 + 48
}

func dims(w, h int) (float64, float64) {
	if w <= 0 {
		w = defaultWidth
	}
	if h <= 0 {
		h = defaultHeight
	}
	return float64(min(max(w, 240), 4000)), float64(min(max(h, 160), 4000))
}

func top(title string) float64 {
	if title == "" {
		return 16
	}
	return 40
}

func (l *LineChart) draw(c *canvas) {
	w, h := l.size()
	names := l.names()
	lw := legendWidth(names, legendChars(w))
	// Data ranges over the finite points.
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	points := 0
	for _, s := range l.Series {
		for i := range min(len(s.X), len(s.Y)) {
			if x, y := s.X[i], s.Y[i]; finite(x) && finite(y) {
				xlo, xhi, ylo, yhi = min(xlo, x), max(xhi, x), min(ylo, y), max(yhi, y)
				points++
			}
		}
	}
	pt, pb := top(l.Title), h-42
	ya := newAxis(ylo, yhi, max(int((pb-pt)/40), 2))
	tickW := 0.0
	for _, t := range ya.ticks {
		tickW = max(tickW, textWidth(ya.label(t)))
	}
	pl := 12 + tickW + 8
	if l.YLabel != "" {
		pl += 18
	}
	pl = max(pl, minLeft)
	pr := w - 16 - lw
	pr = max(pr, pl+40)
	xa := tightAxis(xlo, xhi, max(int((pr-pl)/90), 2))

	c.title(pl, l.Title)
	frame(c, ya, pl, pt, pr, pb, l.XLabel, l.YLabel)
	for _, t := range xa.ticks {
		x := xa.at(t, pl, pr)
		c.line(x, pb, x, pb+5, `stroke="#555"`)
		c.text(x, pb+18, xa.label(t), `text-anchor="middle" fill="#333"`)
	}
	if points == 0 {
		c.text((pl+pr)/2, (pt+pb)/2, "no data", `text-anchor="middle" fill="#888"`)
	}
	for i, s := range l.Series {
		var d strings.Builder
		var dots [][2]float64
		n, run := min(len(s.X), len(s.Y)), 0
		for j := range n {
			if !finite(s.X[j]) || !finite(s.Y[j]) {
				run = 0
				continue
			}
			x, y := xa.at(s.X[j], pl, pr), ya.at(s.Y[j], pb, pt)
			if run == 0 {
				d.WriteString("M")
			} else {
				d.WriteString(" L")
			}
			d.WriteString(num(x) + " " + num(y))
			run++
			isolated := run == 1 && (j+1 >= n || !finite(s.X[j+1]) || !finite(s.Y[j+1]))
			if n <= markersUpTo || isolated {
				dots = append(dots, [2]float64{x, y})
			}
		}
		if d.Len() > 0 {
			c.b.WriteString(`<path fill="none" stroke="` + color(i) + `" stroke-width="2" stroke-linejoin="round"` + dash(i) + ` d="` + d.String() + `"/>` + "\n")
		}
		for _, p := range dots {
			c.b.WriteString(`<circle cx="` + num(p[0]) + `" cy="` + num(p[1]) + `" r="3" fill="` + color(i) + `"/>` + "\n")
		}
	}
	c.legend(pr+16, pt+10, names, legendChars(w), true)
}

// frame draws the plot box, the y grid with its labels and the axis titles.
func frame(c *canvas, ya axis, pl, pt, pr, pb float64, xlabel, ylabel string) {
	for _, t := range ya.ticks {
		y := ya.at(t, pb, pt)
		c.line(pl, y, pr, y, `stroke="#e5e5e5"`)
		c.text(pl-8, y+4, ya.label(t), `text-anchor="end" fill="#333"`)
	}
	c.rect(pl, pt, pr-pl, pb-pt, `fill="none" stroke="#999"`)
	if xlabel != "" {
		c.text((pl+pr)/2, pb+36, xlabel, `text-anchor="middle" fill="#333"`)
	}
	if ylabel != "" {
		my := (pt + pb) / 2
		c.text(14, my, ylabel, `text-anchor="middle" fill="#333" transform="rotate(-90 14 `+num(my)+`)"`)
	}
}
