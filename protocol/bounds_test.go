package protocol

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestDeclaredSizes: a length or count read from the network past
// MaxResponseBytes fails at once as too large, whatever its number of
// digits (2^62, 2^63, 2^64, a hundred digits), without overflow; at the
// bound it is accepted (and the response waits for its bytes).
func TestDeclaredSizes(t *testing.T) {
	huge := []string{
		strconv.FormatInt(MaxResponseBytes+1, 10),
		"4611686018427387904",  // 2^62
		"9223372036854775808",  // 2^63: past int64
		"18446744073709551617", // 2^64+1: wraps a uint64
		strings.Repeat("9", 100),
	}
	bound := strconv.FormatInt(MaxResponseBytes, 10)
	for _, n := range huge {
		runCases(t, newHTTPFramer, []frameCase{
			{in: "HTTP/1.1 200 OK\r\nContent-Length: " + n + "\r\n\r\n", err: errHTTPLengthSize},
		})
		runCases(t, newRedisFramer, []frameCase{
			{in: "$" + n + "\r\n", err: errRedisLength},
			{in: "*" + n + "\r\n", err: errRedisLength},
			{in: "*1\r\n%" + n + "\r\n", err: errRedisLength},
		})
		runCases(t, newMemcachedFramer, []frameCase{
			{in: "VALUE k 0 " + n + "\r\n", err: errMCBlock},
			{in: "VA " + n + " f\r\n", err: errMCBlock},
		})
	}
	runCases(t, newHTTPFramer, []frameCase{
		{in: "HTTP/1.1 200 OK\r\nContent-Length: " + bound + "\r\n\r\n", incomp: true},
		{in: "HTTP/1.1 200 OK\r\nContent-Length: 000000000000000000000000002\r\n\r\nok", n: -1, status: Status2xx, reusable: true},
	})
	runCases(t, newRedisFramer, []frameCase{
		{in: "$" + bound + "\r\n", incomp: true},
		{in: "$0000000000000000000000002\r\nok\r\n", n: -1, status: StatusOK, reusable: true},
		{in: "$-99999999999999999999\r\n", err: errRedisNumber},
	})
	runCases(t, newMemcachedFramer, []frameCase{
		{in: "VALUE k 0 " + bound + "\r\n", incomp: true},
	})
}

// TestChunkSizes: chunk sizes are hex of any number of digits; one past
// the bound, or one that would overflow an int64, is too large.
func TestChunkSizes(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	runCases(t, newHTTPFramer, []frameCase{
		{in: head + "1a\r\n" + strings.Repeat("x", 26) + "\r\nFF\r\n" + strings.Repeat("y", 255) + "\r\n0\r\n\r\n", n: -1, status: Status2xx, reusable: true},
		{in: head + "00000000000000000000000003\r\nabc\r\n0\r\n\r\n", n: -1, status: Status2xx, reusable: true},
		{in: head + strconv.FormatInt(MaxResponseBytes, 16) + "\r\n", incomp: true},
		{in: head + strconv.FormatInt(MaxResponseBytes+1, 16) + "\r\n", err: errHTTPChunkSize},
		{in: head + "ffffffffffffffff\r\n", err: errHTTPChunkSize},  // 2^64-1
		{in: head + "10000000000000000\r\n", err: errHTTPChunkSize}, // 2^64: wraps to 0
		{in: head + strings.Repeat("f", 64) + "\r\n", err: errHTTPChunkSize},
	})
}

// endless feeds piece after piece (after start) until the framer fails or
// limit bytes have gone in; it returns the error and the bytes fed.
func endless(t *testing.T, f Framer, start string, piece []byte, limit int64) (error, int64) {
	t.Helper()
	fed := int64(0)
	if start != "" {
		n, done, err := f.Feed([]byte(start))
		if err != nil || done || n != len(start) {
			t.Fatalf("start %q: %d, %v, %v", start, n, done, err)
		}
		fed += int64(n)
	}
	for fed < limit {
		n, done, err := f.Feed(piece)
		fed += int64(n)
		if err != nil {
			return err, fed
		}
		if done || n != len(piece) {
			t.Fatalf("%q...: done %v after %d bytes", start, done, fed)
		}
	}
	return nil, fed
}

// TestEndlessResponses: a response that never ends (endless chunks, an
// endless line, a body up to a close that never comes, an aggregate that
// nests forever) is cut at the bound, as too large, having used exactly
// the bound's bytes; nothing is allocated on the way, and the only buffer
// a framer keeps, the HTTP head's, stays at MaxHeadBytes.
func TestEndlessResponses(t *testing.T) {
	const bound = 1 << 20
	defer SetMaxResponse(bound)()
	chunk := []byte("1000\r\n" + strings.Repeat("x", 0x1000) + "\r\n")
	cases := []struct {
		name    string
		f       Framer
		start   string
		piece   []byte
		want    error
		atBound bool // the error comes at the bound (else at MaxHeadBytes)
	}{
		{"http endless chunks", newHTTPFramer(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunk, errHTTPSize, true},
		{"http endless chunk extension", newHTTPFramer(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", bytes.Repeat([]byte("e"), 1000), errHTTPSize, true},
		{"http endless trailer", newHTTPFramer(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ", bytes.Repeat([]byte("t"), 1000), errHTTPSize, true},
		{"http endless leading zeros", newHTTPFramer(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", bytes.Repeat([]byte("0"), 1000), errHTTPSize, true},
		{"http body to a close", newHTTPFramer(), "HTTP/1.0 200 OK\r\n\r\n", bytes.Repeat([]byte("b"), 1000), errHTTPSize, true},
		{"http endless header line", newHTTPFramer(), "HTTP/1.1 200 OK\r\nX: ", bytes.Repeat([]byte("h"), 1000), errHTTPHeadSize, false},
		{"http endless headers", newHTTPFramer(), "HTTP/1.1 200 OK\r\n", []byte("X: y\r\n"), errHTTPHeadSize, false},
		{"http endless 100 Continue", newHTTPFramer(), "", []byte("HTTP/1.1 100 Continue\r\n\r\n"), errHTTPSize, true},
		{"redis endless line", newRedisFramer(), "+", bytes.Repeat([]byte("r"), 1000), errRedisSize, true},
		{"redis endless nesting", newRedisFramer(), "", []byte("*1\r\n"), errRedisSize, true},
		// A count at the bound is accepted; its elements run out of room.
		{"redis endless array", newRedisFramer(), "*" + strconv.Itoa(bound/4) + "\r\n", []byte(":1\r\n"), errRedisSize, true},
		{"memcached endless line", newMemcachedFramer(), "VERSION ", bytes.Repeat([]byte("m"), 1000), errMCSize, true},
		{"memcached endless STAT", newMemcachedFramer(), "", []byte("STAT x 1\r\n"), errMCSize, true},
	}
	for _, c := range cases {
		err, fed := endless(t, c.f, c.start, c.piece, 2*bound)
		if err != c.want || Class(err) != FailTooLarge || !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v (class %q) after %d bytes; want %v, class %s", c.name, err, Class(err), fed, c.want, FailTooLarge)
			continue
		}
		if c.atBound && fed != bound {
			t.Errorf("%s: failed after %d bytes, want at the bound, %d", c.name, fed, bound)
		}
		if !c.atBound && fed > MaxHeadBytes {
			t.Errorf("%s: failed after %d bytes, want within %d", c.name, fed, MaxHeadBytes)
		}
		if h, ok := c.f.(*httpFramer); ok && cap(h.head) > MaxHeadBytes {
			t.Errorf("%s: head buffer grew to %d bytes", c.name, cap(h.head))
		}
		// The framer is usable again after Reset, and endless input
		// costs no allocation.
		if a := testing.AllocsPerRun(3, func() {
			c.f.Reset()
			endless(t, c.f, c.start, c.piece, 2*bound)
		}); a > 1 { // the start string's conversion
			t.Errorf("%s: %v allocations per endless response", c.name, a)
		}
	}
}

// TestErrorClasses: every framer error is an *Error wrapping exactly one of
// ErrProtocol and ErrTooLarge, and Class names it.
func TestErrorClasses(t *testing.T) {
	for _, e := range []*Error{errHTTPStatusLine, errHTTPStatus, errHTTPUpgrade, errHTTPHeader, errHTTPLength,
		errHTTPChunk, errHTTPChunkEnd, errHTTPTrailer, errRedisType, errRedisLine, errRedisNumber, errRedisBulk,
		errMCLine, errMCEmpty, errMCValue, errMCData} {
		if !errors.Is(e, ErrProtocol) || errors.Is(e, ErrTooLarge) || Class(e) != FailProtocol || !IsError(e) {
			t.Errorf("%v: class %q, want %s", e, Class(e), FailProtocol)
		}
	}
	for _, e := range []*Error{errHTTPHeadSize, errHTTPLengthSize, errHTTPChunkSize, errHTTPSize, errRedisLength,
		errRedisSize, errMCBlock, errMCSize} {
		if !errors.Is(e, ErrTooLarge) || errors.Is(e, ErrProtocol) || Class(e) != FailTooLarge || !IsError(e) {
			t.Errorf("%v: class %q, want %s", e, Class(e), FailTooLarge)
		}
	}
	if c := Class(errors.New("other")); c != "" {
		t.Errorf("Class of an unrelated error = %q, want empty", c)
	}
	if c := Class(&Error{Protocol: "http", Reason: "bytes after the complete response"}); c != FailProtocol {
		t.Errorf("zero-value Error: class %q, want %s", c, FailProtocol)
	}
}
