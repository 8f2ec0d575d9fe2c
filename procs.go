package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
)

// procsPlan splits one run over several connbench processes, for loads
// that need more descriptors than one process may have (the limit is per
// process, and often cannot be raised, as in containers). Every child gets
// its share of the connections, rate, requests and source addresses, all
// start at the same wall-clock time (--start-at), and their documents are
// merged exactly (histograms merged, counts summed). Against the built-in
// listener, the listener also runs in processes of its own, sharing one
// port through SO_REUSEPORT.
type procsPlan struct {
	n         int
	listeners int
	args      []string // the run flags, without --procs, -o, --quiet
	o         *runOptions
	target    netip.AddrPort
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

// share splits total over n parts, the first ones taking the remainder.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

func (pp *procsPlan) execute(argv []string, stdout, stderr io.Writer) int {
	o := pp.o
	self, err := os.Executable()
	if err != nil {
		return exitCode(stderr, fmt.Errorf("--procs: cannot re-execute connbench: %w", err))
	}
	if o.output != "" && o.output != "-" {
		if err := results.CheckWritable(o.output); err != nil {
			return exitCode(stderr, fmt.Errorf("--output %s", err))
		}
	}
	if err := checkHistogramFiles(o.hlog, o.hgrm); err != nil {
		return exitCode(stderr, err)
	}
	cleanLeftovers() // a run killed before could not remove its directory
	tmp, err := makeTempDir("procs")
	if err != nil {
		return exitCode(stderr, fmt.Errorf("--procs: %w", err))
	}
	defer tmp.remove()
	dir := tmp.path
	ctx, stop := signalContext()
	defer stop()

	target := pp.target
	var servers []*child
	defer func() {
		for _, s := range servers {
			s.cmd.Process.Signal(syscall.SIGINT)
			<-s.done
		}
	}()
	if !target.IsValid() {
		port, err := freePort()
		if err != nil {
			return exitCode(stderr, fmt.Errorf("--procs: %w", err))
		}
		target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
		cfg := o.listenerConfig()
		for i := 0; i < pp.listeners; i++ {
			sargs := []string{"serve", "--reuseport", "--loops", "1", "--mode", cfg.Mode.String(),
				"--request-size", strconv.Itoa(cfg.RequestSize), "--response-size", strconv.Itoa(cfg.ResponseSize),
				"--backlog", strconv.Itoa(o.backlog), "--fastopen-queue", strconv.Itoa(cfg.FastOpenQueue),
				"--accept-delay", cfg.AcceptDelay.String()}
			if o.acceptPause != "" {
				sargs = append(sargs, "--accept-pause", o.acceptPause)
			}
			if cfg.Leak {
				sargs = append(sargs, "--leak")
			}
			s := childCommand(self, append(sargs, target.String()))
			out, _ := s.StdoutPipe()
			s.Stderr = stderr
			c, err := startChild(s, fmt.Sprintf("listener process %d of %d", i+1, pp.listeners))
			if err != nil {
				return exitCode(stderr, fmt.Errorf("--procs: start a listener process: %w", err))
			}
			servers = append(servers, c)
			line, _ := bufio.NewReader(out).ReadString('\n')
			if !strings.Contains(line, "listening on") {
				return exitCode(stderr, fmt.Errorf("--procs: listener process %d did not start: %q", i+1, strings.TrimSpace(line)))
			}
			go io.Copy(io.Discard, out)
		}
	}
	start := time.Now().Add(time.Second + time.Duration(pp.n)*20*time.Millisecond)
	if !o.quiet {
		fmt.Fprintf(stderr, "connbench: %d client processes", pp.n)
		if len(servers) > 0 {
			fmt.Fprintf(stderr, " and %d listener processes (SO_REUSEPORT) on %s", len(servers), target)
		}
		fmt.Fprintf(stderr, ", starting together at %s\n", start.Format("15:04:05.000"))
	}
	clients := make([]*child, 0, pp.n)
	defer func() {
		for _, c := range clients {
			c.cmd.Process.Kill() // only those still running: an error for the rest
			<-c.done
		}
	}()
	for i := 0; i < pp.n; i++ {
		args := append([]string{"run"}, pp.args...)
		args = append(args, pp.childFlags(i)...)
		args = append(args, "--start-at", strconv.FormatFloat(float64(start.UnixNano())/1e9, 'f', 6, 64),
			"-o", filepath.Join(dir, fmt.Sprintf("p%d.json", i)), "--child", "--no-check")
		if i > 0 || o.quiet {
			args = append(args, "--quiet")
		}
		args = append(args, target.String())
		cmd := childCommand(self, args)
		cmd.Stdout = io.Discard
		cmd.Stderr = stderr
		c, err := startChild(cmd, fmt.Sprintf("process %d of %d", i+1, pp.n))
		if err != nil {
			return exitCode(stderr, fmt.Errorf("--procs: start process %d: %w", i+1, err))
		}
		clients = append(clients, c)
	}
	waitChildren(ctx, clients)
	// A listener process that ended before the clients did was lost: the
	// clients met refused connections from then on.
	var lost []string
	for _, s := range servers {
		if s.exited() {
			lost = append(lost, s.how())
		}
	}
	var (
		srcs    []results.Source
		failure int
	)
	for i, c := range clients {
		code := c.state.ExitCode()
		if code == exitOK || isInterruptedCode(code) {
			d, err := results.ReadFile(filepath.Join(dir, fmt.Sprintf("p%d.json", i)))
			if err == nil {
				srcs = append(srcs, results.Source{Name: fmt.Sprintf("process %d", i+1), Doc: d})
				continue
			}
			fmt.Fprintf(stderr, "connbench: --procs: process %d: %v\n", i+1, err)
		}
		if failure == 0 {
			failure = code
		}
		lost = append(lost, c.how())
	}
	if len(srcs) == 0 {
		if failure <= 0 {
			failure = exitFailure
		}
		fmt.Fprintf(stderr, "connbench: --procs: no process wrote a result: %s\n", strings.Join(lost, "; "))
		return failure
	}
	doc, err := results.Merge(srcs)
	if err != nil {
		return exitCode(stderr, err)
	}
	if doc.Runs == nil {
		doc.Runs = []results.Run{} // every process was stopped before the start
	}
	fresh := newDocument(argv)
	doc.Tool, doc.Command = fresh.Tool, fresh.Command
	for i := range doc.Runs {
		doc.Runs[i].Notes = append(doc.Runs[i].Notes, fmt.Sprintf("made by %d connbench processes started together and merged exactly (histograms merged, counts summed)%s.",
			pp.n, listenerNote(len(servers))))
		if len(lost) > 0 {
			doc.Runs[i].Partial = true
			doc.Runs[i].Notes = append(doc.Runs[i].Notes, lostNote(lost))
		}
	}
	if len(lost) > 0 {
		doc.Partial = true
	}
	tableOut := stdout
	if o.output == "-" {
		tableOut = stderr
	}
	if err := view.WriteTable(tableOut, doc); err != nil {
		return exitCode(stderr, err)
	}
	if o.output != "" {
		if err := writeDoc(o.output, doc, stdout); err != nil {
			return exitCode(stderr, err)
		}
	}
	if err := writeHistograms(doc, o.hlog, o.hgrm, o.output, o.quiet, stderr); err != nil {
		return exitCode(stderr, err)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "connbench: interrupted; the results above are partial")
		return interruptedCode(ctx)
	case len(lost) > 0:
		fmt.Fprintf(stderr, "connbench: %s\n", lostNote(lost))
		return exitFailure
	case doc.Partial:
		fmt.Fprintln(stderr, "connbench: interrupted; the results above are partial")
		return exitInterrupted
	}
	return exitOK
}

// child is a connbench process a --procs parent started.
type child struct {
	name  string
	cmd   *exec.Cmd
	done  chan struct{} // closed when it has ended; state is set then
	state *os.ProcessState
}

// childCommand is connbench run as a child: in a process group of its own
// (a Ctrl-C at the terminal reaches the parent only, which passes it on),
// and killed by the kernel if the parent dies, however it dies, so a
// killed parent leaves no load generator behind.
func childCommand(self string, args []string) *exec.Cmd {
	cmd := exec.Command(self, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func startChild(cmd *exec.Cmd, name string) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		c.state = cmd.ProcessState
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// how says how the child ended, for a note.
func (c *child) how() string {
	s := fmt.Sprintf("%s (pid %d) ", c.name, c.cmd.Process.Pid)
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		s += fmt.Sprintf("was killed by %s", signalName(sig))
		if sig == syscall.SIGKILL {
			s += " (by someone, or by the kernel's out-of-memory killer)"
		}
		return s
	}
	return s + fmt.Sprintf("exited with status %d and wrote no result", c.state.ExitCode())
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

// childFlags gives process i its share of the load.
func (pp *procsPlan) childFlags(i int) []string {
	o := pp.o
	var f []string
	f = append(f, "--concurrency", strconv.Itoa(max(1, share(o.concurrency, pp.n, i))))
	if i > 0 {
		// The processes share one kernel: one of them samples its socket
		// states and counters for all (the merge keeps the largest). A
		// sock_diag dump walks every socket on the host, so N processes
		// each dumping a million sockets per interval would be the load.
		f = append(f, "--no-sample")
	}
	if o.requests > 0 {
		f = append(f, "--requests", strconv.FormatInt(int64(share(int(o.requests), pp.n, i)), 10))
	}
	if o.rate != "" {
		r := fmt.Sprintf("%g", o.rateA/float64(pp.n))
		if o.rateB > 0 {
			r += fmt.Sprintf(":%g", o.rateB/float64(pp.n))
		}
		f = append(f, "--rate", r)
		f = append(f, "--max-inflight", strconv.Itoa(max(1, share(o.maxInflight, pp.n, i))))
	}
	switch {
	case len(o.sources) >= pp.n && o.workload != "hold":
		var mine []string
		for j := i; j < len(o.sources); j += pp.n {
			mine = append(mine, o.sources[j].String())
		}
		f = append(f, "--source", strings.Join(mine, ","))
	case len(o.sources) > 0:
		// Fewer sources than processes, or a hold (whose sources were
		// counted so that none is over half full: a process given one
		// source of its own would fill it): all share them; the kernel
		// picks free ports per 4-tuple across processes.
		f = append(f, "--source", o.source)
	}
	return f
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
