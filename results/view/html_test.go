package view

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/results"
)

var screenshot = flag.String("screenshot", "", "TestHTMLInChromium: also copy the report's screenshot to this PNG file")

// htmlSources is the fixture plus a second generator's file, so the page
// has every kind of chart and the all-files section.
func htmlSources(t testing.TB) []results.Source { return twoSources(t) }

// wantCharts are the data-chart ids the fixture's page must draw: per file
// four spectra, rate and latency over time, socket states per run with a
// series, failures for the failing run; then the spectra of all files.
var wantCharts = []string{
	"doc-1-spectrum-handshake", "doc-1-spectrum-first_byte", "doc-1-spectrum-response", "doc-1-spectrum-transaction",
	"doc-1-rate", "doc-1-latency", "doc-1-states-0", "doc-1-states-1", "doc-1-failures-1",
	"doc-2-spectrum-handshake", "doc-2-spectrum-first_byte", "doc-2-spectrum-response", "doc-2-spectrum-transaction",
	"doc-2-rate", "doc-2-latency", "doc-2-states-0", "doc-2-states-1", "doc-2-failures-1",
	"all-spectrum-handshake", "all-spectrum-first_byte", "all-spectrum-response", "all-spectrum-transaction",
}

var svgRe = regexp.MustCompile(`(?s)<svg class="chart" data-chart="([^"]+)"[^>]*>(.*?)</svg>`)

func TestHTMLSelfContained(t *testing.T) {
	page := string(renderWith(t, func(b *bytes.Buffer) error { return WriteHTML(b, htmlSources(t)) }))
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(page, "</html>\n") {
		t.Errorf("not a whole HTML page")
	}
	// Nothing that could make a request: no URL, no external resource.
	for _, bad := range []string{"http://", "https://", "//cdn", "<link", "<img", "<iframe", "<object", "<embed", "@import", "src=", "fetch(", "XMLHttpRequest"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`(?:href|xlink:href)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("link %q leaves the page", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`url\(([^)]*)\)`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("url(%s) leaves the page", m[1])
		}
	}
	// Every chart is there, once, with data drawn and axis labels.
	seen := map[string]bool{}
	for _, m := range svgRe.FindAllStringSubmatch(page, -1) {
		id, body := m[1], m[2]
		if seen[id] {
			t.Errorf("chart %s twice", id)
		}
		seen[id] = true
		if !strings.Contains(body, `<path class="ln"`) {
			t.Errorf("chart %s draws no line", id)
		}
		if strings.Count(body, `class="at"`) != 2 || strings.Count(body, `class="yl"`) < 2 || strings.Count(body, `class="xl"`) < 2 {
			t.Errorf("chart %s lacks axis titles or tick labels", id)
		}
		if strings.Contains(body, "NaN") || strings.Contains(body, "Inf") {
			t.Errorf("chart %s has a NaN or Inf coordinate", id)
		}
	}
	for _, id := range wantCharts {
		if !seen[id] {
			t.Errorf("chart %s missing", id)
		}
	}
	if len(seen) != len(wantCharts) {
		t.Errorf("%d charts, want %d", len(seen), len(wantCharts))
	}
	// The spectrum axis is labelled in nines; the states chart draws the
	// port capacity.
	for _, want := range []string{">50%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<", ">99.999%<",
		"ephemeral ports: 4,000 (2,000 × 2 sources)", "EADDRNOTAVAIL", "time_wait",
		"latency (log scale)", "time since the measured start (s)", "net.ipv4.tcp_tw_reuse", "socket.close", "6.18.44",
		"Pooling gives 5.00×"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Deterministic.
	if again := string(renderWith(t, func(b *bytes.Buffer) error { return WriteHTML(b, htmlSources(t)) })); again != page {
		t.Errorf("WriteHTML is not deterministic")
	}
}

// A document with nothing to draw still makes a valid page, saying so.
func TestHTMLEmpty(t *testing.T) {
	for _, d := range []*results.Document{{Schema: results.Schema}, refusedDoc()} {
		page := string(renderWith(t, func(b *bytes.Buffer) error { return WriteHTML(b, []results.Source{{Name: "x.json", Doc: d}}) }))
		if strings.Contains(page, `<svg class="chart"`) {
			t.Errorf("%d runs: a chart without data", len(d.Runs))
		}
		if len(d.Runs) == 0 && !strings.Contains(page, "No runs.") {
			t.Errorf("empty document: no \"No runs.\"")
		}
		if len(d.Runs) > 0 && !strings.Contains(page, "No latencies were recorded.") {
			t.Errorf("refused run: no \"No latencies were recorded.\"")
		}
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium runs headless Chromium on a file with the given extra flags and
// returns its standard output. Chromium is kept off the network: any host
// name resolves to nothing.
func chromium(t *testing.T, bin, dir, page string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	args = append(append(args, extra...), "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", bin, err, errb.String())
	}
	return out.Bytes()
}

// TestHTMLInChromium opens the report in headless Chromium: the page's
// script runs without an error (it writes any into #report-errors, which
// the dumped DOM shows), counts every chart as drawn, and a screenshot is
// taken (go test ./results -run Chromium -screenshot /tmp/report.png to
// keep it).
func TestHTMLInChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("chromium not installed (Debian: apt-get install chromium; .ci/run installs it)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	html := renderWith(t, func(b *bytes.Buffer) error { return WriteHTML(b, htmlSources(t)) })
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}

	dom := string(chromium(t, bin, dir, page, "--dump-dom"))
	m := regexp.MustCompile(`<body data-charts-drawn="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's script did not run (no data-charts-drawn on <body>):\n%.2000s", dom)
	}
	if n, _ := strconv.Atoi(m[1]); n != len(wantCharts) {
		t.Errorf("script counted %d drawn charts, want %d", n, len(wantCharts))
	}
	errs := regexp.MustCompile(`(?s)<pre id="report-errors"([^>]*)>(.*?)</pre>`).FindStringSubmatch(dom)
	if errs == nil {
		t.Fatalf("no #report-errors element in the DOM")
	}
	if errs[2] != "" || !strings.Contains(errs[1], "hidden") {
		t.Errorf("the page reported errors: %q", errs[2])
	}
	if got := len(svgRe.FindAllString(dom, -1)); got != len(wantCharts) {
		t.Errorf("rendered DOM has %d charts, want %d", got, len(wantCharts))
	}

	shot := filepath.Join(dir, "report.png")
	chromium(t, bin, dir, page, "--screenshot="+shot, "--window-size=1200,3000", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 3000 {
		t.Errorf("screenshot is %v, want 1200×3000", b)
	}
	// Not blank: the charts' colours are there.
	colours := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: blank?", len(colours))
	}
	t.Logf("screenshot: %s", shot)
	if *screenshot != "" {
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(*screenshot, data, 0o644)
		}
		if err != nil {
			t.Error(err)
		}
	}
}

// Axes over degenerate ranges (one value, values equal within float
// precision, huge offsets) still get a few ticks, and quickly.
func TestNiceAxisDegenerate(t *testing.T) {
	for _, a := range []axis{
		{min: 5, max: 5},
		{min: 1e9, max: 1e9 + 1e-7},
		{min: 1e18, max: 1e18 + 1},
		{min: -3, max: -3, zero: true},
		{min: 0, max: 1e300},
		{min: 1e9, max: 1e9 + 1e-7, fixed: true},
		{min: 7, max: 7, log: true},
		{min: 1e-300, max: 1e300, log: true},
	} {
		got := niceAxis(a)
		if len(got.ticks) == 0 || len(got.ticks) > 63 {
			t.Errorf("%+v: %d ticks", a, len(got.ticks))
		}
		if !(got.max >= got.min) || !finite(got.min) || !finite(got.max) {
			t.Errorf("%+v: range %v..%v", a, got.min, got.max)
		}
	}
}
