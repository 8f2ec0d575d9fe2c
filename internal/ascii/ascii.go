// Package ascii holds the byte-slice helpers that connbench's protocol
// parsers share: the built-in listener's HTTP request parser and the
// client-side HTTP and memcached framers. They work on raw bytes, never
// allocate, and know only ASCII, which is all HTTP/1.1 header names,
// tokens and lengths are.
package ascii

import "bytes"

// FoldEqual compares b with lower, an ASCII lower-case string, ignoring case.
func FoldEqual(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// ParseLength parses a length: decimal digits only, at most 18 of them (so
// it cannot overflow an int64).
func ParseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// TrimOWS removes HTTP's optional white space (spaces and tabs) at both ends.
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ForTokens calls fn with each non-empty comma-separated token of a header
// value, white space trimmed.
func ForTokens(v []byte, fn func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			i = len(v)
		}
		if t := TrimOWS(v[:i]); len(t) > 0 {
			fn(t)
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}
