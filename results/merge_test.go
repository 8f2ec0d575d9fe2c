package results

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/histogram"
)

func decodeHdr(t *testing.T, s string) *histogram.Recorder {
	t.Helper()
	r, err := histogram.Decode(s, 0)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// One run split in two generators' documents (alternate values into two
// recorders, half of every count to each) merges back into the whole:
// the same histograms, run and interval, and the same counts and rates.
func TestMergeSplitEqualsWhole(t *testing.T) {
	whole, recs, ivRecs := reportDoc(t, 0, 1)
	a, _, _ := reportDoc(t, 0, 2)
	b, _, _ := reportDoc(t, 1, 2)
	// Two hosts: each saw only its own sockets and counters, so those add
	// up (TestMergeSameHostKernel covers one host).
	a.Host.Hostname, b.Host.Hostname = "gen-a", "gen-b"
	before := encode(t, a)
	m, err := Merge([]Source{{"a.json", a}, {"b.json", b}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, a), before) {
		t.Errorf("Merge modified its input")
	}
	if len(m.Runs) != len(whole.Runs) || m.Schema != Schema || !m.StartedAt.Equal(whole.StartedAt) {
		t.Fatalf("merged: %d runs, schema %q, start %v", len(m.Runs), m.Schema, m.StartedAt)
	}
	for i, w := range whole.Runs {
		g := m.Runs[i]
		if g.Label != w.Label || g.Workload != w.Workload || !g.StartedAt.Equal(w.StartedAt) || g.DurationNs != w.DurationNs {
			t.Errorf("run %d: %s %s %v %d, want %s %s %v %d", i, g.Label, g.Workload, g.StartedAt, g.DurationNs,
				w.Label, w.Workload, w.StartedAt, w.DurationNs)
		}
		if g.Counts != w.Counts || g.FailuresTotal != w.FailuresTotal || !maps.Equal(g.Failures, w.Failures) {
			t.Errorf("%s: counts %+v failures %v (%d), want %+v %v (%d)", w.Label, g.Counts, g.Failures, g.FailuresTotal,
				w.Counts, w.Failures, w.FailuresTotal)
		}
		if !near(g.Rates.TransactionsPerSec, w.Rates.TransactionsPerSec) || !near(g.Rates.ConnsPerSec, w.Rates.ConnsPerSec) {
			t.Errorf("%s: rates %+v, want %+v", w.Label, g.Rates, w.Rates)
		}
		if g.CPU.UserNs != w.CPU.UserNs || g.CPU.SysNs != w.CPU.SysNs || !near(g.CPU.UserNsPerTransaction, w.CPU.UserNsPerTransaction) {
			t.Errorf("%s: cpu %+v, want %+v", w.Label, g.CPU, w.CPU)
		}
		if g.Listener == nil || g.Listener.Accepted != w.Listener.Accepted || g.Listener.Requests != w.Listener.Requests {
			t.Errorf("%s: listener %+v, want %+v", w.Label, g.Listener, w.Listener)
		}
		// Two hosts: each has its own port range, so the capacity doubles.
		if !maps.Equal(g.Kernel.Counters, w.Kernel.Counters) || !maps.Equal(g.Kernel.PeakStates, w.Kernel.PeakStates) ||
			g.Kernel.PeakPortsInUse != w.Kernel.PeakPortsInUse || PortCapacity(g.Kernel) != 2*PortCapacity(w.Kernel) {
			t.Errorf("%s: kernel %+v, want %+v", w.Label, g.Kernel, w.Kernel)
		}
		if !reflect.DeepEqual(g.Exhaustion, w.Exhaustion) {
			t.Errorf("%s: exhaustion %+v, want %+v", w.Label, g.Exhaustion, w.Exhaustion)
		}
		for ph, want := range recs[i] {
			p, ok := g.Phases[ph]
			if !ok {
				t.Errorf("%s: no phase %s", w.Label, ph)
				continue
			}
			got, err := p.Recorder()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Hist().Equals(want.Hist()) || p.Summary != w.Phases[ph].Summary {
				t.Errorf("%s %s: merged histogram differs from the whole's: %+v, want %+v", w.Label, ph, p.Summary, w.Phases[ph].Summary)
			}
		}
		if len(g.Series) != len(w.Series) {
			t.Fatalf("%s: %d intervals, want %d", w.Label, len(g.Series), len(w.Series))
		}
		for k, wi := range w.Series {
			gi := g.Series[k]
			if gi.StartNs != wi.StartNs || gi.EndNs != wi.EndNs || gi.Warmup != wi.Warmup || gi.Transactions != wi.Transactions ||
				gi.Connections != wi.Connections || gi.FailuresTotal != wi.FailuresTotal || gi.Inflight != wi.Inflight ||
				gi.PortsInUse != wi.PortsInUse || !maps.Equal(gi.States, wi.States) || !maps.Equal(gi.Failures, wi.Failures) ||
				!maps.Equal(gi.Counters, wi.Counters) || !near(gi.TransactionsPerSec, wi.TransactionsPerSec) {
				t.Errorf("%s interval %d:\n got %+v\nwant %+v", w.Label, k, stripHdr(gi), stripHdr(wi))
			}
			for ph, want := range ivRecs[i][k] {
				if want.Count() == 0 {
					continue
				}
				if got := decodeHdr(t, gi.Hdr[ph]); !got.Hist().Equals(want.Hist()) || gi.Phases[ph] != wi.Phases[ph] {
					t.Errorf("%s interval %d phase %s: merged histogram differs: %+v, want %+v", w.Label, k, ph, gi.Phases[ph], wi.Phases[ph])
				}
			}
		}
		if n := g.Notes[len(g.Notes)-1]; !strings.Contains(n, "merged from 2 generators (a.json, b.json)") || !strings.Contains(n, "over the 2s") {
			t.Errorf("%s: merge note %q", w.Label, n)
		}
	}
	// The merged document is a valid document.
	if _, err := Decode(bytes.NewReader(encode(t, m))); err != nil {
		t.Errorf("merged document does not decode: %v", err)
	}
}

func stripHdr(iv Interval) Interval { iv.Hdr = nil; return iv }

// shifted returns part part of the fixture split in two, every run
// starting d later.
func shifted(t *testing.T, part int, d time.Duration) *Document {
	doc, _, _ := reportDoc(t, part, 2)
	doc.StartedAt = doc.StartedAt.Add(d)
	for i := range doc.Runs {
		doc.Runs[i].StartedAt = doc.Runs[i].StartedAt.Add(d)
	}
	return doc
}

// Generators that started apart are aligned on wall-clock intervals, and
// the rate is summed over the window all of them were measuring.
func TestMergeAlignsOnWallClock(t *testing.T) {
	for _, tc := range []struct {
		shift time.Duration
		// slot of b's first measured interval (its midpoint 250 ms + shift)
		slot int
	}{
		{200 * time.Millisecond, 0},
		{300 * time.Millisecond, 1},
	} {
		a, b := shifted(t, 0, 0), shifted(t, 1, tc.shift)
		m, err := Merge([]Source{{"a.json", a}, {"b.json", b}})
		if err != nil {
			t.Fatal(err)
		}
		ra, rb, g := a.Runs[1], b.Runs[1], m.Runs[1] // per-request: no warm-up
		if !g.StartedAt.Equal(ra.StartedAt) || g.DurationNs != ra.DurationNs+int64(tc.shift) {
			t.Errorf("shift %v: start %v duration %d, want %v and %d", tc.shift, g.StartedAt, g.DurationNs, ra.StartedAt, ra.DurationNs+int64(tc.shift))
		}
		wantSlots := 4 + tc.slot
		if len(g.Series) != wantSlots {
			t.Fatalf("shift %v: %d intervals, want %d", tc.shift, len(g.Series), wantSlots)
		}
		for k, iv := range g.Series {
			if iv.StartNs != int64(k)*int64(fixtureInterval) || iv.EndNs != int64(k+1)*int64(fixtureInterval) {
				t.Errorf("shift %v: interval %d spans %d..%d", tc.shift, k, iv.StartNs, iv.EndNs)
			}
			var want int64
			if k < len(ra.Series) {
				want += ra.Series[k].Transactions
			}
			if j := k - tc.slot; j >= 0 && j < len(rb.Series) {
				want += rb.Series[j].Transactions
			}
			if iv.Transactions != want {
				t.Errorf("shift %v: interval %d has %d transactions, want %d", tc.shift, k, iv.Transactions, want)
			}
		}
		// The common window is [b's start, a's end]: a's intervals 1..3 and
		// b's 0..2 lie in it, 1.5 s each.
		wantRate := float64(ra.Series[1].Transactions+ra.Series[2].Transactions+ra.Series[3].Transactions)/1.5 +
			float64(rb.Series[0].Transactions+rb.Series[1].Transactions+rb.Series[2].Transactions)/1.5
		if !near(g.Rates.TransactionsPerSec, wantRate) {
			t.Errorf("shift %v: rate %v, want %v", tc.shift, g.Rates.TransactionsPerSec, wantRate)
		}
		// The exhaustion times move to the merged start: a's are earliest.
		if g.Exhaustion.FirstAddrNotAvailNs != ra.Exhaustion.FirstAddrNotAvailNs {
			t.Errorf("shift %v: first EADDRNOTAVAIL at %d, want a's %d", tc.shift, g.Exhaustion.FirstAddrNotAvailNs, ra.Exhaustion.FirstAddrNotAvailNs)
		}
	}
}

func TestMergeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(b *Document)
		want   []string
	}{
		{"different workloads", func(b *Document) { b.Runs[1].Workload = "connect" }, []string{"b.json", "per-request", "workload connect"}},
		{"different targets", func(b *Document) {
			b.Runs[0].BuiltinListener = false
			b.Runs[0].Target = "10.0.0.1:80"
		}, []string{"b.json", "pooled", "10.0.0.1:80"}},
		{"run missing", func(b *Document) { b.Runs = b.Runs[:1] }, []string{"b.json", `no run labelled "per-request"`}},
		{"extra run", func(b *Document) { b.Runs = append(b.Runs, Run{Label: "extra", Workload: "pooled"}) }, []string{"b.json", `"extra"`}},
		{"label twice", func(b *Document) { b.Runs[1].Label = "pooled" }, []string{"b.json", `two runs labelled "pooled"`}},
		{"corrupt interval histogram", func(b *Document) { b.Runs[1].Series[2].Hdr["transaction"] = "HISTFAAAnope" }, []string{"b.json", "interval 2", "transaction"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _ := reportDoc(t, 0, 2)
			b, _, _ := reportDoc(t, 1, 2)
			tc.change(b)
			m, err := Merge([]Source{{"a.json", a}, {"b.json", b}})
			if err == nil {
				t.Fatalf("merged: %d runs", len(m.Runs))
			}
			if tc.name != "corrupt interval histogram" && !errors.Is(err, ErrMerge) {
				t.Errorf("error %v is not ErrMerge", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// Generators on several hosts have their own ephemeral ports: capacities
// add up. On one host they share them.
func TestMergePortCapacity(t *testing.T) {
	a, _, _ := reportDoc(t, 0, 2)
	b, _, _ := reportDoc(t, 1, 2)
	m, _ := Merge([]Source{{"a.json", a}, {"b.json", b}})
	if got := PortCapacity(m.Runs[1].Kernel); got != 4000 {
		t.Errorf("one host: capacity %d, want 4000", got)
	}
	b.Host.Hostname = "gen2"
	m, _ = Merge([]Source{{"a.json", a}, {"b.json", b}})
	if got := PortCapacity(m.Runs[1].Kernel); got != 8000 {
		t.Errorf("two hosts: capacity %d, want 8000", got)
	}
	if m.Host.Hostname != "vm, gen2" || m.Host.CPUs != 4 {
		t.Errorf("two hosts: host %+v", m.Host)
	}
}

// TestMergeSameHostKernel: generators on one host sample one kernel, so
// socket states, ports in use and counters are the largest seen, not sums.
func TestMergeSameHostKernel(t *testing.T) {
	a, _, _ := reportDoc(t, 0, 2)
	b, _, _ := reportDoc(t, 1, 2)
	a.Host.Hostname, b.Host.Hostname = "box", "box"
	m, err := Merge([]Source{{"a.json", a}, {"b.json", b}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range m.Runs {
		ra, rb := a.Runs[i], b.Runs[i]
		if ra.Kernel == nil {
			continue
		}
		if want := max(ra.Kernel.PeakPortsInUse, rb.Kernel.PeakPortsInUse); r.Kernel.PeakPortsInUse != want {
			t.Errorf("%s: peak ports %d, want the larger %d", r.Label, r.Kernel.PeakPortsInUse, want)
		}
		for k, v := range ra.Kernel.Counters {
			if want := max(v, rb.Kernel.Counters[k]); r.Kernel.Counters[k] != want {
				t.Errorf("%s: counter %s = %d, want %d", r.Label, k, r.Kernel.Counters[k], want)
			}
		}
	}
}

// Merge keeps what the split test's fixture leaves empty: the process CPU
// sums, the listener's resets, the engine's account (sums, and the larger
// timer lateness), and the earliest predicted exhaustion, EADDRNOTAVAIL and
// port-search stall, predicted and seen, on the merged clock: a merge that
// dropped one, or took the first or the latest part's, fails here.
func TestMergeKeepsTotalsAndEarliest(t *testing.T) {
	a, _, _ := reportDoc(t, 0, 2)
	b := shifted(t, 1, time.Second) // b starts 1 s after a
	a.Host.Hostname, b.Host.Hostname = "gen-a", "gen-b"
	for i := range a.Runs {
		ra, rb := &a.Runs[i], &b.Runs[i]
		ra.CPU.ProcessUserNs, ra.CPU.ProcessSysNs = 100, 1000
		rb.CPU.ProcessUserNs, rb.CPU.ProcessSysNs = 20, 300
		ra.Listener.Resets, rb.Listener.Resets = 7, 5
		ra.Engine = &Engine{ConnectCalls: 10, ConnectCallNs: 1000, LoopBusyNs: 5000, TimerLateMaxNs: 90, HeldByInflight: 3}
		rb.Engine = &Engine{ConnectCalls: 4, ConnectCallNs: 500, LoopBusyNs: 2000, TimerLateMaxNs: 40, HeldByInflight: 1}
		// b's are earlier on the merged clock although later in its own
		// (and the later part): 5 s + 1 s against a's 8 s, and so on.
		ra.Exhaustion = &Exhaustion{PredictedNs: int64(8 * time.Second), Prediction: "a", FirstAddrNotAvailNs: int64(9 * time.Second),
			PredictedStallNs: int64(4 * time.Second), StallNs: int64(5 * time.Second), Stopped: true, StoppedBy: "port_search_stall"}
		rb.Exhaustion = &Exhaustion{PredictedNs: int64(5 * time.Second), Prediction: "b", FirstAddrNotAvailNs: -1,
			PredictedStallNs: int64(2 * time.Second), StallNs: int64(6 * time.Second), Stopped: true, StoppedBy: "EADDRNOTAVAIL"}
	}
	m, err := Merge([]Source{{"a.json", a}, {"b.json", b}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range m.Runs {
		if g.CPU.ProcessUserNs != 120 || g.CPU.ProcessSysNs != 1300 {
			t.Errorf("%s: process CPU %d+%d ns, want the sums 120+1300", g.Label, g.CPU.ProcessUserNs, g.CPU.ProcessSysNs)
		}
		if g.Listener == nil || g.Listener.Resets != 12 {
			t.Errorf("%s: listener %+v, want resets 12", g.Label, g.Listener)
		}
		want := Engine{ConnectCalls: 14, ConnectCallNs: 1500, LoopBusyNs: 7000, TimerLateMaxNs: 90, HeldByInflight: 4}
		if g.Engine == nil || *g.Engine != want {
			t.Errorf("%s: engine %+v, want %+v", g.Label, g.Engine, want)
		}
		e := g.Exhaustion
		if e == nil {
			t.Fatalf("%s: no exhaustion record", g.Label)
		}
		wantE := Exhaustion{PredictedNs: int64(6 * time.Second), Prediction: "b", FirstAddrNotAvailNs: int64(9 * time.Second),
			PredictedStallNs: int64(3 * time.Second), StallNs: int64(5 * time.Second), Stopped: true, StoppedBy: "EADDRNOTAVAIL"}
		if *e != wantE {
			t.Errorf("%s: exhaustion\n got %+v\nwant %+v", g.Label, *e, wantE)
		}
	}
	// Without engine records, none is made up.
	a.Runs[0].Engine, b.Runs[0].Engine = nil, nil
	if m, err = Merge([]Source{{"a.json", a}, {"b.json", b}}); err != nil {
		t.Fatal(err)
	}
	if m.Runs[0].Engine != nil {
		t.Errorf("engine %+v from parts without one", m.Runs[0].Engine)
	}
}

// TestMergeNotesAlike: generators that explain their own shares say the
// same thing with their own figures; the merged run keeps the first's
// words once and counts the others, and keeps notes that differ in words.
func TestMergeNotesAlike(t *testing.T) {
	var srcs []Source
	for i := 0; i < 3; i++ {
		d := holdPart(i, 66667, int64(10*time.Second))
		d.Runs[0].Notes = []string{
			fmt.Sprintf("the loops spent %d%% of their busy time inside connect() (%d µs per call)", 50+i, 100*(i+1)),
			"the same words everywhere",
		}
		if i == 2 {
			d.Runs[0].Notes = append(d.Runs[0].Notes, "a note of its own")
		}
		srcs = append(srcs, Source{fmt.Sprintf("process %d", i+1), d})
	}
	m, err := Merge(srcs)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(m.Runs[0].Notes, "\n") + "\n"
	for _, want := range []string{
		"the loops spent 50% of their busy time inside connect() (100 µs per call) (and 2 more like it from the other generators, with figures of their own)",
		"the same words everywhere\n",
		"a note of its own",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("merged notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Count(notes, "inside connect()") != 1 || strings.Count(notes, "the same words everywhere") != 1 {
		t.Errorf("alike notes kept more than once:\n%s", notes)
	}
}
