package explain

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/connbench/connbench/results/view"
)

// Item is one line of the checklist: a setting and what it means here.
type Item struct {
	Title, Setting, Meaning string
	Warn                    bool // worth a look: the setting limits connection setup
}

func atoi(s string) (int, bool) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	return v, err == nil
}

// Checklist explains the sysctls that decide connection setup.
func Checklist(sc map[string]string) []Item {
	var items []Item
	get := func(n string) string { return sc[n] }
	ports := 0
	if lo, hi, ok := PortRange(get("net.ipv4.ip_local_port_range")); ok {
		ports = hi - lo + 1
		items = append(items, Item{
			Title:   "ephemeral ports",
			Setting: "net.ipv4.ip_local_port_range = " + get("net.ipv4.ip_local_port_range"),
			Meaning: fmt.Sprintf("%s local ports per (source address, destination address:port). A graceful close holds the closer's port 60 s in TIME_WAIT, so without TIME_WAIT reuse one source address sustains %s new connections/s to one destination (%s / 60 s); beyond that connect() fails with EADDRNOTAVAIL. More source addresses (connbench --source), more destination ports, or pooling multiply it.",
				view.Count(int64(ports)), view.Count(int64(ports/60)), view.Count(int64(ports))),
			Warn: ports < 16384,
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_tw_reuse")); ok {
		delay := 1000
		if d, ok := atoi(get("net.ipv4.tcp_tw_reuse_delay")); ok {
			delay = d
		}
		ts, _ := atoi(get("net.ipv4.tcp_timestamps"))
		it := Item{Title: "TIME_WAIT reuse", Setting: fmt.Sprintf("net.ipv4.tcp_tw_reuse = %d, tcp_tw_reuse_delay = %d ms, tcp_timestamps = %d", v, delay, ts)}
		switch v {
		case 0:
			it.Meaning = "off: a port in TIME_WAIT stays unusable for 60 s for every destination; high connection rates to one backend exhaust the ports (see above)."
			it.Warn = true
		case 1:
			it.Meaning = fmt.Sprintf("on: connect() may take over a TIME_WAIT port once it is %d ms old (safe: timestamps tell old segments apart).", delay)
		case 2:
			it.Meaning = fmt.Sprintf("loopback only: connect() takes over TIME_WAIT ports %d ms old toward 127.0.0.0/8 and ::1 only; toward other hosts each port waits 60 s. Loopback churn to one destination tops out near %s/s (even ports first). For remote backends consider 1, or pooling.", delay, view.Count(int64(ports/2*1000/max(delay, 1))))
		}
		if v != 0 && ts == 0 {
			it.Meaning += " But tcp_timestamps = 0: reuse needs timestamps and does not happen."
			it.Warn = true
		}
		items = append(items, it)
	}
	if v, ok := atoi(get("net.ipv4.tcp_max_tw_buckets")); ok {
		items = append(items, Item{
			Title:   "TIME_WAIT cap",
			Setting: "net.ipv4.tcp_max_tw_buckets = " + view.Count(int64(v)),
			Meaning: fmt.Sprintf("at most %s TIME_WAIT sockets at once; past that new ones are destroyed at once (counter TCPTimeWaitOverflow), which frees ports early. Reached by closing more than %s connections/s (this many / 60 s).", view.Count(int64(v)), view.Count(int64(v/60))),
		})
	}
	if v, ok := atoi(get("net.core.somaxconn")); ok {
		items = append(items, Item{
			Title:   "accept queue",
			Setting: "net.core.somaxconn = " + view.Count(int64(v)),
			Meaning: fmt.Sprintf("listen() backlogs are capped at %s completed connections waiting for accept(). When a queue is full, SYNs and final ACKs are dropped (ListenOverflows, ListenDrops) and clients retry after 1 s, 2 s, 4 s ...", view.Count(int64(v))),
			Warn:    v < 1024,
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_max_syn_backlog")); ok {
		items = append(items, Item{
			Title:   "SYN queue",
			Setting: "net.ipv4.tcp_max_syn_backlog = " + view.Count(int64(v)),
			Meaning: fmt.Sprintf("up to about %s half-open connections (SYN_RECV) per listener, also bounded by its backlog; past that SYN cookies take over if enabled, else SYNs are dropped.", view.Count(int64(v))),
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_syncookies")); ok {
		it := Item{Title: "SYN cookies", Setting: fmt.Sprintf("net.ipv4.tcp_syncookies = %d", v)}
		switch v {
		case 0:
			it.Meaning = "off: a SYN flood that fills the SYN queue makes the listener drop legitimate SYNs."
			it.Warn = true
		case 1:
			it.Meaning = "on when a SYN queue overflows: a flood of spoofed SYNs costs no state, and legitimate clients still connect."
		default:
			it.Meaning = "always: every SYN-ACK carries a cookie, and TCP options negotiated in the SYN (window scaling, SACK) are squeezed into it or lost."
		}
		items = append(items, it)
	}
	if v, ok := atoi(get("net.ipv4.tcp_fastopen")); ok {
		client, server := v&1 != 0, v&2 != 0
		it := Item{Title: "TCP Fast Open", Setting: fmt.Sprintf("net.ipv4.tcp_fastopen = %d (0x%x)", v, v)}
		it.Meaning = fmt.Sprintf("client %s (bit 0x1), server %s (bit 0x2).", yesNo(client), yesNo(server))
		if !client || !server {
			it.Meaning += fmt.Sprintf(" For both: sysctl -w net.ipv4.tcp_fastopen=%d. Fast Open saves one round trip per repeat connection by sending the request in the SYN.", v|3)
			it.Warn = !client
		}
		items = append(items, it)
	}
	if v, ok := atoi(get("net.ipv4.tcp_syn_retries")); ok {
		total := 0
		for i := 0; i <= v; i++ {
			total += 1 << i
		}
		items = append(items, Item{
			Title:   "SYN retries",
			Setting: fmt.Sprintf("net.ipv4.tcp_syn_retries = %d", v),
			Meaning: fmt.Sprintf("an unanswered connect() retransmits its SYN after 1 s, 2 s, 4 s ... and gives up with ETIMEDOUT after about %d s; a single lost SYN adds a full second to a handshake.", total),
		})
	}
	if v, ok := atoi(get("net.ipv4.tcp_fin_timeout")); ok {
		items = append(items, Item{
			Title:   "FIN timeout",
			Setting: fmt.Sprintf("net.ipv4.tcp_fin_timeout = %d", v),
			Meaning: fmt.Sprintf("an orphaned connection waits %d s in FIN_WAIT2 for the peer's FIN. It does not shorten TIME_WAIT, which Linux fixes at 60 s.", v),
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
