// Package kernel reads what the Linux kernel says about TCP and sets what it
// lets connbench set: sysctls (sysctl.go), the protocol counters of
// /proc/net/snmp and /proc/net/netstat (counters.go), per-state socket counts
// through NETLINK_SOCK_DIAG (sockdiag.go), process and thread CPU time
// (cpu.go) and a few host facts (host.go).
//
// Readers of /proc take the proc root as a parameter so that tests can point
// them at fixtures under testdata/; an empty root means DefaultProcRoot.
// Note that /proc/net (a link to /proc/self/net) and /proc/sys/net show the
// network namespace of the process's main thread and of the calling thread
// respectively; pass "/proc/thread-self" as the root of ReadCounters to read
// the counters of the calling thread's namespace.
//
// Errors name the package and the file or operation, and wrap the cause so
// that errors.Is works with os.ErrNotExist, os.ErrPermission and unix errnos.
// The package never prints, exits or reads flags.
package kernel

import (
	"errors"
	"fmt"
	"io"
)

// DefaultProcRoot is the proc root used when a function is given "".
const DefaultProcRoot = "/proc"

// ErrMalformed is wrapped by the errors returned for /proc contents that do
// not have the expected format.
var ErrMalformed = errors.New("malformed kernel data")

// rootOr returns root, or DefaultProcRoot when root is empty.
func rootOr(root string) string {
	if root == "" {
		return DefaultProcRoot
	}
	return root
}

// maxProcFile bounds what a parser reads of one /proc file, in bytes. The
// largest file read here, /proc/slabinfo, is some 30 KiB; the bound keeps
// what a parse holds in memory (map entries, lines) finite whatever the
// file, or a reader passed to a Parse function, gives.
const maxProcFile = 16 << 20

// procLimit reads r and fails, with an error wrapping ErrMalformed, once
// more than max bytes come out of it.
type procLimit struct {
	r    io.Reader
	left int64
	max  int64
}

// limitProc returns r bounded to maxProcFile bytes.
func limitProc(r io.Reader) io.Reader { return &procLimit{r: r, left: maxProcFile, max: maxProcFile} }

func (l *procLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrMalformed, l.max)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
