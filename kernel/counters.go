package kernel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Counters holds kernel protocol counters by "Prefix.Name", for example
// "Tcp.ActiveOpens" or "TcpExt.ListenOverflows". Most are monotonic event
// counts since boot (or since the network namespace was created); a few are
// gauges (Tcp.CurrEstab) or constants (Tcp.MaxConn is -1). A counter the
// running kernel does not have is absent from the map, never present as 0.
type Counters map[string]int64

// KeyCounters lists the counters connbench reports, in report order. A
// kernel older than a counter (the TCPFastOpen* ones came with TCP Fast Open
// in Linux 3.6 and 3.7, for example) does not have it, and it is then simply
// absent from Counters.
var KeyCounters = []string{
	"Tcp.ActiveOpens",
	"Tcp.PassiveOpens",
	"Tcp.AttemptFails",
	"Tcp.EstabResets",
	"Tcp.RetransSegs",
	"TcpExt.TW",
	"TcpExt.TWRecycled",
	"TcpExt.TWKilled",
	"TcpExt.TCPTimeWaitOverflow",
	"TcpExt.ListenOverflows",
	"TcpExt.ListenDrops",
	"TcpExt.SyncookiesSent",
	"TcpExt.SyncookiesRecv",
	"TcpExt.SyncookiesFailed",
	"TcpExt.TCPReqQFullDrop",
	"TcpExt.TCPReqQFullDoCookies",
	"TcpExt.TCPFastOpenActive",
	"TcpExt.TCPFastOpenActiveFail",
	"TcpExt.TCPFastOpenPassive",
	"TcpExt.TCPFastOpenPassiveFail",
	"TcpExt.TCPFastOpenCookieReqd",
	"TcpExt.TCPAbortOnData",
	"TcpExt.TCPSynRetrans",
}

// maxCounterLine bounds one line of a counters file, in bytes. The longest
// real line (TcpExt names) is a few kilobytes.
const maxCounterLine = 1 << 20

// ParseCounters parses the format of /proc/net/snmp and /proc/net/netstat:
// pairs of lines "Prefix: Name1 Name2 ..." and "Prefix: v1 v2 ...", where
// both lines of a pair carry the same prefix and the same number of fields.
// Values are decimal and may be negative; a value above the int64 range
// (the kernel prints unsigned longs) is kept modulo 2^64, so that Delta
// still gives the right difference. Blank lines are skipped. A pair whose
// prefixes or field counts differ, an unpaired line, or a value that is not
// a number gives an error wrapping ErrMalformed. A name seen twice keeps its
// last value. At most 16 MiB are read: more is an error wrapping
// ErrMalformed.
func ParseCounters(r io.Reader) (Counters, error) {
	c, err := parseCounters(r)
	if err != nil {
		return nil, fmt.Errorf("kernel: parse counters: %w", err)
	}
	return c, nil
}

// parseCounters is ParseCounters without the package prefix on errors.
func parseCounters(r io.Reader) (Counters, error) {
	c := make(Counters)
	sc := bufio.NewScanner(limitProc(r))
	sc.Buffer(make([]byte, 0, 64<<10), maxCounterLine)
	var (
		header     string // pending header line; "" if none
		headerLine int
		line       int
	)
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if header == "" {
			header, headerLine = text, line
			continue
		}
		if err := parsePair(c, header, text); err != nil {
			return nil, fmt.Errorf("lines %d-%d: %w", headerLine, line, err)
		}
		header = ""
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if header != "" {
		return nil, fmt.Errorf("line %d: %w: header without values", headerLine, ErrMalformed)
	}
	return c, nil
}

// parsePair adds the counters of one header line and its value line to c.
func parsePair(c Counters, header, values string) error {
	hp, hrest, ok1 := strings.Cut(header, ":")
	vp, vrest, ok2 := strings.Cut(values, ":")
	if !ok1 || !ok2 || hp == "" || strings.ContainsAny(hp, " \t") {
		return fmt.Errorf("%w: missing \"Prefix:\"", ErrMalformed)
	}
	if hp != vp {
		return fmt.Errorf("%w: prefix %q followed by %q", ErrMalformed, hp, vp)
	}
	names := strings.Fields(hrest)
	vals := strings.Fields(vrest)
	if len(names) != len(vals) {
		return fmt.Errorf("%w: %s: %d names but %d values", ErrMalformed, hp, len(names), len(vals))
	}
	for i, n := range names {
		v, err := strconv.ParseInt(vals[i], 10, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(vals[i], 10, 64)
			if uerr != nil {
				return fmt.Errorf("%w: %s.%s: value %q", ErrMalformed, hp, n, vals[i])
			}
			v = int64(u)
		}
		c[hp+"."+n] = v
	}
	return nil
}

// ReadCounters reads and merges procRoot/net/snmp and procRoot/net/netstat
// ("" means DefaultProcRoot). With "/proc" these are the counters of the
// network namespace of the process's main thread (/proc/net is
// /proc/self/net); "/proc/thread-self" gives the calling thread's. Both
// files must be readable.
func ReadCounters(procRoot string) (Counters, error) {
	root := rootOr(procRoot)
	c := make(Counters, 512)
	for _, name := range []string{"snmp", "netstat"} {
		path := filepath.Join(root, "net", name)
		if err := readCountersFile(c, path); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// readCountersFile parses path and merges the result into c.
func readCountersFile(c Counters, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("kernel: read %s: %w", path, err)
	}
	defer f.Close()
	part, err := parseCounters(f)
	if err != nil {
		return fmt.Errorf("kernel: read %s: %w", path, err)
	}
	for k, v := range part {
		c[k] = v
	}
	return nil
}

// Delta returns c - before for every key of c; a key absent from before
// counts as 0 there, and keys only in before are left out. For monotonic
// counters this is the number of events between the two readings.
func (c Counters) Delta(before Counters) Counters {
	d := make(Counters, len(c))
	for k, v := range c {
		d[k] = v - before[k]
	}
	return d
}
