package main

import (
	"bytes"
	"encoding/json"
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

// TestLiveMetrics makes a short run against the built-in listener with
// --metrics-addr on a port the kernel picks, scrapes the endpoint while the
// run goes, then once it has ended, and checks the final figures against
// the run's JSON: every counter and every phase histogram's bucket equals
// what the result holds, warm-up left out as the result leaves it out.
func TestLiveMetrics(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run.json")
	args := []string{"run", "-w", "per-request", "-c", "4", "-d", "3s", "--warmup", "500ms", "--interval", "500ms",
		"--metrics-addr", "127.0.0.1:0", "--metrics-linger", "1m", "-o", out}
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
	labels := map[string]string{"segment": "1/1", "run_id": runID, "variant": "per-request"}
	var mid map[string]*dto.MetricFamily
	for deadline := time.Now().Add(60 * time.Second); ; {
		fams, err := scrape(url)
		if err == nil {
			if fin, _ := metricValue(fams, "connbench_finished", nil); fin == 1 {
				t.Fatalf("the run ended before a scrape saw it going:\n%s", stderr.String())
			}
			if n, _ := metricValue(fams, "connbench_intervals_total", labels); n >= 1 {
				mid = fams
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no measured interval served within 60s (last error %v):\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling, bounded by the deadline
	}
	if v, _ := metricValue(mid, "connbench_running", labels); v != 1 {
		t.Errorf("mid-run: connbench_running = %g, want 1", v)
	}
	midTx, _ := metricValue(mid, "connbench_transactions_total", labels)
	if midTx <= 0 {
		t.Errorf("mid-run: connbench_transactions_total = %g after a measured interval, want > 0", midTx)
	}

	// After the run: the first scrape that says finished has the final
	// figures and ends the linger.
	var final map[string]*dto.MetricFamily
	for deadline := time.Now().Add(60 * time.Second); final == nil; {
		fams, err := scrape(url)
		if err == nil {
			if fin, _ := metricValue(fams, "connbench_finished", nil); fin == 1 {
				final = fams
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish within 60s (last error %v):\n%s", err, stderr.String())
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
	run := doc.Runs[0]
	if run.Label != "per-request" {
		t.Fatalf("run label %q", run.Label)
	}
	if run.Counts.Transactions == 0 {
		t.Fatalf("the run made no transactions: %+v", run.Counts)
	}
	if int64(midTx) > run.Counts.Transactions {
		t.Errorf("mid-run transactions %g > the run's total %d", midTx, run.Counts.Transactions)
	}
	measured := 0
	for _, iv := range run.Series {
		if !iv.Warmup {
			measured++
		}
	}
	for name, want := range map[string]int64{
		"connbench_connections_total":    run.Counts.Connections,
		"connbench_transactions_total":   run.Counts.Transactions,
		"connbench_bytes_sent_total":     run.Counts.BytesSent,
		"connbench_bytes_received_total": run.Counts.BytesReceived,
		"connbench_intervals_total":      int64(measured),
	} {
		got, ok := metricValue(final, name, labels)
		if !ok || got != float64(want) {
			t.Errorf("%s = %g (served %v), want the JSON's %d", name, got, ok, want)
		}
	}
	var fails float64
	for _, m := range final["connbench_failures_total"].GetMetric() {
		class := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "class" {
				class = l.GetValue()
			}
		}
		if v := m.GetCounter().GetValue(); v != float64(run.Failures[class]) {
			t.Errorf("failures %s = %g, want the JSON's %d", class, v, run.Failures[class])
		}
		fails += m.GetCounter().GetValue()
	}
	if fails != float64(run.FailuresTotal) {
		t.Errorf("failures sum to %g, want the JSON's %d", fails, run.FailuresTotal)
	}

	// Phase histograms: per phase, the count and every cumulative bucket
	// equal what the result's (exactly merged) histogram gives.
	hists := map[string]*dto.Histogram{}
	for _, m := range final["connbench_phase_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "phase" {
				hists[l.GetValue()] = m.GetHistogram()
			}
		}
	}
	for _, phase := range []string{"handshake", "first_byte", "transaction"} {
		p, ok := run.Phases[phase]
		h := hists[phase]
		if !ok || h == nil {
			t.Errorf("phase %s: in JSON %v, served %v", phase, ok, h != nil)
			continue
		}
		cum, count, err := metrics.BucketCounts(p.Hdr)
		if err != nil {
			t.Fatal(err)
		}
		if h.GetSampleCount() != uint64(p.Count) || count != uint64(p.Count) {
			t.Errorf("phase %s: served count %d, JSON count %d (its histogram %d)", phase, h.GetSampleCount(), p.Count, count)
		}
		bks := h.GetBucket()
		if len(bks) != len(metrics.Buckets)+1 || !math.IsInf(bks[len(bks)-1].GetUpperBound(), 1) || bks[len(bks)-1].GetCumulativeCount() != count {
			t.Fatalf("phase %s: buckets %v, want %d bounds and +Inf holding %d", phase, bks, len(metrics.Buckets), count)
		}
		for i, bk := range bks[:len(metrics.Buckets)] {
			if bk.GetUpperBound() != metrics.Buckets[i] || bk.GetCumulativeCount() != cum[i] {
				t.Errorf("phase %s: bucket le=%g holds %d, want le=%g %d", phase, bk.GetUpperBound(), bk.GetCumulativeCount(), metrics.Buckets[i], cum[i])
			}
		}
		// The mean from _sum is the JSON's mean within HdrHistogram's precision.
		if mean := h.GetSampleSum() / float64(h.GetSampleCount()) * 1e9; mean < p.MeanNs*0.99 || mean > p.MeanNs*1.01 {
			t.Errorf("phase %s: served mean %.0f ns, JSON %.0f ns", phase, mean, p.MeanNs)
		}
	}
	if v, ok := metricValue(final, "connbench_sockets", map[string]string{"state": "time_wait"}); !ok || v <= 0 {
		t.Errorf("connbench_sockets{state=time_wait} = %g (served %v): a per-request run with --close fin leaves TIME_WAIT", v, ok)
	}
	if v, _ := metricValue(final, "connbench_running", labels); v != 0 {
		t.Errorf("after the run: connbench_running = %g, want 0", v)
	}
	if t.Failed() {
		raw, _ := json.MarshalIndent(run.Counts, "", "  ")
		t.Logf("JSON counts: %s\nstderr:\n%s", raw, stderr.String())
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
