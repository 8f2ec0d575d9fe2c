package listener

import (
	"io"
	"testing"
	"time"
)

// TestIdleClose: a connection on which nothing moves is closed after
// IdleClose (the client reads end of stream, the listener counts it); a
// connection that was answered first is closed idle too, once, and an
// unanswered idle one is never served late. Counts, not timing: the
// client waits for the close as long as it takes.
func TestIdleClose(t *testing.T) {
	ln := start(t, Config{Loops: 1, IdleClose: 20 * time.Millisecond, RequestSize: 1, ResponseSize: 1})
	silent := dial(t, ln)
	defer silent.Close()
	talker := dial(t, ln)
	defer talker.Close()
	b := make([]byte, 1)
	for i := 0; i < 3; i++ {
		if _, err := talker.Write([]byte("q")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(talker, b); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for name, c := range map[string]interface{ Read([]byte) (int, error) }{"silent": silent, "talker": talker} {
		if n, err := c.Read(b); n != 0 || err != io.EOF {
			t.Errorf("%s connection: read %d, %v; want end of stream from the idle close", name, n, err)
		}
	}
	waitFor(t, "the listener's count", func() bool { return ln.Stats().IdleClosed == 2 })
	if st := ln.Stats(); st.Accepted != 2 || st.Closed != 2 || st.Requests != 3 || st.Open != 0 {
		t.Errorf("accepted %d, closed %d, requests %d, open %d; want 2, 2, 3, 0", st.Accepted, st.Closed, st.Requests, st.Open)
	}
	// Off: a silent connection is not closed (the listener is asked
	// for its counters after the connection was accepted).
	ln2 := start(t, Config{Loops: 1})
	c := dial(t, ln2)
	defer c.Close()
	waitFor(t, "the accept", func() bool { return ln2.Stats().Accepted == 1 })
	if st := ln2.Stats(); st.IdleClosed != 0 || st.Open != 1 {
		t.Errorf("without IdleClose: idle closed %d, open %d; want 0, 1", st.IdleClosed, st.Open)
	}
	if err := (&Config{IdleClose: -time.Second}).validate(); err == nil {
		t.Errorf("a negative IdleClose was accepted")
	}
}
