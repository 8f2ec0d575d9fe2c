package listener

import (
	"io"
	"net"
	"testing"
	"time"
)

func TestBacklogFor(t *testing.T) {
	for _, c := range []struct {
		name      string
		rate      float64
		somaxconn int
		want      int
		limited   bool
	}{
		{"no rate: the default", 0, 4096, DefaultBacklog, false},
		{"slow rate: the default", 500, 4096, DefaultBacklog, false},
		{"a second of arrivals", 20000, 65535, 20000, false},
		{"fractional rate rounds up", 5000.5, 65535, 5001, false},
		{"somaxconn caps it and says so", 20000, 4096, 4096, true},
		{"somaxconn below the default caps the default, not limited by the rate", 100, 128, 128, false},
		{"somaxconn below the default and the rate", 1000, 128, 128, true},
		{"somaxconn unknown: no cap", 20000, 0, 20000, false},
		{"huge rate stays an int32", 1e12, 0, 1<<31 - 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, limited := BacklogFor(c.rate, c.somaxconn)
			if got != c.want || limited != c.limited {
				t.Errorf("BacklogFor(%g, %d) = %d, %v; want %d, %v", c.rate, c.somaxconn, got, limited, c.want, c.limited)
			}
		})
	}
}

// TestAcceptBatches: a queue far longer than one batch is drained over
// several wake-ups, and every connection queued is accepted and served.
func TestAcceptBatches(t *testing.T) {
	const n = 3*MaxAcceptBatch + 17
	// The pause lets every connection complete its handshake into the
	// accept queue before the loop takes any.
	ln := start(t, Config{Loops: 1, Backlog: 2 * n, AcceptPauseFor: 300 * time.Millisecond})
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		conns = append(conns, dial(t, ln))
	}
	waitFor(t, "every queued connection accepted", func() bool { return ln.Stats().Accepted == n })
	for _, c := range []net.Conn{conns[0], conns[n-1]} {
		if _, err := c.Write([]byte{'q'}); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatalf("no response on a connection accepted in a batch: %v", err)
		}
	}
	if got := ln.Stats().Errors; got != 0 {
		t.Errorf("listener errors = %d, want 0", got)
	}
}
