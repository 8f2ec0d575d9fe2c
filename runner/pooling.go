package runner

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// The pool's reuse limits and the built-in listener's keep-alive timeout
// (--requests-per-conn, --max-conn-age, --idle-close): how much a pool
// reuses its connections, between a pool that never reconnects and a new
// connection per request.

// Bounds of the pooling flags.
const (
	// MaxRequestsPerConn bounds --requests-per-conn.
	MaxRequestsPerConn = 1_000_000_000
	// MinConnAge bounds a non-zero --max-conn-age from below: a younger
	// limit is a new connection per request by another name.
	MinConnAge = 100 * time.Microsecond
	// MinIdleClose bounds a non-zero --idle-close from below.
	MinIdleClose = time.Millisecond
)

// ReuseCount is --requests-per-conn: N transactions per pooled connection
// (1 to MaxRequestsPerConn), or inf (the zero value): never recycle.
type ReuseCount int64

// Set parses N or inf.
func (v *ReuseCount) Set(s string) error {
	if isInf(s) {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 || n > MaxRequestsPerConn {
		return Usagef("--requests-per-conn %q: want a number of transactions from 1 to %s, or inf (never recycle)", s, grouped(MaxRequestsPerConn))
	}
	*v = ReuseCount(n)
	return nil
}

// String is N, or inf for no limit.
func (v ReuseCount) String() string {
	if v == 0 {
		return "inf"
	}
	return strconv.FormatInt(int64(v), 10)
}

// Type names the value in --help.
func (v *ReuseCount) Type() string { return "N|inf" }

// AgeLimit is --max-conn-age and --idle-close: a duration, or 0 (also
// written inf or never): no limit.
type AgeLimit time.Duration

// ageLimit parses a duration or inf; flag names it in the error, lo is the
// least non-zero value. The most is MaxRunTime.
func ageLimit(flag, s string, lo time.Duration) (AgeLimit, error) {
	if isInf(s) || strings.TrimSpace(s) == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < lo || d > MaxRunTime {
		return 0, Usagef("--%s %q: want a duration from %s to %s (e.g. 30s), or inf (never)", flag, s, lo, shortDur(MaxRunTime))
	}
	return AgeLimit(d), nil
}

// String is the duration, or inf for none.
func (v AgeLimit) String() string {
	if v == 0 {
		return "inf"
	}
	return time.Duration(v).String()
}

func isInf(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "inf", "infinity", "never", "none":
		return true
	}
	return false
}

// ageFlag is an AgeLimit as a pflag.Value for one flag name.
type ageFlag struct {
	v    *AgeLimit
	name string
	lo   time.Duration
}

func (f ageFlag) Set(s string) error {
	v, err := ageLimit(f.name, s, f.lo)
	if err != nil {
		return err
	}
	*f.v = v
	return nil
}
func (f ageFlag) String() string { return f.v.String() }
func (f ageFlag) Type() string   { return "duration|inf" }

// AgeFlag is v as the flag value of --name, non-zero values at least lo:
// for commands that define the flag themselves (serve's --idle-close).
func AgeFlag(v *AgeLimit, name string, lo time.Duration) pflag.Value {
	return ageFlag{v: v, name: name, lo: lo}
}

// definePoolingFlags defines the pooling flags bound to s's fields.
func (s *Spec) definePoolingFlags(w, l *pflag.FlagSet) {
	w.Var(&s.RequestsPerConn, "requests-per-conn", "pooled: close each connection (as --close says) after N transactions and open a new one; "+
		"1 to 1,000,000,000, or inf: never (compare --vary requests-per-conn=1,10,100,inf draws the pooling curve)")
	w.Var(AgeFlag(&s.MaxConnAge, "max-conn-age", MinConnAge), "max-conn-age", "pooled: close each connection once it is this old (checked as a transaction ends) and open a new one; 100µs to 720h, or inf: never")
	l.Var(AgeFlag(&s.IdleClose, "idle-close", MinIdleClose), "idle-close", "built-in listener: close a connection idle this long (a keep-alive timeout); 1ms to 720h, or inf: never. The client retries a request that meets such a closed connection")
}

// checkPooling checks the pooling flags against the workload: the reuse
// limits are for pooled (and the default job's pooled run). Given without
// --workload, they make the workload pooled (so that compare --vary
// requests-per-conn=1,10,inf needs nothing more).
func (s *Spec) checkPooling() error {
	if !s.MainJob && !s.changed("workload") && (s.changed("requests-per-conn") || s.changed("max-conn-age")) {
		s.Workload = "pooled"
	}
	if s.MainJob || s.Workload == "pooled" {
		return nil
	}
	n := ""
	switch {
	case s.RequestsPerConn != 0:
		n = "requests-per-conn"
	case s.MaxConnAge != 0:
		n = "max-conn-age"
	default:
		return nil
	}
	return Usagef("--%s recycles a pool's connections: it is for --workload pooled, not %s (per-request opens one connection per request already)", n, s.Workload)
}
