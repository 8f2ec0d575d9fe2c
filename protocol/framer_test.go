package protocol

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

// outcome is what feeding a whole input to a framer came to.
type outcome struct {
	n        int   // bytes that belonged to the response (when done)
	done     bool  // the response completed
	err      error // the malformed-response error, if any
	status   Status
	reusable bool
}

// feed feeds the pieces in order, checking Feed's contract on the way:
// n within the piece, and all of it used unless done or failed.
func feed(t testing.TB, f Framer, pieces [][]byte) outcome {
	t.Helper()
	total := 0
	for _, p := range pieces {
		k, done, err := f.Feed(p)
		if k < 0 || k > len(p) {
			t.Fatalf("Feed(%q) used %d bytes of %d", p, k, len(p))
		}
		if err != nil {
			if done {
				t.Fatalf("Feed(%q): done and error %v", p, err)
			}
			if !IsError(err) {
				t.Fatalf("Feed(%q): error %v is not a *protocol.Error", p, err)
			}
			return outcome{err: err}
		}
		total += k
		if done {
			return outcome{n: total, done: true, status: f.Status(), reusable: f.Reusable()}
		}
		if k != len(p) {
			t.Fatalf("Feed(%q): not done, but used only %d of %d bytes", p, k, len(p))
		}
	}
	return outcome{n: total}
}

// split cuts data at the points the cut bytes choose (each cut byte is the
// length of the next piece, mod 64, plus one).
func split(data, cuts []byte) [][]byte {
	var out [][]byte
	for i := 0; len(data) > 0; i++ {
		k := len(data)
		if i < len(cuts) {
			k = min(k, int(cuts[i])%64+1)
		}
		out = append(out, data[:k])
		data = data[k:]
	}
	return out
}

// checkSplits is the fuzz property: feeding data in pieces comes to the
// same outcome as feeding it whole, on a fresh framer and on one reused
// after Reset; and a framer never panics.
func checkSplits(t *testing.T, newF func() Framer, data, cuts []byte) {
	whole := feed(t, newF(), [][]byte{data})
	f := newF()
	pieces := feed(t, f, split(data, cuts))
	same := func(a, b outcome) bool {
		if a.done != b.done || a.err != b.err {
			return false
		}
		return !a.done || (a.n == b.n && a.status == b.status && a.reusable == b.reusable)
	}
	if !same(whole, pieces) {
		t.Fatalf("input %q: whole %+v, in pieces %+v", data, whole, pieces)
	}
	f.Reset()
	if again := feed(t, f, split(data, cuts)); !same(whole, again) {
		t.Fatalf("input %q: fresh %+v, after Reset %+v", data, whole, again)
	}
	if whole.done && (whole.status == StatusNone || whole.status >= NumStatus) {
		t.Fatalf("input %q: done with status %v", data, whole.status)
	}
	if !whole.done && whole.err == nil {
		g := newF()
		feed(t, g, [][]byte{data})
		if g.EOF() && (g.Status() == StatusNone || g.Reusable()) {
			t.Fatalf("input %q: EOF completed with status %v, reusable %v", data, g.Status(), g.Reusable())
		}
	}
}

func newHTTPFramer() Framer      { return (&HTTP{}).NewFramer() }
func newRedisFramer() Framer     { return (&Redis{}).NewFramer() }
func newMemcachedFramer() Framer { return (&Memcached{}).NewFramer() }

var httpSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\na;ext=1\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nbody until close",
	"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
	// Hostile: lengths past the bound or past int64, sizes that overflow.
	"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 18446744073709551617\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000000001a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n40\r\n",
}

var redisSeeds = []string{
	"+PONG\r\n",
	"-ERR unknown command\r\n",
	":1000\r\n",
	"$5\r\nhello\r\n",
	"$-1\r\n",
	"*-1\r\n",
	"*2\r\n$3\r\nfoo\r\n*2\r\n:1\r\n$-1\r\n",
	"*0\r\n",
	"%1\r\n+k\r\n#t\r\n",
	"|1\r\n+ttl\r\n:3\r\n+OK\r\n",
	"!3\r\nerr\r\n",
	"$3\r\nabcd\r\n",
	"+PONG\r\n+EXTRA\r\n",
	// Hostile: lengths and counts past the bound or past int64.
	"$4611686018427387904\r\n",
	"*9223372036854775808\r\n",
	"$-4611686018427387904\r\n",
	"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n",
	"|4611686018427387904\r\n",
}

var memcachedSeeds = []string{
	"VERSION 1.6.18\r\n",
	"STORED\r\n",
	"END\r\n",
	"VALUE k 0 5\r\nhello\r\nEND\r\n",
	"VALUE a 0 1 9\r\nx\r\nVALUE b 3 0\r\n\r\nEND\r\n",
	"ERROR\r\n",
	"CLIENT_ERROR bad data chunk\r\n",
	"STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n",
	"VA 2 f1\r\nhi\r\n",
	"HD\r\n",
	"VALUE k 0 5\r\nhelloXX",
	// Hostile: block sizes past the bound or past int64.
	"VALUE k 0 9223372036854775808\r\n",
	"VA 99999999999999999999999 f\r\n",
	"STAT a 1\r\nSTAT b 2\r\nSTAT c 3\r\nSTAT d 4\r\n",
}

func fuzzSeeds(f *testing.F, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s), []byte{0, 1, 2, 3, 63, 7})
		f.Add([]byte(s), []byte{})
	}
}

// checkBounded is checkSplits with the response bound lowered to 64 bytes,
// so that the fuzzer reaches it: then too, pieces and whole agree, and a
// response never uses more than the bound.
func checkBounded(t *testing.T, newF func() Framer, data, cuts []byte) {
	const bound = 64
	defer SetMaxResponse(bound)()
	checkSplits(t, newF, data, cuts)
	if got := feed(t, newF(), split(data, cuts)); got.n > bound {
		t.Fatalf("input %q: a response of %d bytes passed the %d-byte bound", data, got.n, bound)
	}
}

func FuzzHTTP(f *testing.F) {
	fuzzSeeds(f, httpSeeds)
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		checkSplits(t, newHTTPFramer, data, cuts)
		checkBounded(t, newHTTPFramer, data, cuts)
	})
}

func FuzzRedis(f *testing.F) {
	fuzzSeeds(f, redisSeeds)
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		checkSplits(t, newRedisFramer, data, cuts)
		checkBounded(t, newRedisFramer, data, cuts)
	})
}

func FuzzMemcached(f *testing.F) {
	fuzzSeeds(f, memcachedSeeds)
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		checkSplits(t, newMemcachedFramer, data, cuts)
		checkBounded(t, newMemcachedFramer, data, cuts)
	})
}

type frameCase struct {
	in       string
	n        int // -1: len(in)
	status   Status
	reusable bool
	err      error // expected error; nil with !done means incomplete
	incomp   bool  // needs more bytes
}

func runCases(t *testing.T, newF func() Framer, cases []frameCase) {
	t.Helper()
	for _, c := range cases {
		// Byte by byte, the hardest split, and whole: the same outcome.
		var bytewise [][]byte
		for i := range len(c.in) {
			bytewise = append(bytewise, []byte(c.in[i:i+1]))
		}
		for _, pieces := range [][][]byte{{[]byte(c.in)}, bytewise} {
			got := feed(t, newF(), pieces)
			switch {
			case c.err != nil:
				if got.err != c.err {
					t.Errorf("%q: got %+v, want error %v", c.in, got, c.err)
				}
			case c.incomp:
				if got.done || got.err != nil {
					t.Errorf("%q: got %+v, want incomplete", c.in, got)
				}
			default:
				want := c.n
				if want < 0 {
					want = len(c.in)
				}
				if !got.done || got.n != want || got.status != c.status || got.reusable != c.reusable {
					t.Errorf("%q: got %+v, want done n=%d status=%v reusable=%v", c.in, got, want, c.status, c.reusable)
				}
			}
		}
	}
}

func TestHTTPFramer(t *testing.T) {
	runCases(t, newHTTPFramer, []frameCase{
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", n: 43, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 200\r\ncontent-length:  3 \r\n\r\nabc", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", n: -1, status: Status3xx, reusable: true},
		{in: "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx", n: -1, status: Status4xx},
		{in: "HTTP/1.1 500 Oops\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n", n: -1, status: Status5xx},
		{in: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", n: -1, status: Status2xx},
		{in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", n: -1, status: Status3xx, reusable: true},
		{in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;name=v\r\n world\r\n0\r\n\r\n", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA  \r\n0123456789\r\n0\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n1\r\nx\r\n0\r\n\r\n", n: -1, status: Status2xx},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", n: -1, status: Status2xx, reusable: true},
		{in: "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n", n: -1, status: Status2xx, reusable: true},
		// Incomplete: more to come, or (no length) the body runs to the close.
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell", incomp: true},
		{in: "HTTP/1.1 200 OK\r\nContent-Len", incomp: true},
		{in: "HTTP/1.1 200 OK\r\n\r\nbody", incomp: true},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n", incomp: true},
		// Malformed.
		{in: "HTTP/2 200 OK\r\n\r\n", err: errHTTPStatusLine},
		{in: "HTTP/1.1 20 OK\r\n\r\n", err: errHTTPStatusLine},
		{in: "HTTP/1.1 2000 OK\r\n\r\n", err: errHTTPStatusLine},
		{in: "http/1.1 200 OK\r\n\r\n", err: errHTTPStatusLine},
		{in: "\r\nHTTP/1.1 200 OK\r\n\r\n", err: errHTTPStatusLine},
		{in: "HTTP/1.1 600 What\r\n\r\n", err: errHTTPStatus},
		{in: "HTTP/1.1 101 Switching Protocols\r\n\r\n", err: errHTTPUpgrade},
		{in: "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", err: errHTTPHeader},
		{in: "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", err: errHTTPHeader},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errHTTPLength},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", err: errHTTPLength},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", err: errHTTPLength},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: errHTTPChunk},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", err: errHTTPChunk},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx", err: errHTTPChunk},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy", err: errHTTPChunkEnd},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", err: errHTTPChunkSize},
		{in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n", err: errHTTPTrailer},
	})
}

func TestHTTPCloseDelimited(t *testing.T) {
	f := newHTTPFramer()
	if _, done, err := f.Feed([]byte("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nsome body")); done || err != nil {
		t.Fatalf("done %v err %v before the close", done, err)
	}
	if !f.EOF() || f.Status() != Status2xx || f.Reusable() {
		t.Errorf("at the close: status %v, reusable %v; want a complete, non-reusable 2xx", f.Status(), f.Reusable())
	}
	f.Reset()
	f.Feed([]byte("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"))
	if f.EOF() {
		t.Error("a close before Content-Length bytes completed the response")
	}
}

func TestHTTPHeadLimit(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHead) + "\r\n\r\n"
	for _, pieces := range [][][]byte{{[]byte(big)}, split([]byte(big), bytes.Repeat([]byte{200}, len(big)))} {
		if got := feed(t, newHTTPFramer(), pieces); got.err != errHTTPHeadSize {
			t.Errorf("%d pieces: got %+v, want %v", len(pieces), got, errHTTPHeadSize)
		}
	}
	// Just under the limit is fine, split or whole.
	pad := maxHead - len("HTTP/1.1 200 OK\r\nX: \r\nContent-Length: 0\r\n\r\n")
	ok := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", pad) + "\r\nContent-Length: 0\r\n\r\n"
	for _, pieces := range [][][]byte{{[]byte(ok)}, split([]byte(ok), bytes.Repeat([]byte{100}, len(ok)))} {
		if got := feed(t, newHTTPFramer(), pieces); !got.done || got.n != maxHead {
			t.Errorf("%d pieces: got %+v, want done at %d", len(pieces), got, maxHead)
		}
	}
}

func TestRedisFramer(t *testing.T) {
	runCases(t, newRedisFramer, []frameCase{
		{in: "+PONG\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "+PONG\r\n+NEXT\r\n", n: 7, status: StatusOK, reusable: true},
		{in: "-ERR unknown command 'FOO'\r\n", n: -1, status: StatusError, reusable: true},
		{in: ":-42\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "$0\r\n\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "$12\r\nhello\r\nworld\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "$-1\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "*-1\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "*0\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "*3\r\n:1\r\n*2\r\n$1\r\na\r\n-ERR inner\r\n*0\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "*2\r\n*2\r\n*1\r\n+deep\r\n$-1\r\n:7\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "_\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "#f\r\n", n: -1, status: StatusOK, reusable: true},
		{in: ",3.14\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "(12345678901234567890\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "!9\r\nSYNTAX xx\r\n", n: -1, status: StatusError, reusable: true},
		{in: "=7\r\ntxt:abc\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "%2\r\n+a\r\n:1\r\n+b\r\n~1\r\n:2\r\n", n: -1, status: StatusOK, reusable: true},
		{in: ">2\r\n+message\r\n+hi\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "|1\r\n+key-popularity\r\n:1\r\n$2\r\nok\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "*2\r\n+a\r\n", incomp: true},
		{in: "$5\r\nhel", incomp: true},
		{in: "+PONG\r", incomp: true},
		{in: "?x\r\n", err: errRedisType},
		{in: "+PO\nNG\r\n", err: errRedisLine},
		{in: "+PONG\rX", err: errRedisLine},
		{in: "$\r\n", err: errRedisNumber},
		{in: "$-2\r\n", err: errRedisNumber},
		{in: "%-1\r\n", err: errRedisNumber},
		{in: "$1x\r\n", err: errRedisNumber},
		{in: "$3\r\nabcd\r\n", err: errRedisBulk},
		{in: "$99999999999999999\r\n", err: errRedisLength},
		{in: "*1099511627777\r\n", err: errRedisLength},
	})
}

func TestMemcachedFramer(t *testing.T) {
	runCases(t, newMemcachedFramer, []frameCase{
		{in: "VERSION 1.6.18\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "STORED\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "NOT_FOUND\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "42\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "END\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "END\r\nEXTRA", n: 5, status: StatusOK, reusable: true},
		{in: "VALUE k 0 5\r\nhello\r\nEND\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "VALUE k 0 12 77\r\nhello\r\nworld\r\nEND\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "VALUE a 1 0\r\n\r\nVALUE b 2 3\r\nxyz\r\nEND\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "STAT pid 7\r\nSTAT version 1.6\r\nEND\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "STAT long " + strings.Repeat("v", 2000) + "\r\nEND\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "ERROR\r\n", n: -1, status: StatusError, reusable: true},
		{in: "CLIENT_ERROR line too long\r\n", n: -1, status: StatusError, reusable: true},
		{in: "VALUE k 0 1\r\nx\r\nSERVER_ERROR out of memory\r\n", n: -1, status: StatusError, reusable: true},
		{in: "HD\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "VA 5 t3\r\nhello\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "VALUE k 0 5\r\nhello\r\n", incomp: true},
		{in: "STAT a 1\r\n", incomp: true},
		{in: "VERSION", incomp: true},
		{in: "\r\n", err: errMCEmpty},
		{in: "STORED\n", err: errMCLine},
		{in: "STORED\rX", err: errMCLine},
		{in: "VALUE k 0\r\n", err: errMCValue},
		{in: "VALUE k 0 x\r\n", err: errMCValue},
		{in: "VALUE k 0 1\r\nxy\r\n", err: errMCData},
		{in: "VALUE " + strings.Repeat("k", 600) + " 0 1\r\nx\r\nEND\r\n", err: errMCValue},
	})
}

// TestFeedAllocs: the hot path allocates nothing, also for a head split
// across reads once the framer's buffer exists.
func TestFeedAllocs(t *testing.T) {
	cases := []struct {
		f      Framer
		pieces []string
	}{
		{newHTTPFramer(), []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"}},
		{newHTTPFramer(), []string{"HTTP/1.1 200 OK\r\nTransfer-", "Encoding: chunked\r\n\r\n5\r\nhe", "llo\r\n0\r\n\r\n"}},
		{newRedisFramer(), []string{"*2\r\n$3\r\nfoo\r\n", ":12\r\n"}},
		{newMemcachedFramer(), []string{"VALUE k 0 5\r\nhel", "lo\r\nEND\r\n"}},
	}
	for _, c := range cases {
		var pieces [][]byte
		for _, p := range c.pieces {
			pieces = append(pieces, []byte(p))
		}
		run := func() {
			c.f.Reset()
			for i, p := range pieces {
				_, done, err := c.f.Feed(p)
				if err != nil || done != (i == len(c.pieces)-1) {
					t.Fatalf("%q: done %v, err %v", p, done, err)
				}
			}
		}
		run() // the first split head sizes the buffer
		if a := testing.AllocsPerRun(100, run); a != 0 {
			t.Errorf("%q: %v allocations per response, want 0", c.pieces, a)
		}
	}
}

func TestNewAndRequests(t *testing.T) {
	target := netip.MustParseAddrPort("127.0.0.1:8080")
	p, err := New("http", Options{Path: "/a?b=1", Headers: []string{"X-A: 1", "Accept:*/*"}, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(p.Request(true)), "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-A: 1\r\nAccept: */*\r\n\r\n"; got != want {
		t.Errorf("keep-alive request %q, want %q", got, want)
	}
	if got, want := string(p.Request(false)), "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-A: 1\r\nAccept: */*\r\nConnection: close\r\n\r\n"; got != want {
		t.Errorf("close request %q, want %q", got, want)
	}
	p, _ = New("http", Options{Host: "example.org", Headers: []string{"host: other"}, Target: target})
	if got, want := string(p.Request(true)), "GET / HTTP/1.1\r\nhost: other\r\n\r\n"; got != want {
		t.Errorf("request with own Host %q, want %q", got, want)
	}
	p, _ = New("redis", Options{Command: `SET k "a b\"c"`})
	if got, want := string(p.Request(true)), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na b\"c\r\n"; got != want {
		t.Errorf("redis request %q, want %q", got, want)
	}
	p, _ = New("redis", Options{})
	if got, want := string(p.Request(false)), "*1\r\n$4\r\nPING\r\n"; got != want {
		t.Errorf("redis default %q, want %q", got, want)
	}
	p, _ = New("memcached", Options{})
	if got, want := string(p.Request(true)), "version\r\n"; got != want {
		t.Errorf("memcached default %q, want %q", got, want)
	}
	p, _ = New("memcached", Options{Command: `set k 0 0 5\nhello`})
	if got, want := string(p.Request(true)), "set k 0 0 5\r\nhello\r\n"; got != want {
		t.Errorf("memcached set %q, want %q", got, want)
	}
	if p, err := New("raw", Options{}); p != nil || err != nil {
		t.Errorf("raw: %v, %v; want nil, nil", p, err)
	}
	b, _ := json.Marshal(struct{ P Protocol }{mustNew(t, "http", Options{Target: target})})
	if got, want := string(b), `{"P":{"name":"http","path":"/","host":"127.0.0.1:8080"}}`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
}

func mustNew(t *testing.T, name string, o Options) Protocol {
	p, err := New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		flag string
	}{
		{"gopher", Options{}, "--protocol"},
		{"http", Options{Path: "noslash"}, "--path"},
		{"http", Options{Path: "/a b"}, "--path"},
		{"http", Options{Host: "a\r\nb"}, "--host"},
		{"http", Options{Headers: []string{"NoColon"}}, "--header"},
		{"http", Options{Headers: []string{"Bad Name: x"}}, "--header"},
		{"http", Options{Headers: []string{"X: a\nb"}}, "--header"},
		{"http", Options{Headers: []string{"Content-Length: 3"}}, "--header"},
		{"http", Options{Command: "PING"}, "--command"},
		{"redis", Options{Command: `SET "k`}, "--command"},
		{"redis", Options{Command: "   "}, "--command"},
		{"redis", Options{Path: "/"}, "--path"},
		{"memcached", Options{Command: "get k\r"}, "--command"},
		{"raw", Options{Command: "x"}, "--command"},
	} {
		_, err := New(c.name, c.o)
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("New(%q, %+v) = %v; want an error naming %s", c.name, c.o, err, c.flag)
		}
	}
}
