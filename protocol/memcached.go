package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Memcached sends one text-protocol command and reads its reply: a single
// line (VERSION ..., STORED, DELETED, NOT_FOUND, a number, meta HD/NF/...),
// a meta VA line with its data block, or lines up to END (get's VALUE lines
// each with a data block of the given length, stats' STAT lines). ERROR,
// CLIENT_ERROR and SERVER_ERROR replies have StatusError.
type Memcached struct {
	command string
	req     []byte
}

func newMemcached(command string) (*Memcached, error) {
	if command == "" {
		command = "version"
	}
	// Lines (a storage command and its data) are separated by a newline or
	// by the two characters \n; each is sent ending in CRLF.
	text := strings.ReplaceAll(strings.ReplaceAll(command, `\n`, "\n"), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	if strings.TrimSpace(lines[0]) == "" {
		return nil, fmt.Errorf("protocol: --command %q: no command", command)
	}
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\x00") {
			return nil, fmt.Errorf("protocol: --command %q: no CR or NUL characters", command)
		}
	}
	return &Memcached{command: command, req: []byte(strings.Join(lines, "\r\n") + "\r\n")}, nil
}

// Name returns "memcached".
func (m *Memcached) Name() string { return "memcached" }

// Request returns the command line(s); memcached has no per-request close,
// so keepAlive does not change it.
func (m *Memcached) Request(keepAlive bool) []byte { return m.req }

// NewFramer returns a text-protocol reply framer.
func (m *Memcached) NewFramer() Framer { return &memcachedFramer{} }

// MarshalJSON echoes the protocol and its command.
func (m *Memcached) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name    string `json:"name"`
		Command string `json:"command"`
	}{"memcached", m.command})
}

// Memcached framer states.
const (
	mLine   uint8 = iota // a reply line, up to CR
	mLF                  // LF after the line's CR
	mData                // a data block: remain bytes left
	mDataCR              // CR after the data
	mDataLF              // LF after the data
	mDone
)

// mcLineKeep is how much of a line is kept for parsing; longer lines (long
// STAT values) are read through, and only their start is looked at.
const mcLineKeep = 512

type memcachedFramer struct {
	st      uint8
	status  Status
	multi   bool // inside a reply that ends with END
	last    bool // the data block being read ends the reply (meta VA)
	over    bool // the current line is longer than mcLineKeep
	lineLen int
	remain  int64
	lim     limit
	line    [mcLineKeep]byte
}

var (
	errMCLine  = &Error{"memcached", "bare CR or LF in a line", false}
	errMCEmpty = &Error{"memcached", "empty reply line", false}
	errMCValue = &Error{"memcached", "malformed VALUE or VA line", false}
	errMCData  = &Error{"memcached", "data block not followed by CRLF", false}
	errMCBlock = &Error{"memcached", "data block larger than 1 GiB", true}
	errMCSize  = &Error{"memcached", "reply larger than 1 GiB", true}
)

func (f *memcachedFramer) Reset() {
	f.st, f.status, f.multi, f.last, f.over, f.lineLen, f.remain, f.lim = mLine, StatusNone, false, false, false, 0, 0, limit{}
}

func (f *memcachedFramer) Status() Status { return f.status }

func (f *memcachedFramer) Reusable() bool { return f.st == mDone }

func (f *memcachedFramer) EOF() bool { return false }

// Feed parses the next bytes; a reply past maxResponse bytes is
// errMCSize.
func (f *memcachedFramer) Feed(b []byte) (int, bool, error) {
	b, clipped := f.lim.clip(b)
	n, done, err := f.feed(b)
	return f.lim.used(n, done, err, clipped, errMCSize)
}

func (f *memcachedFramer) feed(b []byte) (int, bool, error) {
	n := 0
	for n < len(b) {
		switch f.st {
		case mDone:
			return n, true, nil
		case mLine:
			// Copy up to the CR in one go.
			rest := b[n:]
			i := bytes.IndexByte(rest, '\r')
			seg := rest
			if i >= 0 {
				seg = rest[:i]
			}
			if bytes.IndexByte(seg, '\n') >= 0 {
				return n + bytes.IndexByte(seg, '\n') + 1, false, errMCLine
			}
			if k := copy(f.line[min(f.lineLen, mcLineKeep):], seg); k < len(seg) {
				f.over = true
			}
			f.lineLen += len(seg)
			n += len(seg)
			if i >= 0 {
				n++
				f.st = mLF
			}
		case mLF:
			c := b[n]
			n++
			if c != '\n' {
				return n, false, errMCLine
			}
			if err := f.endLine(); err != nil {
				return n, false, err
			}
			if f.st == mDone {
				return n, true, nil
			}
		case mData:
			k := int(min(f.remain, int64(len(b)-n)))
			n += k
			f.remain -= int64(k)
			if f.remain == 0 {
				f.st = mDataCR
			}
		case mDataCR:
			if b[n] != '\r' {
				return n + 1, false, errMCData
			}
			n++
			f.st = mDataLF
		case mDataLF:
			if b[n] != '\n' {
				return n + 1, false, errMCData
			}
			n++
			if f.last {
				f.finish(StatusOK)
				return n, true, nil
			}
			f.st, f.lineLen, f.over = mLine, 0, false
		}
	}
	return n, f.st == mDone, nil
}

// endLine acts on a complete reply line.
func (f *memcachedFramer) endLine() error {
	line := f.line[:min(f.lineLen, mcLineKeep)]
	first, over := !f.multi, f.over
	f.lineLen, f.over = 0, false
	f.st = mLine
	switch {
	case len(line) == 0:
		return errMCEmpty
	case string(line) == "END":
		f.finish(StatusOK)
	case hasWord(line, "ERROR") || hasWord(line, "CLIENT_ERROR") || hasWord(line, "SERVER_ERROR"):
		f.finish(StatusError)
	case hasWord(line, "VALUE"):
		// VALUE <key> <flags> <bytes> [<cas>]
		size, ok := field(line, 3)
		if !ok || over {
			return errMCValue
		}
		if size > maxResponse {
			return errMCBlock
		}
		f.multi = true
		f.startData(size, false)
	case first && hasWord(line, "VA"):
		// Meta get: VA <size> <flags>*, then the data, and that is all.
		size, ok := field(line, 1)
		if !ok || over {
			return errMCValue
		}
		if size > maxResponse {
			return errMCBlock
		}
		f.startData(size, true)
	case first && (hasWord(line, "STAT") || hasWord(line, "ITEM") || hasWord(line, "CONFIG") || hasWord(line, "PREFIX")):
		f.multi = true // more lines up to END
	case first:
		f.finish(StatusOK) // a one-line reply
	}
	return nil
}

func (f *memcachedFramer) finish(s Status) {
	f.status, f.st = s, mDone
}

func (f *memcachedFramer) startData(size int64, last bool) {
	f.last = last
	if size == 0 {
		f.st = mDataCR
		return
	}
	f.st, f.remain = mData, size
}

// hasWord reports whether line is word or starts with word and a space.
func hasWord(line []byte, word string) bool {
	return len(line) >= len(word) && string(line[:len(word)]) == word && (len(line) == len(word) || line[len(word)] == ' ')
}

// field parses the i-th space-separated field (from 0) as a byte count
// (past maxResponse: maxResponse+1).
func field(line []byte, i int) (int64, bool) {
	for ; i > 0; i-- {
		j := bytes.IndexByte(line, ' ')
		if j < 0 {
			return 0, false
		}
		line = line[j+1:]
	}
	if j := bytes.IndexByte(line, ' '); j >= 0 {
		line = line[:j]
	}
	return parseSize(line)
}
