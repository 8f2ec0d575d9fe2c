package dialer

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Failure classes, as counted in results. Errno classes carry the errno's
// name; the others are the tool's own verdicts.
const (
	FailRefused      = "ECONNREFUSED"  // RST in answer to the SYN: nothing listens there
	FailTimedOut     = "ETIMEDOUT"     // the kernel gave up (SYN retries exhausted)
	FailAddrNotAvail = "EADDRNOTAVAIL" // no free local port for the 4-tuple: port exhaustion
	FailAddrInUse    = "EADDRINUSE"    // bind() found the address:port taken
	FailReset        = "ECONNRESET"    // the peer reset an established connection
	FailPipe         = "EPIPE"         // wrote after the peer closed
	FailMFile        = "EMFILE"        // process descriptor limit
	FailNFile        = "ENFILE"        // system descriptor limit
	FailHostUnreach  = "EHOSTUNREACH"
	FailNetUnreach   = "ENETUNREACH"
	// FailConnectTimeout: the handshake did not finish within the connect timeout.
	FailConnectTimeout = "connect_timeout"
	// FailResponseTimeout: the response did not complete within the timeout.
	FailResponseTimeout = "response_timeout"
	// FailEOF: the peer closed before the full response arrived (short read).
	FailEOF = "eof"
)

// ErrShortRead is the cause recorded when the peer closes mid-response.
var ErrShortRead = errors.New("dialer: connection closed before the full response arrived")

// Classify names the failure class of err: the errno's name for syscall
// errors (ECONNREFUSED, EADDRNOTAVAIL, ...), FailEOF for ErrShortRead, and
// "other" when nothing more specific is known.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrShortRead) {
		return FailEOF
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return te.Phase
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
		return "errno_" + errno.Error()
	}
	return "other"
}

// TimeoutError is a phase that did not finish within its timeout; Phase is
// FailConnectTimeout or FailResponseTimeout and is its class.
type TimeoutError struct{ Phase string }

func (e *TimeoutError) Error() string { return "dialer: " + e.Phase }
