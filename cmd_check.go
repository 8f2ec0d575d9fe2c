package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
	"github.com/spf13/pflag"
)

const checkUsage = `Usage: connbench check

Reads this host's (this network namespace's) settings that decide what
connection setup costs and when it fails, and says what they mean, with
figures: the ephemeral port range and the new-connection rate it sustains
per destination and source address, TIME_WAIT reuse, the accept and SYN
queues, SYN cookies, Fast Open, SYN retries, the open-file limit, and the
TCP sockets there are now by state.

Flags:
`

// checkItem is one line of the checklist.
type checkItem struct {
	title, setting, meaning string
	warn                    bool
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench check", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	proc := fs.String("proc", "/proc", "where procfs is mounted (for tests)")
	fs.MarkHidden("proc")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, checkUsage, fs.FlagUsages())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench check --help)", err))
	}
	if fs.NArg() > 0 {
		return exitCode(stderr, usagef("check takes no arguments, got %q", fs.Args()))
	}
	items := checklist(kernel.ReadSysctls(*proc, append(kernel.DefaultSysctls, "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_abort_on_overflow")))
	soft, hard, err := kernel.OpenFileLimit()
	if err == nil {
		items = append(items, checkItem{
			title:   "open files",
			setting: fmt.Sprintf("RLIMIT_NOFILE %s (hard %s)", results.Count(int64(soft)), results.Count(int64(hard))),
			meaning: fmt.Sprintf("one connbench process holds at most ~%s connections (each is a descriptor; TIME_WAIT sockets are not); with the built-in listener in the same process, half that. A server here meets the same wall.", results.Count(int64(max(soft, 64)-64))),
			warn:    hard < 65536,
		})
	}
	if s, err := kernel.NewSampler(); err == nil {
		smp, err := s.Sample(kernel.Filter{})
		s.Close()
		if err == nil {
			var parts []string
			for st := kernel.State(1); st < kernel.NumStates; st++ {
				if n := smp.States[st]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s %s", st, results.Count(int64(n))))
				}
			}
			if len(parts) == 0 {
				parts = []string{"none"}
			}
			items = append(items, checkItem{title: "sockets now", setting: "all TCP sockets in this network namespace", meaning: strings.Join(parts, ", ")})
		}
	}
	fmt.Fprintln(stdout, "connbench check: what this host's settings mean for connection setup")
	for _, it := range items {
		mark := "ok"
		if it.warn {
			mark = "!!"
		}
		fmt.Fprintf(stdout, "\n[%s] %s: %s\n     %s\n", mark, it.title, it.setting, it.meaning)
	}
	return exitOK
}

func atoi(s string) (int, bool) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	return v, err == nil
}

// checklist explains the sysctls that decide connection setup.
func checklist(sc map[string]string) []checkItem {
	var items []checkItem
	get := func(n string) string { return sc[n] }
	ports := 0
	if lo, hi, ok := portRange(get("net.ipv4.ip_local_port_range")); ok {
		ports = hi - lo + 1
		items = append(items, checkItem{
			title:   "ephemeral ports",
			setting: "net.ipv4.ip_local_port_range = " + get("net.ipv4.ip_local_port_range"),
			meaning: fmt.Sprintf("%s local ports per (source address, destination address:port). A graceful close holds the closer's port 60 s in TIME_WAIT, so without TIME_WAIT reuse one source address sustains %s new connections/s to one destination (%s / 60 s); beyond that connect() fails with EADDRNOTAVAIL. More source addresses (connbench --source), more destination ports, or pooling multiply it.",
				results.Count(int64(ports)), results.Count(int64(ports/60)), results.Count(int64(ports))),
			warn: ports < 16384,
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_tw_reuse")); ok {
		delay := 1000
		if d, ok := atoi(get("net.ipv4.tcp_tw_reuse_delay")); ok {
			delay = d
		}
		ts, _ := atoi(get("net.ipv4.tcp_timestamps"))
		it := checkItem{title: "TIME_WAIT reuse", setting: fmt.Sprintf("net.ipv4.tcp_tw_reuse = %d, tcp_tw_reuse_delay = %d ms, tcp_timestamps = %d", v, delay, ts)}
		switch v {
		case 0:
			it.meaning = "off: a port in TIME_WAIT stays unusable for 60 s for every destination; high connection rates to one backend exhaust the ports (see above)."
			it.warn = true
		case 1:
			it.meaning = fmt.Sprintf("on: connect() may take over a TIME_WAIT port once it is %d ms old (safe: timestamps tell old segments apart).", delay)
		case 2:
			it.meaning = fmt.Sprintf("loopback only: connect() takes over TIME_WAIT ports %d ms old toward 127.0.0.0/8 and ::1 only; toward other hosts each port waits 60 s. Loopback churn to one destination tops out near %s/s (even ports first). For remote backends consider 1, or pooling.", delay, results.Count(int64(ports/2*1000/max(delay, 1))))
		}
		if v != 0 && ts == 0 {
			it.meaning += " But tcp_timestamps = 0: reuse needs timestamps and does not happen."
			it.warn = true
		}
		items = append(items, it)
	}
	if v, ok := atoi(get("net.ipv4.tcp_max_tw_buckets")); ok {
		items = append(items, checkItem{
			title:   "TIME_WAIT cap",
			setting: "net.ipv4.tcp_max_tw_buckets = " + results.Count(int64(v)),
			meaning: fmt.Sprintf("at most %s TIME_WAIT sockets at once; past that new ones are destroyed at once (counter TCPTimeWaitOverflow), which frees ports early. Reached by closing more than %s connections/s (this many / 60 s).", results.Count(int64(v)), results.Count(int64(v/60))),
		})
	}
	if v, ok := atoi(get("net.core.somaxconn")); ok {
		items = append(items, checkItem{
			title:   "accept queue",
			setting: "net.core.somaxconn = " + results.Count(int64(v)),
			meaning: fmt.Sprintf("listen() backlogs are capped at %s completed connections waiting for accept(). When a queue is full, SYNs and final ACKs are dropped (ListenOverflows, ListenDrops) and clients retry after 1 s, 2 s, 4 s ...", results.Count(int64(v))),
			warn:    v < 1024,
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_max_syn_backlog")); ok {
		items = append(items, checkItem{
			title:   "SYN queue",
			setting: "net.ipv4.tcp_max_syn_backlog = " + results.Count(int64(v)),
			meaning: fmt.Sprintf("up to about %s half-open connections (SYN_RECV) per listener, also bounded by its backlog; past that SYN cookies take over if enabled, else SYNs are dropped.", results.Count(int64(v))),
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_syncookies")); ok {
		it := checkItem{title: "SYN cookies", setting: fmt.Sprintf("net.ipv4.tcp_syncookies = %d", v)}
		switch v {
		case 0:
			it.meaning = "off: a SYN flood that fills the SYN queue makes the listener drop legitimate SYNs."
			it.warn = true
		case 1:
			it.meaning = "on when a SYN queue overflows: a flood of spoofed SYNs costs no state, and legitimate clients still connect."
		default:
			it.meaning = "always: every SYN-ACK carries a cookie, and TCP options negotiated in the SYN (window scaling, SACK) are squeezed into it or lost."
		}
		items = append(items, it)
	}
	if v, ok := atoi(get("net.ipv4.tcp_fastopen")); ok {
		client, server := v&1 != 0, v&2 != 0
		it := checkItem{title: "TCP Fast Open", setting: fmt.Sprintf("net.ipv4.tcp_fastopen = %d (0x%x)", v, v)}
		it.meaning = fmt.Sprintf("client %s (bit 0x1), server %s (bit 0x2).", yesNo(client), yesNo(server))
		if !client || !server {
			it.meaning += fmt.Sprintf(" For both: sysctl -w net.ipv4.tcp_fastopen=%d. Fast Open saves one round trip per repeat connection by sending the request in the SYN.", v|3)
			it.warn = !client
		}
		items = append(items, it)
	}
	if v, ok := atoi(get("net.ipv4.tcp_syn_retries")); ok {
		total := 0
		for i := 0; i <= v; i++ {
			total += 1 << i
		}
		items = append(items, checkItem{
			title:   "SYN retries",
			setting: fmt.Sprintf("net.ipv4.tcp_syn_retries = %d", v),
			meaning: fmt.Sprintf("an unanswered connect() retransmits its SYN after 1 s, 2 s, 4 s ... and gives up with ETIMEDOUT after about %d s; a single lost SYN adds a full second to a handshake.", total),
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_fin_timeout")); ok {
		items = append(items, checkItem{
			title:   "FIN timeout",
			setting: fmt.Sprintf("net.ipv4.tcp_fin_timeout = %d", v),
			meaning: fmt.Sprintf("an orphaned connection waits %d s in FIN_WAIT2 for the peer's FIN. It does not shorten TIME_WAIT, which Linux fixes at 60 s.", v),
		})
	}
	return items
}

func yesNo(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}
