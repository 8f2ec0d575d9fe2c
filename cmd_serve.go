package main

import (
	"fmt"
	"io"
	"time"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/runner"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench serve")
	fs := f.Group("Flags")
	var cfg listener.Config
	var mode string
	fs.IntVar(&cfg.Loops, "loops", 0, "event loops (0: one per CPU)")
	fs.IntVar(&cfg.Backlog, "backlog", 0, "listen() backlog (0: net.core.somaxconn)")
	fs.BoolVar(&cfg.ReusePort, "reuseport", false, "one SO_REUSEPORT listening socket per loop")
	fs.BoolVar(&cfg.ReuseAddr, "reuseaddr", false, "set SO_REUSEADDR on the listening socket")
	fs.BoolVar(&cfg.NoDelay, "nodelay", false, "set TCP_NODELAY on accepted connections")
	fs.IntVar(&cfg.RequestSize, "request-size", 1, "bytes that make one request")
	fs.IntVar(&cfg.ResponseSize, "response-size", 1, "bytes sent back per request")
	fs.StringVar(&mode, "mode", "respond", "respond (answer each request), echo (send back what arrives), discard, or http (answer HTTP/1.1 requests with a --response-size body)")
	fs.IntVar(&cfg.FastOpenQueue, "fastopen-queue", 0, "accept data in the SYN (TCP_FASTOPEN with this queue length; needs bit 0x2 of net.ipv4.tcp_fastopen)")
	fs.DurationVar(&cfg.AcceptDelay, "accept-delay", 0, "accept at most one connection per this long per loop (a slow-accepting server)")
	var pause string
	fs.StringVar(&pause, "accept-pause", "", "stop accepting for FOR after AFTER (AFTER:FOR, or FOR from the start) while serving what it has")
	fs.DurationVar(&cfg.Spin, "spin", 0, "with connections open, a loop polls for events up to this long before it sleeps (0 to 1ms; 0: sleeps at once); the window closes while polls find nothing. A loop that is awake when a connection or request arrives spares the client's system call the wake-up, at the cost of a CPU the clients may need (run's built-in listener polls as its client does, --spin, when their loops fit the CPUs)")
	fs.BoolVar(&cfg.Leak, "leak", false, "never close a connection the client closed (the CLOSE_WAIT bug)")
	tlsCfg := runner.ServeTLSFlags(fs)
	var idle runner.AgeLimit
	fs.Var(runner.AgeFlag(&idle, "idle-close", runner.MinIdleClose), "idle-close", "close a connection idle this long (a keep-alive timeout); 1ms to 720h, or inf: never")
	if err := f.Done().ParseArgs(args); err != nil {
		return stop(err, helpText("serve")+f.Usage(), stdout, stderr)
	}
	if f.NArg() > 1 {
		return exitCode(stderr, usagef("serve takes at most one address, got %q", f.Args()))
	}
	var err error
	if cfg.Mode, err = listener.ParseMode(mode); err != nil {
		return exitCode(stderr, usagef("--mode %q: want respond, echo, discard or http", mode))
	}
	if pause != "" {
		if cfg.AcceptPauseAfter, cfg.AcceptPauseFor, err = runner.ParseAcceptPause(pause); err != nil {
			return exitCode(stderr, err)
		}
	}
	if cfg.TLS, err = tlsCfg(); err != nil {
		return exitCode(stderr, err)
	}
	cfg.IdleClose = time.Duration(idle)
	if err := runner.CheckListener(cfg); err != nil {
		return exitCode(stderr, err)
	}
	if f.NArg() == 1 {
		if cfg.Addr, err = runner.ParseListenAddr(f.Arg(0)); err != nil {
			return exitCode(stderr, err)
		}
	}
	ln, err := listener.Start(cfg)
	if err != nil {
		return exitCode(stderr, err)
	}
	fmt.Fprintf(stdout, "connbench: listening on %s (%s, %d-byte requests, %d-byte responses); Ctrl-C to stop\n",
		ln.Addr(), cfg.Mode, ln.Config().RequestSize, ln.Config().ResponseSize)
	ctx, stop := runner.SignalContext()
	<-ctx.Done()
	stop()
	ln.Close()
	s := ln.Stats()
	fmt.Fprintf(stdout, "connbench: served %s connections (%s closed idle), %s requests; %s bytes in, %s bytes out; %s resets, %s errors; CPU %s user, %s system\n",
		view.Count(s.Accepted), view.Count(s.IdleClosed), view.Count(s.Requests), view.Count(s.BytesReceived), view.Count(s.BytesSent),
		view.Count(s.Resets), view.Count(s.Errors), s.CPUUser.Round(1e6), s.CPUSys.Round(1e6))
	if s.Spin > 0 {
		fmt.Fprintf(stdout, "connbench: of that CPU, %s polling for events before sleeps (--spin)\n", s.Spin.Round(1e6))
	}
	fmt.Fprint(stdout, runner.ServeTLSSummary(s))
	return exitOK
}
