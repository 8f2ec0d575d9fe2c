package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/connbench/connbench/internal/ascii"
	"strings"
)

// HTTP is HTTP/1.1 GET requests: the response's end is known from its
// Content-Length, its chunked encoding, or (for a body with neither) the
// server closing the connection. Informational 1xx responses before the
// final one are skipped.
type HTTP struct {
	path, host string
	headers    []string
	keep, cl   []byte // the request with keep-alive, and with Connection: close
}

// maxHead bounds a response head (status line and headers), in bytes.
const maxHead = MaxHeadBytes

func newHTTP(o Options) (*HTTP, error) {
	h := &HTTP{path: o.Path, host: o.Host, headers: o.Headers}
	if h.path == "" {
		h.path = "/"
	}
	if !strings.HasPrefix(h.path, "/") && !strings.HasPrefix(h.path, "http://") && !strings.HasPrefix(h.path, "https://") {
		return nil, fmt.Errorf("protocol: --path %q: must start with / (or be an absolute http:// URL)", h.path)
	}
	if strings.ContainsAny(h.path, " \t") || !validText(h.path) {
		return nil, fmt.Errorf("protocol: --path %q: no spaces or control characters (percent-encode them)", h.path)
	}
	if strings.ContainsAny(h.host, " \t") || !validText(h.host) {
		return nil, fmt.Errorf("protocol: --host %q: no spaces or control characters", h.host)
	}
	if h.host == "" && o.Target.IsValid() {
		h.host = o.Target.String()
	}
	ownHost, ownConn := false, false
	for _, hd := range h.headers {
		name, value, ok := strings.Cut(hd, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t()<>@,;\\\"/[]?={}") || !validText(name) || !validText(value) {
			return nil, fmt.Errorf("protocol: --header %q: want \"Name: value\" (a token name, no control characters)", hd)
		}
		switch strings.ToLower(name) {
		case "host":
			ownHost = true
		case "connection":
			ownConn = true
		case "content-length", "transfer-encoding":
			return nil, fmt.Errorf("protocol: --header %q: requests are GETs without a body", hd)
		}
	}
	build := func(close bool) []byte {
		var b strings.Builder
		b.WriteString("GET " + h.path + " HTTP/1.1\r\n")
		if !ownHost && h.host != "" {
			b.WriteString("Host: " + h.host + "\r\n")
		}
		for _, hd := range h.headers {
			name, value, _ := strings.Cut(hd, ":")
			b.WriteString(name + ": " + strings.TrimSpace(value) + "\r\n")
		}
		if close && !ownConn {
			b.WriteString("Connection: close\r\n")
		}
		b.WriteString("\r\n")
		return []byte(b.String())
	}
	h.keep, h.cl = build(false), build(true)
	return h, nil
}

// Name returns "http".
func (h *HTTP) Name() string { return "http" }

// Request returns the GET request; without keepAlive it carries
// "Connection: close" (unless --header set a Connection header).
func (h *HTTP) Request(keepAlive bool) []byte {
	if keepAlive {
		return h.keep
	}
	return h.cl
}

// NewFramer returns an HTTP/1.x response framer.
func (h *HTTP) NewFramer() Framer { return &httpFramer{} }

// MarshalJSON echoes the protocol and its settings.
func (h *HTTP) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name    string   `json:"name"`
		Path    string   `json:"path"`
		Host    string   `json:"host,omitempty"`
		Headers []string `json:"headers,omitempty"`
	}{"http", h.path, h.host, h.headers})
}

// HTTP framer states.
const (
	hHead        uint8 = iota // status line and headers
	hBody                     // Content-Length body: remain bytes left
	hClose                    // body delimited by the connection's close
	hChunkSize                // hex digits of a chunk size
	hChunkSizeWS              // whitespace after the size
	hChunkExt                 // chunk extension, up to CR
	hChunkSizeLF              // LF ending the size line
	hChunkData                // remain bytes of chunk data
	hChunkDataCR              // CR after chunk data
	hChunkDataLF              // LF after chunk data
	hTrailer                  // trailer lines after the last chunk
	hTrailerLF                // LF ending a trailer line
	hDone
)

type httpFramer struct {
	st       uint8
	status   Status
	keep     bool  // the connection stays open after this response
	nonEmpty bool  // the current trailer line has bytes
	digits   int   // hex digits of the chunk size so far
	remain   int64 // body or chunk bytes left
	lim      limit
	head     []byte // a head split across feeds, cap maxHead; kept for the next ones
}

var (
	errHTTPStatusLine = &Error{"http", "malformed status line", false}
	errHTTPStatus     = &Error{"http", "status code out of range", false}
	errHTTPUpgrade    = &Error{"http", "101 Switching Protocols: upgrades are not supported", false}
	errHTTPHeader     = &Error{"http", "malformed header line", false}
	errHTTPHeadSize   = &Error{"http", "response head larger than 64 KiB", true}
	errHTTPLength     = &Error{"http", "bad Content-Length", false}
	errHTTPLengthSize = &Error{"http", "Content-Length larger than 1 GiB", true}
	errHTTPChunk      = &Error{"http", "malformed chunk size line", false}
	errHTTPChunkSize  = &Error{"http", "chunk size larger than 1 GiB", true}
	errHTTPSize       = &Error{"http", "response larger than 1 GiB", true}
	errHTTPChunkEnd   = &Error{"http", "chunk data not followed by CRLF", false}
	errHTTPTrailer    = &Error{"http", "malformed trailer", false}
	crlfcrlf          = []byte("\r\n\r\n")
)

func (f *httpFramer) Reset() {
	head := f.head[:0]
	*f = httpFramer{head: head}
}

func (f *httpFramer) Status() Status { return f.status }

func (f *httpFramer) Reusable() bool { return f.st == hDone && f.keep }

func (f *httpFramer) EOF() bool {
	if f.st == hClose {
		f.st, f.keep = hDone, false
		return true
	}
	return false
}

// Feed parses the next bytes; a response past maxResponse bytes is
// errHTTPSize.
func (f *httpFramer) Feed(b []byte) (int, bool, error) {
	b, clipped := f.lim.clip(b)
	n, done, err := f.feed(b)
	return f.lim.used(n, done, err, clipped, errHTTPSize)
}

func (f *httpFramer) feed(b []byte) (int, bool, error) {
	n := 0
	for n < len(b) {
		switch f.st {
		case hHead:
			k, found, err := f.feedHead(b[n:])
			n += k
			if err != nil || !found {
				return n, false, err
			}
			if f.st == hDone {
				return n, true, nil
			}
		case hBody:
			k := int(min(f.remain, int64(len(b)-n)))
			n += k
			f.remain -= int64(k)
			if f.remain == 0 {
				f.st = hDone
				return n, true, nil
			}
		case hClose:
			return len(b), false, nil
		case hChunkData:
			k := int(min(f.remain, int64(len(b)-n)))
			n += k
			f.remain -= int64(k)
			if f.remain == 0 {
				f.st = hChunkDataCR
			}
		case hDone:
			return n, true, nil
		default:
			c := b[n]
			n++
			if err := f.chunkByte(c); err != nil {
				return n, false, err
			}
			if f.st == hDone {
				return n, true, nil
			}
		}
	}
	return n, false, nil
}

// chunkByte advances the chunked-body states other than data by one byte.
func (f *httpFramer) chunkByte(c byte) error {
	switch f.st {
	case hChunkSize:
		if v := unhex(c); v >= 0 {
			if f.remain > (maxResponse-int64(v))>>4 {
				// remain<<4|v would pass the bound. Checked before the
				// shift: leading zeros are fine, and no number of
				// digits overflows.
				return errHTTPChunkSize
			}
			f.remain = f.remain<<4 | int64(v)
			f.digits++
			return nil
		}
		if f.digits == 0 {
			return errHTTPChunk
		}
		switch c {
		case ' ', '\t':
			f.st = hChunkSizeWS
		case ';':
			f.st = hChunkExt
		case '\r':
			f.st = hChunkSizeLF
		default:
			return errHTTPChunk
		}
	case hChunkSizeWS:
		switch c {
		case ' ', '\t':
		case ';':
			f.st = hChunkExt
		case '\r':
			f.st = hChunkSizeLF
		default:
			return errHTTPChunk
		}
	case hChunkExt:
		switch c {
		case '\r':
			f.st = hChunkSizeLF
		case '\n':
			return errHTTPChunk
		}
	case hChunkSizeLF:
		if c != '\n' {
			return errHTTPChunk
		}
		f.digits = 0
		if f.remain == 0 {
			f.st, f.nonEmpty = hTrailer, false
		} else {
			f.st = hChunkData
		}
	case hChunkDataCR:
		if c != '\r' {
			return errHTTPChunkEnd
		}
		f.st = hChunkDataLF
	case hChunkDataLF:
		if c != '\n' {
			return errHTTPChunkEnd
		}
		f.st = hChunkSize
	case hTrailer:
		switch c {
		case '\r':
			f.st = hTrailerLF
		case '\n':
			return errHTTPTrailer
		default:
			f.nonEmpty = true
		}
	case hTrailerLF:
		if c != '\n' {
			return errHTTPTrailer
		}
		if !f.nonEmpty {
			f.st = hDone
			return nil
		}
		f.st, f.nonEmpty = hTrailer, false
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// feedHead takes bytes of the head. It returns how many it used and
// whether the head was complete (and parsed). A head must end within its
// first maxHead bytes.
func (f *httpFramer) feedHead(b []byte) (int, bool, error) {
	if len(f.head) == 0 {
		// The usual case: the whole head in one read, parsed in place.
		if i := bytes.Index(b[:min(len(b), maxHead)], crlfcrlf); i >= 0 {
			return i + 4, true, f.parseHead(b[:i+4])
		}
		if len(b) >= maxHead {
			return len(b), false, errHTTPHeadSize
		}
		if f.head == nil {
			f.head = make([]byte, 0, maxHead) // once per framer: appends never grow it
		}
		f.head = append(f.head, b...)
		return len(b), false, nil
	}
	old := len(f.head)
	take := min(len(b), maxHead-old)
	f.head = append(f.head, b[:take]...)
	from := max(0, old-3)
	if i := bytes.Index(f.head[from:], crlfcrlf); i >= 0 {
		end := from + i + 4
		err := f.parseHead(f.head[:end])
		f.head = f.head[:0]
		return end - old, true, err
	}
	if len(f.head) >= maxHead {
		return take, false, errHTTPHeadSize
	}
	return take, false, nil
}

// parseHead reads a complete head (ending in CRLF CRLF) and sets the body's
// framing. A 1xx head leaves the framer waiting for the next head.
func (f *httpFramer) parseHead(h []byte) error {
	i := lineEnd(h)
	line := h[:i]
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return errHTTPStatusLine
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return errHTTPStatusLine
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return errHTTPStatus
	}
	http10 := line[7] == '0'
	var (
		length                int64 = -1
		te, chunked           bool
		closeTok, keepAliveTk bool
	)
	rest := h[i+2:]
	for {
		j := lineEnd(rest)
		line, rest = rest[:j], rest[j+2:]
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // obsolete line folding: part of the previous value, which we do not need
		}
		// The name: up to the colon, no spaces or tabs, not empty.
		colon := -1
		for k, c := range line {
			if c == ':' {
				colon = k
				break
			}
			if c == ' ' || c == '\t' {
				break
			}
		}
		if colon <= 0 {
			return errHTTPHeader
		}
		name := line[:colon]
		// Only three names matter; compare those of their lengths.
		switch len(name) {
		case len("content-length"):
			if !ascii.FoldEqual(name, "content-length") {
				continue
			}
			v, ok := parseSize(ascii.TrimOWS(line[colon+1:]))
			if !ok || (length >= 0 && v != length) {
				return errHTTPLength
			}
			if v > maxResponse {
				return errHTTPLengthSize
			}
			length = v
		case len("transfer-encoding"):
			if ascii.FoldEqual(name, "transfer-encoding") {
				te = true
				chunked = lastTokenIs(line[colon+1:], "chunked")
			}
		case len("connection"):
			if ascii.FoldEqual(name, "connection") {
				ascii.ForTokens(line[colon+1:], func(t []byte) {
					if ascii.FoldEqual(t, "close") {
						closeTok = true
					} else if ascii.FoldEqual(t, "keep-alive") {
						keepAliveTk = true
					}
				})
			}
		}
	}
	if code < 200 {
		if code == 101 {
			return errHTTPUpgrade
		}
		return nil // informational: the final response follows
	}
	f.status = Status2xx + Status(code/100-2)
	f.keep = !closeTok && (!http10 || keepAliveTk)
	switch {
	case code == 204 || code == 304:
		f.st = hDone
	case te:
		if length >= 0 {
			f.keep = false // both: Transfer-Encoding wins, and the connection must not be reused
		}
		if chunked {
			f.st, f.remain, f.digits = hChunkSize, 0, 0
		} else {
			f.st, f.keep = hClose, false
		}
	case length == 0:
		f.st = hDone
	case length > 0:
		f.st, f.remain = hBody, length
	default:
		f.st, f.keep = hClose, false
	}
	return nil
}

// lineEnd returns the index of the first CRLF in b, which has one.
func lineEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j > 0 && b[i+j-1] == '\r' {
			return i + j - 1
		}
		i += j + 1
	}
}

func lastTokenIs(v []byte, lower string) bool {
	var last []byte
	ascii.ForTokens(v, func(t []byte) { last = t })
	return last != nil && ascii.FoldEqual(last, lower)
}
