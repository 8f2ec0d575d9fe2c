package protocol

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Redis sends one command as a RESP array of bulk strings and reads
// exactly one reply: RESP2 (simple string, error, integer, bulk string,
// array, nulls) and RESP3 types (null, boolean, double, big number, bulk
// error, verbatim string, map, set, push, attribute), nested to any depth.
// A top-level error reply (-ERR ..., !...) has StatusError.
type Redis struct {
	words []string
	req   []byte
}

func newRedis(command string) (*Redis, error) {
	if command == "" {
		command = "PING"
	}
	words, err := splitWords(command)
	if err != nil {
		return nil, fmt.Errorf("protocol: --command %q: %v", command, err)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("protocol: --command %q: no command", command)
	}
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(words)) + "\r\n")
	for _, w := range words {
		b.WriteString("$" + strconv.Itoa(len(w)) + "\r\n" + w + "\r\n")
	}
	return &Redis{words: words, req: []byte(b.String())}, nil
}

// Name returns "redis".
func (r *Redis) Name() string { return "redis" }

// Request returns the RESP-encoded command; redis has no per-request close,
// so keepAlive does not change it.
func (r *Redis) Request(keepAlive bool) []byte { return r.req }

// NewFramer returns a RESP reply framer.
func (r *Redis) NewFramer() Framer { return &redisFramer{pending: 1} }

// MarshalJSON echoes the protocol and its command.
func (r *Redis) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name    string   `json:"name"`
		Command []string `json:"command"`
	}{"redis", r.words})
}

// splitWords splits a command line into words: separated by spaces or
// tabs, "double quoted" (with \" \\ \n \r \t escapes) or 'single quoted'
// where a word holds spaces.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '"' || c == '\'':
			q := c
			in = true
			i++
			for ; i < len(s) && s[i] != q; i++ {
				if q == '"' && s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						cur.WriteByte('\n')
					case 'r':
						cur.WriteByte('\r')
					case 't':
						cur.WriteByte('\t')
					default:
						cur.WriteByte(s[i])
					}
					continue
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated %c quote", q)
			}
		default:
			in = true
			cur.WriteByte(c)
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// RESP framer states.
const (
	rType   uint8 = iota // the type byte of the next value
	rLine                // a line value (+ - : _ # , (), up to CR
	rLF                  // LF after a line's CR
	rNum                 // the length or count of $ ! = * ~ > % |
	rNumLF               // LF after the number's CR
	rBulk                // bulk payload: remain bytes left
	rBulkCR              // CR after the payload
	rBulkLF              // LF after the payload
	rDone
)

type redisFramer struct {
	st      uint8
	kind    byte // type byte of the value being read
	status  Status
	neg     bool  // the number has a minus sign
	digits  int   // digits of the number so far
	num     int64 // the number so far
	remain  int64 // bulk bytes left
	pending int64 // values still to read, this one included
	lim     limit
}

var (
	errRedisType   = &Error{"redis", "unknown reply type byte", false}
	errRedisLine   = &Error{"redis", "bare CR or LF in a line", false}
	errRedisNumber = &Error{"redis", "malformed length or count", false}
	errRedisBulk   = &Error{"redis", "bulk string not followed by CRLF", false}
	errRedisLength = &Error{"redis", "bulk length or aggregate count past the 1 GiB reply bound", true}
	errRedisSize   = &Error{"redis", "reply larger than 1 GiB", true}
)

func (f *redisFramer) Reset() { *f = redisFramer{pending: 1} }

func (f *redisFramer) Status() Status { return f.status }

func (f *redisFramer) Reusable() bool { return f.st == rDone }

func (f *redisFramer) EOF() bool { return false }

// Feed parses the next bytes; a reply past maxResponse bytes is
// errRedisSize.
func (f *redisFramer) Feed(b []byte) (int, bool, error) {
	b, clipped := f.lim.clip(b)
	n, done, err := f.feed(b)
	return f.lim.used(n, done, err, clipped, errRedisSize)
}

func (f *redisFramer) feed(b []byte) (int, bool, error) {
	n := 0
	for n < len(b) {
		if f.st == rDone {
			return n, true, nil
		}
		if f.st == rBulk {
			k := int(min(f.remain, int64(len(b)-n)))
			n += k
			f.remain -= int64(k)
			if f.remain == 0 {
				f.st = rBulkCR
			}
			continue
		}
		c := b[n]
		n++
		if err := f.step(c); err != nil {
			return n, false, err
		}
		if f.st == rDone {
			return n, true, nil
		}
	}
	return n, f.st == rDone, nil
}

// done ends the current value; the reply is complete when none is pending.
func (f *redisFramer) done() {
	f.pending--
	if f.pending == 0 {
		f.st = rDone
	} else {
		f.st = rType
	}
}

func (f *redisFramer) step(c byte) error {
	switch f.st {
	case rType:
		if f.status == StatusNone {
			f.status = StatusOK
			if c == '-' || c == '!' {
				f.status = StatusError
			}
		}
		f.kind = c
		switch c {
		case '+', '-', ':', '_', '#', ',', '(':
			f.st = rLine
		case '$', '!', '=', '*', '~', '>', '%', '|':
			f.st, f.neg, f.digits, f.num = rNum, false, 0, 0
		default:
			return errRedisType
		}
	case rLine:
		switch c {
		case '\r':
			f.st = rLF
		case '\n':
			return errRedisLine
		}
	case rLF:
		if c != '\n' {
			return errRedisLine
		}
		f.done()
	case rNum:
		switch {
		case c >= '0' && c <= '9':
			if f.num > maxResponse/10 {
				// Checked before the multiplication: no number of
				// digits overflows, and leading zeros are fine.
				if f.neg {
					return errRedisNumber // only -1 has a meaning
				}
				return errRedisLength
			}
			f.num = f.num*10 + int64(c-'0')
			f.digits++
		case c == '-' && f.digits == 0 && !f.neg:
			f.neg = true
		case c == '\r' && f.digits > 0:
			f.st = rNumLF
		default:
			return errRedisNumber
		}
	case rNumLF:
		if c != '\n' {
			return errRedisNumber
		}
		return f.number()
	case rBulkCR:
		if c != '\r' {
			return errRedisBulk
		}
		f.st = rBulkLF
	case rBulkLF:
		if c != '\n' {
			return errRedisBulk
		}
		f.done()
	}
	return nil
}

// number acts on a complete length or count line.
func (f *redisFramer) number() error {
	n := f.num
	if f.neg {
		// Only -1 has a meaning: the RESP2 null bulk string or null array.
		if n != 1 || (f.kind != '$' && f.kind != '*') {
			return errRedisNumber
		}
		f.done()
		return nil
	}
	switch f.kind {
	case '$', '!', '=':
		if n > maxResponse {
			return errRedisLength
		}
		if n == 0 {
			f.st = rBulkCR
		} else {
			f.st, f.remain = rBulk, n
		}
		return nil
	case '%':
		n *= 2
	case '|':
		n = 2*n + 1 // the attribute's pairs, then the value it annotates
	}
	// Every element takes at least 3 bytes ("_\r\n"): more elements than
	// maxResponse bytes cannot fit in a reply (and pending cannot overflow).
	if f.pending+n > maxResponse {
		return errRedisLength
	}
	f.pending += n
	f.done() // the aggregate itself is read; its elements remain
	return nil
}
