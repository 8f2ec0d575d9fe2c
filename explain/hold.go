package explain

import (
	"fmt"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

// holdNotes explains a hold run's figures.
func holdNotes(r *results.Run) []string {
	h := r.Hold
	if h == nil {
		return nil
	}
	var out []string
	if h.Held < h.Asked {
		var top string
		var n int64
		for k, v := range r.Failures {
			if v > n {
				top, n = k, v
			}
		}
		if top != "" {
			out = append(out, fmt.Sprintf("held %d of the %d connections asked for; the most common failure was %s (%d)%s", h.Held, h.Asked, top, n, limitHint(top)))
		}
	}
	if h.Close == "fin" && h.TimeWaitLeft > 0 {
		out = append(out, fmt.Sprintf("the held connections were closed gracefully (--close fin): %d client sockets were left in TIME_WAIT, each keeping its port toward the target for 60 s (net.ipv4.tcp_max_tw_buckets caps how many; past it the kernel drops them, TcpExt.TCPTimeWaitOverflow); without --close fin a hold resets its connections at the end (RST, SO_LINGER 0) and leaves none", h.TimeWaitLeft))
	}
	both := ""
	if h.ListenerInProcess {
		both = " (the built-in listener's end included: it ran in the same process)"
	}
	if r.TLS != nil {
		lst := ""
		if h.ListenerInProcess {
			lst = "; the listener's end is a goroutine (unlocked from its thread while idle) with its tls.Conn"
		}
		out = append(out, fmt.Sprintf("user memory per connection%s over TLS is the process's resident-set growth while connections opened, over the connections opened: a held TLS connection is its tls.Conn (with the buffers crypto/tls keeps) and its descriptor in Go's poller, no goroutine or thread%s; the run's fixed allocations (%s) are counted apart; kernel memory (socket slabs at both ends) is separate",
			both, lst, mib(h.FixedBytes)))
		return out
	}
	out = append(out, fmt.Sprintf("user memory per connection%s is the engine's slot (%d B, allocated up front) plus the process's resident-set growth while connections opened, over the connections opened; the run's fixed allocations (recorders, slots: %s) are counted apart; kernel memory (socket slabs at both ends) is separate",
		both, workloads.SlotBytes, mib(h.FixedBytes)))
	return out
}

// limitHint names the limit behind a failure class.
func limitHint(class string) string {
	switch class {
	case "EMFILE":
		return ": the per-process open-file limit (RLIMIT_NOFILE); --procs N spreads the connections over N processes"
	case "ENFILE":
		return ": the system-wide file limit (fs.file-max)"
	case "EADDRNOTAVAIL":
		return ": no free ephemeral port toward the target; more --source addresses or a wider net.ipv4.ip_local_port_range"
	case "connect_timeout", "ETIMEDOUT":
		return ": SYNs went unanswered (the listener's accept queue or SYN backlog overflowed)"
	}
	return ""
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
