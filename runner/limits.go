package runner

import (
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/workloads"
)

// The allowed ranges of the numeric flags, checked once by validate before
// anything is allocated or started: no user number sizes an allocation
// unchecked. README's "Limits" table lists the same values.
const (
	// MaxConns bounds every number that becomes connection slots or
	// sockets: -c, --max-inflight, hold's -n, --fastopen-queue. The engine
	// keeps a slot of workloads.SlotBytes (72 bytes) per connection up
	// front, and each socket costs the kernel some KiB more.
	MaxConns = workloads.MaxSlots
	// MaxRequests bounds -n outside hold: a count, never an allocation.
	MaxRequests = 1_000_000_000_000
	// MaxRate bounds --rate (transactions or connections per second).
	MaxRate = workloads.MaxRate
	// MaxPayload bounds --request-size and what --request @FILE reads.
	MaxPayload = workloads.MaxRequestSize
	// MaxResponse bounds --response-size (the built-in listener holds
	// one response in memory).
	MaxResponse = 1 << 30
	// MaxLoops bounds --loops and --listener-loops (each loop has an
	// epoll instance and its own histograms).
	MaxLoops = workloads.MaxLoops
	// MaxBacklog is listen()'s int; the kernel clamps it to somaxconn.
	MaxBacklog = math.MaxInt32
	// MaxRunTime bounds every duration flag that is not bounded tighter:
	// --duration, --warmup, --connect-timeout, --timeout, --accept-delay,
	// --accept-pause's AFTER and FOR.
	MaxRunTime = 30 * 24 * time.Hour
	// MinInterval and MaxInterval bound --interval.
	MinInterval = 10 * time.Millisecond
	MaxInterval = time.Hour
	// MinPing and MaxPing bound a non-zero --ping.
	MinPing = time.Millisecond
	MaxPing = time.Hour
	// MaxStartAhead is how far in the future --start-at may be.
	MaxStartAhead = 24 * time.Hour
	// MaxUnixSeconds is the last second of year 9999, the last --start-at
	// RFC 3339 can write.
	MaxUnixSeconds = 253402300799
)

// grouped writes n with thousands separators: 10,000,000.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// shortDur writes d as time.Duration does, less the zero minutes and
// seconds: 720h, 1h, 10ms, and 0 for zero.
func shortDur(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkInt is a usage error naming --flag, v and the allowed range
// lo <= v <= hi, or nil.
func checkInt(flag string, v, lo, hi int64) error {
	if v >= lo && v <= hi {
		return nil
	}
	return Usagef("--%s %d: out of range (allowed: %s <= %s <= %s)", flag, v, grouped(lo), flag, grouped(hi))
}

// checkDur is checkInt for durations.
// DefaultSpin is --spin's default: as long as a loopback exchange takes
// when both sides are busy, so a loop catches answers that come at once.
const DefaultSpin = 50 * time.Microsecond

func checkDur(flag string, v, lo, hi time.Duration) error {
	if v >= lo && v <= hi {
		return nil
	}
	return Usagef("--%s %s: out of range (allowed: %s <= %s <= %s)", flag, v, shortDur(lo), flag, shortDur(hi))
}

// parseRate parses --rate: N, or a ramp A:B from A to B over --duration.
// N is finite with 0 < N <= MaxRate; A and B are finite, 0 to MaxRate,
// not both 0. Errors are usage errors naming --rate.
func parseRate(s string) (a, b float64, ramp bool, err error) {
	as, bs, ramp := strings.Cut(s, ":")
	if !ramp {
		a, err = rateNumber(s, as)
		if err == nil && a == 0 {
			err = Usagef("--rate %s: zero transactions per second (allowed: 0 < rate <= %s; leave --rate out for a closed loop)", s, grouped(MaxRate))
		}
		return a, 0, false, err
	}
	if a, err = rateNumber(s, as); err != nil {
		return 0, 0, false, err
	}
	if b, err = rateNumber(s, bs); err != nil {
		return 0, 0, false, err
	}
	if a == 0 && b == 0 {
		return 0, 0, false, Usagef("--rate %s: a ramp from 0 to 0 (allowed: A:B with 0 <= A, B <= %s, not both 0)", s, grouped(MaxRate))
	}
	return a, b, true, nil
}

// rateNumber parses one number of a --rate value s.
func rateNumber(s, n string) (float64, error) {
	v, err := strconv.ParseFloat(n, 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, Usagef("--rate %s: %q is not a number of transactions per second (allowed: 0 < rate <= %s, or a ramp A:B)", s, n, grouped(MaxRate))
	case v < 0 || v > MaxRate:
		return 0, Usagef("--rate %s: %s transactions per second is out of range (allowed: 0 < rate <= %s, or a ramp A:B)", s, n, grouped(MaxRate))
	}
	return v, nil
}

// formatRate writes what parseRate read, so that it parses back to the
// same numbers.
func formatRate(a, b float64, ramp bool) string {
	s := strconv.FormatFloat(a, 'g', -1, 64)
	if ramp {
		s += ":" + strconv.FormatFloat(b, 'g', -1, 64)
	}
	return s
}

// readRequestFile reads --request @FILE: at most MaxPayload bytes, and not
// an empty file. Devices and pipes are read up to the bound, so
// @/dev/zero is refused rather than read forever.
func readRequestFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, Usagef("--request @%s: %v", name, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxPayload {
		return nil, Usagef("--request @%s: larger than %d bytes (the --request limit)", name, MaxPayload)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, Usagef("--request @%s: is a directory", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPayload+1))
	if err != nil {
		return nil, Usagef("--request @%s: %v", name, unwrapPath(err))
	}
	if len(b) > MaxPayload {
		return nil, Usagef("--request @%s: larger than %d bytes (the --request limit)", name, MaxPayload)
	}
	if len(b) == 0 {
		return nil, Usagef("--request @%s: the file is empty", name)
	}
	return b, nil
}

// unwrapPath drops the operation and path from an *os.PathError, which the
// message already names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// CheckListener checks the numbers of `connbench serve` against the
// same ranges as run's built-in-listener flags (the listener holds one
// response of ResponseSize bytes in memory).
func CheckListener(cfg listener.Config) error {
	for _, err := range []error{
		checkInt("loops", int64(cfg.Loops), 0, MaxLoops),
		checkInt("backlog", int64(cfg.Backlog), 0, MaxBacklog),
		checkInt("request-size", int64(cfg.RequestSize), 1, MaxPayload),
		checkInt("response-size", int64(cfg.ResponseSize), 1, MaxResponse),
		checkInt("fastopen-queue", int64(cfg.FastOpenQueue), 0, MaxConns),
		checkDur("accept-delay", cfg.AcceptDelay, 0, MaxRunTime),
		checkDur("spin", cfg.Spin, 0, listener.MaxSpin),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
