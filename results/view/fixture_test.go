package view

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// The report fixture: a deterministic document with a pooled and a
// per-request run, each with a time series (the pooled one with a warm-up
// interval), socket states, per-interval histograms, and failures in the
// per-request run as its ports run out. Latencies come from integer
// arithmetic only, so golden files do not depend on a random generator's
// implementation.

var fixtureStart = time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)

const fixtureInterval = 500 * time.Millisecond

// splitmix64 is a small deterministic hash for the fixture's latencies.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fixtureLatency is the i-th latency of a stream: base plus up to spread,
// with a tail: 1 in 50 values ×8, 1 in 1,000 ×60.
func fixtureLatency(seed uint64, i int, base, spread int64) int64 {
	h := splitmix64(seed*1_000_003 + uint64(i))
	v := base + int64(h%uint64(spread))
	switch {
	case h%1000 == 7:
		v *= 60
	case h%50 == 3:
		v *= 8
	}
	return v
}

// share is part's share of n split over parts: the shares add up to n.
func share(n int64, part, parts int) int64 {
	s := n / int64(parts)
	if int64(part) < n%int64(parts) {
		s++
	}
	return s
}

type fixtureRunSpec struct {
	label, workload string
	seed            uint64
	perInterval     int // transactions per interval
	intervals       int
	warmup          bool // one warm-up interval before the measured part
	newConnEach     bool // a new connection per transaction
	base, spread    int64
	failures        []map[string]int64 // by interval
	timeWait        []int              // by interval
	portRange       int
	sources         int
}

var fixtureSpecs = []fixtureRunSpec{
	{label: "pooled", workload: "pooled", seed: 1, perInterval: 5000, intervals: 4, warmup: true,
		base: 60_000, spread: 50_000, timeWait: []int{0, 0, 0, 0}, portRange: 28232, sources: 1},
	{label: "per-request", workload: "per-request", seed: 2, perInterval: 1000, intervals: 4, newConnEach: true,
		base: 250_000, spread: 300_000,
		failures: []map[string]int64{nil, nil, {"ECONNREFUSED": 3}, {"EADDRNOTAVAIL": 40, "ECONNREFUSED": 1}},
		timeWait: []int{980, 1960, 2930, 3890}, portRange: 2000, sources: 2},
}

// reportDoc builds the fixture document. With parts > 1 it builds part
// number part of a split: the latencies with index ≡ part (mod parts), and
// that share of every count, so that the parts add up to the whole
// (reportDoc(0, 1)). It returns the run phases' recorders by run index and
// phase, and the intervals' recorders by run, interval and phase.
func reportDoc(t testing.TB, part, parts int) (*results.Document, []map[string]*histogram.Recorder, [][]map[string]*histogram.Recorder) {
	t.Helper()
	doc := &results.Document{
		Schema:    results.Schema,
		Tool:      results.Tool{Name: "connbench", Version: "0.1.0", GoVersion: "go1.26.8"},
		StartedAt: fixtureStart,
		Command:   []string{"connbench", "-d", "2s", "--interval", "500ms"},
		Host:      results.Host{Hostname: "vm", Kernel: "6.18.44", CPUs: 2, OpenFileLimit: 20000},
		Sysctls: map[string]string{"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768 60999",
			"net.core.somaxconn": "4096"},
	}
	var runRecs []map[string]*histogram.Recorder
	var ivRecs [][]map[string]*histogram.Recorder
	for ri, sp := range fixtureSpecs {
		start := fixtureStart.Add(time.Duration(ri) * 3 * time.Second)
		cfg, _ := json.Marshal(map[string]any{
			"workload": sp.workload, "target": "127.0.0.1:9000", "concurrency": 16,
			"duration_ns": int64(sp.intervals) * int64(fixtureInterval), "interval_ns": int64(fixtureInterval),
			"socket": map[string]any{"nodelay": false, "close": "fin", "local_port_range": []int{0, 0}},
		})
		r := results.Run{
			Label: sp.label, Workload: sp.workload, Target: "127.0.0.1:9000", BuiltinListener: true,
			Config: cfg, StartedAt: start, DurationNs: int64(sp.intervals) * int64(fixtureInterval),
			Failures: map[string]int64{},
			Kernel: &results.Kernel{PortRangeSize: sp.portRange, Sources: sp.sources, Samples: sp.intervals,
				Counters: map[string]int64{"Tcp.ActiveOpens": 0}, PeakStates: map[string]int{}},
			Listener: &results.Listener{Addr: "127.0.0.1:9000"},
			Notes:    []string{"the built-in listener ran in this process on the same CPUs."},
		}
		phases := []string{"handshake", "first_byte", "response", "transaction"}
		recs := map[string]*histogram.Recorder{}
		for _, ph := range phases {
			recs[ph] = histogram.New()
		}
		var ivr []map[string]*histogram.Recorder
		first := 0
		if sp.warmup {
			first = -1
		}
		idx := 0 // transaction index over the whole run, warm-up included
		for k := first; k < sp.intervals; k++ {
			iv := results.Interval{StartNs: int64(k) * int64(fixtureInterval), EndNs: int64(k+1) * int64(fixtureInterval), Warmup: k < 0}
			ir := map[string]*histogram.Recorder{}
			for _, ph := range phases {
				ir[ph] = histogram.New()
			}
			for j := 0; j < sp.perInterval; j++ {
				i := idx
				idx++
				if i%parts != part {
					continue
				}
				tx := fixtureLatency(sp.seed, i, sp.base, sp.spread)
				fb := tx * 2 / 3
				resp := fb + 1000
				hs := int64(-1)
				if sp.newConnEach || (k == 0 && j < 16) {
					hs = fixtureLatency(sp.seed+100, i, sp.base/3, sp.spread/3)
				}
				iv.Transactions++
				if hs >= 0 {
					iv.Connections++
				}
				for ph, v := range map[string]int64{"handshake": hs, "first_byte": fb, "response": resp, "transaction": tx} {
					if v < 0 {
						continue
					}
					ir[ph].Record(v)
					if !iv.Warmup {
						recs[ph].Record(v)
					}
				}
			}
			secs := fixtureInterval.Seconds()
			iv.BytesSent, iv.BytesReceived = iv.Transactions, iv.Transactions
			iv.TransactionsPerSec = float64(iv.Transactions) / secs
			iv.ConnsPerSec = float64(iv.Connections) / secs
			iv.Inflight = int(share(16, part, parts))
			iv.Phases = map[string]results.IntervalPhase{}
			iv.Hdr = map[string]string{}
			for _, ph := range phases {
				if ir[ph].Count() == 0 {
					continue
				}
				s := ir[ph].Summary()
				iv.Phases[ph] = results.IntervalPhase{Count: s.Count, P50Ns: s.P50Ns, P99Ns: s.P99Ns, MaxNs: s.MaxNs}
				enc, err := ir[ph].Encode()
				if err != nil {
					t.Fatal(err)
				}
				iv.Hdr[ph] = enc
			}
			tw := 0
			if k >= 0 {
				tw = sp.timeWait[k]
				var fails map[string]int64
				if k < len(sp.failures) {
					fails = sp.failures[k]
				}
				for c, n := range fails {
					if iv.Failures == nil {
						iv.Failures = map[string]int64{}
					}
					n = share(n, part, parts)
					iv.Failures[c] += n
					iv.FailuresTotal += n
				}
			}
			iv.States = map[string]int{"established": int(share(16, part, parts))}
			if tw > 0 {
				iv.States["time_wait"] = int(share(int64(tw), part, parts))
			}
			iv.PortsInUse = iv.States["established"] + iv.States["time_wait"]
			iv.Counters = map[string]int64{"Tcp.ActiveOpens": iv.Connections}
			r.Series = append(r.Series, iv)
			ivr = append(ivr, ir)
			if iv.Warmup {
				continue
			}
			r.Counts.Transactions += iv.Transactions
			r.Counts.Connections += iv.Connections
			r.Counts.BytesSent += iv.BytesSent
			r.Counts.BytesReceived += iv.BytesReceived
			r.FailuresTotal += iv.FailuresTotal
			for c, n := range iv.Failures {
				r.Failures[c] += n
			}
			r.Kernel.Counters["Tcp.ActiveOpens"] += iv.Connections
			for s, n := range iv.States {
				r.Kernel.PeakStates[s] = max(r.Kernel.PeakStates[s], n)
			}
			r.Kernel.PeakPortsInUse = max(r.Kernel.PeakPortsInUse, iv.PortsInUse)
		}
		secs := float64(r.DurationNs) / 1e9
		r.Rates = results.Rates{TransactionsPerSec: float64(r.Counts.Transactions) / secs, ConnsPerSec: float64(r.Counts.Connections) / secs}
		r.CPU = results.CPU{UserNs: 1000 * r.Counts.Transactions, SysNs: 9000 * r.Counts.Transactions}
		r.CPU.UserNsPerTransaction = 1000
		if r.Counts.Connections > 0 {
			r.CPU.UserNsPerConn = float64(r.CPU.UserNs) / float64(r.Counts.Connections)
		}
		r.Listener.Accepted = r.Counts.Connections
		r.Listener.Requests = r.Counts.Transactions
		r.Phases = map[string]results.Phase{}
		for _, ph := range phases {
			r.Phases[ph] = phaseOf(t, recs[ph])
		}
		if sp.newConnEach {
			r.Exhaustion = &results.Exhaustion{PredictedNs: 1_400_000_000, Prediction: "4,000 ports at 2,000/s with a 60 s TIME_WAIT: exhausted after 2 s",
				FirstAddrNotAvailNs: 1_512_000_000}
			r.Notes = append(r.Notes, "port exhaustion: predicted at 1.40 s; seen: first EADDRNOTAVAIL at 1.51 s.")
		}
		doc.Runs = append(doc.Runs, r)
		runRecs = append(runRecs, recs)
		ivRecs = append(ivRecs, ivr)
	}
	return doc, runRecs, ivRecs
}

// fixtureSources is the fixture as one source named main.json.
func fixtureSources(t testing.TB) []results.Source {
	doc, _, _ := reportDoc(t, 0, 1)
	return []results.Source{{Name: "main.json", Doc: doc}}
}
