package main

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/runner"
)

var sigterm os.Signal = syscall.SIGTERM

// TestHostileNumbers: every out-of-range number is a one-line usage error
// (exit 2) naming the flag and the allowed range, before anything starts.
func TestHostileNumbers(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, runner.MaxPayload+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string // substrings of the one stderr line
	}{
		{[]string{"run", "--rate", "NaN"}, []string{"--rate NaN", "not a number", "0 < rate <= 10,000,000"}},
		{[]string{"run", "--rate", "NaN:100"}, []string{"--rate NaN:100", "not a number"}},
		{[]string{"run", "--rate", "100:NaN"}, []string{"--rate 100:NaN", "not a number"}},
		{[]string{"run", "--rate", "Inf"}, []string{"--rate Inf", "not a number"}},
		{[]string{"run", "--rate", "-Inf:5"}, []string{"--rate -Inf:5"}},
		{[]string{"run", "--rate", "-5"}, []string{"--rate -5", "out of range", "10,000,000"}},
		{[]string{"run", "--rate", "0"}, []string{"--rate 0", "0 < rate"}},
		{[]string{"run", "--rate", "0:0"}, []string{"--rate 0:0", "not both 0"}},
		{[]string{"run", "--rate", "1e8"}, []string{"--rate 1e8", "out of range"}},
		{[]string{"run", "--rate", ""}, nil}, // empty is "no --rate": checked below to run the closed loop
		{[]string{"run", "-c", "9223372036854775807"}, []string{"--concurrency 9223372036854775807", "1 <= concurrency <= 10,000,000"}},
		{[]string{"run", "-c", "10000001"}, []string{"--concurrency 10000001", "10,000,000"}},
		{[]string{"run", "-c", "99999999999999999999"}, []string{"concurrency", "99999999999999999999"}}, // pflag: out of int range
		{[]string{"run", "--rate", "100", "--max-inflight", "9223372036854775807"}, []string{"--max-inflight 9223372036854775807", "1 <= max-inflight <= 10,000,000"}},
		{[]string{"run", "--max-inflight", "0"}, []string{"--max-inflight 0", "1 <= max-inflight"}},
		{[]string{"run", "-w", "hold", "-n", "2147483647"}, []string{"--requests 2147483647", "10,000,000"}},
		{[]string{"run", "-n", "9223372036854775807"}, []string{"--requests 9223372036854775807", "1,000,000,000,000"}},
		{[]string{"run", "--duration", "1000000h"}, []string{"--duration 1000000h0m0s", "0 <= duration <= 720h"}},
		{[]string{"run", "--warmup", "1000000h"}, []string{"--warmup", "720h"}},
		{[]string{"run", "--timeout", "-1s"}, []string{"--timeout -1s", "0 <= timeout"}},
		{[]string{"run", "--connect-timeout", "2000h"}, []string{"--connect-timeout", "720h"}},
		{[]string{"run", "--interval", "0"}, []string{"--interval 0s", "10ms <= interval <= 1h"}},
		{[]string{"run", "--interval", "2h"}, []string{"--interval 2h0m0s", "1h"}},
		{[]string{"run", "-w", "hold", "-n", "10", "--ping", "1ns"}, []string{"--ping 1ns", "1ms <= ping <= 1h"}},
		{[]string{"run", "--loops", "1000000000"}, []string{"--loops 1000000000", "0 <= loops <= 1,024"}},
		{[]string{"run", "--listener-loops", "-1"}, []string{"--listener-loops -1"}},
		{[]string{"run", "--backlog", "9223372036854775807"}, []string{"--backlog", "2,147,483,647"}},
		{[]string{"run", "--fastopen-queue", "9223372036854775807"}, []string{"--fastopen-queue", "10,000,000"}},
		{[]string{"run", "--accept-delay", "-1s"}, []string{"--accept-delay -1s"}},
		{[]string{"run", "--accept-pause", "1s:100000h"}, []string{"--accept-pause", "720h"}},
		{[]string{"run", "--request-size", "9223372036854775807"}, []string{"--request-size 9223372036854775807", "67,108,864"}},
		{[]string{"run", "--response-size", "9223372036854775807"}, []string{"--response-size 9223372036854775807", "1,073,741,824"}},
		{[]string{"run", "--request", "@/dev/zero"}, []string{"--request @/dev/zero", "larger than 67108864 bytes"}},
		{[]string{"run", "--request", "@" + big}, []string{"--request @" + big, "larger than 67108864 bytes"}},
		{[]string{"run", "--request", "@" + os.TempDir()}, []string{"--request @", "directory"}},
		{[]string{"run", "-w", "synflood", "--flood-rate", "NaN"}, []string{"--flood-rate NaN", "1,000,000"}},
		{[]string{"run", "--rate-limit", "NaNmbit"}, []string{"--rate-limit", "8kbit"}},
		{[]string{"run", "--loss", "NaN"}, []string{"--loss", "100%"}},
		{[]string{"run", "--rtt", "2m"}, []string{"--rtt 2m0s", "1m"}},
		{[]string{"run", "--start-at", "1e300"}, []string{"--start-at", "1e300"}},
		{[]string{"run", "--start-at", "NaN"}, []string{"--start-at", "NaN"}},
		{[]string{"run", "[::ffff:0.0.0.0]:80"}, []string{"::ffff:0.0.0.0", "not an address"}},
		{[]string{"run", "bad\x1bhost:80"}, []string{`bad\x1bhost`, "host name"}},
		{[]string{"-c", "9223372036854775807"}, []string{"--concurrency"}}, // the main job validates the same way
		{[]string{"compare", "--vary", "concurrency=1,9223372036854775807"}, []string{"--concurrency 9223372036854775807"}},
		{[]string{"help", "bogus"}, []string{`help "bogus"`, "unknown command", "run"}},
		{[]string{"help", "run", "extra"}, []string{"one command"}},
		{[]string{"bogus"}, []string{`"bogus"`, "unknown command", "compare"}},
	} {
		if tc.want == nil {
			continue
		}
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			start := time.Now()
			code, stdout, stderr := connbench(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "connbench: ") {
				t.Errorf("stderr is not one line starting with \"connbench: \": %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
			// A usage error is found before anything runs: no
			// listener, no load, no wait for --duration.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %s: the value was not refused up front", d)
			}
		})
	}
}

// TestRangesAtTheirEdges: the largest allowed values pass validation (a
// bound must not refuse what it documents), one past them does not.
func TestRangesAtTheirEdges(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-c", "10000000"}, true},
		{[]string{"-c", "10000001"}, false},
		{[]string{"--rate", "10000000", "--max-inflight", "10000000"}, true},
		{[]string{"--rate", "10000000.5"}, false},
		{[]string{"--rate", "0:10000000", "-d", "1s"}, true},
		{[]string{"--rate", "0.001"}, true},
		{[]string{"--duration", "720h"}, true},
		{[]string{"--duration", "720h1ns"}, false},
		{[]string{"--interval", "10ms"}, true},
		{[]string{"--interval", "9ms"}, false},
		{[]string{"--request-size", "67108864"}, true},
		{[]string{"--request-size", "67108865"}, false},
		{[]string{"--response-size", "1073741824"}, true},
		{[]string{"--response-size", "1073741825"}, false},
		{[]string{"-w", "hold", "--rate", "1000", "-n", "10000000"}, true},
		{[]string{"-w", "hold", "--rate", "1000", "-n", "10000001"}, false},
		{[]string{"-n", "1000000000000"}, true},
		{[]string{"-n", "1000000000001"}, false},
		{[]string{"--loops", "1024", "--listener-loops", "1024"}, true},
		{[]string{"--loops", "1025"}, false},
		{[]string{"--accept-pause", "720h:720h"}, true},
		{[]string{"--start-at", "1"}, true}, // in the past: starts at once
	} {
		o, err := validated(tc.args...)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.args, err, tc.ok)
		}
		if cfg := o.Config(o.Workload, netip.AddrPort{}); err == nil && !o.Rate.IsSet() && (cfg.Rate != 0 || cfg.RateEnd != 0) {
			t.Errorf("%q: no --rate but rate %g:%g", tc.args, cfg.Rate, cfg.RateEnd)
		}
	}
	// An empty --rate is no --rate: the closed loop.
	o, err := validated("--rate", "")
	if cfg := o.Config(o.Workload, netip.AddrPort{}); err != nil || cfg.Rate != 0 || cfg.RateEnd != 0 {
		t.Errorf(`--rate "": err %v, rate %g:%g; want the closed loop`, err, cfg.Rate, cfg.RateEnd)
	}
}

// TestRequestFile: @FILE up to the bound is the payload, byte for byte.
func TestRequestFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "req")
	want := make([]byte, runner.MaxPayload)
	for i := range want {
		want[i] = byte(i)
	}
	if err := os.WriteFile(name, want, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := validated("--request", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	if payload := o.Config(o.Workload, netip.AddrPort{}).Request; string(payload) != string(want) {
		t.Errorf("payload of %d bytes differs from the file's %d", len(payload), len(want))
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := validated("--request", "@"+empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: err %v, want it called empty", err)
	}
}

// TestExitCodes: the documented codes are the ones used, and --help says so.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		got, want int
	}{{exitOK, 0}, {exitFailure, 1}, {exitUsage, 2}, {exitInterrupted, 130}, {exitTerminated, 143}} {
		if c.got != c.want {
			t.Errorf("exit code constant %d, want %d", c.got, c.want)
		}
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}} {
		code, stdout, _ := connbench(t, args...)
		if code != exitOK {
			t.Errorf("%q: exit %d", args, code)
		}
		for _, w := range []string{"Exit status:", "  0 ", "  1 ", "  2 ", "130", "143"} {
			if !strings.Contains(stdout, w) {
				t.Errorf("%q: help lacks %q", args, w)
			}
		}
	}
	if got := exitForSignal(os.Interrupt); got != exitInterrupted {
		t.Errorf("SIGINT: exit %d, want %d", got, exitInterrupted)
	}
	if got := exitForSignal(sigterm); got != exitTerminated {
		t.Errorf("SIGTERM: exit %d, want %d", got, exitTerminated)
	}
}

// TestListenerRanges: the check serve can make before listener.Start, which
// today allocates a response of --response-size bytes unchecked.
func TestListenerRanges(t *testing.T) {
	ok := listener.Config{RequestSize: 1, ResponseSize: runner.MaxResponse, Loops: runner.MaxLoops, Backlog: runner.MaxBacklog, FastOpenQueue: runner.MaxConns}
	if err := runner.CheckListener(ok); err != nil {
		t.Errorf("the bounds themselves: %v", err)
	}
	for flag, c := range map[string]listener.Config{
		"--response-size": {RequestSize: 1, ResponseSize: math.MaxInt},
		"--request-size":  {RequestSize: runner.MaxPayload + 1, ResponseSize: 1},
		"--loops":         {RequestSize: 1, ResponseSize: 1, Loops: runner.MaxLoops + 1},
		"--backlog":       {RequestSize: 1, ResponseSize: 1, Backlog: -1},
		"--accept-delay":  {RequestSize: 1, ResponseSize: 1, AcceptDelay: -time.Second},
	} {
		err := runner.CheckListener(c)
		if !isUsage(err) || !strings.HasPrefix(err.Error(), flag+" ") {
			t.Errorf("%s: err %v, want a usage error naming it", flag, err)
		}
	}
}

// validated parses args as `connbench run` flags and validates them.
func validated(args ...string) (*runner.Spec, error) {
	f := cli.New("connbench run")
	s := &runner.Spec{}
	s.DefineFlags(f.Group, false)
	f.Done()
	if _, err := parseRun(f, s, args, 0); err != nil {
		return s, err
	}
	return s, s.Validate()
}
