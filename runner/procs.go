package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/segment"
	"github.com/connbench/connbench/workloads"
)

// A run split over processes (--procs N or auto) is for loads that need
// more descriptors than one process may have (the limit is per process,
// and often cannot be raised, as in containers). Every child gets its share
// of the connections, rate, requests and source addresses in a Spec of its
// own, all start at the same wall-clock time (--start-at), and their
// documents are merged exactly (histograms merged, counts summed). Against
// the built-in listener, the listener also runs in processes of its own,
// sharing one port through SO_REUSEPORT.

// planProcs decides how many processes the run takes (s.procsN; 1: this
// one alone), raising the open-file limit first when asked, and spreads a
// hold's connections over loopback sources when one would fill past half.
func (s *Spec) planProcs(target netip.AddrPort, obs Observer) error {
	s.procsN = 1
	if s.RaiseLimits {
		conns, _ := s.connsNeeded()
		need := uint64(conns) + 128
		if !target.IsValid() {
			need += uint64(conns)
		}
		msg, err := raiseLimits(need)
		if err != nil {
			return err
		}
		if msg != "" {
			obs.Say("%s", msg)
		}
	}
	if ports := portFacts(kernel.ReadSysctls("", kernel.DefaultSysctls), s, target).Ports; !s.Child {
		if note := s.spreadSources(target, ports); note != "" {
			obs.Say("%s", note)
		}
	}
	s.holdDefaults()
	conns, flag := s.connsNeeded()
	need, limit := procsNeeded(conns)
	n := 1
	sharded := ""
	switch s.Procs {
	case "", "1":
		// Not asked for: shard by itself when one process may not hold
		// the run's descriptors. An explicit --procs 1 keeps the refusal
		// (checkDescriptors); so do a child, the emulated path, --hlog and
		// --tls (a TLS run splits only when asked to).
		if s.changed("procs") || s.Child || s.pathCfg != nil || s.HLog != "" || !s.Segment.IsWhole() || s.TLS {
			break
		}
		if fds, soft, over := descriptorsOver(conns, !target.IsValid()); over {
			n = max(need, 2)
			sharded = fmt.Sprintf("%s needs about %d descriptors, more than the %d one process may have: sharding over %d processes by itself (as --procs auto; --procs 1 refuses instead)",
				flag, fds, soft, n)
		}
	case "auto":
		n = need
	default:
		v, err := strconv.Atoi(s.Procs)
		if err != nil || v < 1 || v > 256 {
			return Usagef("--procs %q: want a number from 1 to 256, or auto", s.Procs)
		}
		n = v
	}
	// Every process needs a share of at least one: of -n, and of -c for a
	// closed loop (a share of 0 would be a run with nothing to do).
	if s.Requests > 0 && int64(n) > s.Requests {
		n = int(s.Requests)
	}
	if !s.Rate.IsSet() && s.Workload != "hold" && n > s.Concurrency {
		n = s.Concurrency
	}
	if n <= 1 {
		return nil
	}
	if s.pathCfg != nil {
		return Usagef("--procs %s: the emulated path (--rtt, --loss, --drop-syn, ...) runs in one process; drop --procs", s.Procs)
	}
	if s.HLog != "" {
		return Usagef("--hlog is not available with --procs yet: merge the processes' documents and use connbench report")
	}
	if s.Procs == "auto" {
		obs.Warn("--procs auto: %d connections at %d descriptors per process → %d processes", conns, limit, n)
	}
	if sharded != "" {
		obs.Say("%s", sharded)
	}
	s.procsN = n
	return nil
}

// procsNeeded is how many processes a load needs: one descriptor per
// connection (plus a margin), within the per-process limit.
func procsNeeded(conns int) (int, uint64) {
	soft, _, err := kernel.RaiseOpenFileLimit()
	if err != nil || soft < 256 {
		soft = 1024
	}
	per := soft - 128
	return int((uint64(conns) + per - 1) / per), soft
}

// descriptorsOver reports whether a run of conns connections needs more
// descriptors than this process may have (its soft limit once raised to
// the hard one): one per connection, the built-in listener's end of each
// when it runs here (builtin), and a margin, as checkDescriptors counts.
func descriptorsOver(conns int, builtin bool) (need, soft uint64, over bool) {
	need = uint64(conns) + 64
	if builtin {
		need += uint64(conns)
	}
	soft, _, err := kernel.RaiseOpenFileLimit()
	if err != nil {
		return need, 0, false // cannot tell: the run counts EMFILE if it happens
	}
	return need, soft, need > soft
}

// childSpec is process i's share of the run, starting at start: the whole
// run's spec with segment i/n, whose share the child takes (takeSegment)
// as a generator on another machine would.
func (s *Spec) childSpec(i int, start time.Time) *Spec {
	c := s.Clone()
	c.Procs, c.Output, c.HLog, c.HGrm, c.CPUProfile, c.RaiseLimits, c.JSONL, c.JUnit = "1", "", "", "", "", false, false, ""
	c.Child, c.NoCheck, c.Quiet = true, true, i > 0 || s.Quiet
	if i > 0 && s.MemProfile != "" {
		c.MemProfile = fmt.Sprintf("%s.%d", s.MemProfile, i+1) // process 1 writes FILE itself
	}
	c.StartAt = strconv.FormatFloat(float64(start.UnixNano())/1e9, 'f', 6, 64)
	c.Segment = segment.Part(i, s.procsN)
	if !s.changed("spin") {
		// Processes (and listener processes) share the CPUs: a loop
		// polling for events would hold a CPU another one needs.
		c.Spin = 0
	}
	if i > 0 {
		// The processes share one kernel: one of them samples its socket
		// states and counters for all (the merge keeps the largest). A
		// sock_diag dump walks every socket on the host, so N processes
		// each dumping a million sockets per interval would be the load.
		c.NoSample = true
	}
	if lanes := s.holdLanes(); lanes > 0 {
		// The hold's lanes: lanes processes open at a time, each its
		// share at rate/lanes on a schedule of its own, the others
		// waiting for their turn.
		lr := s.Rate.Start / float64(lanes)
		per := float64((s.Requests + int64(s.procsN) - 1) / int64(s.procsN))
		c.HoldLaneRate = lr
		c.HoldDelay = time.Duration(float64(i/lanes) * per / lr * 1e9)
		if !s.changed("loops") {
			// One loop each: the lanes are the parallelism (one per
			// CPU), and every loop keeps recorders of its own (270 KiB
			// each) for the whole hold.
			c.Loops = 1
		}
	}
	return c
}

// holdLanes is the number of processes of a hold split over processes
// that open at the same time (0: all of them, each at rate/n). Spread over
// fifty processes, each opening a fiftieth of the rate, every process and
// every listener woke for nearly every connection: the machine's time went
// into context switches, the Go runtime's scheduling of fifty idle-ish
// processes and per-interval work done fifty times over, and opening
// 1,000,000 took 83-122 s. In lanes, one process per CPU opens its share
// at rate/lanes, against a listener process of its own (on a port of its
// own), and hands over to the next when its share is due; all then hold
// together (the hold barrier). The schedule is the same: rate connections
// a second from the start. Only for a constant rate without a warm-up.
func (s *Spec) holdLanes() int {
	if s.Workload != "hold" || s.procsN <= 1 || !s.Rate.IsSet() || s.Rate.End != 0 || s.Warmup != 0 {
		return 0
	}
	if float64(s.Requests)/s.Rate.Start > (24 * time.Hour).Seconds() {
		return 0 // a turn could start later than a child's start may be put off
	}
	return min(max(1, runtime.NumCPU()), s.procsN)
}

// runProcs makes the run in s.procsN child processes (and listener
// processes against the built-in listener) and merges their documents.
func (p *Plan) runProcs(ctx context.Context, obs Observer) (*results.Document, error) {
	s := p.spec()
	n := s.procsN
	target := p.Target
	var servers []*child
	defer func() {
		// SIGTERM, not SIGINT: a shell starts a background job with
		// SIGINT ignored, the listeners inherit that, and connbench
		// leaves an ignored signal ignored. One grace for all of them,
		// not one each.
		for _, c := range servers {
			c.cmd.Process.Signal(syscall.SIGTERM)
		}
		deadline := time.Now().Add(childrenGrace)
		for _, c := range servers {
			select {
			case <-c.done:
			case <-time.After(time.Until(deadline)):
				c.cmd.Process.Kill()
				<-c.done
			}
		}
	}()
	backlogNote := ""
	tlsKit, err := s.procsTLS(!target.IsValid())
	if err != nil {
		return nil, err
	}
	var targets []netip.AddrPort // per client process, when the listeners are paired with them
	if !target.IsValid() {
		var err error
		if s.holdLanes() > 0 {
			targets, servers, backlogNote, err = startPairedListeners(s, p.Stderr, tlsKit)
			if len(targets) > 0 {
				target = targets[0]
			}
		} else {
			target, servers, backlogNote, err = startListeners(s, p.Stderr, tlsKit)
		}
		if err != nil {
			return nil, err
		}
		if backlogNote != "" {
			obs.Say("%s", backlogNote)
		}
	}
	var lm *rssMeter
	if s.Workload == "hold" && len(servers) > 0 {
		lm = startRSSMeter(servers, s.Interval)
	}
	start := time.Now().Add(time.Second + time.Duration(n)*20*time.Millisecond)
	msg := fmt.Sprintf("%d client processes", n)
	switch {
	case len(targets) > 0:
		msg += fmt.Sprintf(" and %d listener processes, one per client process, on ports %d-%d of %s; %d processes open at a time, each at %.6g/s, in turns",
			len(servers), targets[0].Port(), targets[len(targets)-1].Port(), target.Addr(), s.holdLanes(), s.Rate.Start/float64(s.holdLanes()))
	case len(servers) > 0:
		msg += fmt.Sprintf(" and %d listener processes (SO_REUSEPORT) on %s", len(servers), target)
	}
	obs.Say("%s, starting together at %s; progress lines are process 1's share (segment %s)", msg, start.Format("15:04:05.000"), s.childSpec(0, start).Segment.Label())
	clients := make([]*child, 0, n)
	defer func() {
		for _, c := range clients {
			c.cmd.Process.Kill() // only those still running: an error for the rest
			<-c.done
		}
	}()
	var bar *holdBarrier
	if s.Workload == "hold" {
		var err error
		if bar, err = newHoldBarrier(); err != nil {
			return nil, fmt.Errorf("--procs: %w", err)
		}
		defer bar.close()
	}
	for i := 0; i < n; i++ {
		cs := s.childSpec(i, start)
		var extra []*os.File
		if bar != nil {
			cs.HoldSync, extra = true, bar.childFiles()
		}
		tg := target
		if len(targets) > 0 {
			tg = targets[i%len(targets)]
		}
		req := &ChildRequest{Spec: cs, Target: tg.String(), obs: obs, label: p.Variants[0].Label}
		tlsKit.child(req)
		c, err := startChild(fmt.Sprintf("process %d of %d", i+1, n), []string{ChildCommand}, req, p.Stderr, false, extra...)
		if err != nil {
			return nil, fmt.Errorf("--procs: start process %d: %w", i+1, err)
		}
		clients = append(clients, c)
	}
	if bar != nil {
		bar.start(ctx, n)
	}
	waitChildren(ctx, clients)
	var lgrowth int64
	if lm != nil {
		lgrowth = lm.finish()
	}
	// Counted here, after every client closed its share and while the
	// listeners still answer the closes: a child counts only what it
	// sees when it ends, while others may still be closing.
	tw := int64(-1)
	if s.Workload == "hold" && !s.NoSample {
		if len(targets) == 0 {
			tw = timeWaitLeft(target)
		} else {
			tw = 0
			for _, t := range targets {
				if n := timeWaitLeft(t); n >= 0 && tw >= 0 {
					tw += n
				} else {
					tw = -1
				}
			}
		}
	}
	// A listener process that ended before the clients did was lost: the
	// clients met refused connections from then on.
	var lost []string
	for _, c := range servers {
		if c.exited() {
			lost = append(lost, c.how())
		}
	}
	var srcs []results.Source
	for i, c := range clients {
		if code := c.state.ExitCode(); code == 0 || interruptedStatus(code) {
			d, err := c.document()
			if err == nil && len(targets) > 0 {
				// Paired listeners: each process had a port of its own;
				// the document names the first (a note lists them).
				sameTarget(d, target)
			}
			if err == nil {
				srcs = append(srcs, results.Source{Name: fmt.Sprintf("process %d", i+1), Doc: d})
				continue
			}
			obs.Warn("--procs: process %d: %v", i+1, err)
		}
		lost = append(lost, c.how())
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("--procs: no process wrote a result: %s", strings.Join(lost, "; "))
	}
	// Lost processes leave their segments missing: merged as partial.
	doc, err := results.MergeWith(srcs, results.MergeOptions{Partial: true})
	if err != nil {
		return nil, err
	}
	doc.RunID, doc.Segment = s.RunID, nil // the whole run (lost shares are noted below)
	if doc.Runs == nil {
		doc.Runs = []results.Run{} // every process was stopped before the start
	}
	fresh := newDocument(p.Argv)
	doc.Tool, doc.Command = fresh.Tool, fresh.Command
	s.predictWhole(doc, target)
	s.wholeConfig(doc, target)
	for i := range doc.Runs {
		if h := doc.Runs[i].Hold; h != nil {
			h.TimeWaitLeft = tw
			if lm != nil {
				h.ListenerProcs, h.ListenerRSSGrowthBytes = len(servers), lgrowth
			}
			holdRates(&doc.Runs[i])
		}
		if backlogNote != "" {
			doc.Runs[i].Notes = append(doc.Runs[i].Notes, backlogNote)
		}
	}
	for i := range doc.Runs {
		oneHoldNote(&doc.Runs[i], n)
	}
	for i := range doc.Runs {
		ln := listenerNote(len(servers))
		if len(targets) > 0 {
			lo, hi := targets[0].Port(), targets[0].Port()
			for _, t := range targets {
				lo, hi = min(lo, t.Port()), max(hi, t.Port())
			}
			ln = fmt.Sprintf("; %d of them opened at a time, each at rate/%d against a listener process of its own (%d listener processes on ephemeral ports between %d and %d), in turns, and all held together; the listeners' counters are not in this document", s.holdLanes(), s.holdLanes(), len(servers), lo, hi)
		}
		doc.Runs[i].Notes = append(doc.Runs[i].Notes, fmt.Sprintf("made by %d connbench processes started together and merged exactly (histograms merged, counts summed)%s.",
			n, ln))
		if len(lost) > 0 {
			doc.Runs[i].Partial = true
			doc.Runs[i].Notes = append(doc.Runs[i].Notes, lostNote(lost))
		}
	}
	if len(lost) > 0 {
		doc.Partial = true
		return doc, LostError{Note: lostNote(lost)}
	}
	return doc, nil
}

// oneHoldNote keeps one of the n processes' notes on a hold's user memory
// (each names its own fixed allocations, so the merge kept them all), with
// the whole run's fixed allocations in it.
func oneHoldNote(r *results.Run, n int) {
	if r.Hold == nil {
		return
	}
	const prefix = "user memory per connection"
	kept := false
	notes := r.Notes[:0]
	for _, note := range r.Notes {
		if strings.HasPrefix(note, prefix) {
			if kept {
				continue
			}
			kept = true
			if i, j := strings.Index(note, "(recorders, slots: "), strings.Index(note, " MiB)"); i >= 0 && j > i {
				note = note[:i] + fmt.Sprintf("(recorders, slots: %.1f MiB in all %d processes)", float64(r.Hold.FixedBytes)/(1<<20), n) + note[j+len(" MiB)"):]
			}
		}
		notes = append(notes, note)
	}
	r.Notes = notes
}

// sameTarget makes d's runs name target (and their config echo too).
func sameTarget(d *results.Document, target netip.AddrPort) {
	for i := range d.Runs {
		d.Runs[i].Target = target.String()
		if b, err := patchJSON(d.Runs[i].Config, map[string]any{"target": target.String()}); err == nil {
			d.Runs[i].Config = b
		}
	}
}

// LostError says which child processes of a --procs run were lost; the
// document returned with it holds the others' share.
type LostError struct{ Note string }

func (e LostError) Error() string { return e.Note }

// startListeners starts the built-in listener's processes on one free
// loopback port (SO_REUSEPORT) and returns their address, and a note when
// net.core.somaxconn limits their accept queues.
func startListeners(s *Spec, stderr io.Writer, kit *procsTLS) (netip.AddrPort, []*child, string, error) {
	conns, _ := s.connsNeeded()
	// SO_REUSEPORT spreads connections by a hash, not evenly: leave each
	// listener process a quarter of its descriptors spare.
	count, _ := procsNeeded(conns + conns/4)
	count = max(1, count)
	port, err := freePort()
	if err != nil {
		return netip.AddrPort{}, nil, "", fmt.Errorf("--procs: %w", err)
	}
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	cfg := s.ListenerConfig()
	// Each process's socket takes its share of the arrivals into an accept
	// queue of its own, sized for that share.
	cfg.ReusePort, cfg.Loops = true, count
	note := s.sizeBacklog(&cfg, kernel.ReadSysctls("", []string{"net.core.somaxconn"}))
	var servers []*child
	for i := 0; i < count; i++ {
		args, stdin := kit.serveArgs(append(serveArgs(s, cfg), "--reuseport"))
		c, err := startServer(fmt.Sprintf("listener process %d of %d", i+1, count), append(args, target.String()), stdin, stderr)
		if err != nil {
			return target, servers, note, err
		}
		servers = append(servers, c)
	}
	return target, servers, note, nil
}

// serveArgs are the arguments of a one-loop `connbench serve` for cfg.
func serveArgs(s *Spec, cfg listener.Config) []string {
	args := []string{"serve", "--loops", "1", "--mode", cfg.Mode.String(),
		"--request-size", strconv.Itoa(cfg.RequestSize), "--response-size", strconv.Itoa(cfg.ResponseSize),
		"--backlog", strconv.Itoa(cfg.Backlog), "--fastopen-queue", strconv.Itoa(cfg.FastOpenQueue),
		"--accept-delay", cfg.AcceptDelay.String()}
	if s.AcceptPause != "" {
		args = append(args, "--accept-pause", s.AcceptPause)
	}
	if cfg.Leak {
		args = append(args, "--leak")
	}
	if cfg.IdleClose > 0 {
		args = append(args, "--idle-close", cfg.IdleClose.String())
	}
	return args
}

// startPairedListeners starts one built-in listener process per client
// process of a hold in lanes (holdLanes), each on a loopback port of its
// own and sized for its client's rate (rate/lanes): client process i
// connects to the i-th address.
func startPairedListeners(s *Spec, stderr io.Writer, kit *procsTLS) ([]netip.AddrPort, []*child, string, error) {
	cfg := s.ListenerConfig()
	cfg.Loops = 1
	note := ""
	if s.Backlog == 0 {
		somaxconn, _ := strconv.Atoi(kernel.ReadSysctls("", []string{"net.core.somaxconn"})["net.core.somaxconn"])
		lr := s.Rate.Start / float64(s.holdLanes())
		var limited bool
		if cfg.Backlog, limited = listener.BacklogFor(lr, somaxconn); limited {
			note = somaxconnNote(lr, somaxconn)
		}
	}
	var targets []netip.AddrPort
	var servers []*child
	for i := 0; i < s.procsN; i++ {
		port, err := freePort()
		if err != nil {
			return targets, servers, note, fmt.Errorf("--procs: %w", err)
		}
		t := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
		args, stdin := kit.serveArgs(serveArgs(s, cfg))
		c, err := startServer(fmt.Sprintf("listener process %d of %d", i+1, s.procsN), append(args, t.String()), stdin, stderr)
		if err != nil {
			return targets, servers, note, err
		}
		servers = append(servers, c)
		targets = append(targets, t)
	}
	return targets, servers, note, nil
}

// wholeConfig makes the merged runs' config echo the whole run's: the
// processes' configuration (the first's) with the parent's connections,
// rate, requests and in-flight bound in place of that process's share.
func (s *Spec) wholeConfig(doc *results.Document, target netip.AddrPort) {
	whole := s.Config(s.Workload, target)
	set := map[string]any{"concurrency": whole.Concurrency, "requests": whole.Requests}
	if s.Rate.IsSet() {
		set["rate"], set["max_inflight"] = whole.Rate, whole.MaxInflight
		if whole.RateEnd > 0 {
			set["rate_end"] = whole.RateEnd
		}
	}
	for i := range doc.Runs {
		if b, err := patchJSON(doc.Runs[i].Config, set); err == nil {
			doc.Runs[i].Config = b
		}
		if sc := doc.Runs[i].Schedule; sc != nil && s.Rate.IsSet() {
			sc.RatePerSec, sc.RateEndPerSec = whole.Rate, whole.RateEnd
		}
	}
}

// patchJSON sets keys of a JSON object to values.
func patchJSON(obj json.RawMessage, set map[string]any) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(obj, &m); err != nil {
		return obj, err
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return obj, err
		}
		m[k] = b
	}
	return json.Marshal(m)
}

// startServer starts one `connbench serve`, with stdin on its standard
// input (nil: none), and waits for its "listening on" line.
func startServer(name string, args []string, stdin []byte, stderr io.Writer) (*child, error) {
	cmd, err := command(args, false)
	if err != nil {
		return nil, fmt.Errorf("--procs: %w", err)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("--procs: start a listener process: %w", err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		io.Copy(io.Discard, out) // before Wait, which closes the pipe
		c.wait()
	}()
	if !strings.Contains(line, "listening on") {
		return c, fmt.Errorf("--procs: %s did not start: %q", name, strings.TrimSpace(line))
	}
	return c, nil
}

// lostNote names the children whose share of the load is missing.
func lostNote(lost []string) string {
	return fmt.Sprintf("partial: %s; the figures are those of the other processes, without the share of the load of those lost.", strings.Join(lost, "; "))
}

// childrenGrace is how long children may take to write their results after
// the hard stop before they are killed (and counted as lost).
const childrenGrace = 3 * time.Second

// waitChildren waits for every child to end. A signal to the parent is
// passed on as SIGINT (the children stop and write what they recorded);
// the hard stop passes on a second one; children that still run
// childrenGrace later are killed.
func waitChildren(ctx context.Context, cs []*child) {
	all := make(chan struct{})
	go func() {
		for _, c := range cs {
			<-c.done
		}
		close(all)
	}()
	signalAll := func(sig os.Signal) {
		for _, c := range cs {
			if !c.exited() {
				c.cmd.Process.Signal(sig)
			}
		}
	}
	select {
	case <-all:
		return
	case <-ctx.Done():
	}
	signalAll(syscall.SIGINT)
	select {
	case <-all:
		return
	case <-hardStop(ctx):
	}
	signalAll(syscall.SIGINT)
	select {
	case <-all:
	case <-time.After(childrenGrace):
		signalAll(syscall.SIGKILL)
		<-all
	}
}

func listenerNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; the built-in listener ran in %d processes of its own (SO_REUSEPORT), whose counters are not in this document", n)
}

// freePort asks the kernel for a free loopback port.
func freePort() (uint16, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// predictWhole puts the whole run's exhaustion prediction into the merged
// document: each process predicted for its share of the rate over the
// ports they all share, N times too late.
func (s *Spec) predictWhole(doc *results.Document, target netip.AddrPort) {
	if !s.Rate.IsSet() || workloads.Registry[s.Workload].Persistent {
		return
	}
	facts := portFacts(kernel.ReadSysctls("", kernel.DefaultSysctls), s, target)
	pred := workloads.PredictExhaustion(facts, max(s.Rate.Start, s.Rate.End), s.close == dialer.CloseRST)
	for i := range doc.Runs {
		e := doc.Runs[i].Exhaustion
		if e == nil {
			continue
		}
		e.PredictedNs, e.Prediction, e.PredictedStallNs = int64(pred.At), pred.Text, 0
		if pred.StallAt > 0 {
			e.PredictedStallNs = int64(pred.StallAt)
		}
	}
}
