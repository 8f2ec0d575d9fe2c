package kernel

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loopbackConns listens on a random 127.a.b.c address (IPv4 only, so that
// the sockets are counted in /proc/net/sockstat and not sockstat6; see
// listen) and opens k connections to the listener. The sockets are created
// on the calling thread, hence in its network namespace. Whatever the
// caller has not closed is reset at the end of the test (closeReset).
func loopbackConns(t *testing.T, k int) (ln net.Listener, clients, servers []net.Conn) {
	t.Helper()
	ln, _ = listen(t, "tcp4")
	clients, servers = conns(t, ln, k)
	t.Cleanup(func() { closeReset(append(clients, servers...)) })
	return ln, clients, servers
}

// closeReset closes conns with a reset (SO_LINGER 0), which leaves no
// TIME_WAIT entries behind to disturb other tests in the namespace.
func closeReset(conns []net.Conn) {
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// onOwnThread runs fn in a goroutine locked to an OS thread that is not
// the process's main thread, and waits for it; the thread is discarded
// afterwards. A test that moves its thread into a network namespace of its
// own leaves the thread locked so that the runtime discards it, but the
// runtime cannot discard the main thread, which then stays in that
// namespace for the rest of the process, and /proc/net, which follows the
// main thread, with it. Running there would also put fn's sockets in a
// namespace whose loopback may be down.
func onOwnThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked unless on the main thread
		if unix.Gettid() != unix.Getpid() {
			fn()
			return
		}
		// This is the main thread: hold it, so that fn gets another.
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			runtime.LockOSThread()
			fn()
		}()
		<-inner
		runtime.UnlockOSThread()
	}()
	<-done
}

// sameNetns reports whether the calling thread is in the network
// namespace of the main thread, which /proc/net shows.
func sameNetns() bool {
	a, err1 := os.Readlink("/proc/thread-self/ns/net")
	b, err2 := os.Readlink("/proc/self/ns/net")
	return err1 == nil && err2 == nil && a == b
}

// retry runs attempt on a thread of its own (onOwnThread) up to n times,
// until it returns nil, and fails the test if it never does. The figures
// of a shared network namespace, and the global ones, move with whatever
// else runs on the machine (go test ./... runs packages in parallel, and
// some open and close thousands of sockets): a check that fails only
// because of that passes on another attempt, while a wrong reading fails
// every time.
func retry(t *testing.T, n int, attempt func() error) {
	t.Helper()
	var err error
	for i := range n {
		onOwnThread(func() { err = attempt() })
		if err == nil {
			return
		}
		t.Logf("attempt %d of %d: %v", i+1, n, err)
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("%d attempts failed; the last: %v", n, err)
}

// TestSockstatLoopback checks the namespace the test's sockets are in,
// which other processes may be using at the same time: lower bounds only,
// with a margin of k+1 sockets for others closing theirs meanwhile, and
// retried. It reads /proc/thread-self/net/sockstat, and /proc/net/sockstat
// too when the main thread is in the same namespace.
func TestSockstatLoopback(t *testing.T) {
	const k = 100
	retry(t, 5, func() error {
		paths := []string{"/proc/thread-self/net/sockstat"}
		if sameNetns() {
			paths = append(paths, "")
		}
		var before, open, closed [2]Sockstat
		read := func(to *[2]Sockstat) error {
			for i, p := range paths {
				s, err := ReadSockstat(p)
				if err != nil {
					return err
				}
				to[i] = s
			}
			return nil
		}
		if err := read(&before); err != nil {
			return err
		}
		_, clients, servers := loopbackConns(t, k)
		err1 := read(&open)
		closeReset(append(clients, servers...))
		if err := errors.Join(err1, read(&closed)); err != nil {
			return err
		}
		var errs []error
		for i, p := range paths {
			t.Logf("%q: before %+v", p, before[i])
			t.Logf("%q: with %d connections open %+v", p, k, open[i])
			t.Logf("%q: closed %+v", p, closed[i])
			// k connections are 2k sockets, plus the listener.
			if d := open[i].TCPInUse - before[i].TCPInUse; d < k {
				errs = append(errs, fmt.Errorf("%q: TCPInUse went from %d to %d, want at least +%d (+%d expected)", p, before[i].TCPInUse, open[i].TCPInUse, k, 2*k+1))
			}
			if d := open[i].Sockets - before[i].Sockets; d < k {
				errs = append(errs, fmt.Errorf("%q: Sockets went from %d to %d, want at least +%d (+%d expected)", p, before[i].Sockets, open[i].Sockets, k, 2*k+1))
			}
			if d := open[i].TCPInUse - closed[i].TCPInUse; d < k {
				errs = append(errs, fmt.Errorf("%q: TCPInUse went from %d to %d after closing, want at least -%d (-%d expected)", p, open[i].TCPInUse, closed[i].TCPInUse, k, 2*k+1))
			}
		}
		return errors.Join(errs...)
	})
}

// TestSockstatNetns opens connections in a network namespace of its own,
// where nothing else runs, and checks the per-namespace figures exactly.
// It reads the namespace's file through /proc/thread-self, as a caller
// must (/proc/net/sockstat shows the main thread's namespace).
func TestSockstatNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot create a network namespace")
	}
	const (
		k    = 50
		path = "/proc/thread-self/net/sockstat"
	)
	onOwnThread(func() {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare(CLONE_NEWNET): %v", err)
			return
		}
		if err := LinkUp("lo"); err != nil {
			t.Error(err)
			return
		}
		fresh, err := ReadSockstat(path)
		if err != nil {
			t.Error(err)
			return
		}
		// Sockets freed after an RCU grace period (LinkUp's UDP socket;
		// the netlink socket listen uses to check its port) may still be
		// counted in Sockets for a moment after being closed: allow a few.
		if fresh.Sockets > 3 || fresh.TCPInUse != 0 || fresh.TCPTimeWait != 0 {
			t.Errorf("fresh namespace: %+v, want no sockets", fresh)
		}
		ln, clients, servers := loopbackConns(t, k)
		open, err := ReadSockstat(path)
		if err != nil {
			t.Error(err)
			return
		}
		t.Logf("fresh namespace %+v", fresh)
		t.Logf("with %d connections open %+v", k, open)
		if open.TCPInUse != 2*k+1 {
			t.Errorf("TCPInUse = %d, want %d", open.TCPInUse, 2*k+1)
		}
		if open.Sockets < 2*k+1 || open.Sockets > 2*k+1+3 {
			t.Errorf("Sockets = %d, want %d (or up to 3 more)", open.Sockets, 2*k+1)
		}
		if open.TCPAlloc < 2*k+1 {
			t.Errorf("TCPAlloc = %d, want at least %d", open.TCPAlloc, 2*k+1)
		}

		closeClientFirst(t, clients, servers)
		closed, err := ReadSockstat(path)
		if err != nil {
			t.Error(err)
			return
		}
		t.Logf("closed, clients first %+v", closed)
		if closed.TCPInUse != 1 || closed.TCPTimeWait != k {
			t.Errorf("after closing: TCPInUse = %d, TCPTimeWait = %d; want 1 (the listener) and %d", closed.TCPInUse, closed.TCPTimeWait, k)
		}
		ln.Close()
	})
}

// TestSockstatMem leaves data unread in loopback connections and checks
// that TCPMemBytes grows. The figure is global, and each CPU may hold up
// to 1 MiB of charges back from it, so the test writes well over that,
// checks a generous lower bound, and retries.
func TestSockstatMem(t *testing.T) {
	const (
		k     = 256
		chunk = 64 << 10
	)
	slack := int64(2*runtime.NumCPU()) << 20 // per-CPU reserves, before and after
	written := int64(k * chunk)
	if slack > written/4 {
		t.Skipf("%d CPUs: the per-CPU reserves (%d bytes) could hide %d bytes", runtime.NumCPU(), slack, written)
	}
	retry(t, 5, func() error {
		before, err1 := ReadSockstat("")
		_, clients, servers := loopbackConns(t, k)
		defer closeReset(append(clients, servers...))
		idle, err2 := ReadSockstat("")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		buf := make([]byte, chunk)
		for _, c := range clients {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(buf); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		full, err := ReadSockstat("")
		if err != nil {
			return err
		}
		t.Logf("TCP mem: %d pages before, %d with %d idle connections, %d with %d bytes unread in each (+%d bytes for %d written)",
			before.TCPMemPages, idle.TCPMemPages, k, full.TCPMemPages, chunk, full.TCPMemBytes()-idle.TCPMemBytes(), written)
		if d := full.TCPMemBytes() - idle.TCPMemBytes(); d < written/2-slack {
			return fmt.Errorf("TCPMemBytes grew by %d with %d bytes unread, want at least %d", d, written, written/2-slack)
		}
		return nil
	})
}

// TestReadTCPSlabLive opens connections and checks that the TCP slab
// caches grow by at least their sockets. /proc/slabinfo is global and
// root-only; the check allows for k sockets freed elsewhere meanwhile,
// and is retried.
func TestReadTCPSlabLive(t *testing.T) {
	if _, err := ReadSlabinfo(""); err != nil {
		if errors.Is(err, os.ErrPermission) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	const k = 500
	retry(t, 5, func() error {
		s0, err0 := ReadSlabinfo("")
		active0 := s0.ActiveBytes(TCPSlabCaches...)
		objs0, bytes0, err1 := ReadTCPSlab("")
		_, clients, servers := loopbackConns(t, k)
		defer closeReset(append(clients, servers...))
		objs1, bytes1, err2 := ReadTCPSlab("")
		s, err3 := ReadSlabinfo("")
		if err := errors.Join(err0, err1, err2, err3); err != nil {
			return err
		}
		t.Logf("TCP slab caches: %d objects, %d bytes; with %d connections (%d sockets): %d objects, %d bytes (+%d, +%d)",
			objs0, bytes0, k, 2*k+1, objs1, bytes1, objs1-objs0, bytes1-bytes0)
		if objs1-objs0 < k {
			return fmt.Errorf("TCP slab objects grew by %d for %d sockets, want at least %d", objs1-objs0, 2*k+1, k)
		}
		// Slab bytes need not grow (new objects fill free room of slabs
		// already held, as after a run that closed many sockets); the
		// bytes of objects in use must.
		if min := int64(k) * s["TCP"].ObjSize; s.ActiveBytes(TCPSlabCaches...)-active0 < min {
			return fmt.Errorf("TCP slab objects in use grew by %d bytes for %d sockets, want at least %d", s.ActiveBytes(TCPSlabCaches...)-active0, 2*k+1, min)
		}
		return nil
	})
}
