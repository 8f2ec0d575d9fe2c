package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connbench/connbench/metrics"
	"github.com/connbench/connbench/results"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// syncBuffer is a bytes.Buffer safe to write from the run and read from
// the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scrape fetches and parses the endpoint's text format.
func scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(io.LimitReader(resp.Body, 16<<20))
}

// metricValue is the value of name's series whose labels include want
// (counter, gauge, or a histogram's count); ok false if there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestLiveMetrics makes short runs against the built-in listener with
// --metrics-addr on a port the kernel picks, scrapes the endpoint while
// they go, then once they have ended, and checks the final figures against
// the JSON: every counter and every phase histogram's bucket equals what
// the result holds, warm-up left out as the result leaves it out. A run in
// this process, one split over two processes (whose children forward
// their intervals), and a compare with two variants, repeated (as root
// each run is a child in a network namespace of its own).
func TestLiveMetrics(t *testing.T) {
	t.Setenv(mainEnv, "1") // --procs: the children are this test binary, as connbench
	for _, tc := range []struct {
		name  string
		args  []string
		procs int // processes each reporting its intervals
	}{
		{"run", []string{"run", "-w", "per-request", "-c", "4", "-d", "3s", "--warmup", "500ms", "--interval", "500ms"}, 1},
		{"procs", []string{"run", "-w", "per-request", "-c", "4", "-d", "3s", "--interval", "500ms", "--procs", "2"}, 2},
		{"compare", []string{"compare", "-w", "per-request", "--vary", "concurrency=1,2", "--repeat", "2", "-d", "1500ms", "--interval", "500ms"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) { liveMetrics(t, tc.args, tc.procs) })
	}
}

func liveMetrics(t *testing.T, args []string, procs int) {
	out := filepath.Join(t.TempDir(), "run.json")
	args = append(args, "--metrics-addr", "127.0.0.1:0", "--metrics-linger", "1m", "-o", out)
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- dispatch(args, io.Discard, &stderr) }()

	// The address: the run says where it serves.
	addrRe := regexp.MustCompile(`live metrics at (http://127\.0\.0\.1:\d+/metrics) \(segment 1/1, run_id ([0-9a-f]{16})\)`)
	var url, runID string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		if m := addrRe.FindStringSubmatch(stderr.String()); m != nil {
			url, runID = m[1], m[2]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("the run ended (exit %d) before saying where it serves:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 'live metrics at' line within 30s:\n%s", stderr.String())
		}
	}

	// While it runs: poll until a measured interval is in, or the run has
	// ended (then the mid-run figures were missed: a failure).
	some := map[string]string{"segment": "1/1", "run_id": runID}
	var mid map[string]*dto.MetricFamily
	for deadline := time.Now().Add(60 * time.Second); ; {
		fams, err := scrape(url)
		if err == nil {
			if fin, _ := metricValue(fams, "connbench_finished", nil); fin == 1 {
				t.Fatalf("the run ended before a scrape saw it going:\n%s", stderr.String())
			}
			if n, _ := metricValue(fams, "connbench_intervals_total", some); n >= 1 {
				mid = fams
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no measured interval served within 60s (last error %v):\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling, bounded by the deadline
	}
	if v, _ := metricValue(mid, "connbench_running", some); v != 1 {
		t.Errorf("mid-run: connbench_running = %g, want 1", v)
	}
	midTx, _ := metricValue(mid, "connbench_transactions_total", some)
	if midTx <= 0 {
		t.Errorf("mid-run: connbench_transactions_total = %g after a measured interval, want > 0", midTx)
	}

	// After the run: the first scrape that says finished has the final
	// figures and ends the linger.
	var final map[string]*dto.MetricFamily
	for deadline := time.Now().Add(90 * time.Second); final == nil; {
		fams, err := scrape(url)
		if err == nil {
			if fin, _ := metricValue(fams, "connbench_finished", nil); fin == 1 {
				final = fams
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish within 90s (last error %v):\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the final scrape did not end --metrics-linger:\n%s", stderr.String())
	}
	if _, err := scrape(url); err == nil {
		t.Errorf("the endpoint still answers after the command returned")
	}

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := results.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// The runs by label: repetitions add up under one variant label.
	byLabel := map[string][]results.Run{}
	var labels []string
	for _, r := range doc.Runs {
		if byLabel[r.Label] == nil {
			labels = append(labels, r.Label)
		}
		byLabel[r.Label] = append(byLabel[r.Label], r)
	}
	if served := len(final["connbench_transactions_total"].GetMetric()); served != len(labels) {
		t.Errorf("%d variants served, the JSON has %d (%q)", served, len(labels), labels)
	}
	var total int64
	for _, r := range doc.Runs {
		total += r.Counts.Transactions
	}
	if int64(midTx) > total {
		t.Errorf("mid-run: %g transactions served, more than the %d of the whole run", midTx, total)
	}
	for _, label := range labels {
		checkFinal(t, final, runID, label, byLabel[label], procs)
	}
	if v, ok := metricValue(final, "connbench_sockets", map[string]string{"state": "time_wait"}); !ok || v <= 0 {
		t.Errorf("connbench_sockets{state=time_wait} = %g (served %v): a per-request run with --close fin leaves TIME_WAIT", v, ok)
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", stderr.String())
	}
}

// checkFinal checks the final figures served for variant label against
// its runs in the JSON, made by procs processes each.
func checkFinal(t *testing.T, final map[string]*dto.MetricFamily, runID, label string, runs []results.Run, procs int) {
	t.Helper()
	labels := map[string]string{"segment": "1/1", "run_id": runID, "variant": label}
	var c results.Counts
	measured, failTotal := 0, int64(0)
	failures := map[string]int64{}
	for _, run := range runs {
		c.Connections += run.Counts.Connections
		c.Transactions += run.Counts.Transactions
		c.BytesSent += run.Counts.BytesSent
		c.BytesReceived += run.Counts.BytesReceived
		for _, iv := range run.Series {
			if !iv.Warmup {
				measured++
			}
		}
		for k, v := range run.Failures {
			failures[k] += v
		}
		failTotal += run.FailuresTotal
	}
	if c.Transactions == 0 {
		t.Fatalf("%s: the runs made no transactions: %+v", label, c)
	}
	for name, want := range map[string]int64{
		"connbench_connections_total":    c.Connections,
		"connbench_transactions_total":   c.Transactions,
		"connbench_bytes_sent_total":     c.BytesSent,
		"connbench_bytes_received_total": c.BytesReceived,
		"connbench_intervals_total":      int64(measured * procs), // the merged series aligns the processes' intervals
	} {
		got, ok := metricValue(final, name, labels)
		if !ok || got != float64(want) {
			t.Errorf("%s{variant=%q} = %g (served %v), want the JSON's %d", name, label, got, ok, want)
		}
	}
	var fails float64
	for _, m := range final["connbench_failures_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["variant"] != label {
			continue
		}
		if v := m.GetCounter().GetValue(); v != float64(failures[l["class"]]) {
			t.Errorf("%s: failures %s = %g, want the JSON's %d", label, l["class"], v, failures[l["class"]])
		}
		fails += m.GetCounter().GetValue()
	}
	if fails != float64(failTotal) {
		t.Errorf("%s: failures sum to %g, want the JSON's %d", label, fails, failTotal)
	}
	if v, _ := metricValue(final, "connbench_running", labels); v != 0 {
		t.Errorf("%s: after the run, connbench_running = %g, want 0", label, v)
	}

	// Phase histograms: per phase, the count and every cumulative bucket
	// equal what the result's (exactly merged) histograms give.
	hists := map[string]*dto.Histogram{}
	for _, m := range final["connbench_phase_duration_seconds"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["variant"] == label {
			hists[l["phase"]] = m.GetHistogram()
		}
	}
	for _, phase := range []string{"handshake", "first_byte", "transaction"} {
		h := hists[phase]
		if h == nil {
			t.Errorf("%s: phase %s not served", label, phase)
			continue
		}
		cum := make([]uint64, len(metrics.Buckets))
		var count uint64
		var meanNs float64
		for _, run := range runs {
			p, ok := run.Phases[phase]
			if !ok {
				t.Fatalf("%s: phase %s not in the JSON", label, phase)
			}
			c, n, err := metrics.BucketCounts(p.Hdr)
			if err != nil {
				t.Fatal(err)
			}
			if n != uint64(p.Count) {
				t.Errorf("%s: phase %s: histogram count %d, summary count %d", label, phase, n, p.Count)
			}
			for i := range cum {
				cum[i] += c[i]
			}
			count += n
			meanNs += p.MeanNs * float64(p.Count)
		}
		meanNs /= float64(count)
		if h.GetSampleCount() != count {
			t.Errorf("%s: phase %s: served count %d, JSON count %d", label, phase, h.GetSampleCount(), count)
		}
		bks := h.GetBucket()
		if len(bks) != len(metrics.Buckets)+1 || !math.IsInf(bks[len(bks)-1].GetUpperBound(), 1) || bks[len(bks)-1].GetCumulativeCount() != count {
			t.Fatalf("%s: phase %s: buckets %v, want %d bounds and +Inf holding %d", label, phase, bks, len(metrics.Buckets), count)
		}
		for i, bk := range bks[:len(metrics.Buckets)] {
			if bk.GetUpperBound() != metrics.Buckets[i] || bk.GetCumulativeCount() != cum[i] {
				t.Errorf("%s: phase %s: bucket le=%g holds %d, want le=%g %d", label, phase, bk.GetUpperBound(), bk.GetCumulativeCount(), metrics.Buckets[i], cum[i])
			}
		}
		// The mean from _sum is the JSON's mean within HdrHistogram's precision.
		if mean := h.GetSampleSum() / float64(h.GetSampleCount()) * 1e9; mean < meanNs*0.99 || mean > meanNs*1.01 {
			t.Errorf("%s: phase %s: served mean %.0f ns, JSON %.0f ns", label, phase, mean, meanNs)
		}
	}
}

// TestMetricsAddrBad: a bad --metrics-addr or --metrics-linger is a usage
// error naming the flag; an address already taken fails before the run.
func TestMetricsAddrBad(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--metrics-addr", "localhost:9464", "-d", "1s"},
		{"run", "--metrics-addr", "127.0.0.1:99999", "-d", "1s"},
		{"run", "--metrics-addr", "127.0.0.1:9464", "--metrics-linger", "2h", "-d", "1s"},
		{"run", "--metrics-linger", "10s", "-d", "1s"},
		{"compare", "--vary", "metrics-addr=127.0.0.1:1,127.0.0.1:2", "-d", "1s"},
	} {
		code, _, stderr := connbench(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "metrics-") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error naming the flag", args, code, stderr)
		}
	}
	// A port this test holds: the run must fail without starting.
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := connbench(t, "run", "--metrics-addr", ln.Addr().String(), "-d", "1s")
	if code != exitFailure || !strings.Contains(stderr, "--metrics-addr") || strings.Contains(stderr, "tx/s") {
		t.Errorf("address in use: exit %d, stderr %q; want exit 1 naming --metrics-addr, before any load", code, stderr)
	}
}

// TestMetricsQuietPickedPort: with --quiet, a port the kernel picked is
// still said (nobody could find the endpoint otherwise); a given one is not.
func TestMetricsQuietPickedPort(t *testing.T) {
	code, _, stderr := connbench(t, "run", "-q", "-c", "1", "-d", "300ms", "--metrics-addr", "127.0.0.1:0")
	if code != exitOK || !regexp.MustCompile(`live metrics at http://127\.0\.0\.1:\d+/metrics`).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q: want the picked port said", code, stderr)
	}
	code, _, stderr = connbench(t, "run", "-q", "-c", "1", "-d", "300ms", "--metrics-addr", closedPort(t))
	if code != exitOK || strings.Contains(stderr, "live metrics") {
		t.Errorf("exit %d, stderr %q: want nothing said with --quiet", code, stderr)
	}
}
