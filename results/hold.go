package results

// Hold is the hold workload's record: how many connections were opened and
// held, how long opening took, and what they cost in memory.
type Hold struct {
	// Asked is -n; Opened the handshakes that completed; Held the
	// connections still open when the hold ended.
	Asked  int64 `json:"asked"`
	Opened int64 `json:"opened"`
	Held   int64 `json:"held"`
	// OpenNs is the time from the start to the last attempt's end; -1 if
	// the run was stopped before.
	OpenNs int64 `json:"open_ns"`
	// RSSGrowthBytes is how much the process's resident memory grew from
	// before the run to its peak while holding (all processes summed for
	// a --procs run). UserBytesPerConn is the engine's per-connection slot
	// plus the growth after the fixed allocations, over Opened. It includes
	// the built-in listener's side when the listener ran in the process.
	RSSGrowthBytes int64 `json:"rss_growth_bytes"`
	// FixedBytes is the part of the growth allocated before the first
	// connection (recorders, the slots for all -n connections).
	FixedBytes       int64   `json:"fixed_bytes"`
	UserBytesPerConn float64 `json:"user_bytes_per_conn"`
	// PerConnMethod says how the growth part was found: "slope" (resident
	// set over connections open, fitted over the intervals while opening)
	// or "growth" (all growth after the fixed allocations, over Opened:
	// an upper bound, for openings too short to fit a slope).
	PerConnMethod     string `json:"per_conn_method,omitempty"`
	ListenerInProcess bool   `json:"listener_in_process"`
	// KernelSlabBytes is the growth of the bytes of TCP socket objects in
	// use in the kernel's slab caches (active objects × object size;
	// sockets, timewait and request sockets; both ends of every connection
	// on this host, /proc/slabinfo) at the peak; -1 when unreadable.
	// KernelTCPMemBytes is sockstat's TCP buffer memory at the peak.
	KernelSlabBytes   int64 `json:"kernel_slab_bytes"`
	KernelTCPMemBytes int64 `json:"kernel_tcp_mem_bytes"`
	// PeakTCPInUse is sockstat's "TCP: inuse" at the peak (both ends).
	PeakTCPInUse int64 `json:"peak_tcp_inuse"`
	// Sources is the number of source addresses the connections were
	// spread over.
	Sources int `json:"sources"`
	// Close is how the held connections were closed at the end: "rst"
	// (SO_LINGER 0, the default: no TIME_WAIT left) or "fin" (--close
	// fin); "" in documents from before it was recorded. TimeWaitLeft is
	// the client sockets toward the target left in TIME_WAIT once the
	// closes settled (each holds its port for 60 s); -1 when not counted.
	Close        string `json:"close,omitempty"`
	TimeWaitLeft int64  `json:"time_wait_left"`
	// ListenerProcs is the number of built-in listener processes of a run
	// split over processes, and ListenerRSSGrowthBytes the growth of their
	// resident memory (summed) from when they listened to its peak while
	// the clients ran: the listener's end of the connections, apart from
	// the clients' RSSGrowthBytes. 0 when the listener ran in the client
	// process (ListenerInProcess) or the target was external.
	ListenerProcs          int   `json:"listener_procs,omitempty"`
	ListenerRSSGrowthBytes int64 `json:"listener_rss_growth_bytes,omitempty"`
}

// mergeHold sums the processes' hold records (one host: the kernel's
// figures are the same kernel's, so they are kept by max).
func mergeHold(parts []part) *Hold {
	var out *Hold
	var perConn float64
	for _, p := range parts {
		h := p.run.Hold
		if h == nil {
			continue
		}
		if out == nil {
			out = &Hold{OpenNs: h.OpenNs}
		}
		out.Asked += h.Asked
		out.Opened += h.Opened
		out.Held += h.Held
		if h.OpenNs < 0 || out.OpenNs < 0 {
			out.OpenNs = -1
		} else {
			out.OpenNs = max(out.OpenNs, h.OpenNs)
		}
		out.RSSGrowthBytes += h.RSSGrowthBytes
		out.FixedBytes += h.FixedBytes
		perConn += h.UserBytesPerConn * float64(h.Opened)
		out.ListenerInProcess = out.ListenerInProcess || h.ListenerInProcess
		if out.PerConnMethod == "" || h.PerConnMethod == "growth" {
			out.PerConnMethod = h.PerConnMethod
		}
		out.KernelSlabBytes = max(out.KernelSlabBytes, h.KernelSlabBytes)
		out.KernelTCPMemBytes = max(out.KernelTCPMemBytes, h.KernelTCPMemBytes)
		out.PeakTCPInUse = max(out.PeakTCPInUse, h.PeakTCPInUse)
		out.Sources = max(out.Sources, h.Sources)
		out.ListenerProcs += h.ListenerProcs
		out.ListenerRSSGrowthBytes += h.ListenerRSSGrowthBytes
		if out.Close == "" {
			out.Close, out.TimeWaitLeft = h.Close, h.TimeWaitLeft
		} else {
			// One host: each process counted the same sockets.
			out.TimeWaitLeft = max(out.TimeWaitLeft, h.TimeWaitLeft)
		}
	}
	if out != nil && out.Opened > 0 {
		out.UserBytesPerConn = perConn / float64(out.Opened)
	}
	return out
}
