package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/netpath"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/segment"
	"github.com/connbench/connbench/threshold"
	"github.com/connbench/connbench/workloads"
)

// Spec is everything one measured run needs, as the user asked for it: the
// values of the run flags (each field names its flag), which of them were
// given (Set), and what Validate derived from them. A Spec is what a child
// process receives, serialised as JSON: the raw fields travel, the derived
// ones are derived again by the child's Validate, so parent and child agree
// by construction. The zero value is not valid; the flag defaults are.
type Spec struct {
	Workload       string        `json:"workload"`                   // -w, --workload
	Concurrency    int           `json:"concurrency"`                // -c
	Duration       time.Duration `json:"duration"`                   // -d (0 with -n: until -n requests)
	Requests       int64         `json:"requests,omitempty"`         // -n
	Warmup         time.Duration `json:"warmup,omitempty"`           // --warmup
	Loops          int           `json:"loops,omitempty"`            // --loops (0: by CPUs)
	RequestSize    int           `json:"request_size"`               // --request-size
	ResponseSize   int           `json:"response_size"`              // --response-size
	Request        string        `json:"request,omitempty"`          // --request (a literal or @FILE)
	NoDelay        bool          `json:"nodelay,omitempty"`          // --nodelay
	ReuseAddr      bool          `json:"reuseaddr,omitempty"`        // --reuseaddr
	Close          string        `json:"close"`                      // --close fin|rst
	NewSocket      bool          `json:"new_socket,omitempty"`       // --new-socket
	BindNoPort     bool          `json:"bind_no_port,omitempty"`     // --bind-no-port
	Source         Sources       `json:"source"`                     // --source
	LocalPortRange string        `json:"local_port_range,omitempty"` // --local-port-range LO-HI
	ConnectTimeout time.Duration `json:"connect_timeout"`            // --connect-timeout
	Timeout        time.Duration `json:"timeout"`                    // --timeout
	Backlog        int           `json:"backlog,omitempty"`          // --backlog
	ReusePort      bool          `json:"reuseport,omitempty"`        // --reuseport
	ListenerLoops  int           `json:"listener_loops,omitempty"`   // --listener-loops
	Output         string        `json:"output,omitempty"`           // -o
	NoCheck        bool          `json:"no_check,omitempty"`         // --no-check
	Quiet          bool          `json:"quiet,omitempty"`            // -q
	CPUProfile     string        `json:"cpuprofile,omitempty"`       // --cpuprofile
	Child          bool          `json:"child,omitempty"`            // a run made for a parent connbench
	NoSample       bool          `json:"no_sample,omitempty"`        // --no-sample
	HLog           string        `json:"hlog,omitempty"`             // --hlog
	HGrm           string        `json:"hgrm,omitempty"`             // --hgrm
	StartAt        string        `json:"start_at,omitempty"`         // --start-at
	Procs          string        `json:"procs,omitempty"`            // --procs N|auto
	Rate           Rate          `json:"rate"`                       // --rate N or A:B
	MaxInflight    int           `json:"max_inflight"`               // --max-inflight
	Interval       time.Duration `json:"interval"`                   // --interval
	Spin           time.Duration `json:"spin"`                       // --spin
	UntilExhausted bool          `json:"until_exhausted,omitempty"`  // --until-exhausted
	Exchange       bool          `json:"exchange,omitempty"`         // --exchange
	Ping           time.Duration `json:"ping,omitempty"`             // --ping
	FloodRate      float64       `json:"flood_rate"`                 // --flood-rate
	RaiseLimits    bool          `json:"raise_limits,omitempty"`     // --raise-limits
	Protocol       string        `json:"protocol"`                   // --protocol
	HTTPPath       string        `json:"path,omitempty"`             // --path
	Headers        []string      `json:"headers,omitempty"`          // --header
	Host           string        `json:"host,omitempty"`             // --host
	Command        string        `json:"command,omitempty"`          // --command
	FastOpen       string        `json:"fastopen"`                   // --fastopen off|sendto|connect
	FastOpenQueue  int           `json:"fastopen_queue,omitempty"`   // --fastopen-queue
	AcceptDelay    time.Duration `json:"accept_delay,omitempty"`     // --accept-delay
	AcceptPause    string        `json:"accept_pause,omitempty"`     // --accept-pause [AFTER:]FOR
	Leak           bool          `json:"leak,omitempty"`             // --leak
	RTT            time.Duration `json:"rtt,omitempty"`              // --rtt
	Jitter         time.Duration `json:"jitter,omitempty"`           // --jitter
	Loss           string        `json:"loss,omitempty"`             // --loss
	DropSYN        string        `json:"drop_syn,omitempty"`         // --drop-syn
	RateLimit      string        `json:"rate_limit,omitempty"`       // --rate-limit
	PathRealtime   bool          `json:"path_realtime,omitempty"`    // --path-realtime
	// MainJob is the default command (pooled against per-request): the
	// built-in listener only.
	MainJob bool `json:"main_job,omitempty"`
	// Set names the flags the user gave (as pflag's Changed does): some
	// defaults depend on whether another flag was given.
	Set map[string]bool `json:"set,omitempty"`
	// Payload is the request --request named: its text, or the file's
	// bytes. Validate reads it once; it travels to child processes as
	// bytes (a file is not read again there, and bytes that are not UTF-8
	// survive JSON).
	Payload []byte `json:"payload,omitempty"`
	// VariedSysctls are the sysctls a compare variant set in this run's
	// network namespace; an emulated path copies them into its own.
	VariedSysctls map[string]string `json:"varied_sysctls,omitempty"`

	// TLS (issue 20): runner/tls.go.
	TLS         bool   `json:"tls,omitempty"`           // --tls
	TLSVersion  string `json:"tls_version,omitempty"`   // --tls-version 1.2|1.3
	TLSResume   string `json:"tls_resume,omitempty"`    // --tls-resume off|tickets
	TLSGroups   string `json:"tls_groups,omitempty"`    // --tls-groups
	TLSCiphers  string `json:"tls_ciphers,omitempty"`   // --tls-ciphers
	SNI         string `json:"sni,omitempty"`           // --sni
	ALPN        string `json:"alpn,omitempty"`          // --alpn
	TLSCA       string `json:"tls_ca,omitempty"`        // --tls-ca FILE
	TLSInsecure bool   `json:"tls_insecure,omitempty"`  // --tls-insecure
	TLSCert     string `json:"tls_cert,omitempty"`      // --tls-cert (built-in listener)
	TLSCertFile string `json:"tls_cert_file,omitempty"` // --tls-cert-file
	TLSKeyFile  string `json:"tls_key_file,omitempty"`  // --tls-key-file
	TLSTickets  string `json:"tls_tickets,omitempty"`   // --tls-tickets on|off (built-in listener)
	TLSPlain    bool   `json:"tls_plain,omitempty"`     // --tls-plain (hidden: the TLS path's overhead)
	// Pooling between the two extremes: the pool's reuse limits and the
	// built-in listener's keep-alive timeout (pooling.go).
	RequestsPerConn ReuseCount `json:"requests_per_conn,omitempty"` // --requests-per-conn N|inf (0: inf)
	MaxConnAge      AgeLimit   `json:"max_conn_age,omitempty"`      // --max-conn-age D|inf (0: inf)
	IdleClose       AgeLimit   `json:"idle_close,omitempty"`        // --idle-close D|inf (0: inf)
	// Thresholds (issue 19): --fail-on expressions and the --junit file
	// their outcomes are written to (thresholds.go).
	FailOn []string `json:"fail_on,omitempty"` // --fail-on (repeatable)
	JUnit  string   `json:"junit,omitempty"`   // --junit
	// Live metrics (--metrics-addr): where this process serves the run's
	// figures while it goes, and how long it waits for a last scrape.
	MetricsAddr   string        `json:"metrics_addr,omitempty"`   // --metrics-addr HOST:PORT ("" : not served)
	MetricsLinger time.Duration `json:"metrics_linger,omitempty"` // --metrics-linger (0: stop at the run's end)

	// Segments (many generators, one run): this generator's segment of a
	// run split over several, the run's id, and one-line JSON for logs.
	Segment segment.Segment `json:"segment,omitzero"` // --segment I/N or A/N:B/N (zero: the whole run)
	RunID   string          `json:"run_id,omitempty"` // --run-id (derived by Validate when not given)
	JSONL   bool            `json:"jsonl,omitempty"`  // --jsonl
	// hold at scale: a heap profile of the run (for developers).
	MemProfile string `json:"memprofile,omitempty"` // --memprofile
	// HoldSync: this child of a hold split over processes reports on
	// descriptor 3 when its share is open and starts its hold when
	// descriptor 4 reads end-of-file (holdBarrier); set by the parent only.
	HoldSync bool `json:"hold_sync,omitempty"`
	// HoldDelay puts off this child's first connection (its turn in the
	// hold's lanes); set by the parent only, checked: 0 to 24 h.
	HoldDelay time.Duration `json:"hold_delay,omitempty"`
	// HoldLaneRate is this child's own rate in the hold's lanes: it opens
	// its segment's share of -n at this rate after HoldDelay, on a schedule
	// of its own (not interleaved with the other processes'); set by the
	// parent only.
	HoldLaneRate float64 `json:"hold_lane_rate,omitempty"`

	// derived by Validate
	start    time.Time
	close    dialer.CloseMode
	lportLo  uint16
	lportHi  uint16
	proto    protocol.Options // --path, --host, --header, --command
	foMode   dialer.FastOpenMode
	pauseAt  time.Duration // --accept-pause AFTER:FOR
	pauseFor time.Duration
	pathCfg  *netpath.Config // nil: no emulated path
	procsN   int             // processes; 0 until planned
	ownNet   bool            // the run has a network namespace made for it (a child's)
	tls      tlsState        // --tls and its flags
	// thresholds are FailOn parsed.
	thresholds []threshold.Expr
	metrics    netip.AddrPort // --metrics-addr parsed; invalid: not served
	whole      *Spec          // the whole run's spec, once takeSegment took this segment's share
}

// changed reports whether the user gave flag name.
func (s *Spec) changed(name string) bool { return s.Set[name] }

// Clone returns a deep copy of s's raw fields (its derived ones are derived
// again by Validate).
func (s *Spec) Clone() *Spec {
	c := *s
	c.Headers = append([]string(nil), s.Headers...)
	c.FailOn = append([]string(nil), s.FailOn...)
	c.Set = map[string]bool{}
	for k, v := range s.Set {
		c.Set[k] = v
	}
	if s.VariedSysctls != nil {
		c.VariedSysctls = map[string]string{}
		for k, v := range s.VariedSysctls {
			c.VariedSysctls[k] = v
		}
	}
	c.Source.Addrs = append([]netip.Addr(nil), s.Source.Addrs...)
	return &c
}

// StartTime is --start-at as a time (zero: start at once).
func (s *Spec) StartTime() time.Time { return s.start }

// Validate checks the spec and derives what the run needs from it; every
// error is a usage error naming its flag and the bad value. It may be
// called again on the same spec (a child does) with the same outcome.
func (s *Spec) Validate() error {
	if s.Workload != "" {
		if _, ok := workloads.Registry[s.Workload]; !ok {
			return Usagef("--workload %q: unknown; choose one of %s", s.Workload, strings.Join(workloads.Names(), ", "))
		}
	}
	if err := s.checkRanges(); err != nil {
		return err
	}
	if err := s.checkPooling(); err != nil {
		return err
	}
	if s.Duration == 0 && s.Requests == 0 {
		return Usagef("--duration 0 needs --requests N: otherwise the run would never end")
	}
	if s.Workload == "hold" && s.Requests == 0 {
		return Usagef("--workload hold needs -n N: the number of connections to open and hold (for --duration)")
	}
	if s.Ping > 0 && s.Workload != "hold" {
		return Usagef("--ping is for --workload hold (held connections that ping now and then)")
	}
	if s.changed("requests") && !s.changed("duration") && s.Workload != "hold" {
		s.Duration = 0 // -n alone: run until the requests are done
	}
	if s.Rate.Ramp && s.Duration == 0 {
		return Usagef("--rate %s: a ramp needs --duration", s.Rate)
	}
	if s.Workload != "" && workloads.Registry[s.Workload].NeedsRate && !s.Rate.IsSet() {
		return Usagef("--workload %s needs --rate N (connections per second), e.g. --rate 2000", s.Workload)
	}
	if s.HoldDelay < 0 || s.HoldDelay > 24*time.Hour {
		return Usagef("child request: hold_delay %s: want 0 to 24h", s.HoldDelay)
	}
	if s.HoldLaneRate != 0 && !(s.HoldLaneRate > 0 && s.HoldLaneRate <= s.Rate.Start) {
		return Usagef("child request: hold_lane_rate %g: want more than 0 and at most --rate %g", s.HoldLaneRate, s.Rate.Start)
	}
	if s.StartAt != "" {
		t, err := parseStartAt(s.StartAt)
		if err != nil {
			return Usagef("--start-at %q: want an RFC 3339 time (2026-11-24T16:30:00Z) or Unix seconds", s.StartAt)
		}
		if time.Until(t) > MaxStartAhead {
			return Usagef("--start-at %s: more than a day away (allowed: up to 24h from now)", s.StartAt)
		}
		s.start = t
	}
	var err error
	if s.close, err = dialer.ParseCloseMode(s.Close); err != nil {
		return Usagef("--close %q: want fin or rst", s.Close)
	}
	if s.LocalPortRange != "" {
		lo, hi, ok := strings.Cut(s.LocalPortRange, "-")
		l, e1 := strconv.ParseUint(lo, 10, 16)
		h, e2 := strconv.ParseUint(hi, 10, 16)
		if !ok || e1 != nil || e2 != nil || l == 0 || l > h {
			return Usagef("--local-port-range %q: want LO-HI with 1 <= LO <= HI <= 65535", s.LocalPortRange)
		}
		s.lportLo, s.lportHi = uint16(l), uint16(h)
	}
	if err := s.validateProtocol(); err != nil {
		return err
	}
	if s.foMode, err = dialer.ParseFastOpenMode(s.FastOpen); err != nil {
		return Usagef("--fastopen=%q: want sendto (the default with --fastopen), connect or off", s.FastOpen)
	}
	s.pauseAt, s.pauseFor = 0, 0
	if s.AcceptPause != "" {
		var err error
		if s.pauseAt, s.pauseFor, err = ParseAcceptPause(s.AcceptPause); err != nil {
			return err
		}
	}
	if s.foMode != dialer.FastOpenOff && s.Workload != "" {
		if w := workloads.Registry[s.Workload]; !w.Exchange && !(s.Workload == "churn" && s.Exchange) {
			return Usagef("--fastopen puts the request into the SYN: --workload %s sends none (use per-request, or churn with --exchange)", s.Workload)
		}
	}
	s.pathCfg = nil
	if s.pathOn() {
		c, err := s.pathConfig()
		if err != nil {
			return err
		}
		s.pathCfg = &c
	}
	if s.changed("flood-rate") && s.Workload != "synflood" {
		return Usagef("--flood-rate is for --workload synflood")
	}
	if !(s.FloodRate >= 1 && s.FloodRate <= 1e6) {
		return Usagef("--flood-rate %g: out of range (allowed: 1 <= flood-rate <= 1,000,000 SYNs per second)", s.FloodRate)
	}
	switch s.Procs {
	case "", "1", "auto":
	default:
		if v, err := strconv.Atoi(s.Procs); err != nil || v < 1 || v > 256 {
			return Usagef("--procs %q: want a number from 1 to 256, or auto", s.Procs)
		}
	}
	if err := s.validateTLS(); err != nil {
		return err
	}
	s.experimentDefaults()
	if err := s.validateThresholds(); err != nil {
		return err
	}
	if err := s.checkMetrics(); err != nil {
		return err
	}
	if err := results.CheckOutputs(map[string]string{"-o": s.Output, "--hlog": s.HLog, "--hgrm": s.HGrm}); err != nil {
		return Usagef("%v", err)
	}
	if s.Request != "" && s.Payload == nil {
		if strings.HasPrefix(s.Request, "@") {
			b, err := readRequestFile(s.Request[1:])
			if err != nil {
				return err
			}
			s.Payload = b
		} else {
			s.Payload = []byte(s.Request)
		}
	}
	return s.validateSegment()
}

// checkRanges checks every numeric flag against its allowed range (the
// constants in limits.go); the error names the flag, the value and the range.
func (s *Spec) checkRanges() error {
	maxN := int64(MaxRequests)
	if s.Workload == "hold" {
		maxN = MaxConns // hold: -n connections, each a slot
	}
	for _, err := range []error{
		checkInt("concurrency", int64(s.Concurrency), 1, MaxConns),
		checkInt("max-inflight", int64(s.MaxInflight), 1, MaxConns),
		checkInt("requests", s.Requests, 0, maxN),
		checkDur("duration", s.Duration, 0, MaxRunTime),
		checkDur("warmup", s.Warmup, 0, MaxRunTime),
		checkInt("loops", int64(s.Loops), 0, MaxLoops),
		checkInt("listener-loops", int64(s.ListenerLoops), 0, MaxLoops),
		checkInt("request-size", int64(s.RequestSize), 1, MaxPayload),
		checkInt("response-size", int64(s.ResponseSize), 1, MaxResponse),
		checkInt("backlog", int64(s.Backlog), 0, MaxBacklog),
		checkInt("fastopen-queue", int64(s.FastOpenQueue), 0, MaxConns),
		checkDur("connect-timeout", s.ConnectTimeout, 0, MaxRunTime),
		checkDur("timeout", s.Timeout, 0, MaxRunTime),
		checkDur("accept-delay", s.AcceptDelay, 0, MaxRunTime),
		checkDur("interval", s.Interval, MinInterval, MaxInterval),
		checkDur("spin", s.Spin, 0, workloads.MaxSpin),
	} {
		if err != nil {
			return err
		}
	}
	if s.Ping != 0 {
		if err := checkDur("ping", s.Ping, MinPing, MaxPing); err != nil {
			return Usagef("%v; or 0: silent", err)
		}
	}
	return nil
}

// validateProtocol checks --protocol and its flags.
func (s *Spec) validateProtocol() error {
	s.proto = protocol.Options{Path: s.HTTPPath, Host: s.Host, Headers: s.Headers, Command: s.Command}
	p, err := protocol.New(s.Protocol, s.proto)
	if err != nil {
		return Usagef("%s", strings.TrimPrefix(err.Error(), "protocol: "))
	}
	if p == nil {
		return nil
	}
	if s.changed("request") || s.changed("request-size") {
		return Usagef("--request and --request-size are for --protocol raw: --protocol %s makes its own request", s.Protocol)
	}
	if s.MainJob && s.Protocol != "http" {
		return Usagef("--protocol %s: the built-in listener speaks raw and http only; run against a server with `connbench run --protocol %s HOST:PORT`", s.Protocol, s.Protocol)
	}
	return nil
}

// protocolFor builds the protocol for target (nil for raw); the options
// were checked by validate.
func (s *Spec) protocolFor(target netip.AddrPort) protocol.Protocol {
	opts := s.proto
	opts.Target = target
	p, err := protocol.New(s.Protocol, opts)
	if err != nil {
		return nil
	}
	return p
}

// Config builds the workload configuration for one workload and target.
func (s *Spec) Config(workload string, target netip.AddrPort) workloads.Config {
	cfg := workloads.Config{
		Workload:     workload,
		Target:       target,
		Protocol:     s.protocolFor(target),
		Concurrency:  s.Concurrency,
		Duration:     s.Duration,
		Requests:     s.Requests,
		Warmup:       s.Warmup,
		Loops:        s.Loops,
		Request:      s.Payload,
		RequestSize:  s.RequestSize,
		ResponseSize: s.ResponseSize,
		Socket: dialer.Options{
			NoDelay:        s.NoDelay,
			ReuseAddr:      s.ReuseAddr,
			Close:          s.close,
			NewSocket:      s.NewSocket,
			BindNoPort:     s.BindNoPort,
			Sources:        s.Source.Addrs,
			LocalPortRange: [2]uint16{s.lportLo, s.lportHi},
			FastOpen:       s.foMode,
		},
		Timeouts:       dialer.Timeouts{Connect: s.ConnectTimeout, Response: s.Timeout},
		Rate:           s.Rate.Start,
		RateEnd:        s.Rate.End,
		MaxInflight:    s.MaxInflight,
		Interval:       s.Interval,
		Spin:           s.Spin,
		UntilExhausted: s.UntilExhausted,
		Exchange:       s.Exchange,
		Ping:           s.Ping,
		NoSample:       s.NoSample,
		OwnNamespace:   s.ownNet,
		Segment:        s.configSegment(),
		WholeRate:      s.wholeRate().Start,
		WholeRateEnd:   s.wholeRate().End,
		TLS:            s.tlsConfig(),
		StartDelay:     s.HoldDelay,
	}
	if workload == "pooled" {
		cfg.RequestsPerConn, cfg.MaxConnAge = int64(s.RequestsPerConn), time.Duration(s.MaxConnAge)
	}
	return cfg
}

// ListenerConfig is the built-in listener for these options.
func (s *Spec) ListenerConfig() listener.Config {
	reqSize := s.RequestSize
	if len(s.Payload) > 0 {
		reqSize = len(s.Payload)
	}
	mode := listener.Respond
	if s.Protocol == "http" {
		mode = listener.HTTP
	}
	foq := s.FastOpenQueue
	if foq == 0 && s.foMode != dialer.FastOpenOff {
		foq = 4096
	}
	return listener.Config{
		Mode:             mode,
		Loops:            s.ListenerLoops,
		Backlog:          s.Backlog,
		ReusePort:        s.ReusePort,
		RequestSize:      reqSize,
		ResponseSize:     s.ResponseSize,
		FastOpenQueue:    foq,
		AcceptDelay:      s.AcceptDelay,
		AcceptPauseAfter: s.pauseAt,
		AcceptPauseFor:   s.pauseFor,
		Leak:             s.Leak,
		TLS:              s.listenerTLS(),
		IdleClose:        time.Duration(s.IdleClose),
	}
}

// ParseAcceptPause parses --accept-pause: FOR, or AFTER:FOR, with
// 0 <= AFTER <= 30 days and 0 < FOR <= 30 days.
func ParseAcceptPause(v string) (after, dur time.Duration, err error) {
	a, b, two := strings.Cut(v, ":")
	var e1, e2 error
	if two {
		after, e1 = time.ParseDuration(a)
		dur, e2 = time.ParseDuration(b)
	} else {
		dur, e1 = time.ParseDuration(a)
	}
	if e1 != nil || e2 != nil {
		return 0, 0, Usagef("--accept-pause %q: want FOR (e.g. 3s, from the start) or AFTER:FOR (e.g. 1s:3s)", v)
	}
	if after < 0 || after > MaxRunTime || dur <= 0 || dur > MaxRunTime {
		return 0, 0, Usagef("--accept-pause %q: out of range (allowed: 0 <= AFTER <= %s, 0 < FOR <= %s)", v, shortDur(MaxRunTime), shortDur(MaxRunTime))
	}
	return after, dur, nil
}

// CheckTarget checks the flags that depend on whether there is a target
// (zero: the built-in listener).
func (s *Spec) CheckTarget(target netip.AddrPort) error {
	return s.checkTarget(target.IsValid(), target.String())
}

// CheckRemote is CheckTarget for a target named HOST:PORT that is not
// resolved here (one a Kubernetes pod reaches by a Service name).
func (s *Spec) CheckRemote(name string) error { return s.checkTarget(true, name) }

func (s *Spec) checkTarget(valid bool, target string) error {
	if !valid && s.Protocol != "raw" && s.Protocol != "http" {
		return Usagef("--protocol %s needs a target HOST:PORT: the built-in listener speaks raw and http only", s.Protocol)
	}
	if valid && s.Workload == "synflood" {
		return Usagef("--workload synflood floods only connbench's own built-in listener inside namespaces it creates; it will not send spoofed SYNs to %s", target)
	}
	if valid && s.pathCfg != nil {
		return Usagef("the emulated path (--rtt, --loss, --drop-syn, ...) joins the client and the built-in listener in namespaces of their own; it cannot shape the path to %s", target)
	}
	if valid {
		for _, n := range []string{"accept-delay", "accept-pause", "leak", "fastopen-queue", "backlog", "reuseport", "listener-loops", "idle-close", "tls-cert", "tls-cert-file", "tls-key-file", "tls-tickets"} {
			if s.changed(n) {
				return Usagef("--%s sets up the built-in listener: it has no effect on %s", n, target)
			}
		}
	}
	return nil
}

// lookupNetIP resolves a target's host name (a variable for tests).
var lookupNetIP = net.DefaultResolver.LookupNetIP

// ParseTarget resolves HOST:PORT: an IP address, or a host name that
// resolves to one (IPv4 preferred). The port is 1 to 65535; an unspecified
// address (0.0.0.0, ::, ::ffff:0.0.0.0) is refused. Errors are usage errors
// naming the argument.
func ParseTarget(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, Usagef("target %q: want HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:80)", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, Usagef("target %q: port %q must be a number from 1 to 65535", s, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.IsUnspecified() {
			return netip.AddrPort{}, Usagef("target %q: %s is not an address one can connect to", s, host)
		}
		return netip.AddrPortFrom(a, uint16(p)), nil
	}
	if !hostName(host) {
		return netip.AddrPort{}, Usagef("target %q: %q is neither an IP address nor a host name", s, host)
	}
	addrs, err := lookupNetIP(context.Background(), "ip", host)
	var usable []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.IsValid() && !a.IsUnspecified() {
			usable = append(usable, a)
		}
	}
	if err != nil || len(usable) == 0 {
		return netip.AddrPort{}, Usagef("target %q: cannot resolve host %q", s, host)
	}
	for _, a := range usable {
		if a.Is4() {
			return netip.AddrPortFrom(a, uint16(p)), nil
		}
	}
	return netip.AddrPortFrom(usable[0], uint16(p)), nil
}

// hostName reports whether s may be a DNS host name: 1 to 253 bytes of
// letters, digits, '-', '_' and '.', no empty label and no label over 63.
func hostName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// checkTarget makes one ordinary connection to an external target so that
// a typo fails in a second with a clear message instead of a run full of
// ECONNREFUSED.
func checkTarget(target netip.AddrPort, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c, err := net.DialTimeout("tcp", target.String(), timeout)
	if err != nil {
		var hint string
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			hint = "connection refused: nothing listens there"
		case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
			hint = "no route to that address"
		default:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				hint = "no answer within --connect-timeout"
			} else {
				hint = err.Error()
			}
		}
		return fmt.Errorf("target %s: %s (--no-check runs the load anyway and counts the failures)", target, hint)
	}
	c.Close()
	return nil
}

// parseStartAt reads an RFC 3339 time or Unix seconds (with a fraction),
// from 1970 to the end of year 9999.
func parseStartAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Unix() < 0 || t.Unix() > MaxUnixSeconds {
			return time.Time{}, fmt.Errorf("not a time from 1970 to 9999: %q", s)
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f <= MaxUnixSeconds) {
		return time.Time{}, fmt.Errorf("not a time: %q", s)
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), nil
}

// Path is the emulated path's configuration Validate derived (nil: none).
func (s *Spec) Path() *netpath.Config { return s.pathCfg }

// ParseListenAddr accepts HOST:PORT, :PORT or PORT.
func ParseListenAddr(s string) (netip.AddrPort, error) {
	if !strings.Contains(s, ":") {
		s = ":" + s
	}
	if strings.HasPrefix(s, ":") {
		s = "127.0.0.1" + s
	}
	host, port, ok := strings.Cut(s, ":")
	if strings.HasPrefix(s, "[") {
		i := strings.LastIndex(s, "]:")
		if i < 0 {
			return netip.AddrPort{}, Usagef("address %q: want HOST:PORT", s)
		}
		host, port, ok = s[1:i], s[i+2:], true
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if !ok || err != nil {
		return netip.AddrPort{}, Usagef("address %q: port %q must be a number from 0 to 65535", s, port)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, Usagef("address %q: %q is not an IP address", s, host)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}
