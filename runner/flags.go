package runner

import (
	"strings"
	"time"

	"github.com/connbench/connbench/workloads"
	"github.com/spf13/pflag"
)

// DefineFlags defines the run flags, bound to s's fields, in the groups
// group makes (titled by what the flags are for), with their defaults: the
// main job's differ (it varies the workload itself, runs 5 s each and
// writes connbench.json). A command wires them into its flag set.
func (s *Spec) DefineFlags(group func(title string) *pflag.FlagSet, mainJob bool) {
	s.MainJob = mainJob
	defDur, defOut := 10*time.Second, ""
	if mainJob {
		defDur, defOut = 5*time.Second, "connbench.json"
	}
	w := group("Workload")
	w.StringVarP(&s.Workload, "workload", "w", "per-request", "workload: "+strings.Join(workloadHelp(), "; "))
	if mainJob {
		w.MarkHidden("workload") // the main job varies it itself
	}
	w.IntVarP(&s.Concurrency, "concurrency", "c", 16, "connections in flight at once (closed loop), 1 to 10,000,000")
	w.DurationVarP(&s.Duration, "duration", "d", defDur, "measured time per workload, at most 720h (0 with -n: until -n requests)")
	w.Int64VarP(&s.Requests, "requests", "n", 0, "stop after this many requests (transactions) per workload; 0: by --duration only")
	w.DurationVar(&s.Warmup, "warmup", 0, "run the load this long first without recording it")
	w.IntVar(&s.RequestSize, "request-size", 1, "request size in bytes, 1 to 64 MiB")
	w.IntVar(&s.ResponseSize, "response-size", 1, "bytes that make a complete response, 1 to 1 GiB")
	w.StringVar(&s.Request, "request", "", "literal request payload, or @FILE to read it from a file of at most 64 MiB (overrides --request-size)")
	w.StringVar(&s.Protocol, "protocol", "raw", "what the exchange speaks: raw (--request / --request-size bytes, then --response-size bytes back), "+
		"http (GET --path, response framed by Content-Length or chunked; the built-in listener answers with a --response-size body), "+
		"redis (--command, default PING) or memcached (--command, default version)")
	w.StringVar(&s.HTTPPath, "path", "", "http: the request path (default /)")
	w.StringArrayVar(&s.Headers, "header", nil, "http: an extra request header \"Name: value\" (repeatable)")
	w.StringVar(&s.Host, "host", "", "http: the Host header (default: the target HOST:PORT)")
	w.StringVar(&s.Command, "command", "", "redis: the command, words quoted where they hold spaces (default PING); memcached: the command line (default version), with \\n before a storage command's data")
	w.BoolVar(&s.Exchange, "exchange", false, "churn: send the request and read the response before closing")
	w.DurationVar(&s.Ping, "ping", 0, "hold: every held connection sends the request and reads the response this often (0: they stay silent)")
	w.BoolVar(&s.UntilExhausted, "until-exhausted", false, "stop at the first interval where most connects fail with EADDRNOTAVAIL (ports exhausted) or connect() stalls in the kernel's port search; the result says which")
	w.Float64Var(&s.FloodRate, "flood-rate", 5000, "synflood: spoofed SYNs per second at the built-in listener (sources in 198.18.0.0/15, inside connbench's own namespaces)")
	w.DurationVar(&s.Spin, "spin", DefaultSpin, "with work in flight, a client loop polls for events this long before it sleeps (0 to 1ms; 0: sleeps at once). The window adapts: it closes while polls find nothing, so a slow server costs next to no CPU. A response that finds its loop awake spares the server a wake-up (in a VM, an exit to the hypervisor). The built-in listener polls as long when the run's loops fit the CPUs")
	w.IntVar(&s.Loops, "loops", 0, "client event loops (threads); 0: one per CPU, or half the CPUs when the built-in listener shares the process")
	w.StringVar(&s.Procs, "procs", "1", "split the load over N connbench processes (or auto: as many as the open-file limit needs), merged exactly; the built-in listener then runs in processes of its own")
	w.BoolVar(&s.RaiseLimits, "raise-limits", false, "as root, raise fs.nr_open and the hard open-file limit to what the run needs (needs CAP_SYS_RESOURCE; --procs auto is the way without it)")
	w.StringVar(&s.StartAt, "start-at", "", "wait until this wall-clock time before starting (RFC 3339, e.g. 2026-11-24T16:30:00Z, or Unix seconds), so several generators start together")

	o := group("Open loop")
	o.Var(&s.Rate, "rate", "open loop: start N transactions per second on a fixed schedule whatever the latency (timed from the schedule: no coordinated omission); A:B ramps from A to B over --duration; 0 < N <= 10,000,000")
	o.IntVar(&s.MaxInflight, "max-inflight", 4096, "open loop: most transactions in flight at once, 1 to 10,000,000 (pooled: -c is the pool)")

	c := group("Client socket")
	c.BoolVar(&s.NoDelay, "nodelay", false, "set TCP_NODELAY on client sockets (no Nagle)")
	c.BoolVar(&s.ReuseAddr, "reuseaddr", false, "set SO_REUSEADDR on client sockets")
	c.BoolVar(&s.NewSocket, "new-socket", false, "open a new socket for every connection; by default an ended connection's socket connects again where the server sees the same packets as after close(): with --close rst always (connect(AF_UNSPEC) resets it as close() with SO_LINGER 0 would), with --close fin when the server closed first (shutdown sends the FIN, and the socket is reused once the close has finished), saving socket(), setsockopt, epoll_ctl and close() per connection")
	c.StringVar(&s.Close, "close", "fin", "how the client closes: fin (graceful; the client keeps TIME_WAIT 60 s) or rst (SO_LINGER 0: RST, no TIME_WAIT); a hold closes with rst unless --close fin is given")
	c.StringVar(&s.FastOpen, "fastopen", "off", "TCP Fast Open: --fastopen sends the request in the SYN with sendto(MSG_FASTOPEN) once a cookie is cached; --fastopen=connect uses TCP_FASTOPEN_CONNECT (connect() returns early, the first write rides the SYN). Needs bit 0x1 of net.ipv4.tcp_fastopen (0x2 on the server)")
	c.Lookup("fastopen").NoOptDefVal = "sendto"
	c.BoolVar(&s.BindNoPort, "bind-no-port", false, "set IP_BIND_ADDRESS_NO_PORT (always on with --source)")
	c.Var(&s.Source, "source", "source address(es) to rotate over: ADDR, ADDR-ADDR (e.g. 127.0.0.2-127.0.0.50) or a comma list")
	c.StringVar(&s.LocalPortRange, "local-port-range", "", "per-socket ephemeral port range LO-HI (IP_LOCAL_PORT_RANGE, Linux >= 6.3)")
	c.DurationVar(&s.ConnectTimeout, "connect-timeout", 5*time.Second, "give up a handshake after this long (0: the kernel's ~127 s)")
	c.DurationVar(&s.Timeout, "timeout", 5*time.Second, "give up waiting for a response after this long (0: never)")

	l := group("Built-in listener (no HOST:PORT)")
	l.IntVar(&s.Backlog, "backlog", 0, "built-in listener: listen() backlog (0: net.core.somaxconn)")
	l.BoolVar(&s.ReusePort, "reuseport", false, "built-in listener: one SO_REUSEPORT listening socket per loop")
	l.IntVar(&s.ListenerLoops, "listener-loops", 0, "built-in listener: event loops (0: half the CPUs)")
	l.IntVar(&s.FastOpenQueue, "fastopen-queue", 0, "built-in listener: accept data in the SYN (TCP_FASTOPEN with this queue length); 0: 4096 when --fastopen is on, else off")
	l.DurationVar(&s.AcceptDelay, "accept-delay", 0, "built-in listener: accept at most one connection per this long per loop (a slow-accepting server; the rest wait in the accept queue)")
	l.StringVar(&s.AcceptPause, "accept-pause", "", "built-in listener: stop accepting for FOR after AFTER (AFTER:FOR, e.g. 1s:3s; or just FOR, from the start) while serving what it has: the accept queue (--backlog) fills and overflows")
	l.BoolVar(&s.Leak, "leak", false, "built-in listener: never close a connection the client closed (the CLOSE_WAIT bug): watch CLOSE_WAIT and the listener's descriptors grow")

	s.definePoolingFlags(group("Pool reuse"), l)

	p := group("Emulated path (root; client and built-in listener in two namespaces)")
	p.DurationVar(&s.RTT, "rtt", 0, "emulated path: round-trip time the path adds (e.g. 50ms); client and built-in listener then run in two network namespaces joined by it (root)")
	p.DurationVar(&s.Jitter, "jitter", 0, "emulated path: vary each one-way delay uniformly by ± this much (packets stay in order)")
	p.StringVar(&s.Loss, "loss", "", "emulated path: drop this share of packets each way, e.g. 1% or 0.01")
	p.StringVar(&s.DropSYN, "drop-syn", "", "emulated path: drop the first N transmissions of every connection's SYN (1: each handshake waits the 1 s initial RTO), or a share of SYNs, e.g. 20%")
	p.StringVar(&s.RateLimit, "rate-limit", "", "emulated path: bandwidth each way, e.g. 100mbit, 1gbit, 500kbit")
	p.BoolVar(&s.PathRealtime, "path-realtime", false, "emulated path: run the forwarder threads at real-time priority (SCHED_FIFO), so the load cannot delay packets")

	s.defineTLSFlags(group)

	out := group("Output")
	out.StringVarP(&s.Output, "output", "o", defOut, "write the JSON result here (- for stdout)")
	out.StringVar(&s.HLog, "hlog", "", "write the interval histograms (one tag per run and phase) in the HdrHistogram log format to this file")
	out.StringVar(&s.HGrm, "hgrm", "", "write each run's percentile distribution per phase in HdrHistogram's hgrm format (milliseconds) to this file, for HdrHistogram's plotter or gnuplot")
	out.DurationVar(&s.Interval, "interval", time.Second, "time-series interval: progress, socket-state and counter samples (10ms to 1h)")
	out.BoolVarP(&s.Quiet, "quiet", "q", false, "print no progress lines on stderr")
	out.BoolVar(&s.NoCheck, "no-check", false, "skip the test connection to an external target before the load")
	out.StringVar(&s.CPUProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (for developers)")
	out.MarkHidden("cpuprofile")
	out.StringVar(&s.MemProfile, "memprofile", "", "write a Go heap profile (in use) of the run to this file; a hold writes it while holding; in a run split over processes, process N>1 writes FILE.N (for developers)")
	out.MarkHidden("memprofile")
	out.BoolVar(&s.NoSample, "no-sample", false, "internal: no socket-state or counter sampling (to measure what sampling costs)")
	out.MarkHidden("no-sample")

	s.defineThresholdFlags(group)
	m := group("Live metrics")
	m.StringVar(&s.MetricsAddr, "metrics-addr", "", "serve the run's live figures (Prometheus/OpenMetrics text) at http://HOST:PORT/metrics while it runs; PORT alone binds 127.0.0.1, 0.0.0.0:PORT every interface (the figures are then readable by anyone who reaches it)")
	m.DurationVar(&s.MetricsLinger, "metrics-linger", 0, "after the run, keep serving until one scrape has read the final figures, at most this long (0 to 1h; 0: stop at once)")

	g := group("Many machines (one run split over generators)")
	g.Var(&s.Segment, "segment", "run only this generator's segment I/N of the run (I from 0 to N-1; or A/N:B/N for the parts A to B-1): its exact share of -n, -c, --max-inflight, --source and of the --rate schedule, whose arrivals interleave with the other segments'; needs --start-at; N at most 100,000")
	g.StringVar(&s.RunID, "run-id", "", "the run's id, shared by its segments and checked by merge (up to 64 letters, digits, . _ -); default: derived from the run flags and --start-at, so generators given the same flags agree")
	g.BoolVar(&s.JSONL, "jsonl", false, "write the JSON result (-o) as one line, so that merge can pick it out of a log (kubectl logs)")
}

func workloadHelp() []string {
	var out []string
	for _, n := range workloads.Names() {
		out = append(out, n+" ("+workloads.Registry[n].Summary+")")
	}
	return out
}

// DefineFlags defines compare's own flags, bound to c's fields, in a group
// group makes.
func (c *Compare) DefineFlags(group func(title string) *pflag.FlagSet) {
	g := group("Comparison")
	g.StringArrayVar(&c.Varies, "vary", nil, "KEY=V1,V2,...: a run flag or sysctl:NAME and its values (repeatable; the product of all is run)")
	g.IntVar(&c.Repeat, "repeat", 1, "run each variant N times, interleaved, and report medians with 95% intervals and whether each difference is significant (Mann-Whitney U; 6 or more for intervals, 4 for a test)")
	g.BoolVar(&c.Yes, "yes", false, "allow more than 64 variants")
	g.BoolVar(&c.AllowHost, "allow-host-sysctl", false, "against an external target: set sysctl variants on this host (restored after the run, on Ctrl-C, or by connbench restore)")
	g.StringVar(&c.StateFile, "state-file", DefaultStateFile, "where --allow-host-sysctl saves the original values")
	g.BoolVar(&c.NoIsolate, "no-isolate", false, "run in this process even as root (no fresh network namespace per run; sysctl variants then impossible)")
}
