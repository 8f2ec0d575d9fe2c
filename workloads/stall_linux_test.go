package workloads

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

// stallNamespace makes a network namespace with loopback up, a small
// ephemeral port range and tcp_tw_reuse=0, and a server in it that reads
// each connection to its end and closes it, never answering: a churn run
// with --exchange waits for every response until its timeout, closes
// first, and leaves its ports in TIME_WAIT. It returns the server's
// address and a Spawn that starts threads inside the namespace.
func stallNamespace(t *testing.T, portLo, portHi int) (netip.AddrPort, func(func()) error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a network namespace of its own")
	}
	type made struct {
		ns  *os.File
		ln  net.Listener
		err error
	}
	ch := make(chan made, 1)
	go func() {
		// This thread enters the new namespace and is never unlocked:
		// when the goroutine ends, the runtime ends the thread with it.
		runtime.LockOSThread()
		var m made
		defer func() { ch <- m }()
		if m.err = unix.Unshare(unix.CLONE_NEWNET); m.err != nil {
			return
		}
		if m.err = kernel.LinkUp("lo"); m.err != nil {
			return
		}
		for name, v := range map[string]string{
			"net.ipv4.tcp_tw_reuse":        "0",
			"net.ipv4.ip_local_port_range": itoa(portLo) + " " + itoa(portHi),
		} {
			if m.err = kernel.WriteSysctl("", name, v); m.err != nil {
				return
			}
		}
		if m.ns, m.err = os.Open("/proc/thread-self/ns/net"); m.err != nil {
			return
		}
		m.ln, m.err = net.Listen("tcp4", "127.0.0.1:0")
	}()
	m := <-ch
	if m.err != nil {
		// Root, yet the namespace could not be made: the project's
		// own setup failed, which is a failure, not a skip.
		t.Fatalf("namespace: %v", m.err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := m.ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		m.ln.Close()
		wg.Wait()
		m.ns.Close()
	})
	spawn := func(f func()) error {
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with f
			if err := unix.Setns(int(m.ns.Fd()), unix.CLONE_NEWNET); err != nil {
				errc <- err
				return
			}
			errc <- nil
			f()
		}()
		return <-errc
	}
	return netip.MustParseAddrPort(m.ln.Addr().String()), spawn
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestStallTimersHold: churn into a small port range with tcp_tw_reuse=0
// through connect()'s port-search stall. Every connection waits for a
// response that never comes, so response timers fire all along; they must
// fire on time however long connect() takes, handshakes must not show
// longer than the connect timeout plus a pass, and the run must see the
// stall; with --until-exhausted (in a namespace of its own) it stops there
// and says so.
func TestStallTimersHold(t *testing.T) {
	const lo, hi = 40000, 47999 // 8,000 ports: connect() slows from ~4,000 in use
	target, spawn := stallNamespace(t, lo, hi)
	cfg := Config{
		Workload: "churn", Exchange: true, Target: target, Rate: 4000, Duration: 3 * time.Second,
		Interval: 250 * time.Millisecond, // the first intervals, under 40% of the range in use, are the baseline
		Loops:    1, MaxInflight: 4096, PortRange: hi - lo + 1, Spawn: spawn,
		Timeouts: dialer.Timeouts{Connect: 500 * time.Millisecond, Response: 100 * time.Millisecond},
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Phases[PhaseHandshake]
	t.Logf("handshake max %v, timer late max %v, connect() %d calls %v, busy %v, stall %v, stopped %v by %q, held %d, failures %v",
		time.Duration(h.Hist().Max()), res.TimerLateMax, res.ConnectCalls, res.ConnectCallTime, res.LoopBusy, res.Stall, res.Exhausted, res.StoppedBy, res.HeldByInflight, res.Failures)
	// Generous slack for a loaded 2-core machine: the unbounded pass
	// this guards against took seconds.
	const slack = 750 * time.Millisecond
	if max := time.Duration(h.Hist().Max()); max > cfg.Timeouts.Connect+slack {
		t.Errorf("handshake max %v: beyond --connect-timeout %v plus %v", max, cfg.Timeouts.Connect, slack)
	}
	if res.Failures[dialer.FailResponseTimeout] == 0 {
		t.Fatal("no response timed out: the server answered, or no timer fired")
	}
	if res.TimerLateMax <= 0 || res.TimerLateMax > slack {
		t.Errorf("timer late max %v: want reported (> 0) and under %v", res.TimerLateMax, slack)
	}
	if res.ConnectCalls == 0 || res.ConnectCallTime <= 0 || res.LoopBusy < res.ConnectCallTime {
		t.Errorf("connect() %d calls, %v; loop busy %v: want calls, time, and busy time covering them",
			res.ConnectCalls, res.ConnectCallTime, res.LoopBusy)
	}
	if res.Stall <= 0 || res.Exhausted || res.StoppedBy != "" {
		t.Errorf("stall at %v, stopped %v by %q: want the stall seen, and no stop without --until-exhausted", res.Stall, res.Exhausted, res.StoppedBy)
	}
	if res.CPUThread <= 0 || res.CPUThread < res.CPUUser {
		t.Errorf("loop thread CPU %v (user %v, sys %v): want the exact runtime, at least the user share", res.CPUThread, res.CPUUser, res.CPUSys)
	}
	var stalled bool
	for _, iv := range res.Series {
		stalled = stalled || iv.Stalled
	}
	if stalled != (res.Stall > 0) {
		t.Errorf("Stall %v but intervals stalled: %v", res.Stall, stalled)
	}

	// --until-exhausted stops at the stall, before EADDRNOTAVAIL.
	cfg.Target, cfg.Spawn = stallNamespace(t, lo, hi)
	cfg.UntilExhausted = true
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stall <= 0 || !res.Exhausted || res.StoppedBy != StopPortSearchStall || res.Elapsed >= cfg.Duration {
		t.Errorf("--until-exhausted: stall at %v, stopped %v by %q after %v: want stopped by the stall",
			res.Stall, res.Exhausted, res.StoppedBy, res.Elapsed)
	}
}
