package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/results"
)

// runDoc runs connbench in-process and returns the document it wrote.
func runDoc(t *testing.T, args ...string) *results.Document {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	args = append(append([]string{}, args...), "-o", out, "--quiet")
	code, stdout, stderr := connbench(t, args...)
	if code != exitOK {
		t.Fatalf("connbench %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), code, stderr, stdout)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// -w backlog: arrivals faster than the slow acceptor takes them overflow
// the accept queue; dropped SYNs come back after the retransmission
// timeout, so some handshakes take a second or more.
func TestBacklogOverflow(t *testing.T) {
	r := runDoc(t, "run", "-w", "backlog", "-d", "3s", "--close", "rst").Runs[0]
	if r.Kernel == nil || r.Kernel.Counters["TcpExt.ListenOverflows"] == 0 {
		t.Fatalf("kernel %+v: want ListenOverflows > 0", r.Kernel)
	}
	if h := r.Phases["handshake"]; h.MaxNs < int64(900*time.Millisecond) {
		t.Errorf("slowest handshake %v: want a SYN retransmission's ≥ 1 s", time.Duration(h.MaxNs))
	}
	if r.TCPInfo == nil || r.TCPInfo.Retransmitted == 0 {
		t.Errorf("TCP_INFO %+v: want handshakes with retransmitted SYNs", r.TCPInfo)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "about 1 s") {
		t.Errorf("notes do not break the handshakes down by retransmission: %q", r.Notes)
	}
}

// --leak: every connection the client closed stays in CLOSE_WAIT on the
// listener's side, holding a descriptor.
func TestLeakCloseWait(t *testing.T) {
	r := runDoc(t, "run", "-n", "200", "-c", "4", "--leak", "--interval", "50ms").Runs[0]
	l := r.Listener
	if l == nil || l.Leaked != 200 {
		t.Fatalf("listener %+v: want 200 leaked", l)
	}
	if l.PeakStates["close_wait"] != 200 || l.PeakDescriptors != 200 {
		t.Errorf("CLOSE_WAIT peak %d, descriptors peak %d: want 200 each", l.PeakStates["close_wait"], l.PeakDescriptors)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "CLOSE_WAIT") {
		t.Errorf("notes do not name the bug: %q", r.Notes)
	}
}

// -w synflood: with SYN cookies the legitimate clients get through the
// flood; without them the full SYN queue turns them away.
func TestSynflood(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("synflood needs root (network namespaces, raw socket)")
	}
	doc := runDoc(t, "compare", "-w", "synflood", "--vary", "sysctl:net.ipv4.tcp_syncookies=0,1", "-d", "2s", "--flood-rate", "4000")
	if len(doc.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(doc.Runs))
	}
	off, on := doc.Runs[0], doc.Runs[1]
	for _, r := range []results.Run{off, on} {
		if r.Flood == nil || r.Flood.Sent < 4000 {
			t.Errorf("%s: flood %+v: want at least 4,000 spoofed SYNs sent", r.Label, r.Flood)
		}
		if r.Listener == nil || r.Listener.PeakStates["syn_recv"] < 64 {
			t.Errorf("%s: listener %+v: want a full SYN queue (≥ 64 SYN_RECV)", r.Label, r.Listener)
		}
	}
	if s := on.SuccessShare(); s < 0.95 {
		t.Errorf("with syncookies: legitimate success %.1f%%, want ≥ 95%%", 100*s)
	}
	if s := off.SuccessShare(); s > 0.5 {
		t.Errorf("without syncookies: legitimate success %.1f%%, want a marked drop (≤ 50%%)", 100*s)
	}
	if on.Listener != nil && on.Listener.Counters["TcpExt.SyncookiesSent"] == 0 {
		t.Errorf("with syncookies: no SyncookiesSent in the listener's namespace: %v", on.Listener.Counters)
	}
	code, _, stderr := connbench(t, "run", "-w", "synflood", "127.0.0.1:9")
	if code != exitUsage || !strings.Contains(stderr, "synflood") {
		t.Errorf("synflood at an outside target: exit %d, %q; want a usage error", code, stderr)
	}
}

// -w hold over several processes and source addresses: every connection
// is opened and held, and the user memory per connection is bounded.
func TestHoldSpreads(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 30,000 connections")
	}
	t.Setenv(mainEnv, "1") // the --procs children are this test binary, as connbench
	// 30,000 connections: more than one process's descriptors, more than
	// half of one source's ports. A long connect timeout, so that a SYN
	// dropped while the machine is busy (tests run in parallel) is
	// retransmitted rather than counted as lost.
	r := runDoc(t, "run", "-w", "hold", "-n", "30000", "--rate", "5000", "-d", "300ms", "--close", "rst",
		"--procs", "auto", "--connect-timeout", "30s").Runs[0]
	h := r.Hold
	if h == nil || h.Held != 30000 || h.Opened != 30000 {
		t.Fatalf("hold %+v, failures %v: want all 30,000 held", h, r.Failures)
	}
	if h.Sources < 2 {
		t.Errorf("held over %d source addresses: 30,000 need more than one", h.Sources)
	}
	if h.PerConnMethod != "slope" || h.UserBytesPerConn <= 0 || h.UserBytesPerConn > 1000 {
		t.Errorf("user memory per connection %.0f B (%s): want a fitted figure under 1,000 B", h.UserBytesPerConn, h.PerConnMethod)
	}
}
