package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/netpath"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
	"github.com/spf13/pflag"
)

// runOptions are the flags shared by `connbench run` and the main job.
type runOptions struct {
	workload       string
	concurrency    int
	duration       time.Duration
	requests       int64
	warmup         time.Duration
	loops          int
	requestSize    int
	responseSize   int
	request        string
	nodelay        bool
	reuseaddr      bool
	closeMode      string
	bindNoPort     bool
	source         string
	portRange      string
	connectTimeout time.Duration
	timeout        time.Duration
	backlog        int
	reuseport      bool
	listenerLoops  int
	output         string
	noCheck        bool
	quiet          bool
	cpuProfile     string
	child          bool
	noSample       bool
	hlog           string
	hgrm           string
	startAt        string
	procs          string
	rate           string
	maxInflight    int
	interval       time.Duration
	untilExhausted bool
	exchange       bool
	ping           time.Duration
	floodRate      float64
	raiseLimits    bool
	protocol       string
	path           string
	headers        []string
	host           string
	command        string
	fastopen       string
	fastopenQueue  int
	acceptDelay    time.Duration
	acceptPause    string
	leak           bool
	pf             pathFlags
	mainJob        bool

	// filled by validate
	start    time.Time
	rateA    float64
	rateB    float64
	sources  []netip.Addr
	close    dialer.CloseMode
	payload  []byte
	lportLo  uint16
	lportHi  uint16
	proto    protocol.Options // --path, --host, --header, --command
	foMode   dialer.FastOpenMode
	pauseAt  time.Duration // --accept-pause AFTER:FOR
	pauseFor time.Duration
	pathCfg  *netpath.Config // nil: no emulated path
	fs       *pflag.FlagSet
}

func (o *runOptions) register(fs *pflag.FlagSet, mainJob bool) {
	o.fs = fs
	o.mainJob = mainJob
	fs.StringVarP(&o.workload, "workload", "w", "per-request", "workload: "+strings.Join(workloadHelp(), "; "))
	if mainJob {
		fs.MarkHidden("workload") // the main job varies it itself
	}
	defDur := 10 * time.Second
	if mainJob {
		defDur = 5 * time.Second
	}
	fs.IntVarP(&o.concurrency, "concurrency", "c", 16, "connections in flight at once (closed loop), 1 to 10,000,000")
	fs.DurationVarP(&o.duration, "duration", "d", defDur, "measured time per workload, at most 720h (0 with -n: until -n requests)")
	fs.Int64VarP(&o.requests, "requests", "n", 0, "stop after this many requests (transactions) per workload; 0: by --duration only")
	fs.DurationVar(&o.warmup, "warmup", 0, "run the load this long first without recording it")
	fs.StringVar(&o.rate, "rate", "", "open loop: start N transactions per second on a fixed schedule whatever the latency (timed from the schedule: no coordinated omission); A:B ramps from A to B over --duration; 0 < N <= 10,000,000")
	fs.IntVar(&o.maxInflight, "max-inflight", 4096, "open loop: most transactions in flight at once, 1 to 10,000,000 (pooled: -c is the pool)")
	fs.DurationVar(&o.interval, "interval", time.Second, "time-series interval: progress, socket-state and counter samples (10ms to 1h)")
	fs.BoolVar(&o.untilExhausted, "until-exhausted", false, "stop at the first interval where most connects fail with EADDRNOTAVAIL (ports exhausted)")
	fs.DurationVar(&o.ping, "ping", 0, "hold: every held connection sends the request and reads the response this often (0: they stay silent)")
	fs.BoolVar(&o.raiseLimits, "raise-limits", false, "as root, raise fs.nr_open and the hard open-file limit to what the run needs (needs CAP_SYS_RESOURCE; --procs auto is the way without it)")
	fs.Float64Var(&o.floodRate, "flood-rate", 5000, "synflood: spoofed SYNs per second at the built-in listener (sources in 198.18.0.0/15, inside connbench's own namespaces)")
	fs.BoolVar(&o.exchange, "exchange", false, "churn: send the request and read the response before closing")
	fs.IntVar(&o.loops, "loops", 0, "client event loops (threads); 0: one per CPU, or half the CPUs when the built-in listener shares the process")
	fs.IntVar(&o.requestSize, "request-size", 1, "request size in bytes, 1 to 64 MiB")
	fs.IntVar(&o.responseSize, "response-size", 1, "bytes that make a complete response, 1 to 1 GiB")
	fs.StringVar(&o.request, "request", "", "literal request payload, or @FILE to read it from a file of at most 64 MiB (overrides --request-size)")
	fs.StringVar(&o.protocol, "protocol", "raw", "what the exchange speaks: raw (--request / --request-size bytes, then --response-size bytes back), "+
		"http (GET --path, response framed by Content-Length or chunked; the built-in listener answers with a --response-size body), "+
		"redis (--command, default PING) or memcached (--command, default version)")
	fs.StringVar(&o.path, "path", "", "http: the request path (default /)")
	fs.StringArrayVar(&o.headers, "header", nil, "http: an extra request header \"Name: value\" (repeatable)")
	fs.StringVar(&o.host, "host", "", "http: the Host header (default: the target HOST:PORT)")
	fs.StringVar(&o.command, "command", "", "redis: the command, words quoted where they hold spaces (default PING); memcached: the command line (default version), with \\n before a storage command's data")
	fs.BoolVar(&o.nodelay, "nodelay", false, "set TCP_NODELAY on client sockets (no Nagle)")
	fs.BoolVar(&o.reuseaddr, "reuseaddr", false, "set SO_REUSEADDR on client sockets")
	fs.StringVar(&o.closeMode, "close", "fin", "how the client closes: fin (graceful; the client keeps TIME_WAIT 60 s) or rst (SO_LINGER 0: RST, no TIME_WAIT)")
	fs.StringVar(&o.fastopen, "fastopen", "off", "TCP Fast Open: --fastopen sends the request in the SYN with sendto(MSG_FASTOPEN) once a cookie is cached; --fastopen=connect uses TCP_FASTOPEN_CONNECT (connect() returns early, the first write rides the SYN). Needs bit 0x1 of net.ipv4.tcp_fastopen (0x2 on the server)")
	fs.Lookup("fastopen").NoOptDefVal = "sendto"
	fs.IntVar(&o.fastopenQueue, "fastopen-queue", 0, "built-in listener: accept data in the SYN (TCP_FASTOPEN with this queue length); 0: 4096 when --fastopen is on, else off")
	o.pf.register(fs)
	fs.BoolVar(&o.bindNoPort, "bind-no-port", false, "set IP_BIND_ADDRESS_NO_PORT (always on with --source)")
	fs.StringVar(&o.source, "source", "", "source address(es) to rotate over: ADDR, ADDR-ADDR (e.g. 127.0.0.2-127.0.0.50) or a comma list")
	fs.StringVar(&o.portRange, "local-port-range", "", "per-socket ephemeral port range LO-HI (IP_LOCAL_PORT_RANGE, Linux >= 6.3)")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 5*time.Second, "give up a handshake after this long (0: the kernel's ~127 s)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "give up waiting for a response after this long (0: never)")
	fs.IntVar(&o.backlog, "backlog", 0, "built-in listener: listen() backlog (0: net.core.somaxconn)")
	fs.BoolVar(&o.reuseport, "reuseport", false, "built-in listener: one SO_REUSEPORT listening socket per loop")
	fs.DurationVar(&o.acceptDelay, "accept-delay", 0, "built-in listener: accept at most one connection per this long per loop (a slow-accepting server; the rest wait in the accept queue)")
	fs.StringVar(&o.acceptPause, "accept-pause", "", "built-in listener: stop accepting for FOR after AFTER (AFTER:FOR, e.g. 1s:3s; or just FOR, from the start) while serving what it has: the accept queue (--backlog) fills and overflows")
	fs.BoolVar(&o.leak, "leak", false, "built-in listener: never close a connection the client closed (the CLOSE_WAIT bug): watch CLOSE_WAIT and the listener's descriptors grow")
	fs.IntVar(&o.listenerLoops, "listener-loops", 0, "built-in listener: event loops (0: half the CPUs)")
	defOut := ""
	if mainJob {
		defOut = "connbench.json"
	}
	fs.StringVarP(&o.output, "output", "o", defOut, "write the JSON result here (- for stdout)")
	fs.BoolVar(&o.noCheck, "no-check", false, "skip the test connection to an external target before the load")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress lines on stderr")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (for developers)")
	fs.MarkHidden("cpuprofile")
	fs.BoolVar(&o.child, "child", false, "internal: a run made for a parent connbench (no table, no \"wrote\" line)")
	fs.MarkHidden("child")
	fs.BoolVar(&o.noSample, "no-sample", false, "internal: no socket-state or counter sampling (to measure what sampling costs)")
	fs.MarkHidden("no-sample")
	fs.StringVar(&o.hlog, "hlog", "", "write the interval histograms (one tag per run and phase) in the HdrHistogram log format to this file")
	fs.StringVar(&o.hgrm, "hgrm", "", "write each run's percentile distribution per phase in HdrHistogram's hgrm format (milliseconds) to this file, for HdrHistogram's plotter or gnuplot")
	fs.StringVar(&o.startAt, "start-at", "", "wait until this wall-clock time before starting (RFC 3339, e.g. 2026-11-24T16:30:00Z, or Unix seconds), so several generators start together")
	fs.StringVar(&o.procs, "procs", "1", "split the load over N connbench processes (or auto: as many as the open-file limit needs), merged exactly; the built-in listener then runs in processes of its own")
}

func workloadHelp() []string {
	var out []string
	for _, n := range workloads.Names() {
		out = append(out, n+" ("+workloads.Registry[n].Summary+")")
	}
	return out
}

// validate checks the flags; its errors name the flag and the bad value.
func (o *runOptions) validate() error {
	if o.workload != "" {
		if _, ok := workloads.Registry[o.workload]; !ok {
			return usagef("--workload %q: unknown; choose one of %s", o.workload, strings.Join(workloads.Names(), ", "))
		}
	}
	if err := o.checkRanges(); err != nil {
		return err
	}
	if o.duration == 0 && o.requests == 0 {
		return usagef("--duration 0 needs --requests N: otherwise the run would never end")
	}
	if o.workload == "hold" && o.requests == 0 {
		return usagef("--workload hold needs -n N: the number of connections to open and hold (for --duration)")
	}
	if o.ping > 0 && o.workload != "hold" {
		return usagef("--ping is for --workload hold (held connections that ping now and then)")
	}
	if o.fs.Changed("requests") && !o.fs.Changed("duration") && o.workload != "hold" {
		o.duration = 0 // -n alone: run until the requests are done
	}
	o.rateA, o.rateB = 0, 0
	if o.rate != "" {
		a, b, ramp, err := parseRate(o.rate)
		if err != nil {
			return err
		}
		o.rateA, o.rateB = a, b
		if ramp && o.duration == 0 {
			return usagef("--rate %s: a ramp needs --duration", o.rate)
		}
	}
	if o.workload != "" && workloads.Registry[o.workload].NeedsRate && o.rate == "" {
		return usagef("--workload %s needs --rate N (connections per second), e.g. --rate 2000", o.workload)
	}
	if o.startAt != "" {
		t, err := parseStartAt(o.startAt)
		if err != nil {
			return usagef("--start-at %q: want an RFC 3339 time (2026-11-24T16:30:00Z) or Unix seconds", o.startAt)
		}
		if time.Until(t) > maxStartAhead {
			return usagef("--start-at %s: more than a day away (allowed: up to 24h from now)", o.startAt)
		}
		o.start = t
	}
	var err error
	if o.close, err = dialer.ParseCloseMode(o.closeMode); err != nil {
		return usagef("--close %q: want fin or rst", o.closeMode)
	}
	if o.source != "" {
		if o.sources, err = dialer.ParseSources(o.source); err != nil {
			return usagef("--source %q: %v", o.source, strings.TrimPrefix(err.Error(), "dialer: "))
		}
	}
	if o.portRange != "" {
		lo, hi, ok := strings.Cut(o.portRange, "-")
		l, e1 := strconv.ParseUint(lo, 10, 16)
		h, e2 := strconv.ParseUint(hi, 10, 16)
		if !ok || e1 != nil || e2 != nil || l == 0 || l > h {
			return usagef("--local-port-range %q: want LO-HI with 1 <= LO <= HI <= 65535", o.portRange)
		}
		o.lportLo, o.lportHi = uint16(l), uint16(h)
	}
	if err := o.validateProtocol(); err != nil {
		return err
	}
	if o.foMode, err = dialer.ParseFastOpenMode(o.fastopen); err != nil {
		return usagef("--fastopen=%q: want sendto (the default with --fastopen), connect or off", o.fastopen)
	}
	o.pauseAt, o.pauseFor = 0, 0
	if o.acceptPause != "" {
		var err error
		if o.pauseAt, o.pauseFor, err = parseAcceptPause(o.acceptPause); err != nil {
			return err
		}
	}
	if o.foMode != dialer.FastOpenOff && o.workload != "" {
		if w := workloads.Registry[o.workload]; !w.Exchange && !(o.workload == "churn" && o.exchange) {
			return usagef("--fastopen puts the request into the SYN: --workload %s sends none (use per-request, or churn with --exchange)", o.workload)
		}
	}
	o.pathCfg = nil
	if o.pf.on(o.fs) {
		c, err := o.pf.config()
		if err != nil {
			return err
		}
		o.pathCfg = &c
	}
	if o.fs.Changed("flood-rate") && o.workload != "synflood" {
		return usagef("--flood-rate is for --workload synflood")
	}
	if !(o.floodRate >= 1 && o.floodRate <= 1e6) {
		return usagef("--flood-rate %g: out of range (allowed: 1 <= flood-rate <= 1,000,000 SYNs per second)", o.floodRate)
	}
	o.experimentDefaults()
	if err := results.CheckOutputs(map[string]string{"-o": o.output, "--hlog": o.hlog, "--hgrm": o.hgrm}); err != nil {
		return usagef("%v", err)
	}
	if o.request != "" {
		if strings.HasPrefix(o.request, "@") {
			b, err := readRequestFile(o.request[1:])
			if err != nil {
				return err
			}
			o.payload = b
		} else {
			o.payload = []byte(o.request)
		}
	}
	return nil
}

// checkRanges checks every numeric flag against its allowed range (the
// constants in limits.go); the error names the flag, the value and the range.
func (o *runOptions) checkRanges() error {
	maxN := int64(maxRequests)
	if o.workload == "hold" {
		maxN = maxConns // hold: -n connections, each a slot
	}
	for _, err := range []error{
		checkInt("concurrency", int64(o.concurrency), 1, maxConns),
		checkInt("max-inflight", int64(o.maxInflight), 1, maxConns),
		checkInt("requests", o.requests, 0, maxN),
		checkDur("duration", o.duration, 0, maxRunTime),
		checkDur("warmup", o.warmup, 0, maxRunTime),
		checkInt("loops", int64(o.loops), 0, maxLoops),
		checkInt("listener-loops", int64(o.listenerLoops), 0, maxLoops),
		checkInt("request-size", int64(o.requestSize), 1, maxPayload),
		checkInt("response-size", int64(o.responseSize), 1, maxResponse),
		checkInt("backlog", int64(o.backlog), 0, maxBacklog),
		checkInt("fastopen-queue", int64(o.fastopenQueue), 0, maxConns),
		checkDur("connect-timeout", o.connectTimeout, 0, maxRunTime),
		checkDur("timeout", o.timeout, 0, maxRunTime),
		checkDur("accept-delay", o.acceptDelay, 0, maxRunTime),
		checkDur("interval", o.interval, minInterval, maxInterval),
	} {
		if err != nil {
			return err
		}
	}
	if o.ping != 0 {
		if err := checkDur("ping", o.ping, minPing, maxPing); err != nil {
			return usagef("%v; or 0: silent", err)
		}
	}
	return nil
}

// validateProtocol checks --protocol and its flags.
func (o *runOptions) validateProtocol() error {
	o.proto = protocol.Options{Path: o.path, Host: o.host, Headers: o.headers, Command: o.command}
	p, err := protocol.New(o.protocol, o.proto)
	if err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), "protocol: "))
	}
	if p == nil {
		return nil
	}
	if o.fs.Changed("request") || o.fs.Changed("request-size") {
		return usagef("--request and --request-size are for --protocol raw: --protocol %s makes its own request", o.protocol)
	}
	if o.mainJob && o.protocol != "http" {
		return usagef("--protocol %s: the built-in listener speaks raw and http only; run against a server with `connbench run --protocol %s HOST:PORT`", o.protocol, o.protocol)
	}
	return nil
}

// protocolFor builds the protocol for target (nil for raw); the options
// were checked by validate.
func (o *runOptions) protocolFor(target netip.AddrPort) protocol.Protocol {
	opts := o.proto
	opts.Target = target
	p, err := protocol.New(o.protocol, opts)
	if err != nil {
		return nil
	}
	return p
}

// config builds the workload configuration for one workload and target.
func (o *runOptions) config(workload string, target netip.AddrPort) workloads.Config {
	return workloads.Config{
		Workload:     workload,
		Target:       target,
		Protocol:     o.protocolFor(target),
		Concurrency:  o.concurrency,
		Duration:     o.duration,
		Requests:     o.requests,
		Warmup:       o.warmup,
		Loops:        o.loops,
		Request:      o.payload,
		RequestSize:  o.requestSize,
		ResponseSize: o.responseSize,
		Socket: dialer.Options{
			NoDelay:        o.nodelay,
			ReuseAddr:      o.reuseaddr,
			Close:          o.close,
			BindNoPort:     o.bindNoPort,
			Sources:        o.sources,
			LocalPortRange: [2]uint16{o.lportLo, o.lportHi},
			FastOpen:       o.foMode,
		},
		Timeouts:       dialer.Timeouts{Connect: o.connectTimeout, Response: o.timeout},
		Rate:           o.rateA,
		RateEnd:        o.rateB,
		MaxInflight:    o.maxInflight,
		Interval:       o.interval,
		UntilExhausted: o.untilExhausted,
		Exchange:       o.exchange,
		Ping:           o.ping,
		NoSample:       o.noSample,
	}
}

// listenerConfig is the built-in listener for these options.
func (o *runOptions) listenerConfig() listener.Config {
	reqSize := o.requestSize
	if len(o.payload) > 0 {
		reqSize = len(o.payload)
	}
	mode := listener.Respond
	if o.protocol == "http" {
		mode = listener.HTTP
	}
	foq := o.fastopenQueue
	if foq == 0 && o.foMode != dialer.FastOpenOff {
		foq = 4096
	}
	return listener.Config{
		Mode:             mode,
		Loops:            o.listenerLoops,
		Backlog:          o.backlog,
		ReusePort:        o.reuseport,
		RequestSize:      reqSize,
		ResponseSize:     o.responseSize,
		FastOpenQueue:    foq,
		AcceptDelay:      o.acceptDelay,
		AcceptPauseAfter: o.pauseAt,
		AcceptPauseFor:   o.pauseFor,
		Leak:             o.leak,
	}
}

// parseAcceptPause parses --accept-pause: FOR, or AFTER:FOR, with
// 0 <= AFTER <= 30 days and 0 < FOR <= 30 days.
func parseAcceptPause(v string) (after, dur time.Duration, err error) {
	a, b, two := strings.Cut(v, ":")
	var e1, e2 error
	if two {
		after, e1 = time.ParseDuration(a)
		dur, e2 = time.ParseDuration(b)
	} else {
		dur, e1 = time.ParseDuration(a)
	}
	if e1 != nil || e2 != nil {
		return 0, 0, usagef("--accept-pause %q: want FOR (e.g. 3s, from the start) or AFTER:FOR (e.g. 1s:3s)", v)
	}
	if after < 0 || after > maxRunTime || dur <= 0 || dur > maxRunTime {
		return 0, 0, usagef("--accept-pause %q: out of range (allowed: 0 <= AFTER <= %s, 0 < FOR <= %s)", v, shortDur(maxRunTime), shortDur(maxRunTime))
	}
	return after, dur, nil
}

// checkTarget checks the flags that depend on whether there is a target
// (zero: the built-in listener).
func (o *runOptions) checkTarget(target netip.AddrPort) error {
	if !target.IsValid() && o.protocol != "raw" && o.protocol != "http" {
		return usagef("--protocol %s needs a target HOST:PORT: the built-in listener speaks raw and http only", o.protocol)
	}
	if target.IsValid() && o.workload == "synflood" {
		return usagef("--workload synflood floods only connbench's own built-in listener inside namespaces it creates; it will not send spoofed SYNs to %s", target)
	}
	if target.IsValid() && o.pathCfg != nil {
		return usagef("the emulated path (--rtt, --loss, --drop-syn, ...) joins the client and the built-in listener in namespaces of their own; it cannot shape the path to %s", target)
	}
	if target.IsValid() {
		for _, n := range []string{"accept-delay", "accept-pause", "leak", "fastopen-queue", "backlog", "reuseport", "listener-loops"} {
			if o.fs.Changed(n) {
				return usagef("--%s sets up the built-in listener: it has no effect on %s", n, target)
			}
		}
	}
	return nil
}

// lookupNetIP resolves a target's host name (a variable for tests).
var lookupNetIP = net.DefaultResolver.LookupNetIP

// parseTarget resolves HOST:PORT: an IP address, or a host name that
// resolves to one (IPv4 preferred). The port is 1 to 65535; an unspecified
// address (0.0.0.0, ::, ::ffff:0.0.0.0) is refused. Errors are usage errors
// naming the argument.
func parseTarget(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, usagef("target %q: want HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:80)", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, usagef("target %q: port %q must be a number from 1 to 65535", s, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.IsUnspecified() {
			return netip.AddrPort{}, usagef("target %q: %s is not an address one can connect to", s, host)
		}
		return netip.AddrPortFrom(a, uint16(p)), nil
	}
	if !hostName(host) {
		return netip.AddrPort{}, usagef("target %q: %q is neither an IP address nor a host name", s, host)
	}
	addrs, err := lookupNetIP(context.Background(), "ip", host)
	var usable []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.IsValid() && !a.IsUnspecified() {
			usable = append(usable, a)
		}
	}
	if err != nil || len(usable) == 0 {
		return netip.AddrPort{}, usagef("target %q: cannot resolve host %q", s, host)
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

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o runOptions
	o.register(fs, false)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, runUsage, fs.FlagUsages(), exitCodesHelp)
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench run --help)", err))
	}
	if fs.NArg() > 1 {
		return exitCode(stderr, usagef("run takes at most one target, got %q", fs.Args()))
	}
	if err := o.validate(); err != nil {
		return exitCode(stderr, err)
	}
	var target netip.AddrPort
	if fs.NArg() == 1 {
		t, err := parseTarget(fs.Arg(0))
		if err != nil {
			return exitCode(stderr, err)
		}
		target = t
	}
	if err := o.checkTarget(target); err != nil {
		return exitCode(stderr, err)
	}
	if o.raiseLimits {
		conns, _ := o.connsNeeded()
		need := uint64(conns) + 128
		if !target.IsValid() {
			need += uint64(conns)
		}
		msg, err := raiseLimits(need)
		if err != nil {
			return exitCode(stderr, err)
		}
		if msg != "" && !o.quiet {
			fmt.Fprintf(stderr, "connbench: %s\n", msg)
		}
	}
	if pp, err := o.procsPlan(fs, target); err != nil {
		return exitCode(stderr, err)
	} else if pp != nil {
		return pp.execute(append([]string{"run"}, args...), stdout, stderr)
	}
	p := &plan{target: target, repeat: 1, output: o.output, quiet: o.quiet, child: o.child, profile: o.cpuProfile, hlog: o.hlog, hgrm: o.hgrm,
		variants: []variant{{label: o.workload, opts: &o}}}
	return p.execute(append([]string{"run"}, args...), stdout, stderr)
}

const runUsage = `Usage: connbench run [flags] [HOST:PORT]

Runs one workload against HOST:PORT, or against the built-in listener
(started on 127.0.0.1 with an ephemeral port) when no target is given,
prints a table and, with -o, writes the JSON result.

Examples:
  connbench run -w per-request -c 64 -d 10s 127.0.0.1:8080
  connbench run -w pooled -c 100 --nodelay 127.0.0.1:6379 --request-size 14 --response-size 7
  connbench run -w pooled --protocol http --path /index.html -c 100 127.0.0.1:80
  connbench run -w per-request --protocol http --response-size 1024      (built-in listener, HTTP mode)
  connbench run -w pooled --protocol redis --command "SET k v" 127.0.0.1:6379
  connbench run -w pooled --protocol memcached --command "get k" 127.0.0.1:11211
  connbench run -w connect --close rst -o cc.json
  connbench run -w per-request --source 127.0.0.2-127.0.0.50
  connbench run -w churn --rate 2000 --until-exhausted -d 60s
  connbench run -w per-request --rate 100:5000 -d 30s 127.0.0.1:8080

Flags:
`

var numCPU = runtime.NumCPU

// parseStartAt reads an RFC 3339 time or Unix seconds (with a fraction),
// from 1970 to the end of year 9999.
func parseStartAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Unix() < 0 || t.Unix() > maxUnixSeconds {
			return time.Time{}, fmt.Errorf("not a time from 1970 to 9999: %q", s)
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f <= maxUnixSeconds) {
		return time.Time{}, fmt.Errorf("not a time: %q", s)
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), nil
}

// procsPlan returns the multi-process plan --procs asks for, or nil when one
// process will do.
func (o *runOptions) procsPlan(fs *pflag.FlagSet, target netip.AddrPort) (*procsPlan, error) {
	if ports := portFacts(kernel.ReadSysctls("", kernel.DefaultSysctls), o, target).Ports; !o.child {
		if note := o.spreadSources(target, ports); note != "" && !o.quiet {
			fmt.Fprintf(os.Stderr, "connbench: %s\n", note)
		}
	}
	conns, _ := o.connsNeeded()
	need, limit := procsNeeded(conns)
	n := 1
	switch o.procs {
	case "", "1":
	case "auto":
		n = need
	default:
		v, err := strconv.Atoi(o.procs)
		if err != nil || v < 1 || v > 256 {
			return nil, usagef("--procs %q: want a number from 1 to 256, or auto", o.procs)
		}
		n = v
	}
	if n == 1 {
		return nil, nil
	}
	if o.pathCfg != nil {
		return nil, usagef("--procs %s: the emulated path (--rtt, --loss, --drop-syn, ...) runs in one process; drop --procs", o.procs)
	}
	if o.hlog != "" {
		return nil, usagef("--hlog is not available with --procs yet: merge the processes' documents and use connbench report")
	}
	if o.procs == "auto" && fs != nil {
		fmt.Fprintf(os.Stderr, "connbench: --procs auto: %d connections at %d descriptors per process → %d processes\n", conns, limit, n)
	}
	pp := &procsPlan{n: n, o: o, target: target, args: procsArgs(fs)}
	if !target.IsValid() {
		// SO_REUSEPORT spreads connections by a hash, not evenly: leave
		// each listener process a quarter of its descriptors spare.
		pp.listeners, _ = procsNeeded(conns + conns/4)
		pp.listeners = max(1, pp.listeners)
	}
	return pp, nil
}

// procsArgs is the run's flags for the children, less what the parent
// decides for each of them.
func procsArgs(fs *pflag.FlagSet) []string {
	skip := map[string]bool{"procs": true, "output": true, "quiet": true, "start-at": true, "child": true,
		"no-check": true, "hgrm": true, "raise-limits": true, "concurrency": true, "requests": true, "rate": true, "max-inflight": true, "source": true, "cpuprofile": true}
	return flagArgs(fs, func(name string) bool { return skip[name] })
}
