// Package metrics serves a run's live figures over HTTP in the Prometheus
// text format (and OpenMetrics, when the scraper asks for it), so that a
// Prometheus scraping every load generator of a farm shows the whole run
// while it goes.
//
// It hooks into a run as a runner.Observer wrapper: every interval the
// runner reports (workloads.Interval) is passed on to the wrapped Observer
// unchanged and added to the figures served. The runner knows nothing of
// it. What is served:
//
//   - counters of the measured part (warm-up intervals left out, as in the
//     result document): connections, transactions, bytes each way, failures
//     by class, intervals;
//   - gauges at the last interval's end: in flight, held (hold), sockets by
//     TCP state (TIME_WAIT among them), local ports in use, whether the run
//     is going and in its warm-up;
//   - a histogram per latency phase (handshake, first_byte, transaction...)
//     with fixed buckets from 10 µs to 60 s (Buckets), filled from the
//     intervals' HdrHistograms (see Buckets for how exactly).
//
// Every series carries the labels segment ("I/N": this generator's share
// of a run split over several), run_id (one id for all the generators of
// a run) and variant (the run's label: the workload for run, the variant
// for compare).
//
// Runs made in child processes (a --procs run's shares, compare's variants
// in fresh network namespaces) reach it too: the wrapper is a
// runner.ChildObserver, so the children forward their intervals to this
// process as they go. A variant's counters and histograms add up over its
// processes and repetitions; its gauges are the sum over the processes
// still running (or last run).
//
// Exposition is github.com/prometheus/client_golang's: its registry checks
// the metric and label names and the consistency of every scrape, and its
// handler negotiates the text and OpenMetrics formats and compression.
package metrics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/connbench/connbench/runner"
	"github.com/connbench/connbench/workloads"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the figures are served.
const Path = "/metrics"

// Labels are the values of the labels every series carries.
type Labels struct {
	// Segment is this generator's share of the run, "I/N"; "" means "1/1"
	// (the whole run).
	Segment string
	// RunID names the run all the segments belong to; "" means a random
	// id made by Serve (each process then has its own).
	RunID string
}

// labelsOf is the labels of a run of s.
//
// The segment and the run id come from the spec once it carries them
// (--segment, and the run id the segments share); until then every run is
// the whole run, "1/1", with an id of its own.
func labelsOf(s *runner.Spec) Labels {
	return Labels{Segment: "1/1"}
}

// Server serves one plan's figures. A nil *Server serves nothing: its
// Observer returns the Observer it is given and Close does nothing, so
// that a command wires it the same way with or without --metrics-addr.
type Server struct {
	ctx    context.Context
	ln     net.Listener
	srv    *http.Server
	col    *collector
	linger time.Duration
	served chan struct{} // closed when the HTTP server has stopped

	mu        sync.Mutex
	finalRead chan struct{} // closed by the first scrape after the run ended
	readOnce  sync.Once
}

// Serve starts serving the figures of plan p made from spec s at
// --metrics-addr; it returns nil when s asks for none. It says on obs
// where it serves. ctx ends the wait for a last scrape (Close). A failure
// to listen is an error naming the flag.
func Serve(ctx context.Context, s *runner.Spec, p *runner.Plan, obs runner.Observer) (*Server, error) {
	addr, ok := s.MetricsListen()
	if !ok {
		return nil, nil
	}
	labels := labelsOf(s)
	var order []string
	for rep := 0; rep < max(1, p.Repeat); rep++ {
		for _, v := range p.Variants {
			order = append(order, v.Label)
		}
	}
	return start(ctx, addr.String(), labels, order, s.MetricsLinger, obs)
}

// start listens on addr and serves the figures of runs labelled, in the
// order they start, by order.
func start(ctx context.Context, addr string, l Labels, order []string, linger time.Duration, obs runner.Observer) (*Server, error) {
	if l.Segment == "" {
		l.Segment = "1/1"
	}
	if l.RunID == "" {
		l.RunID = newRunID()
	}
	col := newCollector(l, order)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(col); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	s := &Server{ctx: ctx, ln: ln, col: col, linger: linger, served: make(chan struct{}), finalRead: make(chan struct{})}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.HTTPErrorOnError, MaxRequestsInFlight: 4})
	mux := http.NewServeMux()
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		finished := col.isFinished()
		h.ServeHTTP(w, r)
		if finished {
			s.readOnce.Do(func() { close(s.finalRead) })
		}
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	say := obs.Say
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !strings.HasSuffix(addr, fmt.Sprintf(":%d", a.Port)) {
		say = obs.Warn // the kernel picked the port: --quiet or not, say which
	}
	say("live metrics at http://%s%s (segment %s, run_id %s)", ln.Addr(), Path, l.Segment, l.RunID)
	return s, nil
}

// newRunID is a random run id: 16 hex digits.
func newRunID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b)
}

// Addr is where s listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Observer returns obs wrapped: everything passes on to obs, and the
// intervals of every workload run are added to s's figures.
func (s *Server) Observer(obs runner.Observer) runner.Observer {
	if s == nil {
		return obs
	}
	return observer{Observer: obs, col: s.col}
}

// Close marks the plan finished, waits for one scrape to read the final
// figures (at most --metrics-linger, or until the context given to Serve
// ends), and stops the server.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.col.finish()
	if s.linger > 0 {
		t := time.NewTimer(s.linger)
		select {
		case <-s.finalRead:
		case <-t.C:
		case <-s.ctx.Done():
		}
		t.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		s.srv.Close() // a scrape that would not end
	}
	<-s.served
}

// observer is the Observer wrapper.
type observer struct {
	runner.Observer
	col *collector
}

func (o observer) Live(cfg workloads.Config) runner.Live {
	return live{Live: o.Observer.Live(cfg), st: o.col.start(cfg)}
}

// ChildLive follows a run made in a child process (runner.ChildObserver),
// passing it on to the wrapped Observer if that follows them too.
func (o observer) ChildLive(label string, cfg workloads.Config) runner.Live {
	var inner runner.Live = nopLive{}
	if co, ok := o.Observer.(runner.ChildObserver); ok {
		inner = co.ChildLive(label, cfg)
	}
	return live{Live: inner, st: o.col.startChild(label, cfg)}
}

// live passes a workload run's intervals on, and records them.
type live struct {
	runner.Live
	st *stream
}

func (l live) Interval(iv workloads.Interval) {
	l.st.interval(iv)
	l.Live.Interval(iv)
}

func (l live) Done() {
	l.st.done()
	l.Live.Done()
}

type nopLive struct{}

func (nopLive) Interval(workloads.Interval) {}
func (nopLive) Done()                       {}
