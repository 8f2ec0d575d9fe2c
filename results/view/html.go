package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// WriteHTML writes a report of the sources as one self-contained HTML page:
// inline CSS, inline SVG charts and a few lines of inline script that only
// report their own errors. It loads nothing from anywhere, so it can be
// mailed or archived as is.
//
// Per source it shows the headline, the latency percentile spectrum of
// each phase with the runs overlaid (x: 1/(1-q) on a log scale, labelled
// 50% … 99.999%), the per-interval rate and latency, socket states over
// time against the ephemeral port capacity, failures by class over time,
// the text table, and tables of the configuration, sysctls and host.
// Several sources also get their spectra overlaid in one section.
func WriteHTML(w io.Writer, srcs []results.Source) error {
	var b bytes.Buffer
	title := "connbench report"
	if len(srcs) == 1 {
		title += ": " + srcs[0].Name
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n", esc(title))
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString(htmlStyle)
	b.WriteString(htmlScript)
	b.WriteString("</head>\n<body>\n")
	fmt.Fprintf(&b, "<header><h1>%s</h1>\n", esc(title))
	b.WriteString("<pre id=\"report-errors\" hidden></pre>\n")
	if len(srcs) > 1 {
		b.WriteString("<nav><ul>")
		for i, s := range srcs {
			fmt.Fprintf(&b, "<li><a href=\"#doc-%d\">%s</a> (%s)</li>", i+1, esc(s.Name), plural(len(s.Doc.Runs), "run"))
		}
		b.WriteString("<li><a href=\"#all\">all files together</a></li></ul></nav>")
	}
	b.WriteString("</header>\n")
	for i, s := range srcs {
		if err := writeHTMLDoc(&b, fmt.Sprintf("doc-%d", i+1), s); err != nil {
			return err
		}
	}
	if len(srcs) > 1 {
		all := results.Combine(srcs)
		b.WriteString("<section id=\"all\">\n<h2>All files together</h2>\n")
		b.WriteString("<p class=\"meta\">Every run of every file, its percentile spectrum overlaid per phase. A label seen in several files is prefixed with its file.</p>\n")
		if err := writeSpectra(&b, "all", all.Runs); err != nil {
			return err
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("<footer>Written by connbench report. Latencies come from HdrHistogram (3 significant digits); every chart is drawn from the JSON result alone.</footer>\n")
	b.WriteString("</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func writeHTMLDoc(b *bytes.Buffer, id string, s results.Source) error {
	d := s.Doc
	fmt.Fprintf(b, "<section id=\"%s\">\n<h2>%s</h2>\n", id, esc(s.Name))
	meta := []string{fmt.Sprintf("%s %s", d.Tool.Name, d.Tool.Version), "host " + d.Host.Hostname, "kernel " + d.Host.Kernel,
		plural(d.Host.CPUs, "CPU")}
	if !d.StartedAt.IsZero() {
		meta = append(meta, "started "+d.StartedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprintf(b, "<p class=\"meta\">%s</p>\n", esc(strings.Join(meta, " · ")))
	if len(d.Command) > 0 {
		fmt.Fprintf(b, "<p class=\"meta\"><code>%s</code></p>\n", esc(strings.Join(d.Command, " ")))
	}
	if d.Partial {
		b.WriteString("<p class=\"warn\">Partial results: the invocation was stopped before its end.</p>\n")
	}
	if len(d.Runs) == 0 {
		b.WriteString("<p>No runs.</p>\n</section>\n")
		return nil
	}
	for _, h := range Headline(d) {
		fmt.Fprintf(b, "<p class=\"headline\">%s</p>\n", esc(h))
	}
	runs := make([]*results.Run, len(d.Runs))
	for i := range d.Runs {
		runs[i] = &d.Runs[i]
	}
	if err := writeSpectra(b, id, d.Runs); err != nil {
		return err
	}
	writeTimelines(b, id, runs)
	writeStates(b, id, runs)
	writeFailures(b, id, runs)
	writeCurveCharts(b, id, d)

	b.WriteString("<h3>Summary</h3>\n<pre class=\"table\">")
	var t strings.Builder
	WriteTable(&t, d)
	b.WriteString(esc(strings.TrimRight(t.String(), "\n")))
	b.WriteString("</pre>\n")
	writeConfigTable(b, runs)
	writeSysctlTable(b, d, runs)
	writeHostTable(b, d)
	b.WriteString("</section>\n")
	return nil
}

// runName is a run's name in legends and table headers.
func runName(r *results.Run) string {
	n := r.Label
	if r.Repetition > 0 {
		n += fmt.Sprintf(" #%d", r.Repetition)
	}
	if r.Partial {
		n += " (partial)"
	}
	return n
}

// spectrumPointsPerDecade sets how finely the percentile spectrum is
// sampled along 1/(1-q).
const spectrumPointsPerDecade = 25

// spectrumMaxX is the right end of the percentile axis: 99.999%.
const spectrumMaxX = 1e5

// Spectrum returns the percentile spectrum of rec for plotting on a
// "nines" axis: points x = 1/(1-q) from 2 (the median) up to 1e5
// (99.999%) or the number of values, whichever is smaller, log-spaced, and
// y the latency in nanoseconds at percentile q. When the values are fewer
// than 1e5 the last point is (count, max). It returns nothing for fewer
// than 2 values.
func Spectrum(rec *histogram.Recorder) (x, y []float64) {
	n := rec.Count()
	if n < 2 {
		return nil, nil
	}
	limit := math.Min(float64(n), spectrumMaxX)
	var ps []float64
	for k := 0; ; k++ {
		v := 2 * math.Pow(10, float64(k)/spectrumPointsPerDecade)
		if v >= limit*0.9999 {
			break
		}
		x = append(x, v)
		ps = append(ps, 100*(1-1/v))
	}
	if float64(n) > spectrumMaxX {
		x = append(x, spectrumMaxX)
		ps = append(ps, 100*(1-1/spectrumMaxX))
	}
	vals := rec.Hist().ValueAtPercentilesSlice(ps)
	for _, v := range vals {
		y = append(y, float64(v))
	}
	if float64(n) <= spectrumMaxX {
		x = append(x, float64(n))
		y = append(y, float64(rec.Hist().Max()))
	}
	return x, y
}

// writeSpectra draws one percentile-spectrum chart per phase, the runs
// overlaid.
func writeSpectra(b *bytes.Buffer, id string, runs []results.Run) error {
	var phases []string
	{
		set := map[string]bool{}
		for _, r := range runs {
			for ph, p := range r.Phases {
				if p.Count > 0 {
					set[ph] = true
				}
			}
		}
		phases = ordered(set, results.PhaseOrder)
	}
	b.WriteString("<h3>Latency percentiles</h3>\n")
	if len(phases) == 0 {
		b.WriteString("<p class=\"none\">No latencies were recorded.</p>\n")
		return nil
	}
	b.WriteString("<p class=\"meta\">The latency below which a given fraction of the transactions completed, from the full histograms. Right is the tail: 99.9% means 1 in 1,000 took longer. Hover a line for its run.</p>\n<div class=\"grid\">\n")
	for _, ph := range phases {
		c := chart{
			id:    id + "-spectrum-" + ph,
			title: phaseTitleOf(ph) + " latency by percentile",
			x:     axis{title: "percentile (log scale of 1/(1−percentile))", log: true, min: 2, max: spectrumMaxX, fixed: true, ticks: nines},
			y:     axis{title: "latency (log scale)", log: true, format: tickDur},
		}
		for i, r := range runs {
			p, ok := r.Phases[ph]
			if !ok || p.Count == 0 {
				continue
			}
			rec, err := p.Recorder()
			if err != nil {
				return fmt.Errorf("results: html: run %s phase %s: %w", r.Label, ph, err)
			}
			x, y := Spectrum(rec)
			c.lines = append(c.lines, line{
				name:  fmt.Sprintf("%s: n=%s, p99 %s, max %s", runName(&r), Count(p.Count), Dur(p.P99Ns), Dur(p.MaxNs)),
				color: colour(i), x: x, y: y,
			})
		}
		writeFigure(b, &c)
	}
	b.WriteString("</div>\n")
	return nil
}

func phaseTitleOf(ph string) string {
	if t, ok := phaseTitle[ph]; ok {
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return ph
}

func writeFigure(b *bytes.Buffer, c *chart) {
	b.WriteString("<figure>")
	b.WriteString(c.svg())
	b.WriteString("</figure>\n")
}

// midpoints returns the intervals' midpoints in seconds.
func mid(iv results.Interval) float64 { return float64(iv.StartNs+iv.EndNs) / 2 / 1e9 }

func warmupEnd(runs []*results.Run) (bool, float64) {
	for _, r := range runs {
		for _, iv := range r.Series {
			if iv.Warmup || iv.StartNs < 0 {
				return true, 0
			}
		}
	}
	return false, 0
}

// timeAxis is the x axis of the time charts: from the earliest interval
// start to the latest end, in seconds.
func timeAxis(runs []*results.Run) axis {
	a := axis{title: timeTitle, format: tickSeconds}
	first := true
	for _, r := range runs {
		for _, iv := range r.Series {
			s, e := float64(iv.StartNs)/1e9, float64(iv.EndNs)/1e9
			if first {
				a.min, a.max, first = s, e, false
			}
			a.min, a.max = math.Min(a.min, s), math.Max(a.max, e)
		}
	}
	if !first && a.max > a.min {
		a.fixed = true
	}
	return a
}

func hasSeries(runs []*results.Run) bool {
	for _, r := range runs {
		if len(r.Series) > 0 {
			return true
		}
	}
	return false
}

const timeTitle = "time since the measured start (s)"

// writeTimelines draws the per-interval rates and latency of every run.
func writeTimelines(b *bytes.Buffer, id string, runs []*results.Run) {
	b.WriteString("<h3>Over time</h3>\n")
	if !hasSeries(runs) {
		b.WriteString("<p class=\"none\">No time series in this file.</p>\n")
		return
	}
	shade, to := warmupEnd(runs)
	rate := chart{id: id + "-rate", title: "Rate per interval",
		x: timeAxis(runs), y: axis{title: "per second", zero: true, format: tickCount},
		shade: shade, shadeTo: to}
	connsDiffer := false
	for i, r := range runs {
		if len(r.Series) == 0 {
			continue
		}
		tx := line{name: runName(r), color: colour(i), markers: len(r.Series) <= 120}
		cn := line{color: colour(i), dash: "5 4", width: 1.5}
		for _, iv := range r.Series {
			tx.x = append(tx.x, mid(iv))
			tx.y = append(tx.y, iv.TransactionsPerSec)
			cn.x = append(cn.x, mid(iv))
			cn.y = append(cn.y, iv.ConnsPerSec)
			if math.Abs(iv.ConnsPerSec-iv.TransactionsPerSec) > 0.05*math.Max(iv.TransactionsPerSec, 1) {
				connsDiffer = true
			}
		}
		series := r.Series
		tx.tip = func(k int) string {
			iv := series[k]
			return fmt.Sprintf("%s, %s–%s: %s transactions/s, %s new connections/s", r.Label,
				Seconds(time.Duration(iv.StartNs)), Seconds(time.Duration(iv.EndNs)),
				Count(int64(math.Round(iv.TransactionsPerSec))), Count(int64(math.Round(iv.ConnsPerSec))))
		}
		rate.lines = append(rate.lines, tx)
		cn.name = ""
		rate.lines = append(rate.lines, cn)
	}
	if connsDiffer {
		rate.title = "Transactions/s (solid) and new connections/s (dashed) per interval"
		rate.extraLegend = []line{{name: "transactions/s", color: "#444"}, {name: "new connections/s", color: "#444", dash: "5 4", width: 1.5}}
	} else {
		rate.title = "Transactions/s per interval"
		var keep []line
		for _, l := range rate.lines {
			if l.dash == "" {
				keep = append(keep, l)
			}
		}
		rate.lines = keep
	}

	// Latency per interval: the transaction phase when there is one.
	ph := ""
	for _, cand := range append(append([]string{}, "transaction"), results.PhaseOrder...) {
		for _, r := range runs {
			for _, iv := range r.Series {
				if p, ok := iv.Phases[cand]; ok && p.Count > 0 && ph == "" {
					ph = cand
				}
			}
		}
	}
	lat := chart{id: id + "-latency", title: phaseTitleOf(ph) + " latency per interval: p99 (solid) and p50 (dashed)",
		x: timeAxis(runs), y: axis{title: "latency (log scale)", log: true, format: tickDur},
		shade: shade, shadeTo: to,
		extraLegend: []line{{name: "p99", color: "#444"}, {name: "p50", color: "#444", dash: "5 4", width: 1.5}}}
	for i, r := range runs {
		if len(r.Series) == 0 || ph == "" {
			continue
		}
		p99 := line{name: runName(r), color: colour(i), markers: len(r.Series) <= 120}
		p50 := line{color: colour(i), dash: "5 4", width: 1.5}
		for _, iv := range r.Series {
			p, ok := iv.Phases[ph]
			y99, y50 := math.NaN(), math.NaN()
			if ok && p.Count > 0 {
				y99, y50 = float64(p.P99Ns), float64(p.P50Ns)
			}
			p99.x = append(p99.x, mid(iv))
			p99.y = append(p99.y, y99)
			p50.x = append(p50.x, mid(iv))
			p50.y = append(p50.y, y50)
		}
		series := r.Series
		p99.tip = func(k int) string {
			iv := series[k]
			p := iv.Phases[ph]
			return fmt.Sprintf("%s, %s–%s: p50 %s, p99 %s, max %s (%s values)", r.Label,
				Seconds(time.Duration(iv.StartNs)), Seconds(time.Duration(iv.EndNs)),
				Dur(p.P50Ns), Dur(p.P99Ns), Dur(p.MaxNs), Count(p.Count))
		}
		lat.lines = append(lat.lines, p99, p50)
	}
	b.WriteString("<div class=\"grid\">\n")
	writeFigure(b, &rate)
	if ph != "" {
		writeFigure(b, &lat)
	}
	b.WriteString("</div>\n")
}

// writeStates draws each run's client sockets by TCP state at the end of
// each interval, with the ephemeral port capacity as a limit line.
func writeStates(b *bytes.Buffer, id string, runs []*results.Run) {
	b.WriteString("<h3>Socket states</h3>\n")
	sampled := false
	for _, r := range runs {
		for _, iv := range r.Series {
			if len(iv.States) > 0 || iv.PortsInUse > 0 {
				sampled = true
			}
		}
	}
	if !sampled {
		b.WriteString("<p class=\"none\">No socket-state samples in this file.</p>\n")
		return
	}
	b.WriteString("<p class=\"meta\">The run's client sockets toward the target by TCP state, sampled at the end of each interval, and the distinct local ports they hold. The red line is the ephemeral port capacity (port range × source addresses): a connect() needs a free port below it.</p>\n<div class=\"grid\">\n")
	for i, r := range runs {
		if len(r.Series) == 0 {
			continue
		}
		shade, to := warmupEnd([]*results.Run{r})
		c := chart{id: fmt.Sprintf("%s-states-%d", id, i), title: "Socket states: " + runName(r),
			x: timeAxis([]*results.Run{r}), y: axis{title: "sockets", zero: true, format: tickCount},
			shade: shade, shadeTo: to}
		set := map[string]bool{}
		peak := 0
		for _, iv := range r.Series {
			for s, n := range iv.States {
				if n > 0 {
					set[s] = true
				}
				peak = max(peak, n)
			}
			peak = max(peak, iv.PortsInUse)
		}
		for _, s := range ordered(set, StateOrder) {
			l := line{name: s, color: stateColourOf(s), markers: len(r.Series) <= 120}
			for _, iv := range r.Series {
				l.x = append(l.x, float64(iv.EndNs)/1e9)
				l.y = append(l.y, float64(iv.States[s]))
			}
			c.lines = append(c.lines, l)
		}
		ports := line{name: "ports in use", color: "#222", dash: "2 3", width: 1.5}
		for _, iv := range r.Series {
			ports.x = append(ports.x, float64(iv.EndNs)/1e9)
			ports.y = append(ports.y, float64(iv.PortsInUse))
		}
		c.lines = append(c.lines, ports)
		if capacity := results.PortCapacity(r.Kernel); capacity > 0 {
			label := fmt.Sprintf("ephemeral ports: %s", Count(int64(capacity)))
			if r.Kernel.Sources > 1 {
				label += fmt.Sprintf(" (%s × %d sources)", Count(int64(r.Kernel.PortRangeSize)), r.Kernel.Sources)
			}
			if peak*20 < capacity {
				// Drawn to scale the states would be a flat line at 0.
				c.above = label + " (far above this scale)"
			} else {
				c.limits = append(c.limits, hline{y: float64(capacity), label: label, color: "#c0392b"})
			}
		}
		writeFigure(b, &c)
	}
	b.WriteString("</div>\n")
}

func stateColourOf(s string) string {
	if c, ok := stateColour[s]; ok {
		return c
	}
	return "#999"
}

// writeFailures draws each failing run's failures per second by class.
func writeFailures(b *bytes.Buffer, id string, runs []*results.Run) {
	b.WriteString("<h3>Failures by class</h3>\n")
	var failing []int
	for i, r := range runs {
		if r.FailuresTotal > 0 {
			failing = append(failing, i)
		}
	}
	if len(failing) == 0 {
		b.WriteString("<p class=\"none\">No failures in any run.</p>\n")
		return
	}
	var list []string
	for _, i := range failing {
		r := runs[i]
		var parts []string
		for _, c := range slices.Sorted(maps.Keys(r.Failures)) {
			if r.Failures[c] > 0 {
				parts = append(parts, fmt.Sprintf("%s %s", c, Count(r.Failures[c])))
			}
		}
		list = append(list, fmt.Sprintf("%s: %s", runName(r), strings.Join(parts, ", ")))
	}
	fmt.Fprintf(b, "<p class=\"meta\">Totals: %s.</p>\n", esc(strings.Join(list, "; ")))
	b.WriteString("<div class=\"grid\">\n")
	for _, i := range failing {
		r := runs[i]
		set := map[string]bool{}
		for _, iv := range r.Series {
			for c, n := range iv.Failures {
				if n > 0 {
					set[c] = true
				}
			}
		}
		if len(set) == 0 {
			continue
		}
		shade, to := warmupEnd([]*results.Run{r})
		c := chart{id: fmt.Sprintf("%s-failures-%d", id, i), title: "Failures per second by class: " + runName(r),
			x: timeAxis([]*results.Run{r}), y: axis{title: "failures per second", zero: true, format: tickCount},
			shade: shade, shadeTo: to}
		for k, class := range ordered(set, nil) {
			l := line{name: class, color: colour(k + 1), markers: len(r.Series) <= 120}
			for _, iv := range r.Series {
				secs := float64(iv.EndNs-iv.StartNs) / 1e9
				y := math.NaN()
				if secs > 0 {
					y = float64(iv.Failures[class]) / secs
				}
				l.x = append(l.x, mid(iv))
				l.y = append(l.y, y)
			}
			c.lines = append(c.lines, l)
		}
		writeFigure(b, &c)
	}
	b.WriteString("</div>\n")
}

// writeConfigTable shows every run's configuration echo, flattened to
// dotted keys, the runs side by side.
func writeConfigTable(b *bytes.Buffer, runs []*results.Run) {
	b.WriteString("<h3>Configuration</h3>\n")
	var keys []string
	vals := make([]map[string]string, len(runs))
	for i, r := range runs {
		vals[i] = map[string]string{}
		add := func(k, v string) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
			vals[i][k] = v
		}
		add("target", r.Target)
		add("started at", timeString(r.StartedAt))
		add("measured", Dur(r.DurationNs))
		for _, k := range slices.Sorted(maps.Keys(r.Settings)) {
			add("varied: "+k, r.Settings[k])
		}
		flattenJSON(r.Config, add)
	}
	b.WriteString("<table><thead><tr><th>setting</th>")
	for _, r := range runs {
		fmt.Fprintf(b, "<th>%s</th>", esc(runName(r)))
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, k := range keys {
		fmt.Fprintf(b, "<tr><td>%s</td>", esc(k))
		for i := range runs {
			v, ok := vals[i][k]
			if !ok {
				v = "—"
			}
			fmt.Fprintf(b, "<td>%s</td>", esc(v))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>\n")
}

// flattenJSON calls add for every scalar in the JSON object raw, with
// dotted keys in document order; arrays are shown as JSON text.
func flattenJSON(raw json.RawMessage, add func(k, v string)) {
	if len(raw) == 0 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(prefix string) error
	walk = func(prefix string) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case json.Delim:
			switch t {
			case '{':
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					k, _ := kt.(string)
					if prefix != "" {
						k = prefix + "." + k
					}
					if err := walk(k); err != nil {
						return err
					}
				}
				_, err = dec.Token()
				return err
			case '[':
				var parts []string
				for dec.More() {
					var v any
					if err := dec.Decode(&v); err != nil {
						return err
					}
					j, _ := json.Marshal(v)
					parts = append(parts, string(j))
				}
				if _, err := dec.Token(); err != nil {
					return err
				}
				add(prefix, "["+strings.Join(parts, ", ")+"]")
				return nil
			}
		case string:
			add(prefix, t)
		case nil:
			add(prefix, "null")
		default:
			add(prefix, fmt.Sprint(t))
		}
		return nil
	}
	if err := walk(""); err != nil {
		add("(config)", string(raw))
	}
}

func writeSysctlTable(b *bytes.Buffer, d *results.Document, runs []*results.Run) {
	b.WriteString("<h3>Sysctls</h3>\n")
	var own []*results.Run
	set := map[string]bool{}
	for k := range d.Sysctls {
		set[k] = true
	}
	for _, r := range runs {
		if len(r.Sysctls) > 0 {
			own = append(own, r)
			for k := range r.Sysctls {
				set[k] = true
			}
		}
	}
	if len(set) == 0 {
		b.WriteString("<p class=\"none\">No sysctls recorded.</p>\n")
		return
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("<table><thead><tr><th>sysctl</th><th>")
	if len(own) > 0 {
		b.WriteString("document")
	} else {
		b.WriteString("value")
	}
	b.WriteString("</th>")
	for _, r := range own {
		fmt.Fprintf(b, "<th>%s</th>", esc(runName(r)))
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, k := range keys {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td>", esc(k), esc(orDash(d.Sysctls, k)))
		for _, r := range own {
			fmt.Fprintf(b, "<td>%s</td>", esc(orDash(r.Sysctls, k)))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>\n")
}

func orDash(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "—"
}

func writeHostTable(b *bytes.Buffer, d *results.Document) {
	b.WriteString("<h3>Host, kernel and tool</h3>\n<table><tbody>\n")
	row := func(k, v string) { fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td></tr>\n", esc(k), esc(v)) }
	row("hostname", d.Host.Hostname)
	row("kernel", d.Host.Kernel)
	row("CPUs", fmt.Sprint(d.Host.CPUs))
	row("open file limit", fmt.Sprint(d.Host.OpenFileLimit))
	row("tool", strings.TrimSpace(d.Tool.Name+" "+d.Tool.Version+" ("+d.Tool.GoVersion+")"))
	row("schema", d.Schema)
	row("started at", timeString(d.StartedAt))
	if len(d.Command) > 0 {
		row("command", strings.Join(d.Command, " "))
	}
	b.WriteString("</tbody></table>\n")
}

const htmlStyle = `<style>
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #ffffff; --panel: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1240px; padding: 18px 24px 40px; color: var(--fg); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 22px; margin: 6px 0 10px; }
h2 { font-size: 19px; margin: 30px 0 4px; padding-top: 10px; border-top: 2px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; }
nav ul { margin: 0; padding-left: 18px; }
.meta { color: var(--muted); margin: 2px 0 8px; }
.headline { font-size: 15px; margin: 6px 0; padding: 6px 10px; background: #eef4fb; border-left: 4px solid #1f77b4; }
.warn { color: #a4361f; font-weight: 600; }
.none { color: var(--muted); font-style: italic; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 14px; }
figure { margin: 0; padding: 6px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
svg.chart { display: block; width: 100%; height: auto; font-family: system-ui, "DejaVu Sans", sans-serif; }
svg .ct { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg .pa { fill: #fcfcfd; }
svg .fr { fill: none; stroke: #9aa3b2; stroke-width: 1; }
svg .g { stroke: #e6e9ef; stroke-width: 1; }
svg .wu { fill: #eceef2; }
svg .tl { font-size: 10px; fill: var(--muted); }
svg .xl { font-size: 10.5px; fill: var(--muted); text-anchor: middle; }
svg .yl { font-size: 10.5px; fill: var(--muted); text-anchor: end; }
svg .at { font-size: 11.5px; fill: var(--fg); text-anchor: middle; }
svg .ln { fill: none; stroke-linejoin: round; stroke-linecap: round; }
svg .lim { stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .ll { font-size: 10.5px; text-anchor: end; font-weight: 600; }
svg .lg { font-size: 11px; fill: var(--fg); }
pre.table { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; font-size: 12px; line-height: 1.35; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 10px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); }
tbody tr:nth-child(even) td { background: #fafbfc; }
td:first-child { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
#report-errors { color: #a4361f; background: #fdecea; padding: 8px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
</style>
`

// htmlScript reports the page's own errors into #report-errors, where a
// reader (and the test, through the DOM) sees them, and marks the body
// once the charts are counted.
const htmlScript = `<script>
(function () {
  var pending = [];
  function report(msg) {
    var box = document.getElementById("report-errors");
    if (!box) { pending.push(msg); return; }
    box.hidden = false;
    box.textContent += msg + "\n";
  }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { report("failed to load " + (t.src || t.href)); return; }
    report("error: " + e.message + " (line " + e.lineno + ")");
  }, true);
  var original = console.error;
  console.error = function () {
    report("console.error: " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
  document.addEventListener("DOMContentLoaded", function () {
    pending.forEach(report);
    var drawn = 0;
    document.querySelectorAll("svg.chart").forEach(function (s) {
      if (s.querySelector("path.ln")) { drawn++; }
    });
    document.body.setAttribute("data-charts-drawn", String(drawn));
  });
})();
</script>
`
