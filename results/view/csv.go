package view

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/connbench/connbench/results"
)

// WriteCSV writes one CSV row per run of every source, after a header row:
// the headline figures, for spreadsheets and plotting tools. The columns
// are, in order:
//
//	file, label, repetition, workload, target, started_at (RFC 3339),
//	duration_ns, partial, transactions, connections, bytes_sent,
//	bytes_received, transactions_per_sec, conns_per_sec, failures_total,
//	cpu_user_ns, cpu_sys_ns, time_wait_peak, ports_in_use_peak,
//	port_capacity (kernel.port_range_size × sources; empty without samples),
//	then for each phase some run has (PhaseOrder first, others sorted):
//	PHASE_count, PHASE_min_ns, PHASE_mean_ns, PHASE_p50_ns, PHASE_p90_ns,
//	PHASE_p99_ns, PHASE_p999_ns, PHASE_max_ns (empty for a run without
//	the phase), then failures_CLASS for each failure class some run
//	counted, sorted, then setting_KEY for each compare --vary key, sorted.
//
// Latencies are integer nanoseconds, rates per second. The output depends
// only on the documents (no map order), so it can be compared as text.
func WriteCSV(w io.Writer, srcs []results.Source) error {
	var runs []*results.Run
	var files []string
	for _, s := range srcs {
		for i := range s.Doc.Runs {
			runs = append(runs, &s.Doc.Runs[i])
			files = append(files, s.Name)
		}
	}
	phases := phaseNames(runs, func(r *results.Run) []string { return slices.Collect(maps.Keys(r.Phases)) })
	classes := unionKeys(runs, func(r *results.Run) map[string]int64 { return r.Failures })
	settings := unionKeys(runs, func(r *results.Run) map[string]string { return r.Settings })

	header := []string{"file", "label", "repetition", "workload", "target", "started_at", "duration_ns", "partial",
		"transactions", "connections", "bytes_sent", "bytes_received", "transactions_per_sec", "conns_per_sec",
		"failures_total", "cpu_user_ns", "cpu_sys_ns", "time_wait_peak", "ports_in_use_peak", "port_capacity"}
	for _, ph := range phases {
		for _, c := range []string{"count", "min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"} {
			header = append(header, ph+"_"+c)
		}
	}
	for _, c := range classes {
		header = append(header, "failures_"+c)
	}
	for _, k := range settings {
		header = append(header, "setting_"+k)
	}
	cw := csv.NewWriter(w)
	cw.Write(printableRow(header))
	for i, r := range runs {
		row := []string{files[i], r.Label, itoa(int64(r.Repetition)), r.Workload, r.Target, timeString(r.StartedAt),
			itoa(r.DurationNs), strconv.FormatBool(r.Partial),
			itoa(r.Counts.Transactions), itoa(r.Counts.Connections), itoa(r.Counts.BytesSent), itoa(r.Counts.BytesReceived),
			ftoa(r.Rates.TransactionsPerSec), ftoa(r.Rates.ConnsPerSec), itoa(r.FailuresTotal),
			itoa(r.CPU.UserNs), itoa(r.CPU.SysNs)}
		if k := r.Kernel; k != nil && k.Samples > 0 {
			row = append(row, itoa(int64(k.PeakStates["time_wait"])), itoa(int64(k.PeakPortsInUse)), portCapacityString(k))
		} else {
			row = append(row, "", "", "")
		}
		for _, ph := range phases {
			p, ok := r.Phases[ph]
			if !ok {
				row = append(row, "", "", "", "", "", "", "", "")
				continue
			}
			row = append(row, itoa(p.Count), itoa(p.MinNs), ftoa(p.MeanNs), itoa(p.P50Ns), itoa(p.P90Ns),
				itoa(p.P99Ns), itoa(p.P999Ns), itoa(p.MaxNs))
		}
		for _, c := range classes {
			row = append(row, itoa(r.Failures[c]))
		}
		for _, k := range settings {
			row = append(row, r.Settings[k])
		}
		cw.Write(printableRow(row))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("results: csv: %w", err)
	}
	return nil
}

// WriteSeriesCSV writes the runs' time series as CSV: a header row, then
// one row per interval of every run that has a series. The columns are:
//
//	file, label, repetition, run (the run's index among all runs given,
//	from 0: the key to plot one line per run), start_ns, end_ns (offsets
//	from the run's measured start; negative in the warm-up), t_s (end_ns
//	in seconds), warmup, transactions, connections, transactions_per_sec,
//	conns_per_sec, failures_total, inflight, ports_in_use, port_capacity
//	(kernel.port_range_size × sources; empty when unknown), then for each
//	phase some interval has: PHASE_count, PHASE_p50_ns, PHASE_p99_ns,
//	PHASE_max_ns, then state_STATE for each socket state some interval
//	counted (StateOrder first, others sorted), then failures_CLASS for each
//	failure class, sorted.
//
// A missing value (a phase with no latencies in the interval, a state not
// sampled) is an empty cell, except states and failures, which are 0.
func WriteSeriesCSV(w io.Writer, srcs []results.Source) error {
	var runs []*results.Run
	var files []string
	for _, s := range srcs {
		for i := range s.Doc.Runs {
			runs = append(runs, &s.Doc.Runs[i])
			files = append(files, s.Name)
		}
	}
	var phases, states, classes []string
	{
		ph, st, cl := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, r := range runs {
			for _, iv := range r.Series {
				for k := range iv.Phases {
					ph[k] = true
				}
				for k := range iv.States {
					st[k] = true
				}
				for k, v := range iv.Failures {
					if v != 0 {
						cl[k] = true
					}
				}
			}
		}
		phases = ordered(ph, results.PhaseOrder)
		states = ordered(st, StateOrder)
		classes = ordered(cl, nil)
	}
	header := []string{"file", "label", "repetition", "run", "start_ns", "end_ns", "t_s", "warmup",
		"transactions", "connections", "transactions_per_sec", "conns_per_sec", "failures_total", "inflight",
		"ports_in_use", "port_capacity"}
	for _, ph := range phases {
		header = append(header, ph+"_count", ph+"_p50_ns", ph+"_p99_ns", ph+"_max_ns")
	}
	for _, s := range states {
		header = append(header, "state_"+s)
	}
	for _, c := range classes {
		header = append(header, "failures_"+c)
	}
	cw := csv.NewWriter(w)
	cw.Write(printableRow(header))
	for i, r := range runs {
		capacity := ""
		if r.Kernel != nil {
			capacity = portCapacityString(r.Kernel)
		}
		for _, iv := range r.Series {
			row := []string{files[i], r.Label, itoa(int64(r.Repetition)), strconv.Itoa(i), itoa(iv.StartNs), itoa(iv.EndNs),
				ftoa(float64(iv.EndNs) / 1e9), strconv.FormatBool(iv.Warmup),
				itoa(iv.Transactions), itoa(iv.Connections), ftoa(iv.TransactionsPerSec), ftoa(iv.ConnsPerSec),
				itoa(iv.FailuresTotal), strconv.Itoa(iv.Inflight), strconv.Itoa(iv.PortsInUse), capacity}
			for _, ph := range phases {
				p, ok := iv.Phases[ph]
				if !ok || p.Count == 0 {
					row = append(row, "0", "", "", "")
					continue
				}
				row = append(row, itoa(p.Count), itoa(p.P50Ns), itoa(p.P99Ns), itoa(p.MaxNs))
			}
			for _, s := range states {
				row = append(row, strconv.Itoa(iv.States[s]))
			}
			for _, c := range classes {
				row = append(row, itoa(iv.Failures[c]))
			}
			cw.Write(printableRow(row))
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("results: csv: %w", err)
	}
	return nil
}

// StateOrder is the order socket states are listed and drawn in: the
// states of a connection's life first, the rest after, sorted.
var StateOrder = []string{"syn_sent", "syn_recv", "established", "fin_wait1", "fin_wait2", "close_wait",
	"last_ack", "closing", "time_wait", "close", "listen"}

func portCapacityString(k *results.Kernel) string {
	if n := results.PortCapacity(k); n > 0 {
		return strconv.Itoa(n)
	}
	return ""
}

// phaseNames returns the phase names the runs have, PhaseOrder first and
// any others sorted after.
func phaseNames(runs []*results.Run, names func(r *results.Run) []string) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for _, n := range names(r) {
			set[n] = true
		}
	}
	return ordered(set, results.PhaseOrder)
}

// ordered returns the members of set: those in first in its order, then
// the rest sorted.
func ordered(set map[string]bool, first []string) []string {
	var out, rest []string
	for _, n := range first {
		if set[n] {
			out = append(out, n)
		}
	}
	for n := range set {
		if !slices.Contains(first, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// unionKeys returns the keys of the runs' maps, sorted; for count maps
// only keys with a non-zero count somewhere.
func unionKeys[V comparable](runs []*results.Run, m func(r *results.Run) map[string]V) []string {
	set := map[string]bool{}
	var zero V
	for _, r := range runs {
		for k, v := range m(r) {
			if _, isCount := any(v).(int64); !isCount || v != zero {
				set[k] = true
			}
		}
	}
	return ordered(set, nil)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ftoa formats a float in the shortest form that reads back exactly; NaN
// and infinities (which no valid document has) as empty cells.
func ftoa(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// printableRow makes every field Printable: labels, failure classes and
// the like come from files and servers, and a CSV is often read on a
// terminal first.
func printableRow(row []string) []string {
	for i, f := range row {
		row[i] = results.Printable(f)
	}
	return row
}
