package listener

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

func start(t *testing.T, cfg Config) *Listener {
	t.Helper()
	ln, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t *testing.T, ln *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestRespondLockstep: each full request gets exactly one response, also
// when requests arrive split and several at once.
func TestRespondLockstep(t *testing.T) {
	ln := start(t, Config{RequestSize: 4, ResponseSize: 1000, Loops: 2})
	c := dial(t, ln)
	defer c.Close()
	c.Write([]byte("ab"))
	c.Write([]byte("cdefghijkl")) // 3 requests in all (12 bytes)
	buf := make([]byte, 3000)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, bytes.Repeat([]byte("x"), 3000)) {
		t.Error("response bytes are not the fixed pattern")
	}
	waitFor(t, "stats", func() bool { return ln.Stats().BytesSent == 3000 })
	if st := ln.Stats(); st.Requests != 3 || st.BytesReceived != 12 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
	c.Close()
	waitFor(t, "close to be seen", func() bool { return ln.Stats().Open == 0 })
}

// TestLargeResponse makes the listener block on a full socket buffer and
// finish the response when the client reads.
func TestLargeResponse(t *testing.T) {
	const size = 8 << 20
	ln := start(t, Config{ResponseSize: size, Loops: 1})
	c := dial(t, ln)
	defer c.Close()
	c.Write([]byte("q"))
	n, err := io.Copy(io.Discard, io.LimitReader(c, size))
	if err != nil || n != size {
		t.Fatalf("read %d of %d: %v", n, size, err)
	}
}

func TestEchoAndDiscard(t *testing.T) {
	ln := start(t, Config{Mode: Echo, Loops: 1})
	c := dial(t, ln)
	msg := []byte("hello, echo")
	c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo got %q, %v", got, err)
	}
	c.Close()

	ln = start(t, Config{Mode: Discard, Loops: 1})
	c = dial(t, ln)
	defer c.Close()
	c.Write(msg)
	waitFor(t, "discard to read", func() bool { return ln.Stats().BytesReceived == int64(len(msg)) })
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := c.Read(got); n != 0 {
		t.Errorf("discard sent %d bytes back", n)
	}
}

// TestReusePortSockets: one listening socket per loop, counted by the kernel.
func TestReusePortSockets(t *testing.T) {
	for _, c := range []struct {
		reuse bool
		want  int
	}{{false, 1}, {true, 3}} {
		ln := start(t, Config{Loops: 3, ReusePort: c.reuse})
		s, err := kernel.NewSampler()
		if err != nil {
			skipUnlessNoSockDiag(t, err)
		}
		smp, err := s.Sample(kernel.Filter{Local: ln.Addr(), States: kernel.MaskOf(kernel.StateListen)})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := smp.States[kernel.StateListen]; got != c.want {
			t.Errorf("ReusePort %v: %d listening sockets, want %d", c.reuse, got, c.want)
		}
		for i := 0; i < 20; i++ {
			conn := dial(t, ln)
			conn.Write([]byte("q"))
			io.ReadFull(conn, make([]byte, 1))
			conn.Close()
		}
		if st := ln.Stats(); st.Requests != 20 {
			t.Errorf("ReusePort %v: answered %d of 20", c.reuse, st.Requests)
		}
		ln.Close()
	}
}

func TestBindErrors(t *testing.T) {
	ln := start(t, Config{Loops: 1})
	_, err := Start(Config{Addr: ln.Addr(), Loops: 1})
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("second bind: %v, want EADDRINUSE", err)
	}
	if _, err := Start(Config{RequestSize: -1}); err == nil {
		t.Error("negative request size accepted")
	}
}

func TestModeParse(t *testing.T) {
	for _, m := range []Mode{Respond, Echo, Discard} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("x"); err == nil {
		t.Error("ParseMode(x) accepted")
	}
}

// skipUnlessNoSockDiag skips a test whose socket-state sampler could not
// open only when the kernel has no NETLINK_SOCK_DIAG (EPROTONOSUPPORT);
// any other failure to open it is connbench's sampler failing, and fails
// the test.
func skipUnlessNoSockDiag(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Skipf("this kernel has no NETLINK_SOCK_DIAG: %v", err)
	}
	t.Fatalf("the socket-state sampler did not open: %v", err)
}

// With Config.Spin a loop with connections open polls before it sleeps,
// and a client answering at once is caught by its polls; without, it never
// polls. (serve --spin once parsed the flag and never gave the loops the
// window: this would have failed.)
func TestSpinPolls(t *testing.T) {
	for _, spin := range []time.Duration{0, 50 * time.Microsecond} {
		ln := start(t, Config{Loops: 1, Spin: spin})
		c := dial(t, ln)
		b := make([]byte, 1)
		for i := 0; i < 2000; i++ {
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, b); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		ln.Close()
		st := ln.Stats()
		if st.Requests != 2000 {
			t.Fatalf("spin %v: %d requests answered, want 2000", spin, st.Requests)
		}
		if spin == 0 && (st.Spin != 0 || st.SpinHits != 0) {
			t.Errorf("spin 0: polled %v, %d hits; want no polling", st.Spin, st.SpinHits)
		}
		if spin > 0 && (st.Spin <= 0 || st.SpinHits == 0) {
			t.Errorf("spin %v: polled %v, %d hits; want polls that caught requests", spin, st.Spin, st.SpinHits)
		}
	}
}
