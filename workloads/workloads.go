// Package workloads runs the load: a number of event loops (one per CPU by
// default), each locked to its OS thread and owning its connections, its
// recorders and its timers outright, so the hot path takes no locks. A
// connection is a small state machine driven by epoll, not a goroutine.
//
// A workload decides what a connection does (exchange a request and a
// response or not, keep the connection or open a new one per transaction);
// the load model (closed loop over a number of concurrent connections, for a
// duration or a number of transactions, after a warm-up) is common to all.
// Run returns values; it prints nothing.
package workloads

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
)

// Workload describes one kind of load.
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
}

// Registry maps workload names to their definitions.
var Registry = map[string]Workload{
	"per-request": {Name: "per-request", Exchange: true,
		Summary: "connect, send the request, read the full response, close; one new connection per request (netperf TCP_CRR)"},
	"pooled": {Name: "pooled", Exchange: true, Persistent: true,
		Summary: "-c persistent connections, request and response in lockstep (netperf TCP_RR)"},
	"connect": {Name: "connect",
		Summary: "connect, then close; no data (netperf TCP_CC)"},
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

// Phases lists the phase names in display order.
var Phases = []string{PhaseHandshake, PhaseFirstByte, PhaseResponse, PhaseTransaction}

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
	// Request is the request payload. Empty: RequestSize bytes of 'q'.
	Request []byte `json:"-"`
	// RequestSize is len(Request) in bytes. Zero: 1.
	RequestSize int `json:"request_size"`
	// ResponseSize is how many bytes make a complete response. Zero: 1.
	ResponseSize int `json:"response_size"`
	// Socket holds the client socket options.
	Socket dialer.Options `json:"socket"`
	// Timeouts bound the handshake and the response.
	Timeouts dialer.Timeouts `json:"timeouts"`
}

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
	if c.Concurrency < 0 {
		return fmt.Errorf("workloads: --concurrency %d: must be at least 1", c.Concurrency)
	}
	if c.Duration < 0 || c.Requests < 0 || c.Warmup < 0 {
		return errors.New("workloads: --duration, --requests and --warmup cannot be negative")
	}
	if c.Duration == 0 && c.Requests == 0 {
		return errors.New("workloads: set --duration or --requests")
	}
	if c.Loops < 0 {
		return fmt.Errorf("workloads: --loops %d: must be at least 1", c.Loops)
	}
	if c.Loops == 0 {
		c.Loops = numCPU
	}
	c.Loops = min(c.Loops, c.Concurrency)
	if len(c.Request) == 0 {
		if c.RequestSize == 0 {
			c.RequestSize = 1
		}
		if c.RequestSize < 0 {
			return fmt.Errorf("workloads: --request-size %d: must be at least 1", c.RequestSize)
		}
		c.Request = make([]byte, c.RequestSize)
		for i := range c.Request {
			c.Request[i] = 'q'
		}
	}
	c.RequestSize = len(c.Request)
	if c.ResponseSize == 0 {
		c.ResponseSize = 1
	}
	if c.ResponseSize < 0 {
		return fmt.Errorf("workloads: --response-size %d: must be at least 1", c.ResponseSize)
	}
	if c.Timeouts.Connect < 0 || c.Timeouts.Response < 0 {
		return errors.New("workloads: --connect-timeout and --timeout cannot be negative")
	}
	return nil
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
	// Failures counts failed transactions by class (dialer.Fail*).
	Failures map[string]int64
	// Phases holds the latency recorders by phase name (Phase*).
	Phases map[string]*histogram.Recorder
	// CPUUser and CPUSys are the event-loop threads' CPU time in the
	// measured part (not the listener's, not the Go runtime's).
	CPUUser, CPUSys time.Duration
}

// FailuresTotal sums Failures.
func (r *Result) FailuresTotal() int64 {
	var n int64
	for _, v := range r.Failures {
		n += v
	}
	return n
}
