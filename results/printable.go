package results

import (
	"strings"
	"unicode/utf8"
)

// Printable returns s fit to print on one line of a terminal: terminal
// control characters, which can reach a label, a failure class, a note or
// a host name from a result file or from a server's answer, are removed so
// that printing them cannot move the cursor, recolour, retitle or
// otherwise drive the reader's terminal. Removed are escape sequences
// (ESC and what it introduces: CSI "ESC [ ... final", OSC/DCS/APC/PM/SOS
// strings up to their terminator), C0 controls, DEL, C1 controls (U+0080
// to U+009F, with the strings and sequences C1 CSI/OSC/... introduce), and
// the Unicode direction overrides and isolates that reorder what is shown
// (U+202A-U+202E, U+2066-U+2069). Tabs, newlines and carriage returns
// become a space, so a value stays in its cell and row; bytes that are not
// UTF-8 become U+FFFD.
func Printable(s string) string { return sanitize(s, false) }

// PrintableText is Printable for several lines of text: newlines and tabs
// are kept, everything else Printable removes is removed.
func PrintableText(s string) string { return sanitize(s, true) }

func sanitize(s string, keepLayout bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			if !(keepLayout && (c == '\n' || c == '\t')) {
				clean = false
				break
			}
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			i = skipEscape(s, i+1)
		case c == '\n' || c == '\t' || c == '\r':
			switch {
			case !keepLayout:
				b.WriteByte(' ')
			case c != '\r':
				b.WriteByte(c)
			}
			i++
		case c < 0x20 || c == 0x7f:
			i++
		case c < 0x80:
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n == 1:
				b.WriteRune(utf8.RuneError)
			case r == 0x9b: // C1 CSI
				i = skipCSI(s, i+n)
				continue
			case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // DCS, SOS, OSC, PM, APC
				i = skipString(s, i+n)
				continue
			case r >= 0x80 && r <= 0x9f,
				r >= 0x202a && r <= 0x202e,
				r >= 0x2066 && r <= 0x2069:
			default:
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	return b.String()
}

// skipEscape returns the index after the escape sequence whose ESC was
// just before s[i] (ECMA-48: CSI, control strings, nF and Fp/Fe/Fs
// escapes). An ESC followed by nothing it can introduce is dropped alone.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch c := s[i]; {
	case c == '[':
		return skipCSI(s, i+1)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return skipString(s, i+1)
	case c >= 0x20 && c <= 0x2f: // intermediates, then a final byte
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		return i + 1
	}
	return i
}

// skipCSI skips a control sequence's parameter and intermediate bytes and
// its final byte.
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipString skips a control string up to and including its terminator:
// BEL, ESC \ or C1 ST (U+009C). One unterminated by the end of the line
// ends there, so that it cannot take the lines after it along.
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == '\n':
			return i
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}
