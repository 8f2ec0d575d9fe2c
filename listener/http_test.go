package listener

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// readResponses parses n responses from r with net/http (the reference
// parser) and checks each is a 200 with the listener's body.
func readResponses(t *testing.T, r *bufio.Reader, n, size int) []*http.Response {
	t.Helper()
	var out []*http.Response
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		if resp.StatusCode != 200 || resp.ContentLength != int64(size) || !bytes.Equal(body, bytes.Repeat([]byte("x"), size)) {
			t.Fatalf("response %d: status %d, Content-Length %d, %d body bytes; want 200 and %d bytes of x",
				i, resp.StatusCode, resp.ContentLength, len(body), size)
		}
		out = append(out, resp)
	}
	return out
}

// expectClosed checks that the listener closed the connection (EOF).
func expectClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	if b, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the last response: byte %q, err %v; want EOF (the listener closes)", b, err)
	}
}

// TestHTTPKeepAliveSplitPipelined: requests split at every awkward place
// and several in one write each get one response on the same connection.
func TestHTTPKeepAliveSplitPipelined(t *testing.T) {
	ln := start(t, Config{Mode: HTTP, ResponseSize: 100, Loops: 2})
	c := dial(t, ln)
	defer c.Close()
	c.(*net.TCPConn).SetNoDelay(true)
	r := bufio.NewReader(c)
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	// Split inside the final CRLF CRLF, across two reads.
	for _, cut := range []int{len(req) - 1, len(req) - 2, len(req) - 3, 5} {
		c.Write([]byte(req[:cut]))
		waitFor(t, "the partial request to be read", func() bool { return ln.Stats().BytesReceived > 0 })
		c.Write([]byte(req[cut:]))
		readResponses(t, r, 1, 100)
	}
	// Three pipelined in one write, one with a body to skip, and an empty
	// line between requests.
	c.Write([]byte(req + "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\r\n" + req))
	for _, resp := range readResponses(t, r, 3, 100) {
		if resp.Close {
			t.Error("a keep-alive response says the connection closes")
		}
	}
	waitFor(t, "7 requests counted", func() bool { return ln.Stats().Requests == 7 })
	if s := ln.Stats(); s.Accepted != 1 || s.Closed != 0 {
		t.Errorf("accepted %d, closed %d; want one connection, still open", s.Accepted, s.Closed)
	}
}

// TestHTTPConnectionClose: "Connection: close" and HTTP/1.0 get their
// response and then the close; a pipelined request after them is ignored.
func TestHTTPConnectionClose(t *testing.T) {
	ln := start(t, Config{Mode: HTTP, ResponseSize: 10, Loops: 1})
	for _, req := range []string{
		"GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	} {
		c := dial(t, ln)
		c.Write([]byte(req))
		r := bufio.NewReader(c)
		if resp := readResponses(t, r, 1, 10)[0]; !resp.Close {
			t.Errorf("%q: the response does not say Connection: close", req)
		}
		expectClosed(t, r)
		c.Close()
	}
	// HTTP/1.0 with keep-alive stays open.
	c := dial(t, ln)
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
	readResponses(t, bufio.NewReader(c), 2, 10)
	waitFor(t, "both closes", func() bool { return ln.Stats().Closed == 2 })
}

// TestHTTPErrors: malformed, oversized and chunked requests get their
// error status and the close; HEAD gets the head alone.
func TestHTTPErrors(t *testing.T) {
	ln := start(t, Config{Mode: HTTP, ResponseSize: 10, Loops: 1})
	for _, c := range []struct {
		req    string
		method string
		status int
	}{
		{"NONSENSE\r\n\r\n", "GET", 400},
		{"GET / HTTP/2.0\r\n\r\n", "GET", 400},
		{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET", 400},
		{"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "POST", 400},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "POST", 501},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxRequestHead) + "\r\n\r\n", "GET", 431},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxRequestHead) + "\r\n", "GET", 431},
		{"HEAD / HTTP/1.1\r\n\r\n", "HEAD", 200},
	} {
		conn := dial(t, ln)
		conn.Write([]byte(c.req))
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, &http.Request{Method: c.method})
		if err != nil {
			t.Fatalf("%.40q: %v", c.req, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != c.status || !resp.Close {
			t.Errorf("%.40q: status %d close %v; want %d and close", c.req, resp.StatusCode, resp.Close, c.status)
		}
		if c.method == "HEAD" && resp.ContentLength != 10 {
			t.Errorf("HEAD: Content-Length %d, want 10", resp.ContentLength)
		}
		expectClosed(t, r)
		conn.Close()
	}
}

// TestHTTPLargeBody: a body larger than the precomputed response and the
// socket buffer arrives whole, twice, through the blocked-write path.
func TestHTTPLargeBody(t *testing.T) {
	const size = 3<<20 + 7
	ln := start(t, Config{Mode: HTTP, ResponseSize: size, Loops: 1})
	c := dial(t, ln)
	defer c.Close()
	c.Write([]byte("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nConnection: close\r\n\r\n"))
	r := bufio.NewReader(c)
	resps := readResponses(t, r, 2, size)
	if resps[0].Close || !resps[1].Close {
		t.Errorf("close flags %v %v, want false true", resps[0].Close, resps[1].Close)
	}
	expectClosed(t, r)
	if s := ln.Stats(); s.Requests != 2 || s.Errors != 0 {
		t.Errorf("stats %+v: want 2 requests, no errors", s)
	}
}

// TestHTTPGoClient: Go's own client, keep-alive, talks to the listener.
func TestHTTPGoClient(t *testing.T) {
	ln := start(t, Config{Mode: HTTP, ResponseSize: 42, Loops: 2})
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < 20; i++ {
		resp, err := cl.Get("http://" + ln.Addr().String() + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 42 {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(b))
		}
	}
	if s := ln.Stats(); s.Accepted != 1 || s.Requests != 20 {
		t.Errorf("accepted %d requests %d; want 1 connection (keep-alive) and 20 requests", s.Accepted, s.Requests)
	}
}

func TestParseModeHTTP(t *testing.T) {
	m, err := ParseMode("http")
	if err != nil || m != HTTP || m.String() != "http" {
		t.Errorf("ParseMode(http) = %v, %v", m, err)
	}
}

// FuzzHTTPRequests: the request parser never panics, and requests fed in
// pieces come to the same responses queued as fed whole.
func FuzzHTTPRequests(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\r\nGET / HTTP/1.0\r\n\r\n",
		"HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		// Hostile: body lengths past int64, conflicting lengths, a head
		// that does not end.
		"POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 300),
	} {
		f.Add([]byte(s), []byte{1, 2, 3, 30})
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		feed := func(pieces [][]byte) (conn, int64) {
			lp := &loop{l: &Listener{http: newHTTPResponses(10, 4)}}
			var c conn
			c.extra() // as an HTTP connection is accepted
			for _, p := range pieces {
				lp.serveHTTP(&c, p)
			}
			if c.owed > 0 {
				lp.l.http.chunk(&c, []byte("xxxx")) // never out of range
			}
			return c, lp.c.requests.Load()
		}
		whole, wn := feed([][]byte{data})
		var pieces [][]byte
		rest := data
		for i := 0; len(rest) > 0; i++ {
			k := len(rest)
			if i < len(cuts) {
				k = min(k, int(cuts[i])%40+1)
			}
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		split, sn := feed(pieces)
		if wn != sn || whole.owed != split.owed || whole.last != split.last || whole.skip != split.skip ||
			(whole.last == httpKeep && string(whole.pend) != string(split.pend)) {
			t.Fatalf("%q: whole: %d requests, owed %d, last %d, skip %d, pend %q; in pieces: %d, %d, %d, %d, %q",
				data, wn, whole.owed, whole.last, whole.skip, whole.pend, sn, split.owed, split.last, split.skip, split.pend)
		}
	})
}
