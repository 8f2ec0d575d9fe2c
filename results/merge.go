package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/connbench/connbench/histogram"
)

// ErrMerge is wrapped by Merge's errors about documents that cannot be
// combined (different workloads or targets, runs missing from a file).
var ErrMerge = errors.New("cannot merge")

// Merge combines the documents of several load generators that ran the
// same workload against the same target at the same time into one
// document, as if one generator had made the load. The rules are in
// SCHEMA.md ("Merged documents"); in short:
//
//   - runs are matched by label (and repetition); every source must have
//     the same runs, each with the same workload and target;
//   - histograms are decoded and merged exactly, counts, bytes, failures and
//     CPU times are summed;
//   - rates are the sum of each generator's rate over the common window,
//     the span in which all generators were measuring;
//   - time series are aligned on wall-clock intervals (run started_at +
//     start_ns) and merged interval by interval, interval histograms too.
//
// The result's Tool and Command are left as the first source's: the caller
// sets its own. Errors name the source and the run.
func Merge(srcs []Source) (*Document, error) { return MergeWith(srcs, MergeOptions{}) }

// MergeOptions changes what MergeWith accepts.
type MergeOptions struct {
	// Partial merges the segments there are of a run split over
	// generators when some are missing: the document is flagged partial
	// and names them. Without it a missing segment is an error.
	Partial bool
}

// MergeWith is Merge with options. Documents that hold segments of a run
// split over generators (Document.Segment) must all be of one run (run id
// and whole-run spec) and cover each of its segments exactly once (a
// missing one is allowed with opt.Partial); an error names the segments
// missing or held twice, on one line.
func MergeWith(srcs []Source, opt MergeOptions) (*Document, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("results: merge: %w: no documents", ErrMerge)
	}
	first := srcs[0]
	out := &Document{
		Schema:  Schema,
		Tool:    first.Doc.Tool,
		Command: first.Doc.Command,
		Host:    combineHosts(srcs),
		Sysctls: first.Doc.Sysctls,
	}
	sameHost := !strings.Contains(out.Host.Hostname, ", ")
	for _, s := range srcs {
		if out.StartedAt.IsZero() || (!s.Doc.StartedAt.IsZero() && s.Doc.StartedAt.Before(out.StartedAt)) {
			out.StartedAt = s.Doc.StartedAt
		}
		out.Partial = out.Partial || s.Doc.Partial
	}

	// The same measurement twice (one file named twice, or a copy) would
	// count every transaction twice.
	seen := map[[sha256.Size]byte]string{}
	for _, s := range srcs {
		id := identity(s.Doc)
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("results: merge: %s: %w: it holds the same runs as %s (host %s, started %s): their counts would be counted twice",
				s.Name, ErrMerge, prev, Printable(s.Doc.Host.Hostname), s.Doc.StartedAt.UTC().Format(time.RFC3339Nano))
		}
		seen[id] = s.Name
	}
	seg, err := mergeSegments(srcs, opt)
	if err != nil {
		return nil, err
	}
	out.Segment = seg
	if seg != nil {
		out.RunID = first.Doc.RunID
		out.Partial = out.Partial || len(seg.Missing) > 0
	} else if sameRunID(srcs) {
		out.RunID = first.Doc.RunID
	}

	// Every source must hold the same runs, each once.
	index := make([]map[runKey]int, len(srcs))
	for i, s := range srcs {
		index[i] = map[runKey]int{}
		for j := range s.Doc.Runs {
			k := keyOf(&s.Doc.Runs[j])
			if _, dup := index[i][k]; dup {
				return nil, fmt.Errorf("results: merge: %s: %w: two runs labelled %s", s.Name, ErrMerge, k)
			}
			index[i][k] = j
		}
	}
	for i, s := range srcs[1:] {
		for k := range index[0] {
			if _, ok := index[i+1][k]; !ok {
				return nil, fmt.Errorf("results: merge: %s: %w: no run labelled %s (%s has one)", s.Name, ErrMerge, k, first.Name)
			}
		}
		for k := range index[i+1] {
			if _, ok := index[0][k]; !ok {
				return nil, fmt.Errorf("results: merge: %s: %w: run labelled %s is not in %s", s.Name, ErrMerge, k, first.Name)
			}
		}
	}

	var sysctlDiff []string
	for _, s := range srcs[1:] {
		if !maps.Equal(s.Doc.Sysctls, first.Doc.Sysctls) {
			sysctlDiff = append(sysctlDiff, s.Name)
		}
	}
	for j := range first.Doc.Runs {
		k := keyOf(&first.Doc.Runs[j])
		parts := make([]part, len(srcs))
		for i, s := range srcs {
			parts[i] = part{name: s.Name, run: &s.Doc.Runs[index[i][k]]}
		}
		r, err := mergeRun(parts, sameHost, seg != nil)
		if err != nil {
			return nil, err
		}
		if len(sysctlDiff) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("the sysctls of %s differ from those of %s, which the document shows",
				strings.Join(sysctlDiff, ", "), first.Name))
		}
		if seg != nil && len(seg.Missing) > 0 {
			r.Partial = true
			r.Notes = append(r.Notes, fmt.Sprintf("partial: segments %s of the %d of run %s are missing (merged with --partial): the figures are those of the segments there are, %s",
				strings.Join(seg.Missing, ", "), seg.Of, Printable(out.RunID), strings.Join(seg.Parts, ", ")))
		}
		out.Runs = append(out.Runs, *r)
	}
	return out, nil
}

// part is one generator's run of a merged run.
type part struct {
	name string
	run  *Run
}

func (p part) start() time.Time { return p.run.StartedAt }
func (p part) end() time.Time   { return p.run.StartedAt.Add(time.Duration(p.run.DurationNs)) }

func mergeRun(parts []part, sameHost, segmented bool) (*Run, error) {
	a := parts[0].run
	for _, p := range parts[1:] {
		if p.run.Workload != a.Workload {
			return nil, fmt.Errorf("results: merge: %s: %w: run %q is workload %s, %s's is %s",
				p.name, ErrMerge, a.Label, p.run.Workload, parts[0].name, a.Workload)
		}
		if p.run.Target != a.Target && !(p.run.BuiltinListener && a.BuiltinListener) {
			return nil, fmt.Errorf("results: merge: %s: %w: run %q targets %s, %s's targets %s",
				p.name, ErrMerge, a.Label, p.run.Target, parts[0].name, a.Target)
		}
	}
	r := &Run{
		Label:           a.Label,
		Repetition:      a.Repetition,
		Settings:        a.Settings,
		Sysctls:         a.Sysctls,
		Workload:        a.Workload,
		Target:          a.Target,
		BuiltinListener: a.BuiltinListener,
		Config:          a.Config,
		Failures:        map[string]int64{},
		Phases:          map[string]Phase{},
	}
	// The merged run spans from the earliest start to the latest end.
	start, end := parts[0].start(), parts[0].end()
	commonStart, commonEnd := start, end
	for _, p := range parts {
		if p.start().Before(start) {
			start = p.start()
		}
		if p.end().After(end) {
			end = p.end()
		}
		if p.start().After(commonStart) {
			commonStart = p.start()
		}
		if p.end().Before(commonEnd) {
			commonEnd = p.end()
		}
	}
	r.StartedAt = start
	r.DurationNs = int64(end.Sub(start))

	var notes []string
	var differ []string
	shapes := map[string]int{} // a note's shape: its index in notes
	alike := map[int]int{}     // notes[i]: how many more notes like it came with other figures
	for _, p := range parts {
		x := p.run
		r.Partial = r.Partial || x.Partial
		r.Add(x)
		if p.run != a && !sameConfig(x, a, segmented) {
			differ = append(differ, p.name)
		}
		for _, n := range x.Notes {
			k := noteShape(n)
			if i, ok := shapes[k]; ok {
				if notes[i] != n {
					alike[i]++
				}
				continue
			}
			shapes[k] = len(notes)
			notes = append(notes, n)
		}
	}
	for i, k := range alike {
		notes[i] += fmt.Sprintf(" (and %d more like it from the other generators, with figures of their own)", k)
	}
	r.CPU.Per(r.Counts)

	var err error
	if r.Phases, err = mergePhases(parts, func(x *Run) map[string]Phase { return x.Phases }, "phase"); err != nil {
		return nil, err
	}
	if r.ConnectCall, err = mergePhases(parts, func(x *Run) map[string]Phase { return x.ConnectCall }, "connect_call_by_occupancy"); err != nil {
		return nil, err
	}
	if len(r.ConnectCall) == 0 {
		r.ConnectCall = nil
	}

	window := commonEnd.Sub(commonStart)
	r.Rates = mergeRates(parts, commonStart, commonEnd)
	if r.Series, err = mergeSeries(parts, start, sameHost); err != nil {
		return nil, err
	}
	r.Schedule = mergeSchedule(parts)
	r.Kernel = mergeKernel(parts, r.Series, sameHost)
	r.Exhaustion = mergeExhaustion(parts, start)
	r.Listener = mergeListener(parts)
	r.Engine = mergeEngine(parts)
	r.TCPInfo = mergeTCPInfo(parts)
	r.TLS = mergeTLS(parts)
	r.Hold = mergeHold(parts)
	if r.Hold != nil || segmented {
		r.Config = shareConfig(parts, r.Config, segmented)
	}
	if r.Hold != nil {
		if r.Hold.OpenNs > 0 {
			// A hold opens connections only until the last attempt: its
			// rate is over the time to open, not over the hold.
			r.Rates.ConnsPerSec = float64(r.Hold.Opened) / (float64(r.Hold.OpenNs) / 1e9)
		}
	}
	r.Statuses = mergeStatuses(parts)
	r.Flood = mergeFlood(parts)
	r.Pooling = mergePooling(parts)

	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.name
	}
	if window > 0 {
		notes = append(notes, fmt.Sprintf("merged from %d generators (%s); rates are the sum of their rates over the %s all of them were measuring",
			len(parts), strings.Join(names, ", "), window.Round(time.Millisecond)))
	} else {
		notes = append(notes, fmt.Sprintf("merged from %d generators (%s), whose measured times did not overlap: rates are the sum of each one's whole-run rate",
			len(parts), strings.Join(names, ", ")))
	}
	if a.BuiltinListener {
		var targets []string
		for _, p := range parts {
			if !slices.Contains(targets, p.run.Target) {
				targets = append(targets, p.run.Target)
			}
		}
		if len(targets) > 1 {
			notes = append(notes, fmt.Sprintf("each generator ran against its own built-in listener (%s); target is the first's",
				strings.Join(targets, ", ")))
		}
	}
	if len(differ) > 0 {
		notes = append(notes, fmt.Sprintf("the configuration of %s differs from that of %s, which the document shows",
			strings.Join(differ, ", "), parts[0].name))
	}
	r.Notes = notes
	return r, nil
}

// shareKeys are the config keys whose values the generators of a hold, or
// of a run split into segments, split between them: the merged run's are
// their sums.
var shareKeys = []string{"rate", "rate_end", "requests", "concurrency", "max_inflight"}

// sameConfig reports whether two runs' configs are the same, the shares
// (shareKeys) of a hold or of segments aside (those are summed), and a
// segment's own segment and source addresses.
func sameConfig(x, a *Run, segmented bool) bool {
	if !segmented && (x.Hold == nil || a.Hold == nil) {
		return sameJSON(x.Config, a.Config)
	}
	var mx, ma map[string]json.RawMessage
	if json.Unmarshal(x.Config, &mx) != nil || json.Unmarshal(a.Config, &ma) != nil {
		return sameJSON(x.Config, a.Config)
	}
	for _, k := range shareKeys {
		delete(mx, k)
		delete(ma, k)
	}
	if segmented {
		for _, m := range []map[string]json.RawMessage{mx, ma} {
			delete(m, "segment")
			m["socket"] = withoutSources(m["socket"])
		}
	}
	bx, _ := json.Marshal(mx)
	ba, _ := json.Marshal(ma)
	return bytes.Equal(bx, ba)
}

// withoutSources is a socket config without its source addresses.
func withoutSources(sock json.RawMessage) json.RawMessage {
	m := map[string]json.RawMessage{}
	if json.Unmarshal(sock, &m) != nil {
		return sock
	}
	delete(m, "sources")
	b, _ := json.Marshal(m)
	return b
}

// shareConfig is the merged run's config of a hold or of segments: first's,
// with the whole run's rate, end rate, connections, requests and in-flight
// bound (the sums of the parts'); for segments, without a segment and with
// the source addresses of all. A config that is not a JSON object is left
// as it is.
func shareConfig(parts []part, first json.RawMessage, segmented bool) json.RawMessage {
	m := map[string]json.RawMessage{}
	if json.Unmarshal(first, &m) != nil {
		return first
	}
	if segmented {
		delete(m, "segment")
		sock := map[string]json.RawMessage{}
		if json.Unmarshal(m["socket"], &sock) == nil {
			var all []string
			for _, p := range parts {
				var one struct {
					Socket struct {
						Sources []string `json:"sources"`
					} `json:"socket"`
				}
				if json.Unmarshal(p.run.Config, &one) == nil {
					all = append(all, one.Socket.Sources...)
				}
			}
			delete(sock, "sources")
			if len(all) > 0 {
				sock["sources"], _ = json.Marshal(all)
			}
			m["socket"], _ = json.Marshal(sock)
		}
	}
	for _, k := range shareKeys {
		var sum float64
		seen := false
		for _, p := range parts {
			var one map[string]json.RawMessage
			var v float64
			if json.Unmarshal(p.run.Config, &one) != nil || json.Unmarshal(one[k], &v) != nil {
				continue
			}
			sum += v
			seen = true
		}
		if seen {
			// Shares of a rate split n ways sum back to it but for
			// the last bits of a float64.
			b, err := json.Marshal(math.Round(sum*1e6) / 1e6)
			if err != nil {
				return first
			}
			m[k] = b
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return first
	}
	return b
}

// sameJSON reports whether two JSON values are equal after compaction.
func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// mergePhases decodes and merges the histograms of each phase name found
// in any part.
func mergePhases(parts []part, get func(x *Run) map[string]Phase, what string) (map[string]Phase, error) {
	recs := map[string]*histogram.Recorder{}
	var order []string
	for _, p := range parts {
		m := get(p.run)
		names := slices.Sorted(maps.Keys(m))
		for _, ph := range names {
			rec, err := m[ph].Recorder()
			if err != nil {
				return nil, fmt.Errorf("results: merge: %s: run %q %s %s: %w", p.name, p.run.Label, what, ph, err)
			}
			if recs[ph] == nil {
				recs[ph] = rec
				order = append(order, ph)
				continue
			}
			recs[ph].Merge(rec)
		}
	}
	out := map[string]Phase{}
	for _, ph := range order {
		np, err := NewPhase(recs[ph])
		if err != nil {
			return nil, err
		}
		out[ph] = np
	}
	return out, nil
}

// mergeRates sums each part's rates over the common window [from, to].
// A part with a series counts the intervals that lie wholly in the window
// (warm-up intervals excluded) and divides by the time they cover; a part
// without a series, or with no interval in the window, or when the window
// is empty, contributes its whole-run rate.
func mergeRates(parts []part, from, to time.Time) Rates {
	var out Rates
	for _, p := range parts {
		var tx, conns, covered int64
		if to.After(from) {
			for _, iv := range p.run.Series {
				s := p.start().Add(time.Duration(iv.StartNs))
				e := p.start().Add(time.Duration(iv.EndNs))
				if iv.Warmup || s.Before(from) || e.After(to) || iv.EndNs <= iv.StartNs {
					continue
				}
				tx += iv.Transactions
				conns += iv.Connections
				covered += iv.EndNs - iv.StartNs
			}
		}
		if covered > 0 {
			out.Add(Rates{TransactionsPerSec: float64(tx) / (float64(covered) / 1e9), ConnsPerSec: float64(conns) / (float64(covered) / 1e9)})
			continue
		}
		out.Add(p.run.Rates)
	}
	return out
}

// seriesInterval returns the interval length of a part's series: the
// config's interval_ns when set, else the most common interval length.
func seriesInterval(p part) int64 {
	var cfg struct {
		IntervalNs int64 `json:"interval_ns"`
	}
	if json.Unmarshal(p.run.Config, &cfg) == nil && cfg.IntervalNs > 0 {
		return cfg.IntervalNs
	}
	counts := map[int64]int{}
	var best int64
	for _, iv := range p.run.Series {
		d := iv.EndNs - iv.StartNs
		if d <= 0 {
			continue
		}
		counts[d]++
		if counts[d] > counts[best] || (counts[d] == counts[best] && d < best) {
			best = d
		}
	}
	return best
}

// mergeSeries aligns the parts' intervals on a wall-clock grid that starts
// at the merged run's start (origin) with the first part's interval
// length: each interval goes to the slot holding its wall-clock midpoint
// (started_at + (start_ns+end_ns)/2). Counts, bytes, failures, in-flight
// transactions, socket states, ports in use and kernel counters of a slot
// are summed, its histograms merged and its latency summary recomputed
// from them; its rates are the sum of each part's rate in the slot.
func mergeSeries(parts []part, origin time.Time, sameHost bool) ([]Interval, error) {
	length := int64(0)
	for _, p := range parts {
		if len(p.run.Series) > 0 {
			length = seriesInterval(p)
			break
		}
	}
	if length <= 0 {
		return nil, nil
	}
	type acc struct {
		iv      Interval
		recs    map[string]*histogram.Recorder
		noHdr   map[string]bool // a phase some source interval had without its histogram
		perPart map[int]*[3]int64
	}
	slots := map[int64]*acc{}
	for pi, p := range parts {
		offset := int64(p.start().Sub(origin))
		for ii, iv := range p.run.Series {
			mid := offset + iv.StartNs + (iv.EndNs-iv.StartNs)/2
			slot := int64(math.Floor(float64(mid) / float64(length)))
			a := slots[slot]
			if a == nil {
				a = &acc{iv: Interval{StartNs: slot * length, EndNs: (slot + 1) * length},
					recs: map[string]*histogram.Recorder{}, noHdr: map[string]bool{}, perPart: map[int]*[3]int64{}}
				slots[slot] = a
			}
			m := &a.iv
			// On one host every generator samples the same kernel: its
			// socket counts and counters are one observation, not parts.
			m.Add(iv, sameHost)
			pp := a.perPart[pi]
			if pp == nil {
				pp = &[3]int64{}
				a.perPart[pi] = pp
			}
			pp[0] += iv.Transactions
			pp[1] += iv.Connections
			pp[2] += iv.EndNs - iv.StartNs
			for _, ph := range slices.Sorted(maps.Keys(iv.Phases)) {
				s, ok := iv.Hdr[ph]
				if !ok {
					a.noHdr[ph] = true
					if m.Phases == nil {
						m.Phases = map[string]IntervalPhase{}
					}
					// Without a histogram only an upper bound survives.
					x, y := m.Phases[ph], iv.Phases[ph]
					m.Phases[ph] = IntervalPhase{Count: x.Count + y.Count, P50Ns: max(x.P50Ns, y.P50Ns),
						P99Ns: max(x.P99Ns, y.P99Ns), MaxNs: max(x.MaxNs, y.MaxNs)}
					continue
				}
				rec, err := histogram.Decode(s, 0)
				if err != nil {
					return nil, fmt.Errorf("results: merge: %s: run %q interval %d phase %s: %w", p.name, p.run.Label, ii, ph, err)
				}
				if a.recs[ph] == nil {
					a.recs[ph] = rec
				} else {
					a.recs[ph].Merge(rec)
				}
			}
		}
	}
	keys := slices.Sorted(maps.Keys(slots))
	out := make([]Interval, 0, len(keys))
	for _, k := range keys {
		a := slots[k]
		m := a.iv
		for _, pp := range a.perPart {
			if pp[2] > 0 {
				m.TransactionsPerSec += float64(pp[0]) / (float64(pp[2]) / 1e9)
				m.ConnsPerSec += float64(pp[1]) / (float64(pp[2]) / 1e9)
			}
		}
		for _, ph := range slices.Sorted(maps.Keys(a.recs)) {
			if a.noHdr[ph] {
				continue
			}
			rec := a.recs[ph]
			enc, err := rec.Encode()
			if err != nil {
				return nil, fmt.Errorf("results: merge: %w", err)
			}
			if m.Phases == nil {
				m.Phases = map[string]IntervalPhase{}
				m.Hdr = map[string]string{}
			}
			if m.Hdr == nil {
				m.Hdr = map[string]string{}
			}
			s := rec.Summary()
			m.Phases[ph] = IntervalPhase{Count: s.Count, P50Ns: s.P50Ns, P99Ns: s.P99Ns, MaxNs: s.MaxNs}
			m.Hdr[ph] = enc
		}
		out = append(out, m)
	}
	return out, nil
}

func mergeSchedule(parts []part) *Schedule {
	var out *Schedule
	for _, p := range parts {
		s := p.run.Schedule
		if s == nil {
			continue
		}
		if out == nil {
			out = &Schedule{}
		}
		out.Add(s)
	}
	return out
}

// mergeKernel sums the parts' kernel counters and samples. Peaks come from
// the merged series when there is one (the peak of the sums), else they
// are the sum of the peaks (an upper bound). Generators on one host share
// its ephemeral ports: the port capacity is then the first part's; on
// several hosts the capacities add up.
func mergeKernel(parts []part, series []Interval, sameHost bool) *Kernel {
	var out *Kernel
	capacity := 0
	for _, p := range parts {
		k := p.run.Kernel
		if k == nil {
			continue
		}
		if out == nil {
			out = &Kernel{PortRangeSize: k.PortRangeSize, Sources: k.Sources}
			capacity = PortCapacity(k)
		} else if !sameHost {
			capacity += PortCapacity(k)
		}
		out.Add(k, sameHost)
	}
	if out == nil {
		return nil
	}
	if !sameHost && capacity != PortCapacity(out) {
		// port_range_size × sources must give the combined capacity.
		if out.PortRangeSize > 0 && capacity%out.PortRangeSize == 0 {
			out.Sources = capacity / out.PortRangeSize
		} else {
			out.PortRangeSize, out.Sources = capacity, 1
		}
	}
	if len(series) > 0 {
		peaks := map[string]int{}
		ports, sampled := 0, false
		for _, iv := range series {
			for s, v := range iv.States {
				peaks[s] = max(peaks[s], v)
				sampled = true
			}
			ports = max(ports, iv.PortsInUse)
		}
		if sampled {
			out.PeakStates = peaks
		}
		out.PeakPortsInUse = ports
	}
	return out
}

// mergeEngine adds up the parts' engine records (Engine.Add); nil when
// none has one.
func mergeEngine(parts []part) *Engine {
	var out *Engine
	for _, p := range parts {
		if e := p.run.Engine; e != nil {
			if out == nil {
				out = &Engine{}
			}
			out.Add(e)
		}
	}
	return out
}

// earliest returns the earlier of a and b+shift, where a value of none or
// below means none (a is already shifted).
func earliest(a, b, shift, none int64) int64 {
	if b <= none {
		return a
	}
	if a <= none || b+shift < a {
		return b + shift
	}
	return a
}

// mergeExhaustion keeps the earliest prediction, the earliest
// EADDRNOTAVAIL, the earliest predicted and seen port-search stall, as
// offsets from the merged start (origin); the run stopped when any part
// did, by EADDRNOTAVAIL when any part stopped so, else by the stall.
func mergeExhaustion(parts []part, origin time.Time) *Exhaustion {
	var out *Exhaustion
	for _, p := range parts {
		e := p.run.Exhaustion
		if e == nil {
			continue
		}
		shift := int64(p.start().Sub(origin))
		if out == nil {
			out = &Exhaustion{PredictedNs: -1, Prediction: e.Prediction, FirstAddrNotAvailNs: -1}
		}
		if e.PredictedNs >= 0 && (out.PredictedNs < 0 || e.PredictedNs+shift < out.PredictedNs) {
			out.PredictedNs = e.PredictedNs + shift
			out.Prediction = e.Prediction
		}
		if e.FirstAddrNotAvailNs >= 0 && (out.FirstAddrNotAvailNs < 0 || e.FirstAddrNotAvailNs+shift < out.FirstAddrNotAvailNs) {
			out.FirstAddrNotAvailNs = e.FirstAddrNotAvailNs + shift
		}
		out.PredictedStallNs = earliest(out.PredictedStallNs, e.PredictedStallNs, shift, 0)
		out.StallNs = earliest(out.StallNs, e.StallNs, shift, 0)
		out.Stopped = out.Stopped || e.Stopped
		if e.StoppedBy != "" && out.StoppedBy != "EADDRNOTAVAIL" {
			out.StoppedBy = e.StoppedBy
		}
	}
	return out
}

// mergeListener sums the built-in listeners' counts when every part has
// one; the addresses are joined.
func mergeListener(parts []part) *Listener {
	var out Listener
	var addrs []string
	for _, p := range parts {
		l := p.run.Listener
		if l == nil {
			return nil
		}
		if !slices.Contains(addrs, l.Addr) {
			addrs = append(addrs, l.Addr)
		}
		out.Add(l)
	}
	sort.Strings(addrs)
	out.Addr = strings.Join(addrs, ", ")
	return &out
}

// mergeStatuses sums the parts' answer counts; nil when none has them.
func mergeStatuses(parts []part) map[string]int64 {
	var out map[string]int64
	for _, p := range parts {
		out = addCounts(out, p.run.Statuses)
	}
	return out
}

// identity tells one measurement from another: the host, the document's
// start and, for every run, its label, repetition, start, duration, counts,
// failures and the histogram of every phase. Two generators never share
// all of these; the same file, a copy of it or the same document written
// again by report --format json do. (The command line, tool version and
// notes are left out: they can differ between copies of one measurement.)
func identity(d *Document) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%q %s %d\n", d.Host.Hostname, d.StartedAt.UTC().Format(time.RFC3339Nano), len(d.Runs))
	for _, r := range d.Runs {
		fmt.Fprintf(h, "%q %d %s %d %+v %d\n", r.Label, r.Repetition, r.StartedAt.UTC().Format(time.RFC3339Nano),
			r.DurationNs, r.Counts, r.FailuresTotal)
		for _, ph := range slices.Sorted(maps.Keys(r.Phases)) {
			fmt.Fprintf(h, "%q %q\n", ph, r.Phases[ph].Hdr)
		}
	}
	var id [sha256.Size]byte
	h.Sum(id[:0])
	return id
}

// noteShape is a note with its figures taken out: the generators of a run
// split over processes or machines each explain their own share, and their
// notes differ in figures only. The merged run keeps the first generator's
// words and says how many more said the same.
func noteShape(n string) string {
	var b strings.Builder
	digits := false
	for _, c := range n {
		switch {
		case c >= '0' && c <= '9', digits && (c == '.' || c == ','):
			if !digits {
				b.WriteByte('#')
			}
			digits = true
		default:
			digits = false
			b.WriteRune(c)
		}
	}
	return b.String()
}
