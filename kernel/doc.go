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

import "errors"

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
