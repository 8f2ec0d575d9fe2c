package netpath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/internal/sock"
	"github.com/connbench/connbench/kernel"
)

// The load tests drive connections through the path with two epoll loops,
// like the engine's: a client in the client namespace that keeps conc
// connections cycling (connect, send 32 bytes, read them back, close) and
// an echo server in the server namespace.

const (
	loadMsg   = 32
	listenTag = -2 // the Poller's wake-up uses -1
)

// loadResult is what a load run achieved.
type loadResult struct {
	conns   int64         // completed connections
	errs    int64         // failed connects, reads or writes
	elapsed time.Duration // the measured interval
	connect *histogram.Recorder
	path    Stats
}

func (r loadResult) rate() float64 { return float64(r.conns) / r.elapsed.Seconds() }

// echoLoop is the server's event loop.
type echoLoop struct {
	port uint16
	p    *sock.Poller
	stop atomic.Bool
	errs atomic.Int64
	done chan struct{}
}

func startEchoLoop(t testing.TB, ns *NS, addr netip.Addr) *echoLoop {
	t.Helper()
	e := &echoLoop{done: make(chan struct{})}
	ready := make(chan error, 1)
	err := ns.Go(func() {
		defer close(e.done)
		lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			ready <- err
			return
		}
		defer unix.Close(lfd)
		unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: addr.As4()}); err != nil {
			ready <- err
			return
		}
		if err := unix.Listen(lfd, 4096); err != nil {
			ready <- err
			return
		}
		sa, err := unix.Getsockname(lfd)
		if err != nil {
			ready <- err
			return
		}
		e.port = uint16(sa.(*unix.SockaddrInet4).Port)
		if e.p, err = sock.NewPoller(256); err != nil {
			ready <- err
			return
		}
		defer e.p.Close()
		if err := e.p.Add(lfd, unix.EPOLLIN, listenTag, 0); err != nil {
			ready <- err
			return
		}
		ready <- nil
		open := map[int]bool{}
		buf := make([]byte, 4096)
		for !e.stop.Load() {
			evs, _, err := e.p.Wait(-1)
			if err != nil {
				e.errs.Add(1)
				break
			}
			for _, ev := range evs {
				if ev.Fd == listenTag {
					for {
						fd, err := sock.Accept(lfd, nil)
						if err != nil {
							break
						}
						open[fd] = true
						e.p.Add(fd, unix.EPOLLIN, int32(fd), 0)
					}
					continue
				}
				fd := int(ev.Fd)
				n, err := sock.Read(fd, buf)
				if err == unix.EAGAIN {
					continue
				}
				if n == 0 || err != nil {
					sock.Close(fd) // also leaves the epoll set
					delete(open, fd)
					continue
				}
				if _, err := sock.Write(fd, buf[:n]); err != nil {
					e.errs.Add(1)
				}
			}
		}
		for fd := range open {
			sock.Close(fd)
		}
	})
	if err == nil {
		err = <-ready
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

func (e *echoLoop) close() {
	if e.stop.Swap(true) {
		return
	}
	e.p.Wake()
	<-e.done
}

// runLoad runs connections through p for dur: at most conc at a time, each
// slot starting a new one as soon as the last ends (rate 0), or started at
// rate per second (open loop) while a slot is free.
func runLoad(t testing.TB, p *Path, conc int, rate float64, dur time.Duration) loadResult {
	t.Helper()
	// Room for a few seconds of connections in TIME_WAIT.
	if err := p.Client.Do(func() error {
		return errors.Join(
			kernel.WriteSysctl("", "net.ipv4.ip_local_port_range", "1024 65535"),
			kernel.WriteSysctl("", "net.ipv4.tcp_tw_reuse", "1"))
	}); err != nil {
		t.Fatal(err)
	}
	srv := startEchoLoop(t, p.Server, p.ServerAddr)
	var res loadResult
	errc := make(chan error, 1)
	err := p.Client.Go(func() { errc <- clientLoop(&res, p.ServerAddr, srv.port, conc, rate, dur) })
	if err == nil {
		err = <-errc
	}
	if err != nil {
		t.Fatal(err)
	}
	srv.close()
	res.errs += srv.errs.Load()
	res.path = p.Stats()
	return res
}

type loadConn struct {
	fd      int
	gen     int32
	reading bool
	got     int
	t0      int64
}

// clientLoop runs on a thread in the client namespace.
func clientLoop(res *loadResult, addr netip.Addr, port uint16, conc int, rate float64, dur time.Duration) error {
	p, err := sock.NewPoller(256)
	if err != nil {
		return err
	}
	defer p.Close()
	var sa unix.RawSockaddrInet4
	sa.Family = unix.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
	sa.Addr = addr.As4()
	msg := make([]byte, loadMsg)
	buf := make([]byte, 4096)
	res.connect = histogram.New()
	base := time.Now()
	now := func() int64 { return int64(time.Since(base)) }
	conns := make([]loadConn, conc)
	start := func(i int) {
		c := &conns[i]
		for {
			c.gen++
			c.reading, c.got, c.t0 = false, 0, now()
			fd, err := sock.Socket(unix.AF_INET)
			if err == nil {
				err = sock.Connect(fd, unsafe.Pointer(&sa), unix.SizeofSockaddrInet4)
				if err == unix.EINPROGRESS {
					err = p.Add(fd, unix.EPOLLOUT, int32(i), c.gen)
				}
				if err != nil {
					sock.Close(fd)
				}
			}
			if err == nil {
				c.fd = fd
				return
			}
			res.errs++
			if res.errs > 1000 {
				c.fd = -1
				return
			}
		}
	}
	var free []int // idle slots, open loop only
	finish := func(i int, ok bool) {
		sock.Close(conns[i].fd)
		conns[i].fd = -1
		if ok {
			res.conns++
		} else {
			res.errs++
		}
		if rate > 0 {
			free = append(free, i)
		} else {
			start(i)
		}
	}
	var next, interval int64 // open loop: the next start, and the gap
	for i := range conns {
		conns[i].fd = -1
		if rate > 0 {
			free = append(free, i)
		} else {
			start(i)
		}
	}
	if rate > 0 {
		interval = int64(float64(time.Second) / rate)
	}
	end := int64(dur)
	for {
		t := now()
		if t >= end {
			res.elapsed = time.Duration(t)
			break
		}
		for rate > 0 && next <= t && len(free) > 0 {
			start(free[len(free)-1])
			free = free[:len(free)-1]
			next += interval
		}
		wake := end
		if rate > 0 && len(free) > 0 {
			wake = min(wake, next)
		}
		evs, _, err := p.Wait(time.Duration(max(wake-t, 1)))
		if err != nil {
			return err
		}
		for _, ev := range evs {
			i := int(ev.Fd)
			c := &conns[i]
			if c.fd < 0 || ev.Pad != c.gen {
				continue
			}
			if !c.reading {
				if e, err := sock.GetInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
					finish(i, false)
					continue
				}
				res.connect.Record(now() - c.t0)
				if n, err := sock.Write(c.fd, msg); err != nil || n != len(msg) {
					finish(i, false)
					continue
				}
				c.reading = true
				p.Mod(c.fd, unix.EPOLLIN, int32(i), c.gen)
				continue
			}
			n, err := sock.Read(c.fd, buf)
			if err == unix.EAGAIN {
				continue
			}
			if err != nil || n == 0 {
				finish(i, false)
				continue
			}
			if c.got += n; c.got >= loadMsg {
				finish(i, true)
			}
		}
	}
	for i := range conns {
		if conns[i].fd >= 0 {
			sock.Close(conns[i].fd)
		}
	}
	return nil
}

// us formats nanoseconds as microseconds.
func us(ns int64) float64 { return float64(ns) / 1e3 }

func logLoad(t testing.TB, name string, r loadResult) {
	ad := r.path.AddedDelay()
	t.Logf("%s: %d connections in %v = %.0f conn/s, %d errors; connect p50 %.0f µs p99 %.0f µs; "+
		"forwarder added delay p50 %.1f µs p99 %.1f µs max %.0f µs over %d packets; unrequested drops %d; forwarder CPU %v",
		name, r.conns, r.elapsed.Round(time.Millisecond), r.rate(), r.errs,
		us(r.connect.ValueAt(50)), us(r.connect.ValueAt(99)),
		us(ad.ValueAt(50)), us(ad.ValueAt(99)), us(ad.ValueAt(100)), ad.Count(), r.path.Unrequested(), r.path.CPU.Round(time.Millisecond))
}

// loadCases are the load runs: paced at 5,000 connections per second (the
// forwarder's delay at a given load) and flat out (what the path sustains).
var loadCases = []struct {
	name string
	rtt  time.Duration
	conc int
	rate float64 // connections per second; 0 = closed loop
}{
	{"rtt0-5k", 0, 256, 5000},
	{"rtt0-max", 0, 64, 0},
	{"rtt10ms-5k", 10 * time.Millisecond, 512, 5000},
	{"rtt10ms-max", 10 * time.Millisecond, 256, 0},
}

// TestLoad drives connections through the path for 2 s per case. It asserts only what must hold on any machine (no drops that
// were not asked for, no errors, connections completed); the rates and
// delays are logged, and BenchmarkForwarder reports them against targets.
func TestLoad(t *testing.T) {
	needRoot(t)
	for _, tc := range loadCases {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPath(t, Config{RTT: tc.rtt})
			r := runLoad(t, p, tc.conc, tc.rate, 2*time.Second)
			logLoad(t, tc.name, r)
			if r.conns < 100 {
				t.Errorf("only %d connections completed", r.conns)
			}
			if r.errs != 0 {
				t.Errorf("%d errors", r.errs)
			}
			if n := r.path.Unrequested(); n != 0 {
				t.Errorf("%d unrequested drops: c→s %+v, s→c %+v", n, r.path.ClientToServer, r.path.ServerToClient)
			}
			if d := r.path.ClientToServer; d.DroppedLoss+d.DroppedSYN != 0 {
				t.Errorf("drops that were not configured: %+v", d)
			}
		})
	}
}

// BenchmarkForwarder reports what the path sustains: connections per
// second (target ≥ 5,000 at RTT 10 ms) and the forwarder's added delay at
// RTT 0 under that load (target p50 < 100 µs). Each run takes 2 s whatever
// b.N is; run it with -benchtime=1x.
func BenchmarkForwarder(b *testing.B) {
	needRoot(b)
	for _, tc := range loadCases {
		for _, v := range []struct {
			threads int
			rt      bool
		}{{2, false}, {2, true}, {1, false}} {
			name := fmt.Sprintf("%s/threads=%d/realtime=%v", tc.name, v.threads, v.rt)
			b.Run(name, func(b *testing.B) {
				p := newTestPath(b, Config{RTT: tc.rtt, Threads: v.threads, Realtime: v.rt})
				r := runLoad(b, p, tc.conc, tc.rate, 2*time.Second)
				ad := r.path.AddedDelay()
				b.ReportMetric(float64(r.elapsed.Nanoseconds())/float64(max(r.conns, 1)), "ns/op")
				b.ReportMetric(r.rate(), "conns/s")
				b.ReportMetric(us(ad.ValueAt(50)), "added-p50-µs")
				b.ReportMetric(us(ad.ValueAt(99)), "added-p99-µs")
				b.ReportMetric(us(r.connect.ValueAt(50)), "connect-p50-µs")
				b.ReportMetric(us(r.connect.ValueAt(99)), "connect-p99-µs")
				b.ReportMetric(r.path.CPU.Seconds()/r.elapsed.Seconds(), "fwd-cpu-cores")
				b.ReportMetric(float64(r.path.Unrequested()+r.errs), "drops+errors")
				logLoad(b, name, r)
				if r.rate() < 5000*0.98 {
					b.Logf("%s: below the 5,000 conn/s target", name)
				}
				if tc.rtt == 0 && ad.ValueAt(50) >= 100_000 {
					b.Logf("%s: added delay p50 above the 100 µs target", name)
				}
			})
		}
	}
}
