// Package results is the result model: connbench's result document (runs,
// phases and their histograms, counters), its JSON encoding, reading, safe
// writing, combining and merging; it never renders (views are in
// results/view).
//
// A document describes itself (schema version, tool version, host, sysctls,
// the configuration of every run) so that two files can be compared months
// later, and it carries each latency histogram losslessly (HdrHistogram V2,
// base64) next to the percentiles, so files from several generators merge
// exactly.
//
// The schema is documented in SCHEMA.md beside this file.
package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/connbench/connbench/histogram"
)

// Schema is the schema identifier written into every document. Readers
// accept documents of this schema and refuse newer ones.
const Schema = "connbench/v1"

// Document is one result file: one or more runs and their context.
type Document struct {
	Schema    string            `json:"schema"`
	Tool      Tool              `json:"tool"`
	StartedAt time.Time         `json:"started_at"`
	Command   []string          `json:"command,omitempty"`
	Host      Host              `json:"host"`
	Sysctls   map[string]string `json:"sysctls"`
	Partial   bool              `json:"partial"`
	// RunID names the run the document is of (or a segment of): the
	// documents of one run split over generators share it.
	RunID string `json:"run_id,omitempty"`
	// Segment is set when the document holds a share of a run split over
	// generators (--segment), or a merge of some of its segments.
	Segment *Segment `json:"segment,omitempty"`
	Runs    []Run    `json:"runs"`
	// CurveNotes interpret the pooling curve of a compare that varied
	// requests-per-conn or max-conn-age (see PoolingCurves).
	CurveNotes []string `json:"curve_notes,omitempty"`
	// Thresholds are the --fail-on outcomes, one per expression and
	// variant, when any were given.
	Thresholds []Threshold `json:"thresholds,omitempty"`
}

// Segment describes which share of a run split over generators a
// document holds.
type Segment struct {
	// Of is the number of parts the run was split into.
	Of int `json:"of"`
	// Parts are the segments held: "I/N" (part I, from 0) or "A/N:B/N"
	// (the parts A to B-1).
	Parts []string `json:"parts"`
	// Missing are the segments a partial merge did not have.
	Missing []string `json:"missing,omitempty"`
	// Spec is the whole run's spec (the run flags, as connbench's Spec
	// JSON, without what differs between generators): equal in every
	// document of the run.
	Spec json.RawMessage `json:"spec"`
}

// Tool names the program that wrote the document.
type Tool struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
}

// Host describes the machine the runs were made on.
type Host struct {
	Hostname      string `json:"hostname"`
	Kernel        string `json:"kernel"`
	CPUs          int    `json:"cpus"`
	OpenFileLimit uint64 `json:"open_file_limit"`
}

// Run is one workload run.
type Run struct {
	// Label tells runs apart in tables ("pooled", "per-request", a variant
	// such as "close=rst"). Repetitions of one variant share the label.
	Label string `json:"label"`
	// Repetition numbers the repetitions of a variant (compare --repeat),
	// from 1; 0 when the variant ran once.
	Repetition int `json:"repetition,omitempty"`
	// Settings are the keys and values this variant varies (compare --vary).
	Settings map[string]string `json:"settings,omitempty"`
	// Sysctls are the sysctls in force for this run when they differ from
	// the document's (a run in its own network namespace, or host sysctl
	// variants).
	Sysctls  map[string]string `json:"sysctls,omitempty"`
	Workload string            `json:"workload"`
	Target   string            `json:"target"`
	// BuiltinListener is true when the target was connbench's own listener.
	BuiltinListener bool `json:"builtin_listener"`
	// Config is the full configuration echo of the run.
	Config json.RawMessage `json:"config"`
	// StartedAt is when the measured part began (after the warm-up).
	StartedAt  time.Time `json:"started_at"`
	DurationNs int64     `json:"duration_ns"`
	Partial    bool      `json:"partial"`
	Counts     Counts    `json:"counts"`
	Rates      Rates     `json:"rates"`
	// Failures counts failed transactions by class (errno name or the
	// tool's own class such as connect_timeout).
	Failures      map[string]int64 `json:"failures"`
	FailuresTotal int64            `json:"failures_total"`
	// Statuses counts completed transactions by the server's answer, for
	// protocols that have one: "2xx".."5xx" for HTTP, "ok"/"error" for
	// redis and memcached. A non-2xx answer is a completed transaction,
	// counted here, not a failure.
	Statuses map[string]int64 `json:"statuses,omitempty"`
	CPU      CPU              `json:"cpu"`
	// Phases maps a phase name (handshake, first_byte, response,
	// transaction) to its latency summary and histogram.
	Phases map[string]Phase `json:"phases"`
	// ConnectCall holds the duration of the connect() system call by
	// ephemeral-port occupancy band ("lt50", "50_75", "75_90", "90_100").
	ConnectCall map[string]Phase `json:"connect_call_by_occupancy,omitempty"`
	// Schedule describes an open-loop run's arrival schedule.
	Schedule *Schedule `json:"schedule,omitempty"`
	// Series is the per-interval time series.
	Series []Interval `json:"series,omitempty"`
	// Kernel is what the kernel counted and showed during the run.
	Kernel *Kernel `json:"kernel,omitempty"`
	// Exhaustion is the port-exhaustion record: prediction and outcome.
	Exhaustion *Exhaustion `json:"exhaustion,omitempty"`
	// Engine is the client loops' own account of their work.
	Engine   *Engine   `json:"engine,omitempty"`
	Listener *Listener `json:"listener,omitempty"`
	// TCPInfo is what TCP_INFO showed: SYN retransmissions, Fast Open.
	TCPInfo *TCPInfo `json:"tcp_info,omitempty"`
	// Flood is the synflood workload's record of the spoofed SYNs.
	Flood *Flood `json:"flood,omitempty"`
	// Hold is the hold workload's record.
	Hold *Hold `json:"hold,omitempty"`
	// Path is the emulated network path the run crossed, if any.
	Path *Path `json:"path,omitempty"`
	// Notes are observations a reader needs to read the figures right.
	Notes []string `json:"notes,omitempty"`
	// TLS is the run's TLS record (--tls); nil without TLS.
	TLS *TLS `json:"tls,omitempty"`

	// Pooling is the pool's reuse record (pooled runs with a reuse limit,
	// or whose server closed connections); nil otherwise.
	Pooling *Pooling `json:"pooling,omitempty"`
}

// Counts are totals over the measured part of a run.
type Counts struct {
	Connections   int64 `json:"connections"`
	Transactions  int64 `json:"transactions"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
}

// Rates are Counts divided by the measured duration.
type Rates struct {
	ConnsPerSec        float64 `json:"conns_per_sec"`
	TransactionsPerSec float64 `json:"transactions_per_sec"`
}

// CPU is CPU time spent in the measured part, in nanoseconds.
type CPU struct {
	// UserNs and SysNs are the client event loops' threads only, as the
	// kernel splits them. On kernels with tick-based accounting the split
	// is sampled at the timer tick (250 Hz here), so a thread that wakes in
	// step with the tick can show all its time as one or the other (user
	// 0.00 µs per transaction): ThreadNs is the exact total.
	UserNs int64 `json:"user_ns"`
	SysNs  int64 `json:"sys_ns"`
	// ThreadNs is the loop threads' exact CPU time
	// (CLOCK_THREAD_CPUTIME_ID): user and system together; 0 when not
	// measured (results from before it was).
	ThreadNs int64 `json:"thread_ns,omitempty"`
	// UserNsPerConn is UserNs per new connection (0 without connections).
	UserNsPerConn float64 `json:"user_ns_per_conn"`
	// UserNsPerTransaction is UserNs per completed transaction.
	UserNsPerTransaction float64 `json:"user_ns_per_transaction"`
	// ProcessUserNs and ProcessSysNs are the whole process (client,
	// in-process listener, Go runtime) over the same span.
	ProcessUserNs int64 `json:"process_user_ns"`
	ProcessSysNs  int64 `json:"process_sys_ns"`
}

// Schedule is an open-loop run's arrival schedule and how well it was kept.
type Schedule struct {
	// RatePerSec is the asked rate; RateEndPerSec the end of a ramp (0: none).
	RatePerSec    float64 `json:"rate_per_sec"`
	RateEndPerSec float64 `json:"rate_end_per_sec,omitempty"`
	// Behind counts transactions that were due but had not started when
	// the run ended: the schedule could not be kept.
	Behind int64 `json:"behind"`
}

// Interval is one entry of a run's time series. Times are offsets from the
// start of the measured part, negative during the warm-up.
type Interval struct {
	StartNs            int64            `json:"start_ns"`
	EndNs              int64            `json:"end_ns"`
	Warmup             bool             `json:"warmup,omitempty"`
	Transactions       int64            `json:"transactions"`
	Connections        int64            `json:"connections"`
	BytesSent          int64            `json:"bytes_sent"`
	BytesReceived      int64            `json:"bytes_received"`
	TransactionsPerSec float64          `json:"transactions_per_sec"`
	ConnsPerSec        float64          `json:"conns_per_sec"`
	Failures           map[string]int64 `json:"failures,omitempty"`
	FailuresTotal      int64            `json:"failures_total"`
	// Inflight is the number of transactions in flight at the end.
	Inflight int `json:"inflight"`
	// Phases summarises each phase's latencies in the interval.
	Phases map[string]IntervalPhase `json:"phases,omitempty"`
	// Hdr holds each phase's interval histogram (HdrHistogram V2 base64).
	Hdr map[string]string `json:"hdr,omitempty"`
	// States counts the run's client sockets by TCP state at the end of
	// the interval (lowercase state names: "time_wait", ...).
	States map[string]int `json:"states,omitempty"`
	// PortsInUse is the number of distinct local ports toward the target.
	PortsInUse int `json:"ports_in_use"`
	// Counters are kernel counter deltas over the interval ("Tcp.ActiveOpens", ...).
	Counters map[string]int64 `json:"counters,omitempty"`
	// ServerStates counts the built-in listener's sockets by TCP state at
	// the end of the interval, and ServerDescriptors the connection
	// descriptors it held then.
	ServerStates      map[string]int `json:"server_states,omitempty"`
	ServerDescriptors int64          `json:"server_descriptors,omitempty"`
}

// IntervalPhase is a phase's latency in one interval, in nanoseconds.
type IntervalPhase struct {
	Count int64 `json:"count"`
	P50Ns int64 `json:"p50_ns"`
	P99Ns int64 `json:"p99_ns"`
	MaxNs int64 `json:"max_ns"`
}

// Kernel is what the kernel counted during a run (whole run, warm-up
// included) and the peaks of the socket-state samples.
type Kernel struct {
	Counters       map[string]int64 `json:"counters,omitempty"`
	PeakStates     map[string]int   `json:"peak_states,omitempty"`
	PeakPortsInUse int              `json:"peak_ports_in_use"`
	// PortRangeSize is the number of ephemeral ports per source address;
	// Sources the number of source addresses (1 when not bound).
	PortRangeSize int   `json:"port_range_size"`
	Sources       int   `json:"sources"`
	Samples       int   `json:"samples"`
	SampleMaxNs   int64 `json:"sample_max_ns"`
	// StatesAtStart are the sockets toward the target by state before the
	// run began (left by earlier runs); PeakStates include them unless
	// Scope says the run had a network namespace of its own.
	StatesAtStart map[string]int `json:"states_at_start,omitempty"`
	// Scope says which sockets the state figures count: "namespace" (the
	// run's own network namespace: only its sockets) or "host" (the host's
	// namespace: sockets toward the target, earlier runs' included, whose
	// count at the start is StatesAtStart).
	Scope string `json:"scope,omitempty"`
}

// Exhaustion is the ephemeral-port exhaustion record of a run.
type Exhaustion struct {
	// PredictedNs is when exhaustion was predicted to start, from the
	// start of the measured part; -1 when none was predicted.
	PredictedNs int64 `json:"predicted_ns"`
	// Prediction explains the prediction in words.
	Prediction string `json:"prediction"`
	// FirstAddrNotAvailNs is when the first EADDRNOTAVAIL happened; -1: never.
	FirstAddrNotAvailNs int64 `json:"first_eaddrnotavail_ns"`
	// Stopped is true when --until-exhausted ended the run; StoppedBy says
	// what it saw: "EADDRNOTAVAIL" or "port_search_stall".
	Stopped   bool   `json:"stopped"`
	StoppedBy string `json:"stopped_by,omitempty"`
	// PredictedStallNs is when connect()'s search for a free port was
	// predicted to slow sharply: near half the range in use, as connect()
	// takes even ports first; 0 when none was predicted.
	PredictedStallNs int64 `json:"predicted_stall_ns,omitempty"`
	// StallNs is when that stall was seen (see Engine); 0: never.
	StallNs int64 `json:"stall_ns,omitempty"`
}

// Engine is what the client's event loops saw of their own work over the
// measured part, for telling the tool's limits from the kernel's.
type Engine struct {
	// ConnectCalls is the connect() (or Fast Open sendto()) calls made and
	// ConnectCallNs the time spent inside them: the kernel searches the
	// ephemeral ports for a free one there, and the search grows with the
	// ports in use.
	ConnectCalls  int64 `json:"connect_calls"`
	ConnectCallNs int64 `json:"connect_call_ns"`
	// LoopBusyNs is the loops' time outside epoll_wait: ConnectCallNs over
	// it is the share of the loops' work that was connect().
	LoopBusyNs int64 `json:"loop_busy_ns"`
	// TimerLateMaxNs is the latest a timer (a connect or response timeout,
	// a ping) fired after it was due: a recorded handshake exceeds
	// --connect-timeout by at most this much. (A scheduled start's
	// lateness is the start_lag phase.)
	TimerLateMaxNs int64 `json:"timer_late_max_ns"`
	// HeldByInflight counts open-loop starts that were due but waited
	// because --max-inflight transactions were in flight.
	HeldByInflight int64 `json:"held_by_inflight"`
	// SocketsReused counts measured connections made on the socket of the
	// slot's previous connection, reset with connect(AF_UNSPEC) rather
	// than closed (without --new-socket: every connection with --close rst,
	// those the server closed first with --close fin).
	SocketsReused int64 `json:"sockets_reused,omitempty"`
	// SpinNs is the loops' time polling for events before sleeping
	// (--spin), summed over loops; Spins the polls made and SpinHits
	// those that found events.
	SpinNs   int64 `json:"spin_ns,omitempty"`
	Spins    int64 `json:"spins,omitempty"`
	SpinHits int64 `json:"spin_hits,omitempty"`
}

// Listener is what the built-in listener counted during the run.
type Listener struct {
	Addr          string `json:"addr"`
	Accepted      int64  `json:"accepted"`
	Requests      int64  `json:"requests"`
	BytesReceived int64  `json:"bytes_received"`
	BytesSent     int64  `json:"bytes_sent"`
	Resets        int64  `json:"resets"`
	Errors        int64  `json:"errors"`
	CPUUserNs     int64  `json:"cpu_user_ns"`
	CPUSysNs      int64  `json:"cpu_sys_ns"`
	// SpinNs is the listener's loops' time polling for events before
	// sleeping (its config's spin_ns; CPU time, within CPUUserNs+CPUSysNs).
	SpinNs int64 `json:"spin_ns,omitempty"`
	// Leaked counts connections the listener left in CLOSE_WAIT (--leak).
	Leaked int64 `json:"leaked,omitempty"`
	// IdleCloseNs is --idle-close (0: off), and IdleClosed the connections
	// the listener closed for being idle that long (also in Accepted's
	// lifetime: a keep-alive timeout's work).
	IdleCloseNs int64 `json:"idle_close_ns,omitempty"`
	IdleClosed  int64 `json:"idle_closed,omitempty"`
	// PeakDescriptors is the most connection descriptors it held at once
	// (sampled once per interval).
	PeakDescriptors int64 `json:"peak_descriptors,omitempty"`
	// PeakStates is the highest count per TCP state of the listener's
	// sockets (local end = its address: the listening socket, SYN_RECV
	// request sockets, accepted connections), sampled once per interval.
	PeakStates map[string]int `json:"peak_states,omitempty"`
	// Counters are the kernel counter deltas of the listener's own network
	// namespace, when it ran in one apart from the client's (emulated path).
	Counters map[string]int64 `json:"counters,omitempty"`
	// TLS is the listener's side of the TLS handshakes (--tls).
	TLS *ListenerTLS `json:"tls,omitempty"`
}

// Phase is one phase's latency summary (nanoseconds) plus the histogram
// itself as HdrHistogram V2 compressed base64 ("HISTFAAA...").
type Phase struct {
	histogram.Summary
	Hdr string `json:"hdr"`
}

// NewPhase summarises and encodes a recorder.
func NewPhase(r *histogram.Recorder) (Phase, error) {
	enc, err := r.Encode()
	if err != nil {
		return Phase{}, fmt.Errorf("results: %w", err)
	}
	return Phase{Summary: r.Summary(), Hdr: enc}, nil
}

// Recorder decodes the phase's histogram (with its overflow count).
func (p Phase) Recorder() (*histogram.Recorder, error) {
	r, err := histogram.Decode(p.Hdr, p.Overflow)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return r, nil
}

// Encode writes doc as indented JSON.
func Encode(w io.Writer, doc *Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	return nil
}

// EncodeLine writes doc as JSON on one line (for logs: ReadSources picks
// such lines out of a log).
func EncodeLine(w io.Writer, doc *Document) error {
	if err := json.NewEncoder(w).Encode(doc); err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	return nil
}

// ErrNotResult is returned for input that is not a connbench document.
var ErrNotResult = errors.New("not a connbench result document")

// decode is Decode with a limit of limit bytes on what it reads.
func decode(r io.Reader, limit int64) (*Document, error) {
	var doc Document
	dec := json.NewDecoder(&limitedReader{r: r, left: limit, limit: limit})
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("results: decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("results: decode: %w", err)
		}
		return nil, fmt.Errorf("results: decode: data after the end of the document")
	}
	if doc.Schema != Schema {
		if strings.HasPrefix(doc.Schema, "connbench/v") {
			return nil, fmt.Errorf("results: schema %q is not %q: written by another connbench version", doc.Schema, Schema)
		}
		return nil, fmt.Errorf("results: %w (schema %q)", ErrNotResult, doc.Schema)
	}
	for i, run := range doc.Runs {
		for name, p := range run.Phases {
			if _, err := p.Recorder(); err != nil {
				return nil, fmt.Errorf("results: run %d (%s) phase %s: %w", i, run.Label, name, err)
			}
		}
	}
	return &doc, nil
}

// Unfinished is the number of transactions still in flight when the run
// ended (abandoned: neither completed nor failed), from the last interval.
func (r *Run) Unfinished() int64 {
	if len(r.Series) == 0 {
		return 0
	}
	return int64(r.Series[len(r.Series)-1].Inflight)
}

// SuccessShare is completed transactions over all started (completed,
// failed, or unfinished at the end); -1 when none started.
func (r *Run) SuccessShare() float64 {
	n := r.Counts.Transactions + r.FailuresTotal + r.Unfinished()
	if n == 0 {
		return -1
	}
	return float64(r.Counts.Transactions) / float64(n)
}

// PhaseOrder is the order phases are shown in.
var PhaseOrder = []string{"handshake", "tls_handshake", "tls_handshake_full", "tls_handshake_resumed", "first_byte", "response", "transaction", "scheduled", "start_lag",
	"connect_first_byte", "connect_first_byte_cold", "connect_first_byte_warm"}

// PortCapacity is the number of ephemeral ports the run could use toward
// its target: port_range_size × sources; 0 when unknown.
func PortCapacity(k *Kernel) int {
	if k == nil || k.PortRangeSize <= 0 {
		return 0
	}
	return k.PortRangeSize * max(k.Sources, 1)
}

// Threshold is the outcome of one --fail-on expression for one variant.
type Threshold struct {
	// Expr is the expression as given (white space removed).
	Expr string `json:"expr"`
	// Variant is the label of the runs it was evaluated on.
	Variant string `json:"variant"`
	// Metric is the metric's name (p99(handshake): connect is named by
	// the phase it stands for).
	Metric string `json:"metric"`
	// Unit is Value's and Limit's unit: "ns", "per_sec", "count",
	// "share" (0 to 1) or, for a regression, "change" (a fraction: 0.05
	// is 5% worse; negative is better).
	Unit string `json:"unit"`
	// Value is the median over the variant's runs, or for a regression
	// the change of the medians against the baseline in the worse
	// direction; absent when Skipped.
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	// Runs are the runs Value is the median of; BaselineRuns the
	// baseline's, for a regression.
	Runs         int `json:"runs"`
	BaselineRuns int `json:"baseline_runs,omitempty"`
	// P is a regression's Mann-Whitney U p-value.
	P float64 `json:"p,omitempty"`
	// Failed: the expression held (for a regression: and the change is
	// significant); Over is by how much Value passed Limit, in Unit.
	Failed bool    `json:"failed"`
	Over   float64 `json:"over,omitempty"`
	// Skipped: not evaluated (the runs lack the metric, or no baseline).
	Skipped bool `json:"skipped,omitempty"`
	// Detail says it in words: the value, the limit, the test.
	Detail string `json:"detail"`
}
