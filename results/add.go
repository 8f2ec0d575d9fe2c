package results

// How the model adds figures up: the one way counts of several parts (the
// generators of a merge) become one. Totals add; where the parts saw one
// kernel (generators on one host), that kernel's figures are one
// observation, and the larger is kept instead.

// Add adds o's counts to c.
func (c *Counts) Add(o Counts) {
	c.Connections += o.Connections
	c.Transactions += o.Transactions
	c.BytesSent += o.BytesSent
	c.BytesReceived += o.BytesReceived
}

// Add adds o's rates to r: the rates of loads made side by side add up.
func (r *Rates) Add(o Rates) {
	r.TransactionsPerSec += o.TransactionsPerSec
	r.ConnsPerSec += o.ConnsPerSec
}

// Add adds o's CPU times to c. The per-connection and per-transaction
// shares are not added: Per sets them from the sums.
func (c *CPU) Add(o CPU) {
	c.UserNs += o.UserNs
	c.SysNs += o.SysNs
	c.ThreadNs += o.ThreadNs
	c.ProcessUserNs += o.ProcessUserNs
	c.ProcessSysNs += o.ProcessSysNs
}

// Per sets UserNsPerConn and UserNsPerTransaction from UserNs and the
// counts n; a share whose count is 0 is left as it is.
func (c *CPU) Per(n Counts) {
	if n.Connections > 0 {
		c.UserNsPerConn = float64(c.UserNs) / float64(n.Connections)
	}
	if n.Transactions > 0 {
		c.UserNsPerTransaction = float64(c.UserNs) / float64(n.Transactions)
	}
}

// Add adds o's totals to r: its counts, its failures (by class and in
// total) and its CPU times. What is not a total (labels, phases, series,
// rates, records) is left to the caller.
func (r *Run) Add(o *Run) {
	r.Counts.Add(o.Counts)
	r.Failures = addCounts(r.Failures, o.Failures)
	r.FailuresTotal += o.FailuresTotal
	r.CPU.Add(o.CPU)
}

// Add adds interval o's figures to iv: counts, bytes, failures, in-flight
// transactions; with sameKernel (both sampled one kernel) socket states,
// ports in use and kernel counters keep the larger, else they add up. iv
// is a warm-up interval when either is. Rates, latencies and histograms
// are left to the caller (they are not sums).
func (iv *Interval) Add(o Interval, sameKernel bool) {
	iv.Warmup = iv.Warmup || o.Warmup
	iv.Transactions += o.Transactions
	iv.Connections += o.Connections
	iv.BytesSent += o.BytesSent
	iv.BytesReceived += o.BytesReceived
	iv.FailuresTotal += o.FailuresTotal
	iv.Inflight += o.Inflight
	iv.Failures = addCounts(iv.Failures, o.Failures)
	if sameKernel {
		iv.PortsInUse = max(iv.PortsInUse, o.PortsInUse)
		iv.Counters = maxCounts(iv.Counters, o.Counters)
		iv.States = maxCounts(iv.States, o.States)
	} else {
		iv.PortsInUse += o.PortsInUse
		iv.Counters = addCounts(iv.Counters, o.Counters)
		iv.States = addCounts(iv.States, o.States)
	}
}

// Add adds kernel record o to k: samples add up and the longest sample
// is kept; with sameKernel counters, peak states and peak ports keep the
// larger, else they add up. The port range and sources are left to the
// caller (see PortCapacity).
func (k *Kernel) Add(o *Kernel, sameKernel bool) {
	if sameKernel {
		k.PeakStates = maxCounts(k.PeakStates, o.PeakStates)
		k.Counters = maxCounts(k.Counters, o.Counters)
		k.PeakPortsInUse = max(k.PeakPortsInUse, o.PeakPortsInUse)
	} else {
		k.PeakStates = addCounts(k.PeakStates, o.PeakStates)
		k.Counters = addCounts(k.Counters, o.Counters)
		k.PeakPortsInUse += o.PeakPortsInUse
	}
	k.Samples += o.Samples
	k.SampleMaxNs = max(k.SampleMaxNs, o.SampleMaxNs)
}

// Add adds another built-in listener's record o to l: connections,
// requests, bytes, resets, errors, CPU times, leaked connections and peak
// descriptors (separate listeners: an upper bound of the joint peak) add
// up; peak socket states and kernel counters, one kernel's as each
// listener saw them, keep the larger. Addr is left to the caller.
func (l *Listener) Add(o *Listener) {
	l.Accepted += o.Accepted
	l.Requests += o.Requests
	l.BytesReceived += o.BytesReceived
	l.BytesSent += o.BytesSent
	l.Resets += o.Resets
	l.Errors += o.Errors
	l.CPUUserNs += o.CPUUserNs
	l.CPUSysNs += o.CPUSysNs
	l.Leaked += o.Leaked
	l.IdleClosed += o.IdleClosed
	if l.IdleCloseNs == 0 {
		l.IdleCloseNs = o.IdleCloseNs
	}
	l.PeakDescriptors += o.PeakDescriptors
	l.PeakStates = maxCounts(l.PeakStates, o.PeakStates)
	l.Counters = maxCounts(l.Counters, o.Counters)
	switch {
	case o.TLS == nil:
	case l.TLS == nil:
		c := *o.TLS
		l.TLS = &c
	default:
		l.TLS.Add(o.TLS)
	}
}

// Add adds another generator's engine record o to e: connect() calls and
// their time, busy time and starts held by --max-inflight add up; the
// latest timer keeps the larger lateness.
func (e *Engine) Add(o *Engine) {
	e.ConnectCalls += o.ConnectCalls
	e.ConnectCallNs += o.ConnectCallNs
	e.LoopBusyNs += o.LoopBusyNs
	e.HeldByInflight += o.HeldByInflight
	e.SocketsReused += o.SocketsReused
	e.SpinNs += o.SpinNs
	e.Spins += o.Spins
	e.SpinHits += o.SpinHits
	e.TimerLateMaxNs = max(e.TimerLateMaxNs, o.TimerLateMaxNs)
}

// Add adds o's asked rates and the transactions that fell behind to s.
func (s *Schedule) Add(o *Schedule) {
	s.RatePerSec += o.RatePerSec
	s.RateEndPerSec += o.RateEndPerSec
	s.Behind += o.Behind
}

// Add adds o's TCP_INFO counts to t; t has RTOs when either has.
func (t *TCPInfo) Add(o *TCPInfo) {
	t.Handshakes += o.Handshakes
	t.Retransmitted += o.Retransmitted
	t.RTOs += o.RTOs
	t.HasRTO = t.HasRTO || o.HasRTO
	t.FastOpen += o.FastOpen
	t.SYNData += o.SYNData
}

// Add adds o's spoofed SYNs, errors and rate to f.
func (f *Flood) Add(o *Flood) {
	f.RatePerSec += o.RatePerSec
	f.Sent += o.Sent
	f.Errors += o.Errors
}

// addCounts adds src to dst by key and returns dst, made when it is nil
// and src is not empty (an empty src leaves a nil dst nil).
func addCounts[V int | int64](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]V{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// maxCounts keeps, per key, the larger of dst and src (the same kernel's
// figures seen by several generators) and returns dst, made as addCounts
// makes it.
func maxCounts[V int | int64](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]V{}
	}
	for k, v := range src {
		dst[k] = max(dst[k], v)
	}
	return dst
}
