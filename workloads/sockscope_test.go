package workloads

import (
	"os"
	"runtime"
	"testing"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"golang.org/x/sys/unix"
)

// ownTimeWait is the part of a run's TIME_WAIT peak that the sockets
// present at its start cannot account for: those only decay during the
// run, so whatever the peak holds beyond them is the run's own.
func ownTimeWait(k *KernelStats) int {
	return max(0, k.PeakStates["time_wait"]-k.StatesAtStart["time_wait"])
}

// An RST run right after a FIN run to the same destination shares the
// host's namespace with the FIN run's TIME_WAIT sockets: its result shows
// them as present at the start, and nothing of the peak as its own.
func TestRSTAfterFINCountsEarlierTimeWaitAtStart(t *testing.T) {
	const n = 200
	ln, _ := startListener(t, listener.Config{})
	// A fresh port, but an earlier listener's clients may linger toward it.
	before := timeWaits(t, ln.Addr())
	fin := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: n,
		Socket: dialer.Options{Close: dialer.CloseFIN}})
	if fin.Transactions != n || fin.Kernel == nil {
		t.Fatalf("FIN run: transactions %d, failures %v, kernel %+v", fin.Transactions, fin.Failures, fin.Kernel)
	}
	if fin.Kernel.Scope != ScopeHost || fin.Kernel.StatesAtStart["time_wait"] != before {
		t.Errorf("FIN run: scope %q, at start %v; want host, %d TIME_WAIT", fin.Kernel.Scope, fin.Kernel.StatesAtStart, before)
	}
	// The client closed first: its ends reach TIME_WAIT once the
	// listener's FINs arrive.
	waitFor(t, "the FIN run's TIME_WAIT", func() bool { return timeWaits(t, ln.Addr()) == before+n })

	rst := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: n,
		Socket: dialer.Options{Close: dialer.CloseRST}})
	if rst.Transactions != n || rst.Kernel == nil || rst.Kernel.Samples == 0 {
		t.Fatalf("RST run: transactions %d, failures %v, kernel %+v", rst.Transactions, rst.Failures, rst.Kernel)
	}
	k := rst.Kernel
	if k.Scope != ScopeHost {
		t.Errorf("scope %q, want %q", k.Scope, ScopeHost)
	}
	if got := k.StatesAtStart["time_wait"]; got != before+n {
		t.Errorf("TIME_WAIT present at the start %d, want the FIN run's %d (%v)", got, before+n, k.StatesAtStart)
	}
	if own := ownTimeWait(k); own != 0 {
		t.Errorf("RST run's own TIME_WAIT %d (peak %v, at start %v), want 0", own, k.PeakStates, k.StatesAtStart)
	}
}

func TestOwnNamespaceScope(t *testing.T) {
	ln, _ := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 1, Requests: 10,
		OwnNamespace: true, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Kernel == nil || res.Kernel.Scope != ScopeNamespace {
		t.Fatalf("kernel %+v, want scope %q", res.Kernel, ScopeNamespace)
	}
	res = run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 1, Requests: 10, NoSample: true})
	if res.Kernel != nil {
		t.Errorf("a run without sampling has kernel stats %+v", res.Kernel)
	}
}

// A run spawned into a network namespace of its own sees none of the
// host's sockets toward the same address and port, and says so.
func TestNamespaceRunIgnoresHostSockets(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	const n = 50
	ln, _ := startListener(t, listener.Config{})
	target := ln.Addr()
	run(t, Config{Workload: "per-request", Target: target, Concurrency: 1, Requests: n, NoSample: true,
		Socket: dialer.Options{Close: dialer.CloseFIN}})
	waitFor(t, "TIME_WAIT on the host", func() bool { return timeWaits(t, target) >= n })

	// One namespace, entered by every thread the run spawns.
	type made struct {
		fd  int
		ln  *listener.Listener
		err error
	}
	ch := make(chan made)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		var m made
		if m.err = unix.Unshare(unix.CLONE_NEWNET); m.err == nil {
			if m.err = kernel.LinkUp("lo"); m.err == nil {
				if m.fd, m.err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); m.err == nil {
					m.ln, m.err = listener.Start(listener.Config{Addr: target, Loops: 1})
				}
			}
		}
		ch <- m
	}()
	m := <-ch
	if m.err != nil {
		t.Fatalf("namespace: %v", m.err)
	}
	t.Cleanup(func() { m.ln.Close(); unix.Close(m.fd) })
	spawn := func(f func()) error {
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked, as above
			if err := unix.Setns(m.fd, unix.CLONE_NEWNET); err != nil {
				errc <- err
				return
			}
			errc <- nil
			f()
		}()
		return <-errc
	}
	res := run(t, Config{Workload: "per-request", Target: target, Concurrency: 1, Requests: n, Spawn: spawn,
		Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != n || res.Kernel == nil || res.Kernel.Samples == 0 {
		t.Fatalf("namespace run: transactions %d, failures %v, kernel %+v", res.Transactions, res.Failures, res.Kernel)
	}
	if k := res.Kernel; k.Scope != ScopeNamespace || len(k.StatesAtStart) != 0 || k.PeakStates["time_wait"] != 0 {
		t.Errorf("scope %q, at start %v, peak %v; want namespace, none, no TIME_WAIT (the host holds %d)",
			k.Scope, k.StatesAtStart, k.PeakStates, n)
	}
}
