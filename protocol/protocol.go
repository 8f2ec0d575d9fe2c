// Package protocol frames requests and responses of the application
// protocols connbench can speak to a real server: HTTP/1.1, redis (RESP) and
// memcached (text). A Protocol makes the request bytes once; a Framer, one
// per connection slot and created once, is fed the response as it arrives
// in pieces and says where it ends, whether it was an error reply, and
// whether the connection may carry the next request.
//
// Framers do not allocate on the hot path: Feed parses in place, and a
// response head split across reads is copied into a buffer the framer
// keeps for its next responses. They never panic on any input; a response
// that does not parse is an *Error, counted by the engine as the failure
// class FailProtocol, and one past MaxResponseBytes or MaxHeadBytes is an
// *Error counted as FailTooLarge.
//
// "raw" (no protocol) is not a Protocol: the engine's fixed-size request
// and response need no framing, and New returns nil for it.
package protocol

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Protocol makes requests and framers for one configured exchange.
// Implementations are immutable and safe for concurrent use.
type Protocol interface {
	// Name is what users type (--protocol NAME).
	Name() string
	// Request returns the request bytes. keepAlive false means the
	// connection is closed after the response (HTTP then asks the server to
	// close with "Connection: close"). The slice must not be modified.
	Request(keepAlive bool) []byte
	// NewFramer returns a framer for one connection slot.
	NewFramer() Framer
}

// Framer finds the end of one response at a time. It is not safe for
// concurrent use; each connection slot has its own.
type Framer interface {
	// Reset prepares for a new response.
	Reset()
	// Feed parses the next bytes of the response. It returns how many of
	// b belong to the response (all of them unless done), done once the
	// response is complete, and an *Error if it is malformed (ErrProtocol)
	// or past a bound (ErrTooLarge: MaxResponseBytes, MaxHeadBytes). After
	// done or an error, Feed must not be called again before Reset.
	Feed(b []byte) (n int, done bool, err error)
	// EOF tells the framer the peer closed the connection, and reports
	// whether that completes the response (an HTTP body delimited by the
	// close). False: the response was cut short.
	EOF() (done bool)
	// Status classifies the completed response.
	Status() Status
	// Reusable reports whether the connection can carry the next request
	// after the completed response (false when an HTTP server said it will
	// close, or the body ran to the close).
	Reusable() bool
}

// Status classifies a completed response. Every completed response is a
// completed transaction; the status says what the server answered.
type Status uint8

const (
	// StatusNone: no response completed.
	StatusNone Status = iota
	// Status2xx .. Status5xx: HTTP status classes of final responses.
	Status2xx
	Status3xx
	Status4xx
	Status5xx
	// StatusOK: a redis or memcached reply that is not an error.
	StatusOK
	// StatusError: a redis error reply (-ERR ..., !...) or a memcached
	// ERROR, CLIENT_ERROR or SERVER_ERROR.
	StatusError
	// NumStatus is the number of Status values, for arrays of counts.
	NumStatus
)

var statusNames = [NumStatus]string{"none", "2xx", "3xx", "4xx", "5xx", "ok", "error"}

// String returns the status's key in results: "2xx", "3xx", "4xx", "5xx",
// "ok", "error" (or "none").
func (s Status) String() string {
	if s < NumStatus {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Failure classes of responses the engine could not accept, as counted in
// results.
const (
	// FailProtocol: the response is malformed (ErrProtocol).
	FailProtocol = "protocol"
	// FailTooLarge: the response is, says it is, or would be larger than
	// MaxResponseBytes, or its head larger than MaxHeadBytes (ErrTooLarge).
	FailTooLarge = "response_too_large"
)

// Bounds on what a framer accepts from a server. Response bodies are
// counted, never stored, so these bound time spent on a response, not
// memory; the only response bytes a framer keeps are an HTTP head split
// across reads (at most MaxHeadBytes, in one buffer per connection slot,
// allocated once) and the start of a memcached line (512 bytes).
const (
	// MaxResponseBytes is the largest response accepted, head, body,
	// chunk framing and trailers included: 1 GiB. A declared length
	// (Content-Length, a chunk size, a redis bulk length or aggregate
	// count, a memcached VALUE size) past it fails at once; a response
	// that runs on past it (endless chunks, an endless line, a body up to
	// the close) fails when it gets there.
	MaxResponseBytes = 1 << 30
	// MaxHeadBytes is the largest HTTP response head (status line and
	// headers): 64 KiB.
	MaxHeadBytes = 64 << 10
)

// maxResponse is MaxResponseBytes; tests lower it to reach it quickly.
var maxResponse int64 = MaxResponseBytes

// Sentinels that every *Error wraps, for errors.Is.
var (
	// ErrProtocol: the response is malformed. Class FailProtocol.
	ErrProtocol = errors.New("protocol: malformed response")
	// ErrTooLarge: the response is larger than the framer accepts.
	// Class FailTooLarge.
	ErrTooLarge = errors.New("protocol: response too large")
)

// Error is a response the framer cannot accept. Framers return
// preallocated *Errors, so failing costs no allocation either.
type Error struct {
	Protocol string // "http", "redis" or "memcached"
	Reason   string
	// TooLarge: the response passed a bound (wraps ErrTooLarge); false:
	// it is malformed (wraps ErrProtocol).
	TooLarge bool
}

func (e *Error) Error() string { return "protocol: " + e.Protocol + ": " + e.Reason }

// Unwrap returns ErrTooLarge or ErrProtocol.
func (e *Error) Unwrap() error {
	if e.TooLarge {
		return ErrTooLarge
	}
	return ErrProtocol
}

// IsError reports whether err is (or wraps) a response *Error.
func IsError(err error) bool {
	var pe *Error
	return errors.As(err, &pe)
}

// Class returns err's failure class: FailTooLarge, FailProtocol, or ""
// when err is not about the response's content.
func Class(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return FailTooLarge
	case errors.Is(err, ErrProtocol):
		return FailProtocol
	}
	return ""
}

// Options configure New. Fields a protocol does not use must be empty;
// errors name the flag.
type Options struct {
	// Path is the HTTP request target. Empty: "/".
	Path string `json:"path,omitempty"`
	// Host is the HTTP Host header. Empty: Target as HOST:PORT.
	Host string `json:"host,omitempty"`
	// Headers are extra HTTP header lines, each "Name: value". A Host
	// header here replaces the default one.
	Headers []string `json:"headers,omitempty"`
	// Command is the redis command (words, "double" or 'single' quoted
	// where they hold spaces; default PING) or the memcached command line
	// (default "version"; a newline or the two characters \n separate the
	// lines of a storage command from its data).
	Command string `json:"command,omitempty"`
	// Target is the server, for the default Host header.
	Target netip.AddrPort `json:"-"`
}

// Names lists the protocols users can choose, raw included, sorted.
func Names() []string {
	n := []string{"raw", "http", "redis", "memcached"}
	sort.Strings(n)
	return n
}

// New builds the named protocol. It returns nil (and no error) for "raw" or
// "": the engine's fixed-size exchange. Errors name the flag at fault.
func New(name string, o Options) (Protocol, error) {
	switch name {
	case "", "raw":
		if o.Path != "" || o.Host != "" || len(o.Headers) > 0 || o.Command != "" {
			return nil, errors.New("protocol: --path, --host, --header and --command need --protocol http, redis or memcached")
		}
		return nil, nil
	case "http":
		if o.Command != "" {
			return nil, errors.New("protocol: --command is for --protocol redis or memcached; http takes --path, --host, --header")
		}
		return nilIfErr(newHTTP(o))
	case "redis", "memcached":
		if o.Path != "" || o.Host != "" || len(o.Headers) > 0 {
			return nil, fmt.Errorf("protocol: --path, --host and --header are for --protocol http, not %s", name)
		}
		if name == "redis" {
			return nilIfErr(newRedis(o.Command))
		}
		return nilIfErr(newMemcached(o.Command))
	}
	return nil, fmt.Errorf("protocol: --protocol %q: unknown (known: %s)", name, strings.Join(Names(), ", "))
}

// nilIfErr returns a nil Protocol (not a typed nil) with an error.
func nilIfErr[P Protocol](p P, err error) (Protocol, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// validText reports whether s has no control characters (CR, LF, NUL, ...).
func validText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// parseSize parses a decimal byte count: digits only, at least one. A
// value past maxResponse, however many digits it has, comes back as
// maxResponse+1: it cannot overflow, and callers compare it with the bound.
func parseSize(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v <= maxResponse {
			v = v*10 + int64(c-'0')
		}
	}
	return min(v, maxResponse+1), true
}

// limit counts a response's bytes against maxResponse; every framer's
// Feed goes through it.
type limit struct{ total int64 }

// clip returns what of b the response may still take, and whether that is
// less than b.
func (l *limit) clip(b []byte) ([]byte, bool) {
	if room := maxResponse - l.total; int64(len(b)) > room {
		return b[:room], true
	}
	return b, false
}

// used adds the n bytes the framer used of a clipped feed and passes its
// result on; a response neither done nor failed when it ran out of room is
// tooLarge.
func (l *limit) used(n int, done bool, err error, clipped bool, tooLarge error) (int, bool, error) {
	l.total += int64(n)
	if clipped && !done && err == nil {
		return n, false, tooLarge
	}
	return n, done, err
}
