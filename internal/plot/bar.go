package plot

import "math"

// BarSeries is one named set of bars, Values[i] in Categories[i]. A value
// that is not finite gets no bar and the label "n/a".
type BarSeries struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values"`
}

// BarChart draws, per category, one bar per series side by side, each
// labelled with its value (Format); the legend is on the right when there
// is more than one series or the only one is named. Width and Height are in
// pixels (0: 760 by 320). The JSON names are the input of
// internal/plot/cmd/barchart.
type BarChart struct {
	Title      string      `json:"title"`
	YLabel     string      `json:"y_label"`
	Categories []string    `json:"categories"`
	Series     []BarSeries `json:"series"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
}

const valueCharWidth = 6.4

func (b *BarChart) size() (float64, float64) {
	w, h := dims(b.Width, b.Height)
	return w, max(h, top(b.Title)+float64(len(b.legendNames()))*18+48)
}

func (b *BarChart) legendNames() []string {
	if len(b.Series) == 1 && b.Series[0].Name == "" {
		return nil
	}
	var ns []string
	for _, s := range b.Series {
		ns = append(ns, s.Name)
	}
	return ns
}

func (b *BarChart) draw(c *canvas) {
	w, h := b.size()
	names := b.legendNames()
	ncat := len(b.Categories)
	lo, hi := math.Inf(1), math.Inf(-1)
	labelW := 0.0
	for _, s := range b.Series {
		ncat = max(ncat, len(s.Values))
		for _, v := range s.Values {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
			labelW = max(labelW, float64(len(Format(v)))*valueCharWidth)
		}
	}
	points := lo <= hi
	if points {
		lo, hi = min(lo, 0), max(hi, 0)
	}
	pt, pb := top(b.Title), h-42
	// Bar geometry first: it decides whether the value labels fit across.
	ya0 := newAxis(lo, hi, max(int((pb-pt)/40), 2))
	tickW := 0.0
	for _, t := range ya0.ticks {
		tickW = max(tickW, textWidth(ya0.label(t)))
	}
	pl := 12 + tickW + 8
	if b.YLabel != "" {
		pl += 18
	}
	pl = max(pl, minLeft)
	pr := max(w-16-legendWidth(names, legendChars(w)), pl+40)
	groupW := (pr - pl) / float64(max(ncat, 1))
	nser := max(len(b.Series), 1)
	barW := min(groupW*0.8/float64(nser), 90)
	inset := (groupW - barW*float64(nser)) / 2
	vertical := labelW > barW+2
	space := 16.0
	if vertical {
		space = labelW + 8
	}
	// Leave room for the labels above positive and below negative bars.
	dataTop, dataBottom := pt+space, pb
	if lo < 0 {
		dataBottom -= space
	}
	if dataBottom-dataTop < 40 { // too short to honour the label room
		dataTop, dataBottom = pt+8, pb
	}
	ya := newAxis(lo, hi, max(int((dataBottom-dataTop)/40), 2))

	c.title(pl, b.Title)
	for _, t := range ya.ticks {
		y := ya.at(t, dataBottom, dataTop)
		c.line(pl, y, pr, y, `stroke="#e5e5e5"`)
		c.text(pl-8, y+4, ya.label(t), `text-anchor="end" fill="#333"`)
	}
	c.rect(pl, pt, pr-pl, pb-pt, `fill="none" stroke="#999"`)
	if b.YLabel != "" {
		my := (pt + pb) / 2
		c.text(16, my, b.YLabel, `text-anchor="middle" fill="#333" transform="rotate(-90 16 `+num(my)+`)"`)
	}
	if !points {
		c.text((pl+pr)/2, (pt+pb)/2, "no data", `text-anchor="middle" fill="#888"`)
	}
	zero := ya.at(0, dataBottom, dataTop)
	if points && lo < 0 {
		c.line(pl, zero, pr, zero, `stroke="#777"`)
	}
	maxChars := int(groupW / charWidth)
	for k := range ncat {
		gx := pl + float64(k)*groupW
		if k < len(b.Categories) {
			c.text(gx+groupW/2, pb+18, short(b.Categories[k], maxChars), `text-anchor="middle" fill="#333"`)
		}
		for i, s := range b.Series {
			if k >= len(s.Values) {
				continue
			}
			v := s.Values[k]
			x := gx + inset + float64(i)*barW
			cx := x + barW/2
			label := Format(v)
			var ly float64 // where the label starts
			if finite(v) {
				y := ya.at(v, dataBottom, dataTop)
				c.rect(x, min(y, zero), barW, math.Abs(zero-y), `fill="`+color(i)+`"`)
				ly = y
			} else {
				ly = zero
			}
			below := finite(v) && v < 0
			switch {
			case vertical && below:
				c.text(cx+4, ly+4, label, `text-anchor="end" font-size="11" fill="#222" transform="rotate(-90 `+num(cx+4)+` `+num(ly+4)+`)"`)
			case vertical:
				c.text(cx+4, ly-4, label, `font-size="11" fill="#222" transform="rotate(-90 `+num(cx+4)+` `+num(ly-4)+`)"`)
			case below:
				c.text(cx, ly+13, label, `text-anchor="middle" font-size="11" fill="#222"`)
			default:
				c.text(cx, ly-4, label, `text-anchor="middle" font-size="11" fill="#222"`)
			}
		}
	}
	c.legend(pr+16, pt+10, names, legendChars(w), false)
}
