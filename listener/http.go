package listener

import (
	"bytes"
	"github.com/connbench/connbench/internal/ascii"
	"strconv"
)

// maxRequestHead bounds an HTTP request head in HTTP mode, in bytes.
const maxRequestHead = 16 << 10

// Final HTTP responses, after which the listener closes the connection
// (conn.last); httpKeep: none, the connection stays open.
const (
	httpKeep    uint8 = iota
	httpClose         // 200 with Connection: close
	httpHead          // a HEAD's 200 head alone, with Connection: close
	httpBad           // 400
	httpTooLong       // 431
	httpChunked       // 501: chunked request bodies are not supported
	nHTTPFinal
)

// httpResponse is one canned response: its first bytes precomputed, the
// rest of its body (if longer than the precomputed part) is 'x' bytes.
type httpResponse struct {
	b     []byte
	total int64
}

// httpResponses are the listener's canned responses; keep is the 200 that
// leaves the connection open, final[last] the ones before a close.
type httpResponses struct {
	keep  httpResponse
	final [nHTTPFinal]httpResponse
}

// newHTTPResponses builds the canned responses for a body of size bytes,
// precomputing at most cap bytes of body.
func newHTTPResponses(size, cap int) *httpResponses {
	body := bytes.Repeat([]byte("x"), min(size, cap))
	ok := func(close bool, withBody bool) httpResponse {
		h := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(size) + "\r\n"
		if close {
			h += "Connection: close\r\n"
		}
		h += "\r\n"
		if !withBody {
			return httpResponse{b: []byte(h), total: int64(len(h))}
		}
		return httpResponse{b: append([]byte(h), body...), total: int64(len(h) + size)}
	}
	plain := func(status string) httpResponse {
		b := []byte("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return httpResponse{b: b, total: int64(len(b))}
	}
	h := &httpResponses{keep: ok(false, true)}
	h.final[httpClose] = ok(true, true)
	h.final[httpHead] = ok(true, false)
	h.final[httpBad] = plain("400 Bad Request")
	h.final[httpTooLong] = plain("431 Request Header Fields Too Large")
	h.final[httpChunked] = plain("501 Not Implemented")
	return h
}

// chunk returns the next bytes to write of what c owes: c.owed counts the
// bytes of the keep-alive responses still queued, then of the final one.
func (h *httpResponses) chunk(c *conn, xs []byte) []byte {
	r := c.owed
	if c.last != httpKeep {
		f := &h.final[c.last]
		if r <= f.total {
			return f.segment(f.total-r, xs)
		}
		r -= f.total
	}
	k := &h.keep
	return k.segment((k.total-r%k.total)%k.total, xs)
}

func (r *httpResponse) segment(off int64, xs []byte) []byte {
	if off < int64(len(r.b)) {
		return r.b[off:]
	}
	return xs[:min(r.total-off, int64(len(xs)))]
}

var crlfcrlf = []byte("\r\n\r\n")

// serveHTTP takes the bytes read from c: it finds each request head's end
// (also when a head arrives split across reads, or several at once),
// skips request bodies, and queues a response per request. Once a response
// that ends the connection is queued, what follows is ignored.
func (lp *loop) serveHTTP(c *conn, b []byte) {
	h := lp.l.http
	c.extra()
	for len(b) > 0 && c.last == httpKeep {
		if c.skip > 0 {
			k := min(c.skip, int64(len(b)))
			c.skip -= k
			b = b[k:]
			continue
		}
		var head []byte
		if len(c.pend) == 0 {
			// A head must end within its first maxRequestHead bytes.
			i := bytes.Index(b[:min(len(b), maxRequestHead)], crlfcrlf)
			if i < 0 {
				if len(b) >= maxRequestHead {
					lp.queueHTTP(c, h, httpTooLong)
					return
				}
				c.pend = append(c.pend[:0], b...)
				return
			}
			head, b = b[:i+4], b[i+4:]
		} else {
			old := len(c.pend)
			c.pend = append(c.pend, b[:min(len(b), maxRequestHead-old)]...)
			from := max(0, old-3)
			i := bytes.Index(c.pend[from:], crlfcrlf)
			if i < 0 {
				if len(c.pend) >= maxRequestHead {
					lp.queueHTTP(c, h, httpTooLong)
				}
				return
			}
			end := from + i + 4
			head, b = c.pend[:end], b[end-old:]
		}
		lp.queueHTTP(c, h, lp.parseRequest(c, head))
		c.pend = c.pend[:0]
	}
}

// queueHTTP queues the keep-alive 200 (last = httpKeep) or a final response.
func (lp *loop) queueHTTP(c *conn, h *httpResponses, last uint8) {
	lp.c.requests.Add(1)
	if last == httpKeep {
		c.owed += h.keep.total
		return
	}
	c.last = last
	c.owed += h.final[last].total
}

// parseRequest reads a request head (ending in CRLF CRLF): which response
// it gets, and how many body bytes follow it (c.skip).
func (lp *loop) parseRequest(c *conn, head []byte) uint8 {
	if head[0] == '\r' && head[1] == '\n' {
		head = head[2:] // one empty line before the request line is allowed
	}
	i := bytes.Index(head, crlfcrlf[:2])
	line := head[:i]
	// METHOD SP target SP HTTP/1.x
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 || len(line)-sp2-1 != 8 || string(line[sp2+1:sp2+8]) != "HTTP/1." {
		return httpBad
	}
	http10 := line[len(line)-1] == '0'
	head10 := string(line[:sp1]) == "HEAD"
	closeTok, keepTok := false, false
	rest := head[i+2:]
	for {
		j := bytes.Index(rest, crlfcrlf[:2])
		line, rest = rest[:j], rest[j+2:]
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			if line[0] == ' ' || line[0] == '\t' {
				continue // a folded line
			}
			return httpBad
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case ascii.FoldEqual(name, "content-length"):
			n, ok := ascii.ParseLength(value)
			if !ok {
				return httpBad
			}
			c.skip = n
		case ascii.FoldEqual(name, "transfer-encoding"):
			return httpChunked
		case ascii.FoldEqual(name, "connection"):
			ascii.ForTokens(value, func(t []byte) {
				if ascii.FoldEqual(t, "close") {
					closeTok = true
				} else if ascii.FoldEqual(t, "keep-alive") {
					keepTok = true
				}
			})
		}
	}
	switch {
	case head10:
		return httpHead
	case closeTok || (http10 && !keepTok):
		return httpClose
	}
	return httpKeep
}
