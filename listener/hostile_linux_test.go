package listener

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pattern returns n bytes of a pattern that does not repeat every power of
// two, starting at offset off, so that a lost, doubled or reordered block
// of echo shows.
func pattern(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off + i) % 251)
	}
	return b
}

// echoOnce checks that the listener still echoes on a fresh connection.
func echoOnce(t *testing.T, ln *Listener) {
	t.Helper()
	c := dial(t, ln)
	defer c.Close()
	c.Write([]byte("ping"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
		t.Fatalf("another connection: echo got %q, %v", got, err)
	}
}

// TestEchoPeerNeverReads: a client that sends and never reads. The
// listener stops reading once its echo is not taken, so the client's
// writes stall on TCP's flow control well before 256 MiB, and the
// listener holds at most MaxEchoPending bytes (received minus sent) of
// it; the same loop goes on serving other connections; and once the
// client reads, every byte comes back in order.
func TestEchoPeerNeverReads(t *testing.T) {
	ln := start(t, Config{Mode: Echo, Loops: 1})
	c := dial(t, ln)
	defer c.Close()
	const block, limit = 64 << 10, 256 << 20
	sent := 0
	for {
		if sent >= limit {
			t.Fatalf("sent %d bytes and the writes never stalled: the listener keeps reading", sent)
		}
		// A deadline only to notice the stall; how soon it comes does
		// not matter to the assertions.
		c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(pattern(sent, block))
		sent += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	st := ln.Stats()
	if held := st.BytesReceived - st.BytesSent; held < 0 || held > MaxEchoPending {
		t.Errorf("the listener holds %d bytes (received %d, sent %d), want at most %d", held, st.BytesReceived, st.BytesSent, MaxEchoPending)
	}
	echoOnce(t, ln)
	// Now read: everything comes back, in order.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, block)
	for off := 0; off < sent; {
		k := min(block, sent-off)
		if _, err := io.ReadFull(c, got[:k]); err != nil {
			t.Fatalf("reading the echo at %d of %d: %v", off, sent, err)
		}
		if !bytes.Equal(got[:k], pattern(off, k)) {
			t.Fatalf("echo differs in the %d bytes at %d", k, off)
		}
		off += k
	}
	total := int64(sent) + 4 // and echoOnce's
	waitFor(t, "the listener to count the echo", func() bool { return ln.Stats().BytesSent == total })
	if st := ln.Stats(); st.BytesReceived != total || st.Errors != 0 || st.Resets != 0 {
		t.Errorf("stats %+v after %d bytes echoed", st, total)
	}
	// The connection echoes normally again.
	c.Write([]byte("again"))
	if _, err := io.ReadFull(c, got[:5]); err != nil || string(got[:5]) != "again" {
		t.Fatalf("echo after the stall got %q, %v", got[:5], err)
	}
}

// TestEchoPeerVanishes: a client that sends, never reads, and then resets
// the connection: the blocked echo is dropped with the connection and
// counted, and the loop goes on.
func TestEchoPeerVanishes(t *testing.T) {
	ln := start(t, Config{Mode: Echo, Loops: 1})
	c := dial(t, ln)
	sent := 0
	for sent < 256<<20 {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(pattern(sent, 64<<10))
		sent += n
		if err != nil {
			break
		}
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // RST, with the listener's echo still unwritten
	waitFor(t, "the listener to drop the connection", func() bool { return ln.Stats().Open == 0 })
	if st := ln.Stats(); st.Closed != 1 || st.Resets+st.Errors != 1 {
		t.Errorf("stats %+v: want the connection closed, counted as a reset or an error", st)
	}
	echoOnce(t, ln)
}

// TestEchoPeersNeverSend: clients that connect and send nothing cost the
// listener nothing but their entries (no buffer), and do not hold up the
// others.
func TestEchoPeersNeverSend(t *testing.T) {
	ln := start(t, Config{Mode: Echo, Loops: 1})
	const n = 200
	for range n {
		c := dial(t, ln)
		defer c.Close()
	}
	waitFor(t, "the listener to accept them", func() bool { return ln.Stats().Open == n })
	echoOnce(t, ln)
	if st := ln.Stats(); st.BytesReceived != 4 || st.BytesSent != 4 || st.Open != n+1 && st.Open != n {
		t.Errorf("stats %+v: want only the 4-byte echo", st)
	}
}

// TestBoundsAsDocumented: the bounds that connbench serve --help quotes.
func TestBoundsAsDocumented(t *testing.T) {
	if MaxEchoPending != 64<<10 || MaxRequestHead != 16<<10 {
		t.Errorf("MaxEchoPending %d, MaxRequestHead %d: update serve --help (64 KiB, 16 KiB)", MaxEchoPending, MaxRequestHead)
	}
}
