package workloads

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/tlsconf"
)

// threads is this process's thread count (/proc/self/status), -1 unread.
func threads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// TestTLSHold: a hold over TLS opens -n connections (TCP and TLS
// handshakes on a few workers), holds them all without a thread per
// connection on either side, pings them round robin, and resets them all
// at the end; with --close fin each ends with close_notify and a FIN.
func TestTLSHold(t *testing.T) {
	checkFD(t)
	for _, close := range []dialer.CloseMode{dialer.CloseRST, dialer.CloseFIN} {
		ln, ps, tc := tlsPair(t, tlsconf.Server{}, listener.Respond, tlsconf.Client{})
		const n = 300
		var peakOpen int64
		peakThreads, peakGoroutines := 0, 0
		res := run(t, Config{
			Workload: "hold", Target: ln.Addr(), Requests: n, Rate: 3000, MaxInflight: 8, Duration: 300 * time.Millisecond,
			Ping: 100 * time.Millisecond, Socket: dialer.Options{Close: close}, Interval: 50 * time.Millisecond, TLS: tc,
			OnInterval: func(iv Interval) {
				if s := ln.Stats(); s.Open > peakOpen {
					peakOpen = s.Open
				}
				peakThreads = max(peakThreads, threads())
				peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())
			},
		})
		h := res.Hold
		if h == nil {
			t.Fatal("no hold record")
		}
		if h.Asked != n || h.Opened != n || h.Held != n || res.Connections != n || res.FailuresTotal() != 0 || res.TLS.Handshakes != n {
			t.Fatalf("%s: hold %+v, connections %d, handshakes %d, failures %v: want all %d opened and held", close, *h, res.Connections, res.TLS.Handshakes, res.Failures, n)
		}
		if ps.len() != n || peakOpen != n {
			t.Errorf("%s: the listener saw %d peers and held at most %d at once, want %d", close, ps.len(), peakOpen, n)
		}
		// 8 workers, 8 pingers, the listener's goroutines (one per
		// connection, unlocked while idle) and Go's own: far below a
		// thread per connection, which would be over 300 (600 with the
		// listener's).
		if peakThreads <= 0 || peakThreads > n/3 {
			t.Errorf("%s: %d threads while holding %d TLS connections", close, peakThreads, n)
		}
		// The listener has a goroutine per connection; the client none.
		if peakGoroutines > n+n/3 {
			t.Errorf("%s: %d goroutines while holding %d TLS connections", close, peakGoroutines, n)
		}
		if res.Phases[PhaseHandshake].Count() != n || res.Phases[PhaseTLSHandshake].Count() != n {
			t.Errorf("%s: %d TCP and %d TLS handshakes recorded, want %d", close, res.Phases[PhaseHandshake].Count(), res.Phases[PhaseTLSHandshake].Count(), n)
		}
		// Pinged every 100 ms, held at least 300 ms: at least once each
		// even on a loaded machine; every ping crossed inside TLS.
		if res.Transactions < n || res.Phases[PhaseTransaction].Count() != res.Transactions {
			t.Errorf("%s: %d pings answered (%d recorded), want at least %d", close, res.Transactions, res.Phases[PhaseTransaction].Count(), n)
		}
		waitFor(t, "the listener's closes", func() bool { return ln.Stats().Open == 0 })
		ls := ln.Stats()
		// A ping the hold's end cut may have been answered: at most one
		// per pinger.
		if ls.Requests < res.Transactions || ls.Requests > res.Transactions+tlsPingers || ls.TLSHandshakes != n {
			t.Errorf("%s: listener answered %d requests and %d handshakes, client %d and %d", close, ls.Requests, ls.TLSHandshakes, res.Transactions, n)
		}
		if res.Elapsed < h.OpenTime+300*time.Millisecond {
			t.Errorf("%s: run lasted %v, want at least the open time %v + the 300ms hold", close, res.Elapsed, h.OpenTime)
		}
		switch close {
		case dialer.CloseRST:
			if ls.Resets != n {
				t.Errorf("rst: the listener saw %d resets, want %d", ls.Resets, n)
			}
		case dialer.CloseFIN:
			if ls.Resets != 0 || ls.Errors != 0 {
				t.Errorf("fin: the listener saw %d resets and %d errors, want a clean end (close_notify, FIN)", ls.Resets, ls.Errors)
			}
		}
		ln.Close()
	}
}

// TestTLSHoldServerClosed: held connections the server closed meanwhile
// (a keep-alive timeout) are not counted held at the end, though nothing
// read them: each is a failure of its class.
func TestTLSHoldServerClosed(t *testing.T) {
	checkFD(t)
	scfg, err := (&tlsconf.Server{On: true}).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := startListener(t, listener.Config{TLS: scfg, IdleClose: 20 * time.Millisecond})
	cl := tlsconf.Client{On: true, SNI: "connbench.test"}
	ccfg, err := cl.ClientConfig(tlsconf.Roots(scfg))
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	res := run(t, Config{Workload: "hold", Target: ln.Addr(), Requests: n, Rate: 1000, MaxInflight: 4, Duration: 300 * time.Millisecond,
		Socket: dialer.Options{Close: dialer.CloseRST}, TLS: &TLSConfig{Client: cl, Config: ccfg}})
	waitFor(t, "the idle closes", func() bool { return ln.Stats().IdleClosed == n })
	if h := res.Hold; h == nil || h.Opened != n || h.Held != 0 || res.Failures[dialer.FailEOF] != n {
		t.Fatalf("hold %+v, failures %v: want %d opened, none held, %d %s", res.Hold, res.Failures, n, n, dialer.FailEOF)
	}
}

// TestTLSHoldBarrier: a TLS hold split over processes starts its
// --duration only once HoldRelease returns (the others opened theirs).
func TestTLSHoldBarrier(t *testing.T) {
	checkFD(t)
	ln, _, tc := tlsPair(t, tlsconf.Server{}, listener.Respond, tlsconf.Client{})
	const n = 40
	called, release := make(chan struct{}), make(chan struct{})
	var releasedAt time.Time
	go func() {
		<-called
		waitFor(t, "every connection held", func() bool { return ln.Stats().Open == n })
		releasedAt = time.Now()
		close(release)
	}()
	res := run(t, Config{Workload: "hold", Target: ln.Addr(), Requests: n, Rate: 2000, MaxInflight: 4, Duration: 200 * time.Millisecond,
		Socket: dialer.Options{Close: dialer.CloseRST}, TLS: tc, HoldRelease: func() { close(called); <-release }})
	if res.Hold == nil || res.Hold.Held != n {
		t.Fatalf("hold %+v", res.Hold)
	}
	if since := time.Since(releasedAt); since < 200*time.Millisecond {
		t.Errorf("the run ended %v after the release, before its 200ms hold", since)
	}
}
