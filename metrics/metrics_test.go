package metrics

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/runner"
	"github.com/connbench/connbench/workloads"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// recorder is an Observer that keeps what reaches it.
type recorder struct {
	mu        sync.Mutex
	says      []string
	intervals []int
	dones     int
}

func (r *recorder) Say(f string, a ...any) {
	r.mu.Lock()
	r.says = append(r.says, fmt.Sprintf(f, a...))
	r.mu.Unlock()
}
func (r *recorder) Warn(f string, a ...any) { r.Say("warn: "+f, a...) }
func (r *recorder) Live(workloads.Config) runner.Live {
	return r
}
func (r *recorder) Interval(iv workloads.Interval) {
	r.mu.Lock()
	r.intervals = append(r.intervals, iv.Index)
	r.mu.Unlock()
}
func (r *recorder) Done() { r.mu.Lock(); r.dones++; r.mu.Unlock() }

func encode(t *testing.T, ns ...int64) string {
	t.Helper()
	r := histogram.New()
	for _, v := range ns {
		r.Record(v)
	}
	s, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scrapeText(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the value of the series of name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			ok = ok && got[want[i]] == want[i+1]
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Errorf("%s%v: not served", name, want)
	return -1
}

// TestBucketCounts: a value counts under a bound only when its whole
// HdrHistogram bucket is at most the bound; values past the last bound
// and past the histogram's range count in _count alone.
func TestBucketCounts(t *testing.T) {
	values := []int64{
		1_000,         // exact (under 2048 ns every ns is a bucket): le 10 µs
		9_990,         // bucket [9984, 9991]: le 10 µs
		10_000,        // bucket [10000, 10007] straddles 10 µs: le 25 µs
		999_000,       // bucket [998912, 999423]: le 1 ms
		1_000_000,     // bucket [999936, 1000447] straddles 1 ms: le 2.5 ms
		2_000_000_000, // le 2.5 s
		90e9,          // past 60 s
		2 * 3600e9,    // past the histogram's hour: clamped, still counted
	}
	cum, count, err := BucketCounts(encode(t, values...))
	if err != nil {
		t.Fatal(err)
	}
	if count != uint64(len(values)) {
		t.Errorf("count %d, want %d", count, len(values))
	}
	want := map[float64]uint64{10e-6: 2, 25e-6: 3, 1e-3: 4, 2.5e-3: 5, 1: 5, 2.5: 6, 60: 6}
	for i, b := range Buckets {
		if w, ok := want[b]; ok && cum[i] != w {
			t.Errorf("le=%g: %d, want %d (all: %v)", b, cum[i], w, cum)
		}
		if i > 0 && cum[i] < cum[i-1] {
			t.Errorf("not cumulative at le=%g: %v", b, cum)
		}
	}
	if _, _, err := BucketCounts("HISTFAAAnot-a-histogram"); err == nil {
		t.Error("a malformed histogram decoded")
	}
}

// TestObserver: the wrapper passes everything on; warm-up intervals move
// the gauges but not the counters; compare's variants (in the order they
// run, repetitions adding up) each get a series; every metric Names lists
// is served, and nothing else.
func TestObserver(t *testing.T) {
	inner := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := start(ctx, "127.0.0.1:0", Labels{}, []string{"c=1", "c=2", "c=1", "c=2"}, 0, inner)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + s.Addr().String() + Path
	obs := s.Observer(inner)
	hs := encode(t, 50_000, 70_000, 2_000_000)
	for rep := 0; rep < 2; rep++ {
		for _, w := range []string{"pooled", "hold"} {
			live := obs.Live(workloads.Config{Workload: w, Warmup: time.Second})
			live.Interval(workloads.Interval{Index: 0, Warmup: true, Transactions: 1000, Connections: 1000,
				Failures: map[string]int64{"ECONNREFUSED": 7}, Inflight: 3, States: map[string]int{"syn_sent": 2}, PortsInUse: 2,
				Hists: map[string]string{"handshake": hs}})
			fams := scrapeText(t, url)
			v := "c=1"
			if w == "hold" {
				v = "c=2"
			}
			if got := value(t, fams, "connbench_warmup", "variant", v); got != 1 {
				t.Errorf("in the warm-up: connbench_warmup %g", got)
			}
			if got := value(t, fams, "connbench_sockets", "variant", v, "state", "syn_sent"); got != 2 {
				t.Errorf("in the warm-up: syn_sent %g", got)
			}
			live.Interval(workloads.Interval{Index: 1, End: time.Second, Transactions: 10, Connections: 4, BytesSent: 100, BytesReceived: 200,
				Failures: map[string]int64{"ECONNRESET": 1, "weird": 2}, Inflight: 5, States: map[string]int{"time_wait": 9}, PortsInUse: 11,
				Hists: map[string]string{"handshake": hs, "transaction": hs}})
			live.Done()
			live.Done() // may come twice
		}
	}
	fams := scrapeText(t, url)
	s.Close()
	if len(inner.intervals) != 8 || inner.dones != 8 {
		t.Errorf("passed on: intervals %v, dones %d; want 8 and 8", inner.intervals, inner.dones)
	}
	if len(inner.says) != 1 || !strings.Contains(inner.says[0], "segment 1/1, run_id ") {
		t.Errorf("said %q", inner.says)
	}
	for _, v := range []string{"c=1", "c=2"} {
		for name, want := range map[string]float64{
			"connbench_transactions_total":   20,
			"connbench_connections_total":    8,
			"connbench_bytes_sent_total":     200,
			"connbench_bytes_received_total": 400,
			"connbench_intervals_total":      2,
			"connbench_inflight":             5,
			"connbench_ports_in_use":         11,
			"connbench_running":              0,
			"connbench_elapsed_seconds":      1,
		} {
			if got := value(t, fams, name, "variant", v); got != want {
				t.Errorf("%s{variant=%s} = %g, want %g", name, v, got, want)
			}
		}
		for class, want := range map[string]float64{"ECONNREFUSED": 0, "ECONNRESET": 2, "weird": 4, "EADDRNOTAVAIL": 0} {
			if got := value(t, fams, "connbench_failures_total", "variant", v, "class", class); got != want {
				t.Errorf("failures{variant=%s,class=%s} = %g, want %g", v, class, got, want)
			}
		}
		if got := value(t, fams, "connbench_sockets", "variant", v, "state", "syn_sent"); got != 0 {
			t.Errorf("a state gone from the sample: syn_sent %g, want 0", got)
		}
		if got := value(t, fams, "connbench_phase_duration_seconds", "variant", v, "phase", "handshake"); got != 6 {
			t.Errorf("handshake count %g, want 6 (warm-up left out)", got)
		}
	}
	if got := value(t, fams, "connbench_held_connections", "variant", "c=2"); got != 5 {
		t.Errorf("held %g, want 5", got)
	}
	if fams["connbench_held_connections"] != nil && len(fams["connbench_held_connections"].GetMetric()) != 1 {
		t.Errorf("held served for a workload other than hold: %v", fams["connbench_held_connections"])
	}
	if got := value(t, fams, "connbench_finished"); got != 0 {
		t.Errorf("finished %g before Close", got)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["segment"] != "1/1" || len(l["run_id"]) != 16 {
				t.Errorf("%s: labels %v", f.GetName(), l)
			}
		}
	}

	// Every name Names lists is served, and only those.
	var served []string
	for name, f := range fams {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			served = append(served, name+"_bucket", name+"_sum", name+"_count")
		} else {
			served = append(served, name)
		}
	}
	sort.Strings(served)
	if !slices.Equal(served, Names()) {
		t.Errorf("served %v\nNames() %v", served, Names())
	}
}

// TestLinger: Close waits for one scrape of the final figures, or the
// context's end, or --metrics-linger; the server is gone after it.
func TestLinger(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := start(ctx, "127.0.0.1:0", Labels{Segment: "2/4", RunID: "r1"}, nil, time.Hour, runner.Discard)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + s.Addr().String() + Path
	if got := value(t, scrapeText(t, url), "connbench_finished", "segment", "2/4", "run_id", "r1"); got != 0 {
		t.Errorf("before the end: finished %g", got)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	// Poll until the scrape sees the end: that scrape ends the linger.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if value(t, scrapeText(t, url), "connbench_finished") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("finished never served")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("a final scrape did not end the linger")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still served after Close")
	}

	// Ended by the context (a signal) with no scrape at all.
	s, err = start(ctx, "127.0.0.1:0", Labels{}, nil, time.Hour, runner.Discard)
	if err != nil {
		t.Fatal(err)
	}
	closed = make(chan struct{})
	go func() { s.Close(); close(closed) }()
	cancel()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the context's end did not end the linger")
	}

	var none *Server
	if none.Observer(runner.Discard) != runner.Discard {
		t.Error("a nil Server wraps")
	}
	none.Close()
}

// TestOpenMetrics: a scraper asking for OpenMetrics gets it.
func TestOpenMetrics(t *testing.T) {
	s, err := start(context.Background(), "127.0.0.1:0", Labels{}, nil, 0, runner.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequest("GET", "http://"+s.Addr().String()+Path, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(string(b), "# EOF\n") {
		t.Errorf("Content-Type %q, body ends %q", resp.Header.Get("Content-Type"), b[max(0, len(b)-20):])
	}
}

// TestChildStreams: the runs of child processes (--procs: several at once
// for one variant) each keep their gauges, and the variant serves their
// sum (sockets, ports, in flight), their max (elapsed) or any (running);
// a later repetition's gauges replace those of runs that have ended.
func TestChildStreams(t *testing.T) {
	s, err := start(context.Background(), "127.0.0.1:0", Labels{}, nil, 0, runner.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := "http://" + s.Addr().String() + Path
	co, ok := s.Observer(runner.Discard).(runner.ChildObserver)
	if !ok {
		t.Fatal("the wrapper does not follow child processes' runs")
	}
	a := co.ChildLive("v", workloads.Config{Workload: "hold"})
	b := co.ChildLive("v", workloads.Config{Workload: "hold"})
	a.Interval(workloads.Interval{End: time.Second, Transactions: 1, Inflight: 3, States: map[string]int{"established": 3, "time_wait": 5}, PortsInUse: 7})
	b.Interval(workloads.Interval{End: 2 * time.Second, Transactions: 2, Inflight: 4}) // not sampled (--procs: one process samples)
	fams := scrapeText(t, url)
	for name, want := range map[string]float64{"connbench_inflight": 7, "connbench_held_connections": 7, "connbench_ports_in_use": 7,
		"connbench_elapsed_seconds": 2, "connbench_running": 1, "connbench_transactions_total": 3} {
		if got := value(t, fams, name, "variant", "v"); got != want {
			t.Errorf("two processes: %s = %g, want %g", name, got, want)
		}
	}
	if got := value(t, fams, "connbench_sockets", "variant", "v", "state", "time_wait"); got != 5 {
		t.Errorf("time_wait %g, want 5", got)
	}
	a.Done()
	if got := value(t, scrapeText(t, url), "connbench_running", "variant", "v"); got != 1 {
		t.Errorf("one of two ended: running %g, want 1", got)
	}
	b.Done()
	if got := value(t, scrapeText(t, url), "connbench_running", "variant", "v"); got != 0 {
		t.Errorf("both ended: running %g, want 0", got)
	}
	c := co.ChildLive("v", workloads.Config{Workload: "hold"})
	c.Interval(workloads.Interval{End: time.Second, Transactions: 5, Inflight: 1})
	fams = scrapeText(t, url)
	for name, want := range map[string]float64{"connbench_inflight": 1, "connbench_running": 1, "connbench_transactions_total": 8, "connbench_elapsed_seconds": 1} {
		if got := value(t, fams, name, "variant", "v"); got != want {
			t.Errorf("a repetition: %s = %g, want %g", name, got, want)
		}
	}
	if f := fams["connbench_ports_in_use"]; f != nil {
		t.Errorf("a repetition not sampled still serves the last run's ports: %v", f)
	}
}

// TestDecodeBarsLayout: the buckets read from the counts array are
// HdrHistogram's own (its Distribution), over the whole range.
func TestDecodeBarsLayout(t *testing.T) {
	r := histogram.New()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		r.Record(int64(math.Exp(rng.Float64() * math.Log(4e12)))) // 1 ns to past the hour, log-uniform
	}
	r.Record(0)
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	bars, err := decodeBars(enc)
	if err != nil {
		t.Fatal(err)
	}
	var want []histBar
	for _, b := range r.Hist().Distribution() {
		if b.Count > 0 {
			want = append(want, histBar{b.From, b.To, b.Count})
		}
	}
	if !slices.Equal(bars, want) {
		n := min(len(bars), len(want))
		for i := 0; i < n; i++ {
			if bars[i] != want[i] {
				t.Fatalf("bucket %d: %+v, HdrHistogram says %+v (%d and %d buckets)", i, bars[i], want[i], len(bars), len(want))
			}
		}
		t.Fatalf("%d buckets, HdrHistogram has %d", len(bars), len(want))
	}
}
