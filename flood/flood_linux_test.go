package flood

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/netpath"
)

// needRoot skips a test that creates namespaces or raw sockets when it
// cannot.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, TUN devices and raw sockets need CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_NET_RAW")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun (CONFIG_TUN): %v", err)
	}
}

func TestCheckNamespace(t *testing.T) {
	// The test's own thread is in the process's namespace (the host's
	// here, with its default route): refused before anything is opened.
	runtime.LockOSThread()
	err := checkNamespace(serverAddr)
	runtime.UnlockOSThread()
	if !errors.Is(err, errHostNamespace) {
		t.Errorf("in the process's namespace: %v, want errHostNamespace", err)
	}
	needRoot(t)
	p, err := netpath.New(netpath.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The path's client namespace is where it belongs.
	if err := p.Client.Do(func() error { return checkNamespace(p.ServerAddr) }); err != nil {
		t.Errorf("client namespace refused: %v", err)
	}
	// But it routes nothing besides the server: refused, and had it not
	// been, its packets would have had nowhere to go.
	err = p.Client.Do(func() error {
		f, err := Start(Config{Target: netip.MustParseAddrPort("198.19.5.5:80"), Rate: 1, Duration: time.Millisecond})
		if err == nil {
			f.Stop()
			return errors.New("Start succeeded toward an address the namespace does not route")
		}
		t.Logf("unrouted target: %v", err)
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// floodSetup is one synflood experiment.
type floodSetup struct {
	cookies    int           // net.ipv4.tcp_syncookies of the server namespace
	backlog    int           // listen backlog
	synBacklog int           // net.ipv4.tcp_max_syn_backlog
	rate       float64       // SYN/s of the flood
	clients    int           // legitimate connections
	every      time.Duration // between legitimate connections
	deadline   time.Duration // for each: connect and a 1-byte exchange
}

// floodResult is what it measured.
type floodResult struct {
	ok, failed    int             // legitimate connections
	errs          map[string]int  // failures by error
	connect       []time.Duration // handshake times of the successful ones
	synRecvPeak   int             // SYN_RECV sockets of the listener, highest sample
	samples       int             // SYN_RECV samples taken
	server        kernel.Counters // delta over the experiment
	flood         Stats           // the flooder's counts
	path          netpath.Stats   // the path's counts
	accepted      int64           // the listener's accepted connections
	floodDuration time.Duration   // how long the flood ran
}

func (r floodResult) share() float64 { return float64(r.ok) / float64(r.ok+r.failed) }

func runFlood(t *testing.T, s floodSetup) floodResult {
	t.Helper()
	p, err := netpath.New(netpath.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	counters := func() kernel.Counters {
		var c kernel.Counters
		if err := p.Server.Do(func() (err error) { c, err = kernel.ReadCounters("/proc/thread-self"); return }); err != nil {
			t.Fatal(err)
		}
		return c
	}

	var ln *listener.Listener
	var smp *kernel.Sampler
	err = p.Server.Do(func() error {
		for name, v := range map[string]int{"net.ipv4.tcp_syncookies": s.cookies, "net.ipv4.tcp_max_syn_backlog": s.synBacklog} {
			if err := kernel.WriteSysctl("", name, strconv.Itoa(v)); err != nil {
				return err
			}
		}
		var err error
		// The kernel bounds the listener's request queue (its SYN_RECV
		// sockets) by the listen backlog too.
		if ln, err = listener.Start(listener.Config{Addr: netip.AddrPortFrom(p.ServerAddr, 0), Backlog: s.backlog, Loops: 1}); err != nil {
			return err
		}
		smp, err = kernel.NewSampler() // counts in the server namespace
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer smp.Close()
	target := ln.Addr()
	c0 := counters()

	var r floodResult
	sample := func() {
		err := p.Server.Do(func() error {
			x, err := smp.Sample(kernel.Filter{Local: target, States: kernel.MaskOf(kernel.StateSynRecv)})
			r.synRecvPeak = max(r.synRecvPeak, x.States[kernel.StateSynRecv])
			r.samples++
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	var f *Flooder
	err = p.Client.Do(func() (err error) {
		f, err = Start(Config{Target: target, Rate: s.rate, Duration: 25 * time.Second, Seed: 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	floodStart := time.Now()
	defer f.Stop()

	// The flood has taken hold once the listener's request queue is full
	// (the kernel then answers with a cookie or drops), or without cookies
	// its last quarter of tcp_max_syn_backlog, kept for peers it has seen
	// before (then it drops, counted in ListenDrops only).
	full := func(c kernel.Counters) int64 {
		return c["TcpExt.TCPReqQFullDoCookies"] + c["TcpExt.TCPReqQFullDrop"] + c["TcpExt.ListenDrops"]
	}
	for deadline := time.Now().Add(10 * time.Second); full(counters().Delta(c0)) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the listener's request queue never filled: flood %+v, server %v", f.Stats(), pick(counters().Delta(c0)))
		}
		sample()
		time.Sleep(5 * time.Millisecond)
	}

	// Legitimate clients, in the client namespace, while SYN_RECV is
	// sampled every 20 ms.
	type outcome struct {
		took time.Duration
		err  error
	}
	outc := make(chan outcome, s.clients)
	var wg sync.WaitGroup
	wg.Add(s.clients)
	err = p.Client.Go(func() {
		begin := time.Now()
		for i := range s.clients {
			if d := time.Until(begin.Add(time.Duration(i) * s.every)); d > 0 {
				time.Sleep(d)
			}
			t0 := time.Now()
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				outc <- outcome{err: err}
				wg.Done()
				continue
			}
			go func() {
				defer wg.Done()
				took, err := legit(fd, target, t0, t0.Add(s.deadline))
				outc <- outcome{took, err}
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	clientsDone := make(chan struct{})
	go func() { wg.Wait(); close(clientsDone) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(time.Duration(s.clients)*s.every + s.deadline + 15*time.Second)
wait:
	for {
		select {
		case <-clientsDone:
			break wait
		case <-tick.C:
			sample()
		case <-timeout:
			t.Fatal("legitimate clients did not finish")
		}
	}
	f.Stop()
	r.floodDuration = time.Since(floodStart)
	close(outc)
	r.errs = map[string]int{}
	for o := range outc {
		if o.err != nil {
			r.failed++
			r.errs[o.err.Error()]++
			continue
		}
		r.ok++
		r.connect = append(r.connect, o.took)
	}
	r.flood = f.Stats()
	r.server = counters().Delta(c0)
	r.path = p.Stats()
	r.accepted = ln.Stats().Accepted
	return r
}

// legit connects the non-blocking socket fd (created in the client
// namespace) to target, sends one byte and reads the listener's one-byte
// answer, all before deadline, and closes it. It returns the handshake
// time from t0.
func legit(fd int, target netip.AddrPort, t0, deadline time.Time) (time.Duration, error) {
	cerr := unix.Connect(fd, &unix.SockaddrInet4{Addr: target.Addr().As4(), Port: int(target.Port())})
	if cerr != nil && cerr != unix.EINPROGRESS {
		unix.Close(fd)
		return 0, fmt.Errorf("connect: %w", cerr)
	}
	// The runtime's poller waits for the connection, with the deadline.
	file := os.NewFile(uintptr(fd), "legit")
	defer file.Close()
	file.SetDeadline(deadline)
	rc, err := file.SyscallConn()
	if err != nil {
		return 0, err
	}
	// RawWrite first clears the poller's readiness, then calls f: f looks
	// itself whether the connect has finished (a writable socket), and
	// only if not waits for the next edge, which cannot be missed then.
	var soErr error
	werr := rc.Write(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, perr := unix.Poll(pfd, 0); perr == nil && n == 0 {
			return false // still connecting: wait for writability
		}
		v, gerr := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if gerr == nil && v != 0 {
			gerr = unix.Errno(v)
		}
		soErr = gerr
		return true
	})
	if werr != nil {
		return 0, fmt.Errorf("connect: %w", werr)
	}
	if soErr != nil {
		return 0, fmt.Errorf("connect: %w", soErr)
	}
	took := time.Since(t0)
	if _, err := file.Write([]byte{'x'}); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	b := make([]byte, 1)
	if _, err := file.Read(b); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	return took, nil
}

// keyCounters are the server counters a synflood moves.
var keyCounters = []string{
	"TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed",
	"TcpExt.TCPReqQFullDoCookies", "TcpExt.TCPReqQFullDrop",
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "Tcp.PassiveOpens", "TcpExt.IPReversePathFilter",
}

func pick(c kernel.Counters) map[string]int64 {
	m := map[string]int64{}
	for _, k := range keyCounters {
		m[k] = c[k]
	}
	return m
}

func logFlood(t *testing.T, s floodSetup, r floodResult) {
	t.Helper()
	var p50 time.Duration
	if len(r.connect) > 0 {
		d := append([]time.Duration(nil), r.connect...)
		slices.Sort(d)
		p50 = d[len(d)/2]
	}
	t.Logf("tcp_syncookies=%d listen backlog=%d tcp_max_syn_backlog=%d flood %.0f SYN/s: legitimate %d/%d connected (%.1f%%), handshake p50 %v, failures %v",
		s.cookies, s.backlog, s.synBacklog, s.rate, r.ok, r.ok+r.failed, 100*r.share(), p50, r.errs)
	t.Logf("  SYN_RECV peak %d (%d samples); listener accepted %d; flood sent %d in %v (%.0f/s), %d errors %q",
		r.synRecvPeak, r.samples, r.accepted, r.flood.Sent, r.floodDuration.Round(time.Millisecond),
		float64(r.flood.Sent)/r.floodDuration.Seconds(), r.flood.Errors, r.flood.FirstError)
	t.Logf("  server %v", pick(r.server))
	t.Logf("  path c→s %d packets, s→c %d, unrequested drops %d, forwarder CPU %v",
		r.path.ClientToServer.Packets, r.path.ServerToClient.Packets, r.path.Unrequested(), r.path.CPU)
}

// TestSYNFlood is the synflood experiment: a listener with a small
// request queue (listen backlog 128) is flooded with 3,000 spoofed SYNs a
// second from the client namespace while 200 legitimate clients connect
// from it (100 a second, each given 2.5 s to connect and exchange a byte).
// With SYN cookies all or nearly all of them get through; without, next
// to none do.
func TestSYNFlood(t *testing.T) {
	needRoot(t)
	// The listen backlog bounds the request queue (SYN_RECV sockets):
	// when it is full the kernel sends a cookie, or without cookies drops
	// the SYN, whoever sent it. tcp_max_syn_backlog is set well above it
	// (over 4/3 of it) on purpose: without cookies the kernel keeps the
	// last quarter of tcp_max_syn_backlog for peers it has completed a
	// connection with before (tcp_metrics), so with it at 128 the flood
	// fills 96 slots only, and a legitimate client that once got through
	// would then connect every time, flood or not.
	base := floodSetup{backlog: 128, synBacklog: 4096, rate: 3000, clients: 200, every: 10 * time.Millisecond, deadline: 2500 * time.Millisecond}

	t.Run("cookies", func(t *testing.T) {
		s := base
		s.cookies = 1
		r := runFlood(t, s)
		logFlood(t, s, r)
		if r.share() < 0.95 {
			t.Errorf("with SYN cookies %.1f%% of the legitimate connections succeeded, want ≥ 95%%", 100*r.share())
		}
		if r.server["TcpExt.SyncookiesSent"] == 0 {
			t.Error("no SYN cookies sent")
		}
		checkFlood(t, s, r)
	})
	t.Run("no-cookies", func(t *testing.T) {
		s := base
		s.cookies = 0
		r := runFlood(t, s)
		logFlood(t, s, r)
		if r.share() > 0.25 {
			t.Errorf("without SYN cookies %.1f%% of the legitimate connections succeeded, want ≤ 25%%", 100*r.share())
		}
		if n := r.server["TcpExt.SyncookiesSent"]; n != 0 {
			t.Errorf("%d SYN cookies sent with tcp_syncookies=0", n)
		}
		if r.server["TcpExt.TCPReqQFullDrop"] == 0 {
			t.Error("no SYN dropped for a full request queue")
		}
		checkFlood(t, s, r)
	})
}

// checkFlood checks what both experiments share: the flood ran at its
// rate and filled the request queue.
func checkFlood(t *testing.T, s floodSetup, r floodResult) {
	t.Helper()
	if got := float64(r.flood.Sent) / r.floodDuration.Seconds(); got < s.rate*0.8 {
		t.Errorf("flood sent %.0f SYN/s, want about %.0f", got, s.rate)
	}
	if r.synRecvPeak < s.backlog/2 {
		t.Errorf("SYN_RECV peaked at %d, want the request queue (%d) nearly full", r.synRecvPeak, s.backlog)
	}
	if r.server["TcpExt.IPReversePathFilter"] != 0 {
		t.Errorf("the server's reverse-path filter dropped %d packets", r.server["TcpExt.IPReversePathFilter"])
	}
}
