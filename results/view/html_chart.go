package view

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// This file draws the HTML report's charts as inline SVG: no scripts, no
// fonts or styles from elsewhere, the same picture in every browser.

// chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW      = 580
	chartPlotH  = 250
	chartLeft   = 72
	chartRight  = 30
	chartTop    = 34
	chartBottom = 46 // tick labels and the x axis title
	legendRowH  = 17
	legendFont  = 11
)

type tick struct {
	v     float64
	label string
}

// axis is one axis of a chart. With log set its values must be positive;
// min and max are the data range, widened to nice bounds when drawn
// unless fixed is set.
type axis struct {
	title    string
	log      bool
	min, max float64
	fixed    bool
	ticks    []tick // custom ticks; computed when nil
	format   func(v float64) string
	zero     bool // a linear axis starts at 0
}

// line is one data series; a nil point (NaN y) breaks it.
type line struct {
	name    string
	color   string
	dash    string  // stroke-dasharray, "" for solid
	width   float64 // stroke width, 2 when 0
	x, y    []float64
	markers bool
	tip     func(i int) string // the tooltip of point i, when markers
}

// hline is a horizontal limit line across the plot.
type hline struct {
	y     float64
	label string
	color string
}

type chart struct {
	id     string // data-chart attribute, for tests and links
	title  string
	x, y   axis
	lines  []line
	limits []hline
	// shadeTo shades the plot left of this x (the warm-up), when shade.
	shade   bool
	shadeTo float64
	// above is a note drawn at the top of the plot, for a limit off the
	// scale.
	above string
	// extraLegend are legend entries that are no line (line styles).
	extraLegend []line
}

func (c *chart) svg() string {
	// Data ranges.
	xs := c.x
	ys := c.y
	if !xs.fixed || !ys.fixed {
		first := true
		for _, l := range c.lines {
			for i := range l.x {
				x, y := l.x[i], l.y[i]
				if !finite(x) || !finite(y) || (xs.log && x <= 0) || (ys.log && y <= 0) {
					continue
				}
				if first {
					if !xs.fixed {
						xs.min, xs.max = x, x
					}
					if !ys.fixed {
						ys.min, ys.max = y, y
					}
					first = false
					continue
				}
				if !xs.fixed {
					xs.min, xs.max = math.Min(xs.min, x), math.Max(xs.max, x)
				}
				if !ys.fixed {
					ys.min, ys.max = math.Min(ys.min, y), math.Max(ys.max, y)
				}
			}
		}
		if !ys.fixed {
			for _, h := range c.limits {
				if first {
					ys.min, ys.max = h.y, h.y
					first = false
				}
				ys.min, ys.max = math.Min(ys.min, h.y), math.Max(ys.max, h.y)
			}
		}
		if first { // no data at all
			xs.min, xs.max, ys.min, ys.max = 0, 1, 0, 1
			if xs.log {
				xs.min, xs.max = 1, 10
			}
			if ys.log {
				ys.min, ys.max = 1, 10
			}
		}
	}
	if c.shade && !xs.fixed {
		xs.min = math.Min(xs.min, c.shadeTo)
	}
	xs = niceAxis(xs)
	ys = niceAxis(ys)

	legend := c.legendEntries()
	rows := legendLayout(legend)
	nrows := 0
	if len(rows) > 0 {
		nrows = rows[len(rows)-1].row + 1
	}
	h := chartTop + chartPlotH + chartBottom + nrows*legendRowH + 6
	pw := float64(chartW - chartLeft - chartRight)
	ph := float64(chartPlotH)
	px := func(v float64) float64 {
		return chartLeft + pw*frac(xs, v)
	}
	py := func(v float64) float64 {
		return chartTop + ph*(1-frac(ys, v))
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		esc(c.id), chartW, h, esc(c.title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.title))
	fmt.Fprintf(&b, `<text class="ct" x="%d" y="20">%s</text>`, chartLeft, esc(c.title))
	// Plot background and warm-up shade.
	fmt.Fprintf(&b, `<rect class="pa" x="%d" y="%d" width="%s" height="%s"/>`, chartLeft, chartTop, num(pw), num(ph))
	if c.shade && c.shadeTo > xs.min {
		x1 := px(math.Min(c.shadeTo, xs.max))
		fmt.Fprintf(&b, `<rect class="wu" x="%d" y="%d" width="%s" height="%s"/>`, chartLeft, chartTop, num(x1-chartLeft), num(ph))
		fmt.Fprintf(&b, `<text class="tl" x="%s" y="%d">warm-up</text>`, num(chartLeft+4), chartTop+12)
	}
	// Grid and tick labels.
	for _, t := range ys.ticks {
		y := py(t.v)
		fmt.Fprintf(&b, `<line class="g" x1="%d" x2="%s" y1="%s" y2="%s"/>`, chartLeft, num(chartLeft+pw), num(y), num(y))
		fmt.Fprintf(&b, `<text class="yl" x="%d" y="%s">%s</text>`, chartLeft-6, num(y+4), esc(t.label))
	}
	for _, t := range xs.ticks {
		x := px(t.v)
		fmt.Fprintf(&b, `<line class="g" x1="%s" x2="%s" y1="%d" y2="%s"/>`, num(x), num(x), chartTop, num(chartTop+ph))
		fmt.Fprintf(&b, `<text class="xl" x="%s" y="%s">%s</text>`, num(x), num(chartTop+ph+16), esc(t.label))
	}
	fmt.Fprintf(&b, `<rect class="fr" x="%d" y="%d" width="%s" height="%s"/>`, chartLeft, chartTop, num(pw), num(ph))
	// Axis titles.
	fmt.Fprintf(&b, `<text class="at" x="%s" y="%s">%s</text>`, num(chartLeft+pw/2), num(chartTop+ph+36), esc(xs.title))
	fmt.Fprintf(&b, `<text class="at" transform="translate(16 %s) rotate(-90)">%s</text>`, num(chartTop+ph/2), esc(ys.title))

	// Clip the data to the plot area.
	fmt.Fprintf(&b, `<clipPath id="clip-%s"><rect x="%d" y="%d" width="%s" height="%s"/></clipPath>`,
		esc(c.id), chartLeft, chartTop-2, num(pw), num(ph+4))
	fmt.Fprintf(&b, `<g clip-path="url(#clip-%s)">`, esc(c.id))
	for _, hl := range c.limits {
		y := py(hl.y)
		fmt.Fprintf(&b, `<line class="lim" x1="%d" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, chartLeft, num(chartLeft+pw), num(y), num(y), hl.color)
		ly := y - 5
		if ly < chartTop+12 {
			ly = y + 14 // no room above the line
		}
		fmt.Fprintf(&b, `<text class="ll" x="%s" y="%s" fill="%s">%s</text>`, num(chartLeft+pw-4), num(ly), hl.color, esc(hl.label))
	}
	for _, l := range c.lines {
		w := l.width
		if w == 0 {
			w = 2
		}
		var d strings.Builder
		pen := false
		for i := range l.x {
			x, y := l.x[i], l.y[i]
			if !finite(x) || !finite(y) || (xs.log && x <= 0) || (ys.log && y <= 0) {
				pen = false
				continue
			}
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				d.WriteString("M")
			}
			d.WriteString(num(px(x)) + " " + num(py(y)))
			pen = true
		}
		if d.Len() == 0 {
			continue
		}
		dash := ""
		if l.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, l.dash)
		}
		fmt.Fprintf(&b, `<path class="ln" d="%s" stroke="%s" stroke-width="%s"%s><title>%s</title></path>`,
			d.String(), l.color, num(w), dash, esc(l.name))
		if l.markers {
			for i := range l.x {
				x, y := l.x[i], l.y[i]
				if !finite(x) || !finite(y) || (xs.log && x <= 0) || (ys.log && y <= 0) {
					continue
				}
				tip := l.name
				if l.tip != nil {
					tip = l.tip(i)
				}
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.6" fill="%s"><title>%s</title></circle>`,
					num(px(x)), num(py(y)), l.color, esc(tip))
			}
		}
	}
	b.WriteString(`</g>`)
	if c.above != "" {
		fmt.Fprintf(&b, `<text class="ll" x="%s" y="%d" fill="#c0392b">%s</text>`, num(chartLeft+pw-4), chartTop+12, esc(c.above))
	}
	// Legend below the axis title.
	y0 := chartTop + chartPlotH + chartBottom + 4
	for _, e := range rows {
		x := float64(chartLeft) + e.x
		y := float64(y0 + e.row*legendRowH + legendRowH/2)
		dash := ""
		if e.l.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, e.l.dash)
		}
		w := e.l.width
		if w == 0 {
			w = 2
		}
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`,
			num(x), num(x+22), num(y), num(y), e.l.color, num(w), dash)
		fmt.Fprintf(&b, `<text class="lg" x="%s" y="%s">%s</text>`, num(x+27), num(y+4), esc(e.l.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (c *chart) legendEntries() []line {
	var out []line
	for _, l := range c.lines {
		if l.name != "" {
			out = append(out, l)
		}
	}
	for _, l := range c.limits {
		out = append(out, line{name: l.label, color: l.color, dash: "6 4", width: 1.5})
	}
	return append(out, c.extraLegend...)
}

type legendPos struct {
	l   line
	x   float64
	row int
}

// legendLayout flows the legend entries left to right, wrapping rows at
// the plot's width (text width estimated from the character count).
func legendLayout(entries []line) []legendPos {
	var out []legendPos
	x, row := 0.0, 0
	width := float64(chartW - chartLeft - chartRight)
	for _, e := range entries {
		w := 27 + float64(len([]rune(e.name)))*legendFont*0.56 + 16
		if x > 0 && x+w > width {
			x, row = 0, row+1
		}
		out = append(out, legendPos{l: e, x: x, row: row})
		x += w
	}
	return out
}

// frac maps v into 0..1 along the axis.
func frac(a axis, v float64) float64 {
	if a.log {
		lo, hi := math.Log10(a.min), math.Log10(a.max)
		if hi <= lo {
			return 0.5
		}
		return (math.Log10(v) - lo) / (hi - lo)
	}
	if a.max <= a.min {
		return 0.5
	}
	return (v - a.min) / (a.max - a.min)
}

// niceAxis widens the axis to round bounds and computes its ticks, unless
// they were given.
func niceAxis(a axis) axis {
	f := a.format
	if f == nil {
		f = func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	}
	if a.log {
		if !a.fixed {
			a.min, a.max = logFloor(a.min), logCeil(a.max)
			if a.max <= a.min {
				a.max = logCeil(a.min * 1.01)
			}
		}
		if a.ticks == nil {
			decades := math.Log10(a.max / a.min)
			steps := []float64{1, 2, 5}
			if decades > 3.05 {
				steps = []float64{1}
			}
			// At most about a dozen decades get a tick each.
			stride := math.Max(1, math.Ceil(decades/12))
			for e := math.Floor(math.Log10(a.min)); e <= math.Ceil(math.Log10(a.max)); e += stride {
				for _, s := range steps {
					v := s * math.Pow(10, e)
					if v >= a.min*0.999 && v <= a.max*1.001 {
						a.ticks = append(a.ticks, tick{v, f(v)})
					}
				}
			}
		}
		return a
	}
	if !a.fixed {
		if a.zero && a.min > 0 {
			a.min = 0
		}
		if a.max-a.min <= 1e-9*math.Max(math.Abs(a.min), math.Abs(a.max)) {
			// One value (or values equal within float precision).
			a.max = a.min + math.Max(1, math.Abs(a.min)*0.1)
		}
		// Headroom, so that a line at the maximum is not drawn on the frame.
		a.max += (a.max - a.min) * 0.04
		step := niceStep((a.max - a.min) / 5)
		a.min = math.Floor(a.min/step) * step
		a.max = math.Ceil(a.max/step-1e-9) * step
		if a.max <= a.min {
			a.max = a.min + step
		}
	}
	if a.ticks == nil {
		step := niceStep((a.max - a.min) / 5)
		first := math.Ceil(a.min/step - 1e-9)
		// Index the ticks rather than add up steps: a step below the
		// values' precision would never advance.
		for k := 0; k <= 20; k++ {
			v := (first + float64(k)) * step
			if v > a.max+step*1e-9 {
				break
			}
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			a.ticks = append(a.ticks, tick{v, f(v)})
		}
	}
	return a
}

// niceStep returns the 1, 2, 2.5 or 5 × 10^k at or above raw.
func niceStep(raw float64) float64 {
	if raw <= 0 || !finite(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*0.999 {
			return m * p
		}
	}
	return 10 * p
}

// logFloor and logCeil round to the 1, 2, 5 × 10^k sequence.
func logFloor(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*p <= v*1.0001 {
			return m * p
		}
	}
	return p
}

func logCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v*0.9999 {
			return m * p
		}
	}
	return 10 * p
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// num formats an SVG coordinate with at most one decimal.
func num(v float64) string {
	if !finite(v) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }

// tickDur formats a latency tick in nanoseconds compactly ("500 µs", "2 ms").
func tickDur(ns float64) string {
	switch a := math.Abs(ns); {
	case a == 0:
		return "0"
	case a < 1e3:
		return trimFloat(ns) + " ns"
	case a < 1e6:
		return trimFloat(ns/1e3) + " µs"
	case a < 1e9:
		return trimFloat(ns/1e6) + " ms"
	}
	return trimFloat(ns/1e9) + " s"
}

// tickCount formats a count or rate tick ("500", "1.5k", "2M").
func tickCount(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimFloat(v/1e6) + "M"
	case a >= 1e4:
		return trimFloat(v/1e3) + "k"
	}
	return trimFloat(v)
}

// tickSeconds formats a time tick in seconds.
func tickSeconds(v float64) string { return trimFloat(v) + " s" }

func trimFloat(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// nines are the ticks of the percentile axis, at x = 1/(1-q).
var nines = []tick{{2, "50%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"}, {1e5, "99.999%"}}

// palette colours runs (colour-blind friendly, distinct on white).
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}

func colour(i int) string { return palette[i%len(palette)] }

// stateColour colours socket states the same way in every chart.
var stateColour = map[string]string{
	"established": "#2ca02c", "time_wait": "#ff7f0e", "syn_sent": "#1f77b4", "syn_recv": "#17becf",
	"fin_wait1": "#9467bd", "fin_wait2": "#e377c2", "close_wait": "#8c564b", "last_ack": "#bcbd22",
	"closing": "#7f7f7f", "close": "#aaaaaa", "listen": "#555555",
}
