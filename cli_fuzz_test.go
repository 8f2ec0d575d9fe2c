package main

// Native fuzz targets for every CLI value parser. Each runs its seeds
// (f.Add and testdata/fuzz/FuzzX/) as a normal test; `go test -fuzz=FuzzX`
// explores further. The property is the same throughout: no panic, an
// error is a usage error, and an accepted value is inside its documented
// range and parses back from its written form to the same value.

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/runner"
)

// isUsage reports whether err is a usage error (exit 2).
func isUsage(err error) bool { return runner.IsUsage(err) }

// FuzzSources: --source lists and ranges give at most 65536 valid
// addresses, whatever the range asked for.
func FuzzSources(f *testing.F) {
	for _, s := range []string{"127.0.0.2", "127.0.0.2-127.0.0.50", "10.0.0.1,10.0.0.2", "0.0.0.0-255.255.255.255",
		"::1-::ffff", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "10.0.0.5-10.0.0.1", "::1-127.0.0.1", ",,", "-", "x-y",
		"fe80::1%eth0-fe80::9%eth0", "::ffff:10.0.0.1-10.0.0.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := validated("--source", s)
		if err != nil {
			if !isUsage(err) || !strings.Contains(err.Error(), "--source") {
				t.Fatalf("%q: %v does not name --source as a usage error", s, err)
			}
			return
		}
		if s == "" {
			return // no --source
		}
		sources := o.Config(o.Workload, netip.AddrPort{}).Socket.Sources
		if len(sources) == 0 || len(sources) > 65536 {
			t.Fatalf("%q: %d addresses", s, len(sources))
		}
		for _, a := range sources {
			if !a.IsValid() {
				t.Fatalf("%q: an invalid address among %d", s, len(sources))
			}
		}
	})
}

// numericFlags are the run flags that take a number, a size or a duration;
// FuzzNumericFlags sets one of them to a fuzzed value.
var numericFlags = []string{"concurrency", "max-inflight", "requests", "request-size", "response-size", "loops",
	"listener-loops", "backlog", "fastopen-queue", "flood-rate", "duration", "warmup", "interval", "ping",
	"connect-timeout", "timeout", "accept-delay", "rtt", "jitter"}

// FuzzNumericFlags: sizes, counts and durations as pflag parses them and
// validate checks them. Whatever is accepted is inside its range.
func FuzzNumericFlags(f *testing.F) {
	for i, v := range []string{"16", "0", "-1", "9223372036854775807", "10000000", "67108864", "1073741825", "1025", "2147483648",
		"10000001", "NaN", "1000000h", "0", "1ns", "720h", "-5s", "2000h", "1m1s", "61s"} {
		f.Add(uint8(i), v)
	}
	f.Add(uint8(3), "64KiB")
	f.Add(uint8(9), "Inf")
	f.Fuzz(func(t *testing.T, i uint8, v string) {
		name := numericFlags[int(i)%len(numericFlags)]
		args := []string{"--" + name, v}
		switch name {
		case "ping":
			args = append(args, "-w", "hold", "-n", "10", "--rate", "100")
		case "flood-rate":
			args = append(args, "-w", "synflood")
		}
		o, err := validated(args...)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("%q: %v does not name the flag", args, err)
			}
			return
		}
		in := func(v, lo, hi int64) {
			if v < lo || v > hi {
				t.Fatalf("%q: accepted %d (allowed %d to %d)", args, v, lo, hi)
			}
		}
		in(int64(o.Concurrency), 1, runner.MaxConns)
		in(int64(o.MaxInflight), 1, runner.MaxConns)
		in(o.Requests, 0, runner.MaxRequests)
		in(int64(o.RequestSize), 1, runner.MaxPayload)
		in(int64(o.ResponseSize), 1, runner.MaxResponse)
		in(int64(o.Loops), 0, runner.MaxLoops)
		in(int64(o.ListenerLoops), 0, runner.MaxLoops)
		in(int64(o.Backlog), 0, runner.MaxBacklog)
		in(int64(o.FastOpenQueue), 0, runner.MaxConns)
		for _, d := range []time.Duration{o.Duration, o.Warmup, o.ConnectTimeout, o.Timeout, o.AcceptDelay} {
			in(int64(d), 0, int64(runner.MaxRunTime))
		}
		in(int64(o.Interval), int64(runner.MinInterval), int64(runner.MaxInterval))
		if o.Ping != 0 {
			in(int64(o.Ping), int64(runner.MinPing), int64(runner.MaxPing))
		}
		if !(o.FloodRate >= 1 && o.FloodRate <= 1e6) {
			t.Fatalf("%q: accepted --flood-rate %g", args, o.FloodRate)
		}
		if o.Path() != nil {
			in(int64(o.Path().RTT), 0, int64(time.Minute))
			in(int64(o.Path().Jitter), 0, int64(time.Minute))
		}
	})
}
