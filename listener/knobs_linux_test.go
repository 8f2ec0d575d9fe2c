package listener

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

// errSkip, returned by an inNetns function, skips the test with its text.
var errSkip = errors.New("skip")

// inNetns runs f on a thread of its own in a fresh network namespace with
// lo up, and fails the test with f's error. Sockets belong to the namespace
// of the thread that creates them, so f creates the listener and its
// clients itself; /proc/thread-self/net and /proc/sys/net are the
// namespace's there. The thread is locked and never unlocked, so the runtime
// discards it, and never hands the namespace to other goroutines. f runs
// off the test goroutine: it may call t.Error and t.Log, not t.Fatal.
func inNetns(t *testing.T, f func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: needs a network namespace of its own (unshare CLONE_NEWNET) to change sysctls and read its counters")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("%w: unshare(CLONE_NEWNET): %v", errSkip, err)
			return
		}
		if err := kernel.LinkUp("lo"); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; errors.Is(err, errSkip) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// poll calls cond until it holds or timeout passes, and says whether it held.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// nsCounters reads the TCP counters of the calling thread's namespace.
func nsCounters() (kernel.Counters, error) {
	return kernel.ReadCounters("/proc/thread-self")
}

// connectNB starts a non-blocking connect to addr (IPv4) and returns the
// socket, whose handshake may still be under way.
func connectNB(addr netip.AddrPort) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()})
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return -1, fmt.Errorf("connect %s: %w", addr, err)
	}
	return fd, nil
}

// TestKnobValidation: negative knob values are refused, naming the field,
// and TCP_FASTOPEN is set to the queue length asked for.
func TestKnobValidation(t *testing.T) {
	for _, c := range []struct {
		field string
		cfg   Config
	}{
		{"FastOpenQueue", Config{FastOpenQueue: -1}},
		{"AcceptDelay", Config{AcceptDelay: -time.Millisecond}},
		{"AcceptPauseAfter", Config{AcceptPauseAfter: -1, AcceptPauseFor: time.Second}},
		{"AcceptPauseFor", Config{AcceptPauseFor: -time.Second}},
		{"RequestSize", Config{RequestSize: -1}},
		{"ResponseSize", Config{ResponseSize: -1}},
	} {
		c.cfg.Loops = 1
		ln, err := Start(c.cfg)
		if err == nil {
			ln.Close()
			t.Errorf("negative %s accepted", c.field)
		} else if !strings.Contains(err.Error(), c.field) {
			t.Errorf("negative %s: error %q does not name the field", c.field, err)
		}
	}
	ln := start(t, Config{FastOpenQueue: 16, Loops: 1})
	if q, err := unix.GetsockoptInt(ln.lfds[0], unix.IPPROTO_TCP, unix.TCP_FASTOPEN); err != nil || q != 16 {
		t.Errorf("TCP_FASTOPEN on the listening socket: %d, %v; want 16", q, err)
	}
}

// tcpiOptSynData is TCPI_OPT_SYN_DATA in tcp_info's options: the SYN's data
// was acknowledged by the SYN-ACK, that is, taken by Fast Open.
const tcpiOptSynData = 0x20

// TestFastOpen: with tcp_fastopen=3 in a namespace of its own, a first
// MSG_FASTOPEN connection gets a cookie and sends its request after the
// handshake; the second sends it in the SYN, the server takes it
// (TCPFastOpenPassive) and answers.
func TestFastOpen(t *testing.T) {
	inNetns(t, func() error {
		if err := kernel.WriteSysctl("", "net.ipv4.tcp_fastopen", "3"); err != nil {
			return err
		}
		ln, err := Start(Config{FastOpenQueue: 16, Loops: 1, RequestSize: 5, ResponseSize: 7})
		if err != nil {
			return err
		}
		defer ln.Close()
		before, err := nsCounters()
		if err != nil {
			return err
		}
		sa := &unix.SockaddrInet4{Port: int(ln.Addr().Port()), Addr: ln.Addr().Addr().As4()}
		for i, wantSynData := range []bool{false, true} {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			tv := unix.Timeval{Sec: 10}
			unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
			unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
			// Blocking: connects (SYN with the data if a cookie is
			// cached, else a cookie request) and sends.
			if err := unix.Sendto(fd, []byte("hello"), unix.MSG_FASTOPEN, sa); err != nil {
				unix.Close(fd)
				return fmt.Errorf("connection %d: sendto MSG_FASTOPEN: %w", i, err)
			}
			got := 0
			buf := make([]byte, 16)
			for got < 7 {
				n, err := unix.Read(fd, buf[got:])
				if err != nil || n == 0 {
					unix.Close(fd)
					return fmt.Errorf("connection %d: read the response: %d of 7 bytes, %v", i, got, err)
				}
				got += n
			}
			info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
			unix.Close(fd)
			if err != nil {
				return err
			}
			if synData := info.Options&tcpiOptSynData != 0; synData != wantSynData {
				t.Errorf("connection %d: data in the SYN taken: %v, want %v (tcpi_options %#x)", i, synData, wantSynData, info.Options)
			}
		}
		after, err := nsCounters()
		if err != nil {
			return err
		}
		d := after.Delta(before)
		t.Logf("TcpExt deltas: TCPFastOpenPassive %d, TCPFastOpenCookieReqd %d, TCPFastOpenActive %d, TCPFastOpenPassiveFail %d",
			d["TcpExt.TCPFastOpenPassive"], d["TcpExt.TCPFastOpenCookieReqd"], d["TcpExt.TCPFastOpenActive"], d["TcpExt.TCPFastOpenPassiveFail"])
		if d["TcpExt.TCPFastOpenPassive"] < 1 {
			t.Errorf("TcpExt.TCPFastOpenPassive rose by %d, want at least 1", d["TcpExt.TCPFastOpenPassive"])
		}
		if st := ln.Stats(); st.Accepted != 2 || st.Requests != 2 || st.Errors != 0 {
			t.Errorf("stats %+v; want 2 accepted, 2 requests, no errors", st)
		}
		return nil
	})
}

// TestAcceptPause: during the pause the listener accepts nothing, the
// accept queue (Backlog 2) fills and the kernel drops further SYNs
// (ListenOverflows); after a short pause the waiting connections, those
// whose SYNs were dropped too (retransmitted), are all accepted.
func TestAcceptPause(t *testing.T) {
	inNetns(t, func() error {
		// A pause that covers the test; two loops on one shared socket,
		// so that the EPOLLEXCLUSIVE registration is taken out and put back.
		ln, err := Start(Config{Loops: 2, Backlog: 2, AcceptPauseFor: time.Hour})
		if err != nil {
			return err
		}
		defer ln.Close()
		before, err := nsCounters()
		if err != nil {
			return err
		}
		var fds []int
		defer func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}()
		for range 20 {
			fd, err := connectNB(ln.Addr())
			if err != nil {
				return err
			}
			fds = append(fds, fd)
		}
		var d kernel.Counters
		if !poll(10*time.Second, func() bool {
			after, err := nsCounters()
			if err == nil {
				d = after.Delta(before)
			}
			return d["TcpExt.ListenOverflows"] > 0
		}) {
			return fmt.Errorf("no TcpExt.ListenOverflows after 20 connects to a paused listener with backlog 2 (deltas %v)", d)
		}
		s, err := kernel.NewSampler()
		if err != nil {
			return err
		}
		smp, err := s.Sample(kernel.Filter{Remote: ln.Addr()})
		s.Close()
		if err != nil {
			return err
		}
		t.Logf("paused, backlog 2, 20 connects: ListenOverflows %d, ListenDrops %d; clients ESTABLISHED %d, SYN_SENT %d",
			d["TcpExt.ListenOverflows"], d["TcpExt.ListenDrops"], smp.States[kernel.StateEstablished], smp.States[kernel.StateSynSent])
		if smp.States[kernel.StateSynSent] == 0 {
			t.Errorf("no client left in SYN_SENT: %v", smp.States.Map())
		}
		// Stats wakes both loops and waits for them to go round: they saw
		// the queued connections and did not take them.
		if st := ln.Stats(); st.Accepted != 0 || st.Errors != 0 {
			t.Errorf("during the pause: %+v; want nothing accepted, no errors", st)
		}
		ln.Close()
		for _, fd := range fds {
			unix.Close(fd)
		}
		fds = fds[:0]

		// A short pause: all are accepted once it ends, the dropped ones
		// after their SYN is retransmitted (1 s, then 3 s, ... later).
		const pause = 300 * time.Millisecond
		var mu sync.Mutex
		var first time.Time
		t0 := time.Now()
		ln, err = Start(Config{Loops: 1, Backlog: 2, AcceptPauseFor: pause, OnAccept: func(netip.AddrPort) {
			mu.Lock()
			if first.IsZero() {
				first = time.Now()
			}
			mu.Unlock()
		}})
		if err != nil {
			return err
		}
		defer ln.Close()
		if before, err = nsCounters(); err != nil {
			return err
		}
		for range 6 {
			fd, err := connectNB(ln.Addr())
			if err != nil {
				return err
			}
			fds = append(fds, fd)
		}
		if !poll(30*time.Second, func() bool { return ln.Stats().Accepted == 6 }) {
			return fmt.Errorf("after a %v pause: %+v; want 6 accepted", pause, ln.Stats())
		}
		mu.Lock()
		waited := first.Sub(t0)
		mu.Unlock()
		if waited < pause {
			t.Errorf("first accept %v after Start, within the %v pause", waited, pause)
		}
		after, err := nsCounters()
		if err != nil {
			return err
		}
		d = after.Delta(before)
		t.Logf("%v pause, backlog 2, 6 connects: first accept after %v, all by %v; ListenOverflows %d, TCPSynRetrans %d",
			pause, waited.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), d["TcpExt.ListenOverflows"], d["TcpExt.TCPSynRetrans"])
		if st := ln.Stats(); st.Errors != 0 {
			t.Errorf("errors after the pause: %+v", st)
		}
		return nil
	})
}

// TestAcceptDelay: one connection accepted per AcceptDelay, the connections
// already accepted served meanwhile, and no spinning on the listening
// socket while waiting.
func TestAcceptDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	for _, loops := range []int{1, 2} {
		t.Run(fmt.Sprintf("loops=%d", loops), func(t *testing.T) {
			var mu sync.Mutex
			var times []time.Time
			ln := start(t, Config{Loops: loops, AcceptDelay: delay, OnAccept: func(netip.AddrPort) {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
			}})
			const n = 6
			for range n {
				c := dial(t, ln) // completes in the accept queue
				defer c.Close()
			}
			waitFor(t, "all connections accepted", func() bool { return ln.Stats().Accepted == n })
			st := ln.Stats()
			mu.Lock()
			span := times[n-1].Sub(times[0])
			mu.Unlock()
			// Each loop waits delay between two of its accepts: at least
			// n-1 gaps with one loop, ceil(n/loops)-1 with several.
			gaps := (n+loops-1)/loops - 1
			t.Logf("%d accepts over %v; loop CPU %v", n, span, st.CPUUser+st.CPUSys)
			if want := time.Duration(gaps)*delay - 10*time.Millisecond; span < want {
				t.Errorf("%d accepts over %v, want at least %v", n, span, want)
			}
			if st.Errors != 0 {
				t.Errorf("errors: %+v", st)
			}
			// A loop spinning on the ready listening socket would burn
			// about the whole span; an idle one a few milliseconds.
			if cpu := st.CPUUser + st.CPUSys; cpu > span/2 {
				t.Errorf("the loops used %v of CPU over %v: spinning while waiting to accept?", cpu, span)
			}
		})
	}

	// Served while not accepting: a delay longer than the test.
	peers := make(chan netip.AddrPort, 2)
	ln := start(t, Config{Loops: 1, AcceptDelay: time.Hour, OnAccept: func(p netip.AddrPort) { peers <- p }})
	a, b := dial(t, ln), dial(t, ln)
	defer a.Close()
	defer b.Close()
	c := a
	if p := <-peers; p.String() == b.LocalAddr().String() {
		c = b
	}
	for range 3 {
		c.Write([]byte("q"))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatalf("the accepted connection is not served: %v", err)
		}
	}
	if st := ln.Stats(); st.Accepted != 1 || st.Requests != 3 {
		t.Errorf("%+v; want 1 accepted, 3 requests answered", st)
	}
}

// socketFDs counts this process's socket descriptors.
func socketFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// epollSets returns this process's epoll descriptors.
func epollSets(t *testing.T) map[int]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]bool{}
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:[eventpoll]" {
			fd, _ := strconv.Atoi(e.Name())
			m[fd] = true
		}
	}
	return m
}

// epollSockets counts the socket descriptors other than skip registered in
// the epoll sets of this process that are not in old (as listed in
// /proc/self/fdinfo: "tfd: N events: ...").
func epollSockets(t *testing.T, old map[int]bool, skip []int) int {
	t.Helper()
	n := 0
	for ep := range epollSets(t) {
		if old[ep] {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", ep))
		if err != nil {
			continue // closed meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "tfd:" {
				continue
			}
			fd, _ := strconv.Atoi(f[1])
			if slices.Contains(skip, fd) {
				continue
			}
			if l, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil && strings.HasPrefix(l, "socket:") {
				n++
			}
		}
	}
	return n
}

// closeWait counts the CLOSE_WAIT sockets whose local end is addr.
func closeWait(t *testing.T, addr netip.AddrPort) int {
	t.Helper()
	s, err := kernel.NewSampler()
	if err != nil {
		skipUnlessNoSockDiag(t, err)
	}
	defer s.Close()
	smp, err := s.Sample(kernel.Filter{Local: addr, States: kernel.MaskOf(kernel.StateCloseWait)})
	if err != nil {
		t.Fatal(err)
	}
	return smp.States[kernel.StateCloseWait]
}

// TestLeak: peer-closed connections stay in CLOSE_WAIT, their descriptors
// held and counted, until Close releases them.
func TestLeak(t *testing.T) {
	const n = 50
	sockets0 := socketFDs(t)
	epolls0 := epollSets(t)
	ln := start(t, Config{Loops: 2, Leak: true})
	for range n {
		c := dial(t, ln)
		c.Write([]byte("q"))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	waitFor(t, "the closes to be seen", func() bool { return ln.Stats().Leaked == n })
	st := ln.Stats()
	if st.Descriptors != n || st.Open != 0 || st.Closed != 0 || st.Accepted != n || st.Requests != n || st.Errors != 0 {
		t.Errorf("%+v; want %d accepted, answered and leaked, as many descriptors, none open or closed, no errors", st, n)
	}
	if got := closeWait(t, ln.Addr()); got != n {
		t.Errorf("%d sockets in CLOSE_WAIT, want %d", got, n)
	}
	if got := socketFDs(t); got < sockets0+n {
		t.Errorf("%d socket descriptors, want at least %d held", got, sockets0+n)
	}
	// Out of the loops' epoll sets (and the clients, closed, out of the
	// runtime's): a leaked socket left in would end every wait at once.
	if got := epollSockets(t, epolls0, ln.lfds); got != 0 {
		t.Errorf("%d connections still registered with epoll", got)
	}
	ln.Close()
	st = ln.Stats()
	if st.Descriptors != 0 || st.Leaked != n || st.Closed != 0 {
		t.Errorf("after Close: %+v; want no descriptors, %d leaked, none closed", st, n)
	}
	if got := closeWait(t, ln.Addr()); got != 0 {
		t.Errorf("after Close: %d sockets in CLOSE_WAIT", got)
	}
	if got := socketFDs(t); got > sockets0 {
		t.Errorf("after Close: %d socket descriptors, %d before Start", got, sockets0)
	}
}

// TestLeakHTTP: in HTTP mode a connection the listener closes after a
// "Connection: close" response is closed, not leaked; one the peer closes
// is leaked.
func TestLeakHTTP(t *testing.T) {
	ln := start(t, Config{Mode: HTTP, Leak: true, Loops: 1})
	c := dial(t, ln)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	if b, err := io.ReadAll(c); err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK") {
		t.Fatalf("Connection: close request: %q, %v; want a 200 and the close", b, err)
	}
	c.Close()
	c = dial(t, ln)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	buf := make([]byte, 4096)
	if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200 OK") {
		t.Fatalf("keep-alive request: %q, %v", buf[:n], err)
	}
	c.Close()
	waitFor(t, "the peer's close to be seen", func() bool { return ln.Stats().Leaked == 1 })
	if st := ln.Stats(); st.Closed != 1 || st.Open != 0 || st.Descriptors != 1 {
		t.Errorf("%+v; want 1 closed by the listener, 1 leaked, 1 descriptor held", st)
	}
	if got := closeWait(t, ln.Addr()); got != 1 {
		t.Errorf("%d sockets in CLOSE_WAIT, want 1", got)
	}
}

// TestLeakEMFILE: under Leak, once the process's descriptors run out, a loop
// retries accept every emfileRetry instead of spinning on the listening
// socket (leaked descriptors never come back to wake it), and takes the
// queued connections once descriptors are free again.
func TestLeakEMFILE(t *testing.T) {
	const n, free = 20, 5
	ln := start(t, Config{Loops: 1, Leak: true})
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for range n {
		// Created before the limit is lowered; connect needs no descriptor.
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	// The lowest limit that leaves free descriptor numbers below it.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		open[fd] = true
	}
	limit, left := 0, free
	for ; left > 0; limit++ {
		if !open[limit] {
			left--
		}
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := unix.Rlimit{Cur: uint64(limit), Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
				t.Error(err)
			}
		}
	}
	defer restore()
	sa := &unix.SockaddrInet4{Port: int(ln.Addr().Port()), Addr: ln.Addr().Addr().As4()}
	for _, fd := range fds {
		if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
			restore()
			t.Fatal(err)
		}
	}
	// Five failed accepts from now on are four retry intervals apart at
	// least; a loop spinning on the socket fails them all at once.
	t0, st0 := time.Now(), ln.Stats()
	ok := poll(10*time.Second, func() bool { return ln.Stats().Errors >= st0.Errors+5 })
	st := ln.Stats()
	elapsed := time.Since(t0)
	restore()
	if !ok {
		t.Fatalf("no EMFILE counted: %+v", st)
	}
	// The descriptor ReadDir used is free again: free+1 at most.
	if st.Accepted > free+1 {
		t.Errorf("%d accepted with %d descriptors free", st.Accepted, free)
	}
	cpu := st.CPUUser + st.CPUSys - st0.CPUUser - st0.CPUSys
	t.Logf("EMFILE: %d errors, %d accepted; 5 errors in %v; loop CPU %v", st.Errors, st.Accepted, elapsed, cpu)
	if elapsed < 4*emfileRetry {
		t.Errorf("5 failed accepts in %v, want them %v apart: spinning?", elapsed, emfileRetry)
	}
	if cpu > elapsed/2 {
		t.Errorf("the loop used %v of CPU over %v at EMFILE: spinning?", cpu, elapsed)
	}
	waitFor(t, "the rest accepted with the limit restored", func() bool { return ln.Stats().Accepted == n })
}
