// Package workloads puts a workload's load on a target and measures it: Run
// drives the connections from event loops and returns a Result. It must not
// print, read flags or render results, and its hot path must not lock,
// allocate or make a syscall that a connection does not need.
package workloads

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/segment"
)

// Workload describes one kind of load: what a connection does (exchange a
// request and a response or not, keep the connection or open a new one per
// transaction). The load model (a closed loop over a number of concurrent
// connections, or an open loop at a rate; for a duration or a number of
// transactions, after a warm-up) is common to all.
type Workload struct {
	// Name is what users type (-w NAME).
	Name string
	// Summary is a one-line description for --help.
	Summary string
	// Exchange: each transaction writes the request and reads a full response.
	// False: a transaction is only the handshake (connect, then close).
	Exchange bool
	// Persistent: connections are kept and reused for the next transaction.
	// False: every transaction opens a new connection and closes it after.
	Persistent bool
	// NeedsRate: the workload is open-loop by nature and needs Config.Rate.
	NeedsRate bool
}

// Registry maps workload names to their definitions; a new workload is an
// entry here. When its connections do more than Exchange and Persistent
// say (the common state machine, conn_linux.go), it also gets a file of its
// own, NAME_linux.go, with a mode of hooks listed in modes (mode_linux.go),
// as hold does; checks of its settings go in Config.Normalize.
var Registry = map[string]Workload{
	"per-request": {Name: "per-request", Exchange: true,
		Summary: "connect, send the request, read the full response, close; one new connection per request (netperf TCP_CRR)"},
	"pooled": {Name: "pooled", Exchange: true, Persistent: true,
		Summary: "-c persistent connections, request and response in lockstep (netperf TCP_RR)"},
	"connect": {Name: "connect",
		Summary: "connect, then close; no data (netperf TCP_CC)"},
	"hold": {Name: "hold", Persistent: true, NeedsRate: true,
		Summary: "open -n connections at --rate per second, hold them all for --duration (with --ping D, one request per connection every D), then close: time to open, connections held, memory per connection"},
	"backlog": {Name: "backlog", Exchange: true,
		Summary: "per-request against a server that accepts too slowly (built-in listener: --backlog 16 and --accept-delay 10ms unless set): SYNs dropped at the full accept queue, handshakes at the retransmission times, ListenOverflows/ListenDrops, who got through and who timed out"},
	"synflood": {Name: "synflood", Exchange: true,
		Summary: "per-request from legitimate clients while spoofed SYNs (--flood-rate per second, sources in 198.18.0.0/15) flood the built-in listener, all inside connbench's own namespaces (root): SYN_RECV, syncookies, the legitimate success share"},
	"churn": {Name: "churn", NeedsRate: true,
		Summary: "open connections at --rate per second, optionally exchange one request (--exchange), close from the client: watch TIME_WAIT fill the ports"},
}

// Names lists the registered workloads, sorted.
func Names() []string {
	var n []string
	for k := range Registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Phase names, the keys of Result.Phases. All values are nanoseconds.
const (
	// PhaseHandshake: from the connect() call to the socket being writable
	// with no error. Recorded only for new connections.
	PhaseHandshake = "handshake"
	// PhaseFirstByte: from the request being fully written to the first
	// response byte read.
	PhaseFirstByte = "first_byte"
	// PhaseResponse: from the request being fully written to the last
	// response byte read.
	PhaseResponse = "response"
	// PhaseTransaction: the whole transaction, from its start (the connect()
	// call when it opens a connection, else the first write) to the last
	// response byte (for connect-only workloads: to the handshake's end).
	PhaseTransaction = "transaction"
)

// Open-loop phases (Config.Rate > 0).
const (
	// PhaseScheduled: the whole transaction timed from its scheduled
	// (intended) start, so that a stall delays and counts every
	// transaction due during it (no coordinated omission).
	PhaseScheduled = "scheduled"
	// PhaseStartLag: how late a transaction started against its schedule.
	PhaseStartLag = "start_lag"
)

// PhaseConnectCall is the duration of the connect() system call itself,
// recorded per band of ephemeral-port occupancy toward the target: the
// kernel's port search gets slower as the range fills.
const PhaseConnectCall = "connect_call"

// OccupancyBands names the bands of PhaseConnectCall, by the share of the
// port range in use when the connect() was made.
var OccupancyBands = []string{"lt50", "50_75", "75_90", "90_100"}

// Phases from the connect() (or Fast Open sendto()) call to the first
// response byte, for transactions that open their connection (per-request,
// churn with --exchange). With Fast Open, connect() can return before any
// packet left and the request rides in the SYN, so the handshake and the
// first-byte phases no longer add up to what the client waited: this one is
// the honest figure. Cold and warm split it by whether the SYN carried the
// request (TCP_INFO's SYN-data flag): cold connections had no cookie yet,
// or the server ignored the data. Cold and warm are recorded only with Fast
// Open on.
const (
	PhaseConnectFirstByte = "connect_first_byte"
	PhaseFastOpenCold     = "connect_first_byte_cold"
	PhaseFastOpenWarm     = "connect_first_byte_warm"
)

// Phases lists the phase names recorded per loop, in display order.
var Phases = []string{PhaseHandshake, PhaseFirstByte, PhaseResponse, PhaseTransaction, PhaseScheduled, PhaseStartLag,
	PhaseConnectFirstByte, PhaseFastOpenCold, PhaseFastOpenWarm}

// Config is one run's load and connection settings. Zero values are filled
// by Normalize as documented per field.
type Config struct {
	// Workload is a Registry name. Zero: "per-request".
	Workload string `json:"workload"`
	// Target is the server to connect to.
	Target netip.AddrPort `json:"target"`
	// Concurrency is the number of connections in flight (closed loop).
	// Zero: 1.
	Concurrency int `json:"concurrency"`
	// Duration is how long the measured part runs. Zero: until Requests
	// transactions were attempted (one of the two must be set).
	Duration time.Duration `json:"duration_ns"`
	// Requests stops the run after this many measured transactions were
	// attempted (completed or failed). Zero: no limit but Duration.
	Requests int64 `json:"requests"`
	// Warmup runs the load this long before measuring; nothing started in
	// the warm-up is recorded. Zero: no warm-up.
	Warmup time.Duration `json:"warmup_ns"`
	// Loops is the number of event loops (threads). Zero: runtime.NumCPU(),
	// and never more than Concurrency.
	Loops int `json:"loops"`
	// Protocol frames the exchange: it makes the request and finds where
	// each response ends (HTTP, redis, memcached). Nil: raw, a fixed-size
	// request and a response complete after ResponseSize bytes.
	Protocol protocol.Protocol `json:"protocol,omitempty"`
	// Request is the request payload. Empty: RequestSize bytes of 'q'.
	// With a Protocol, Normalize sets it to the protocol's request (with
	// keep-alive for persistent workloads).
	Request []byte `json:"-"`
	// RequestSize is len(Request) in bytes. Zero: 1.
	RequestSize int `json:"request_size"`
	// ResponseSize is how many bytes make a complete response. Zero: 1.
	// Unused with a Protocol.
	ResponseSize int `json:"response_size"`
	// Socket holds the client socket options.
	Socket dialer.Options `json:"socket"`
	// Timeouts bound the handshake and the response.
	Timeouts dialer.Timeouts `json:"timeouts"`
	// Rate, when above zero, makes the run open-loop: transactions start on
	// a fixed schedule of Rate per second shared by the loops, however slow
	// the server is. Zero: closed loop over Concurrency connections.
	Rate float64 `json:"rate,omitempty"`
	// RateEnd, when above zero, ramps the rate linearly from Rate at the
	// start of the measured part to RateEnd at its end (needs Duration).
	RateEnd float64 `json:"rate_end,omitempty"`
	// MaxInflight bounds the transactions in flight in an open-loop run
	// without persistent connections (for pooled, Concurrency is the pool).
	// Zero: 4096.
	MaxInflight int `json:"max_inflight,omitempty"`
	// Ping, for the hold workload, makes every held connection send the
	// request and read the response every Ping. Zero: held connections
	// stay silent.
	Ping time.Duration `json:"ping_ns,omitempty"`
	// Exchange makes churn send the request and read the response before
	// closing. Other workloads ignore it.
	Exchange bool `json:"exchange,omitempty"`
	// UntilExhausted stops the run at the first interval in which most
	// connection attempts failed with EADDRNOTAVAIL (port exhaustion), or
	// in which the kernel's port search stalled connect() (see
	// Result.Stall); Result.StoppedBy says which.
	UntilExhausted bool `json:"until_exhausted,omitempty"`
	// Interval is the time-series interval. Zero: 1 s.
	Interval time.Duration `json:"interval_ns"`
	// Spin is the longest a loop with work in flight polls for events
	// (epoll_wait without a timeout) before it sleeps in epoll_wait; the
	// window adapts (loop.wait). Zero: it sleeps at once.
	Spin time.Duration `json:"spin_ns,omitempty"`
	// PortRange is the number of ephemeral ports available per source
	// address toward the target, used to band connect() call times by
	// occupancy. Zero: no banding.
	PortRange int `json:"-"`
	// NoSample turns off socket-state and kernel-counter sampling.
	NoSample bool `json:"-"`
	// HardStop, when closed, stops the run at once, abandoning what is in
	// flight. (Cancelling Run's context only stops new work: transactions
	// in flight finish or time out first.)
	HardStop <-chan struct{} `json:"-"`
	// OnReady, when set, is called once everything the run allocates up
	// front (slots, recorders) is allocated, just before the loops start:
	// callers measuring memory per connection read the baseline there.
	OnReady func() `json:"-"`
	// HoldRelease, when set, is called (on a goroutine of its own) once
	// this process's hold connections are all resolved, and returns when
	// the hold may start its Duration: when the other processes of a run
	// split over processes have opened theirs too, so that all are held
	// at once. Nil: the hold starts at once.
	HoldRelease func() `json:"-"`
	// StartDelay puts off an open-loop schedule's first start by this
	// long after the start (a hold split over processes opens their
	// shares in turns: see runner's hold lanes). 0: none.
	StartDelay time.Duration `json:"-"`
	// OnMeasure, when set, is called once when the measured part begins
	// (after the warm-up), so callers can snapshot their own counters.
	OnMeasure func() `json:"-"`
	// TCPInfo reads every new connection's TCP_INFO after its handshake
	// to count handshakes that needed a SYN retransmission (set for
	// emulated paths, where SYNs are lost). Fast Open reads it anyway.
	TCPInfo bool `json:"-"`
	// Spawn, when set, starts the run's threads (event loops and the
	// coordinator that samples the kernel) instead of a plain go
	// statement: an emulated path uses it to start them inside the
	// client's network namespace. f must run on a goroutine of its own;
	// an error means f was not started, and the run fails.
	Spawn func(f func()) error `json:"-"`
	// OwnNamespace says the run's network namespace was made for this run
	// alone (an isolated compare variant's), so every socket sampled in
	// it is the run's: KernelStats.Scope is ScopeNamespace. A run with
	// Spawn set (an emulated path's client namespace) is taken as such
	// without it.
	OwnNamespace bool `json:"-"`
	// Segment is this generator's share of a run split over several
	// (--segment, --procs). Concurrency, Requests, MaxInflight, the
	// sources, Rate and RateEnd are already its share; the open-loop
	// schedule is the whole run's (Rate / Segment.Fraction()) of which this
	// generator starts the arrivals whose index falls in the segment, so
	// that the generators' arrivals interleave. Zero: the whole run.
	Segment segment.Segment `json:"segment,omitzero"`
	// WholeRate and WholeRateEnd are, with a Segment, the whole run's
	// Rate and RateEnd as given (the schedule's rates exactly, where
	// Rate / Segment.Fraction() may be off in the last bit). Zero: derived
	// from Rate and RateEnd.
	WholeRate    float64 `json:"-"`
	WholeRateEnd float64 `json:"-"`
	// OnInterval, when set, is called from the run's coordinating goroutine
	// with each finished interval, for live progress. It must not block.
	OnInterval func(Interval) `json:"-"`

	// TLS (issue 20). When on, the run goes through the TLS path
	// (tls_linux.go): a goroutine per connection in flight instead of the
	// event loops. Nil: plain TCP through the engine.
	TLS *TLSConfig `json:"tls,omitempty"`
	// The pool's reuse limits (pooled only), checked as each transaction
	// ends: a connection is never cut in the middle of one.
	//
	// RequestsPerConn closes a pooled connection (as Socket.Close says:
	// FIN or RST) after this many transactions and opens a new one: in a
	// closed loop the next transaction opens it and pays its handshake,
	// in an open loop it is opened at once, for a later transaction.
	// Zero: never (a pool that keeps its connections); at most
	// MaxRequestsPerConn.
	RequestsPerConn int64 `json:"requests_per_conn,omitempty"`
	// MaxConnAge does the same once a connection is this old, counted
	// from its connect() call. Zero: never.
	MaxConnAge time.Duration `json:"max_conn_age_ns,omitempty"`
}

// Bounds that Normalize enforces, so that no setting sizes an allocation
// past them.
const (
	// MaxSlots bounds Concurrency, MaxInflight and hold's Requests: each
	// is a connection slot allocated up front (SlotBytes each).
	MaxSlots = 10_000_000
	// MaxLoops bounds Loops.
	MaxLoops = 1024
	// MaxRequestSize bounds RequestSize and len(Request).
	MaxRequestSize = 64 << 20
	// MaxRate bounds Rate and RateEnd (per second).
	MaxRate = 10_000_000
	// MaxRequestsPerConn bounds RequestsPerConn (a connection's count
	// is an int32).
	MaxRequestsPerConn = 1_000_000_000
)

// Normalize fills defaults and checks the configuration. Errors name the
// setting by its command-line flag.
func (c *Config) Normalize(numCPU int) error {
	if c.Workload == "" {
		c.Workload = "per-request"
	}
	if _, ok := Registry[c.Workload]; !ok {
		return fmt.Errorf("workloads: --workload %q: unknown (known: %v)", c.Workload, Names())
	}
	if !c.Target.IsValid() || c.Target.Port() == 0 {
		return fmt.Errorf("workloads: target %q: need HOST:PORT with a non-zero port", c.Target)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Concurrency < 0 || c.Concurrency > MaxSlots {
		return fmt.Errorf("workloads: --concurrency %d: out of range (allowed: 1 to %d)", c.Concurrency, MaxSlots)
	}
	if c.Duration < 0 || c.Requests < 0 || c.Warmup < 0 {
		return errors.New("workloads: --duration, --requests and --warmup cannot be negative")
	}
	if c.Workload == "hold" {
		// -n is the number of connections to open and hold; --duration
		// how long to hold them once all were tried.
		if c.Requests <= 0 {
			return errors.New("workloads: --workload hold needs -n N, the number of connections to open and hold")
		}
		if c.Warmup > 0 {
			return errors.New("workloads: --workload hold has no --warmup: every connection it opens is measured")
		}
		if c.UntilExhausted {
			return errors.New("workloads: --until-exhausted is for churn: hold counts its failures by class instead")
		}
		if c.Requests > MaxSlots {
			return fmt.Errorf("workloads: -n %d: at most %d connections", c.Requests, MaxSlots)
		}
		c.Concurrency = int(c.Requests)
	} else if c.Ping != 0 {
		return fmt.Errorf("workloads: --ping is for --workload hold, not %s", c.Workload)
	}
	if c.Ping < 0 {
		return errors.New("workloads: --ping cannot be negative")
	}
	if c.Duration == 0 && c.Requests == 0 {
		return errors.New("workloads: set --duration or --requests")
	}
	if c.Loops < 0 || c.Loops > MaxLoops {
		return fmt.Errorf("workloads: --loops %d: out of range (allowed: 0 to %d)", c.Loops, MaxLoops)
	}
	if c.Loops == 0 {
		c.Loops = numCPU
	}
	if !c.open() || Registry[c.Workload].Persistent {
		c.Loops = min(c.Loops, c.Concurrency)
	}
	if c.Protocol != nil {
		c.Request = c.Protocol.Request(Registry[c.Workload].Persistent)
	}
	if len(c.Request) == 0 {
		if c.RequestSize == 0 {
			c.RequestSize = 1
		}
		if c.RequestSize < 0 || c.RequestSize > MaxRequestSize {
			return fmt.Errorf("workloads: --request-size %d: out of range (allowed: 1 to %d)", c.RequestSize, MaxRequestSize)
		}
		c.Request = make([]byte, c.RequestSize)
		for i := range c.Request {
			c.Request[i] = 'q'
		}
	}
	if len(c.Request) > MaxRequestSize {
		return fmt.Errorf("workloads: --request: %d bytes, at most %d", len(c.Request), MaxRequestSize)
	}
	c.RequestSize = len(c.Request)
	if c.ResponseSize == 0 {
		c.ResponseSize = 1
	}
	if c.ResponseSize < 0 {
		return fmt.Errorf("workloads: --response-size %d: must be at least 1", c.ResponseSize)
	}
	if c.Socket.FastOpen != dialer.FastOpenOff && (!c.exchange() || c.Workload == "hold") {
		return fmt.Errorf("workloads: --fastopen puts the request into the SYN: --workload %s sends none (use per-request, or churn with --exchange)", c.Workload)
	}
	if c.Timeouts.Connect < 0 || c.Timeouts.Response < 0 {
		return errors.New("workloads: --connect-timeout and --timeout cannot be negative")
	}
	if !c.Segment.Valid() {
		return fmt.Errorf("workloads: segment %s: not a segment of a run", c.Segment)
	}
	// Written so that NaN fails: it compares false with everything.
	if !(c.Rate >= 0 && c.Rate <= MaxRate && c.RateEnd >= 0 && c.RateEnd <= MaxRate) {
		return fmt.Errorf("workloads: --rate %g:%g: out of range (allowed: 0 to %d)", c.Rate, c.RateEnd, MaxRate)
	}
	if Registry[c.Workload].NeedsRate && c.Rate <= 0 && c.RateEnd <= 0 {
		return fmt.Errorf("workloads: --workload %s needs --rate N (connections per second)", c.Workload)
	}
	if c.RateEnd > 0 && c.Duration == 0 {
		return errors.New("workloads: a ramped --rate A:B needs --duration")
	}
	if c.RateEnd > 0 && c.Rate == 0 && c.Warmup > 0 {
		return errors.New("workloads: a ramp from 0 cannot have a --warmup")
	}
	if c.MaxInflight < 0 || c.MaxInflight > MaxSlots {
		return fmt.Errorf("workloads: --max-inflight %d: out of range (allowed: 1 to %d)", c.MaxInflight, MaxSlots)
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = 4096
	}
	if c.Interval < 0 {
		return errors.New("workloads: --interval cannot be negative")
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.Spin < 0 || c.Spin > MaxSpin {
		return fmt.Errorf("workloads: --spin %s: out of range (allowed: 0 to %s)", c.Spin, MaxSpin)
	}
	if c.Interval < 10*time.Millisecond {
		return fmt.Errorf("workloads: --interval %s: at least 10ms", c.Interval)
	}
	if c.open() && !Registry[c.Workload].Persistent {
		c.Loops = min(max(c.Loops, 1), c.MaxInflight)
	}
	if c.RequestsPerConn < 0 || c.RequestsPerConn > MaxRequestsPerConn {
		return fmt.Errorf("workloads: --requests-per-conn %d: out of range (allowed: 1 to %d, or 0: never)", c.RequestsPerConn, MaxRequestsPerConn)
	}
	if c.MaxConnAge < 0 {
		return errors.New("workloads: --max-conn-age cannot be negative")
	}
	if (c.RequestsPerConn > 0 || c.MaxConnAge > 0) && c.Workload != "pooled" {
		return fmt.Errorf("workloads: --requests-per-conn and --max-conn-age recycle a pool's connections: for --workload pooled, not %s", c.Workload)
	}
	return nil
}

// open reports whether the run is open-loop.
func (c *Config) open() bool { return c.Rate > 0 || c.RateEnd > 0 }

// exchange reports whether transactions carry a request and response.
func (c *Config) exchange() bool {
	w := Registry[c.Workload]
	return w.Exchange || (c.Workload == "churn" && c.Exchange) || (c.Workload == "hold" && c.Ping > 0)
}

// Result is what one run measured, merged over its loops.
type Result struct {
	Config Config
	// Start is the wall-clock time the measured part began.
	Start time.Time
	// Elapsed is the measured time: from the end of the warm-up to the end
	// of the run (the duration, or the last transaction's end).
	Elapsed time.Duration
	// Partial is true when the run was stopped before its end.
	Partial bool
	// Connections counts new connections whose handshake completed.
	Connections int64
	// Transactions counts completed transactions (for connect-only
	// workloads, completed handshakes).
	Transactions int64
	// BytesSent and BytesReceived count payload bytes.
	BytesSent, BytesReceived int64
	// Failures counts failed transactions by class (dialer.Fail*, and
	// protocol.FailProtocol for a malformed response, protocol.FailTooLarge
	// for one past the framers' bounds).
	Failures map[string]int64
	// Statuses counts completed transactions by what the server answered
	// (protocol.Status names: "2xx".."5xx" for HTTP, "ok" and "error" for
	// redis and memcached). A non-2xx or error reply is a completed
	// transaction, counted here, not a failure. Nil without a Protocol.
	Statuses map[string]int64
	// Phases holds the latency recorders by phase name (Phase*).
	Phases map[string]*histogram.Recorder
	// CPUUser and CPUSys are the event-loop threads' CPU time in the
	// measured part (not the listener's, not the Go runtime's), as
	// getrusage(RUSAGE_THREAD) splits it. With tick-based accounting
	// (CONFIG_TICK_CPU_ACCOUNTING, most kernels) the kernel splits a
	// thread's exact runtime by where its timer ticks landed, and a loop
	// woken on a regular schedule can meet the tick at the same point of
	// its cycle every time: all of its time may show as system (user 0)
	// or half as user. CPUThread is the exact sum (the scheduler's
	// runtime, CLOCK_THREAD_CPUTIME_ID); trust it over the split.
	CPUUser, CPUSys time.Duration
	CPUThread       time.Duration
	// ConnectCall holds connect() call durations by occupancy band
	// (OccupancyBands order); empty bands have no values.
	ConnectCall []*histogram.Recorder
	// Series is the per-interval time series, warm-up intervals included
	// (marked). Its counts sum to the run's totals over measured intervals.
	Series []Interval
	// Kernel is what the kernel counted during the measured part; nil when
	// sampling was off or unavailable.
	Kernel *KernelStats
	// Exhausted is true when UntilExhausted stopped the run, and
	// StoppedBy says what it saw: StopAddrNotAvail or StopPortSearchStall.
	Exhausted bool
	StoppedBy string
	// Stall is the end of the first measured interval in which the
	// kernel's search for a free port stalled the loops (StallSeen), from
	// the start of the measured part; -1 if none.
	Stall time.Duration
	// ConnectCalls counts the measured connect() (or Fast Open sendto())
	// calls and ConnectCallTime is the time spent inside them; LoopBusy
	// is the loops' time outside epoll_wait in the measured part, summed
	// over loops.
	ConnectCalls              int64
	ConnectCallTime, LoopBusy time.Duration
	// TimerLateMax is the latest a connect, response or ping timer fired
	// after it was due in the measured part: a recorded handshake exceeds
	// the connect timeout by at most this much.
	TimerLateMax time.Duration
	// HeldByInflight counts open-loop starts (without persistent
	// connections) that were due while MaxInflight transactions were in
	// flight, and so waited for one to end.
	HeldByInflight int64
	// FirstAddrNotAvail is when the first EADDRNOTAVAIL happened, measured
	// from the start of the measured part; -1 if none.
	FirstAddrNotAvail time.Duration
	// Behind counts open-loop transactions that were due but had not
	// started when the run ended (the schedule could not be kept).
	Behind int64
	// Hold is the hold workload's record; nil for other workloads.
	Hold *HoldStats
	// TCPInfo is what TCP_INFO said about the measured new connections;
	// nil unless read (Config.TCPInfo or Fast Open).
	TCPInfo *TCPInfoStats
	// TLS is what the TLS path saw of its handshakes; nil without TLS.
	TLS *TLSStats

	// The pool's connections (persistent workloads, measured part).
	// Recycled counts connections the client closed at a reuse limit
	// (Config.RequestsPerConn, MaxConnAge) and replaced: their
	// replacements are among Connections. ServerClosed counts pooled
	// connections the server ended: with a response that said so (HTTP
	// "Connection: close"), while idle in an open-loop pool (seen at
	// once, replaced), or under a request that then got nothing back.
	// Retried counts the last kind: transactions retried once on a new
	// connection instead of counted as failures (see the engine's retry).
	Recycled, ServerClosed, Retried int64
	// SocketsReused counts measured connections made on the slot's
	// previous socket, reset rather than closed (dialer.Reuses).
	SocketsReused int64
	// Spin is the loops' time polling for events before sleeping
	// (Config.Spin), and SpinHits the polls that found them: CPU time
	// spent so that a response need not wake a sleeping loop.
	Spin            time.Duration
	Spins, SpinHits int64
}

// HoldStats is what the hold workload saw.
type HoldStats struct {
	// Asked is -n, the connections to open. Opened counts handshakes
	// that completed (also in Result.Connections); Held the connections
	// still open when the hold ended (opened, less those the server
	// closed or reset, or whose ping failed).
	Asked, Opened, Held int64
	// OpenTime is from the start to the last connection attempt's end
	// (success or failure): the time to open them all; -1 if the run was
	// stopped before.
	OpenTime time.Duration
}

// TCPInfoStats counts what the measured connections' TCP_INFO showed.
type TCPInfoStats struct {
	// Handshakes is the number of completed handshakes inspected, and
	// Retransmitted those whose SYN was retransmitted at least once
	// (tcpi_total_retrans right after the handshake). RTOs sums the
	// retransmission timeouts they took (tcpi_total_rto, Linux >= 6.7;
	// HasRTO false on older kernels).
	Handshakes, Retransmitted, RTOs int64
	HasRTO                          bool
	// FastOpen counts connections opened with Fast Open that got a
	// response, and SYNData those whose SYN carried the request and was
	// acknowledged with it (TCPI_OPT_SYN_DATA): the warm ones.
	FastOpen, SYNData int64
}

// MaxSpin bounds Config.Spin: a poll longer than a millisecond would only
// burn a CPU for what a sleep costs in far less.
const MaxSpin = time.Millisecond

// Interval is one entry of a run's time series.
type Interval struct {
	// Index counts intervals from the start of the run (warm-up included).
	Index int
	// Start and End are offsets from the start of the measured part
	// (negative during the warm-up).
	Start, End time.Duration
	// Warmup is true for intervals that ended before the measured part began.
	Warmup bool
	// Transactions, Connections, BytesSent and BytesReceived count what
	// completed in the interval (recorded transactions only).
	Transactions, Connections, BytesSent, BytesReceived int64
	// Failures counts failures by class.
	Failures map[string]int64
	// Inflight is the number of transactions in flight at the interval's end.
	Inflight int
	// Phases summarises the interval's latencies by phase name (count,
	// minimum, percentiles, maximum; not the mean and standard deviation),
	// and Hists holds the same histograms encoded (HdrHistogram V2
	// base64), for logs.
	Phases map[string]histogram.Summary
	Hists  map[string]string
	// States counts this run's sockets by TCP state at the interval's end
	// (client side: peer = target); nil when not sampled.
	States map[string]int
	// PortsInUse is the number of distinct local ports toward the target.
	PortsInUse int
	// Counters are the kernel counter deltas over the interval (KeyCounters).
	Counters map[string]int64
	// ConnectCalls counts the connect() calls of recorded transactions in
	// the interval, ConnectCallTime the time inside them and LoopBusy the
	// loops' time outside epoll_wait.
	ConnectCalls              int64
	ConnectCallTime, LoopBusy time.Duration
	// Stalled is true when the interval shows the port-search stall
	// (StallSeen).
	Stalled bool
}

// Values of Result.StoppedBy.
const (
	StopAddrNotAvail    = "EADDRNOTAVAIL"
	StopPortSearchStall = "port_search_stall"
)

// Stall thresholds (StallSeen).
const (
	// StallShare: connect() took more than this share of the loops' busy
	// time.
	StallShare = 0.5
	// StallOccupancy: at least this share of the port range (times the
	// sources) was in use toward the target. connect() takes even ports
	// first (odd ones are bind()'s), so its search slows sharply once
	// about half the range is taken; 40% leaves room for sampling.
	StallOccupancy = 0.4
	// StallConnectMean: connect() took this long on average; on a free
	// range it takes tens of µs, loopback handshake included.
	StallConnectMean = 100 * time.Microsecond
	// StallGrowth: and that many times its mean while the range was
	// mostly free (the baseline: intervals with under StallOccupancy in
	// use, where connect() still finds a free even port within a few
	// tries), so that a loaded machine's slow connect() is not taken for
	// the port search.
	StallGrowth = 4
)

// StallSeen reports whether an interval's figures show the kernel's port
// search stalling the loops: connect() took more than StallShare of their
// busy time, StallConnectMean per call on average and StallGrowth times
// base (its mean per call while the range was mostly free; 0: unknown, and
// then no stall is seen), with at least StallOccupancy of the port range
// (portRange ports times sources) in use; when the ports were not sampled
// (portsInUse < 0 or portRange 0) the others decide.
func StallSeen(connectCalls int64, connectTime, busy time.Duration, portsInUse, portRange int, base time.Duration) bool {
	if connectCalls == 0 || busy <= 0 || base <= 0 {
		return false
	}
	mean := connectTime / time.Duration(connectCalls)
	if float64(connectTime) <= StallShare*float64(busy) || mean < StallConnectMean || mean < StallGrowth*base {
		return false
	}
	if portsInUse >= 0 && portRange > 0 && float64(portsInUse) < StallOccupancy*float64(portRange) {
		return false
	}
	return true
}

// KernelStats is what the kernel said about a run.
type KernelStats struct {
	// Counters are deltas of kernel.KeyCounters over the measured part.
	Counters map[string]int64
	// PeakStates is the highest count seen per TCP state.
	PeakStates map[string]int
	// PeakPortsInUse is the highest number of local ports in use toward
	// the target at any sample.
	PeakPortsInUse int
	// Samples is the number of socket-state samples taken; SampleMaxNs the
	// longest one took.
	Samples     int
	SampleMaxNs int64
	// StatesAtStart counts by TCP state the sockets toward the target
	// that were there before the run opened any (warm-up included):
	// earlier runs' TIME_WAIT, other clients'. Nil when not sampled; empty
	// when there were none.
	StatesAtStart map[string]int
	// Scope says which sockets the state figures count: ScopeNamespace
	// (a network namespace made for the run: only its own) or ScopeHost
	// (a shared namespace: StatesAtStart's sockets and any other
	// process's toward the target are counted too). "" when not sampled.
	Scope string
}

// The values of KernelStats.Scope.
const (
	ScopeNamespace = "namespace"
	ScopeHost      = "host"
)

// FailuresTotal sums Failures.
func (r *Result) FailuresTotal() int64 {
	var n int64
	for _, v := range r.Failures {
		n += v
	}
	return n
}
