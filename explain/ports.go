package explain

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/workloads"
)

// explain returns the notes a reader needs to read a run's figures right:
// what the kernel, not the tool, limited.
func runNotes(r *results.Run, c Context) []string {
	sysctls, builtin := c.Sysctls, c.Builtin
	var notes []string
	evidence := portSearch(r)
	if n := exhaustionNote(r, c, evidence != ""); n != "" {
		notes = append(notes, n)
	}
	if n := portSearchNote(r, c, evidence); n != "" {
		notes = append(notes, n)
	}
	var behind int64
	if r.Schedule != nil {
		behind = r.Schedule.Behind
	}
	if started := r.Counts.Transactions + r.FailuresTotal; behind > 0 && behind*1000 > started {
		notes = append(notes, scheduleNote(r, c, behind, evidence != ""))
	}
	cfg := c.Config
	spec := workloads.Registry[cfg.Workload]
	secs := time.Duration(r.DurationNs).Seconds()
	if !spec.Persistent && cfg.Rate == 0 && cfg.Socket.Close == dialer.CloseFIN && len(cfg.Socket.Sources) == 0 && secs > 0 {
		lo, hi, ok := PortRange(sysctls["net.ipv4.ip_local_port_range"])
		reuse := sysctls["net.ipv4.tcp_tw_reuse"]
		delay := 1.0
		if ms, err := strconv.Atoi(sysctls["net.ipv4.tcp_tw_reuse_delay"]); err == nil && ms > 0 {
			delay = float64(ms) / 1000
		}
		rate := float64(r.Counts.Connections) / secs
		if ok {
			ports := float64(hi - lo + 1)
			switch {
			case reuse == "2" && cfg.Target.Addr().IsLoopback():
				// connect() tries even ports first (odd ones are kept for
				// bind()), so about half the range turns over per delay.
				limit := ports / 2 / delay
				// Only the run's evidence says the cap was reached:
				// connect() failing or searching, or the rate at the cap
				// itself. Port occupancy alone does not: with reuse the
				// range fills with TIME_WAIT at any rate above ports / 60 s.
				// The rate does: past the even half's turnover a connect()
				// must walk the whole even half before it tries an odd
				// port, so a closed loop settles at the cap (measured on
				// 28,232 ports: 14,130-14,170/s in every run, connbench
				// and neper alike, while CPU-bound rates vary by 20%).
				atCap := rate >= capShare*limit
				if r.Failures[dialer.FailAddrNotAvail] > 0 || evidence != "" || atCap {
					n := fmt.Sprintf("graceful close (--close fin) leaves each connection in TIME_WAIT on the client for 60 s; with tcp_tw_reuse=2 connect() reuses a loopback TIME_WAIT port only after tcp_tw_reuse_delay (%.0f ms), and prefers even ports, so one destination tops out near %s new connections/s here (%d ports / 2 / %.1f s).",
						delay*1000, fmtRate(limit), hi-lo+1, delay)
					if atCap {
						n += fmt.Sprintf(" This run made %s/s: at that cap. Past it, a connect() walks the whole even half before it tries an odd port.", view.Count(int64(math.Round(rate))))
					}
					notes = append(notes, n+" That is the kernel, not the tool: --close rst, more --source addresses or pooling lift it.")
				} else if rate > 0.6*limit {
					if n := rateLimitNote(r, c); n != "" {
						notes = append(notes, n)
					}
				}
			case reuse == "0" || (reuse == "2" && !cfg.Target.Addr().IsLoopback()):
				if rate > 0 {
					t := ports / rate
					if t < 120 {
						notes = append(notes, fmt.Sprintf("graceful close without TIME_WAIT reuse: %d ports at %s connections/s run out after about %.0f s (TIME_WAIT lasts 60 s).", hi-lo+1, fmtRate(rate), t))
					}
				}
			}
		}
	}
	if n := r.Failures[dialer.FailAddrNotAvail]; n > 0 {
		notes = append(notes, fmt.Sprintf("%d connects failed with EADDRNOTAVAIL: no free local port toward the target (port exhaustion). connect() reports EADDRNOTAVAIL here, not EADDRINUSE.", n))
	}
	if n := r.Failures[dialer.FailMFile] + r.Failures[dialer.FailNFile]; n > 0 {
		notes = append(notes, fmt.Sprintf("%d connections failed for want of file descriptors (EMFILE/ENFILE); lower -c.", n))
	}
	if builtin {
		notes = append(notes, "the built-in listener ran in this process on the same CPUs; its CPU time is shown separately and is part of what limits the rate.")
	}
	return notes
}

// PortRange parses net.ipv4.ip_local_port_range ("32768 60999").
func PortRange(s string) (lo, hi int, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, e1 := strconv.Atoi(f[0])
	hi, e2 := strconv.Atoi(f[1])
	return lo, hi, e1 == nil && e2 == nil && lo <= hi
}

func fmtRate(r float64) string {
	if r >= 10000 {
		return fmt.Sprintf("%.0fk", r/1000)
	}
	return fmt.Sprintf("%.0f", r)
}

// capShare is how close to the loopback TIME_WAIT reuse cap a FIN run's
// rate must come to be at it: the cap is a ceiling the rate cannot pass by
// more than the few odd ports taken, and a CPU-bound rate near it would
// not stay within this 3% run after run.
const capShare = 0.97
