package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
	"golang.org/x/sys/unix"
)

// said is an Observer that keeps what it is told.
type said struct {
	discard
	lines []string
}

func (o *said) Say(f string, a ...any)  { o.lines = append(o.lines, fmt.Sprintf(f, a...)) }
func (o *said) Warn(f string, a ...any) { o.lines = append(o.lines, fmt.Sprintf(f, a...)) }
func (o *said) Live(workloads.Config) Live {
	return discard{}
}

// shardHelperEnv makes the test binary the subprocess of TestShardsByItself.
const shardHelperEnv = "CONNBENCH_TEST_SHARD_HELPER"

// TestShardsByItself: a hold needing more descriptors than one process
// may have is split over processes without --procs, in one line; an
// explicit --procs 1 keeps the refusal; --procs N is kept. It runs in a
// subprocess whose open-file limit (soft and hard) is 512, so that the
// run stays small; no load is made, only the plan.
func TestShardsByItself(t *testing.T) {
	if os.Getenv(shardHelperEnv) == "1" {
		shardHelper(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestShardsByItself$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), shardHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestShardsByItself") {
		t.Fatalf("the subprocess at a 512 open-file limit: %v\n%s", err, out)
	}
}

func shardHelper(t *testing.T) {
	lim := unix.Rlimit{Cur: 512, Max: 512}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	// 1,000 connections and the built-in listener's ends: ~2,064 descriptors.
	s := specFromArgs(t, "-w", "hold", "-n", "1000", "--rate", "1000", "-d", "1s")
	obs := &said{}
	if err := s.planProcs(netip.AddrPort{}, obs); err != nil {
		t.Fatalf("without --procs: %v", err)
	}
	if s.procsN < 2 {
		t.Errorf("without --procs: %d process(es), want a split", s.procsN)
	}
	var lines []string
	for _, l := range obs.lines {
		if strings.Contains(l, "sharding over") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], fmt.Sprintf("sharding over %d processes by itself", s.procsN)) || !strings.Contains(lines[0], "512") {
		t.Errorf("want one line saying it shards over %d processes at the 512 limit; said %q", s.procsN, obs.lines)
	}

	one := specFromArgs(t, "-w", "hold", "-n", "1000", "--rate", "1000", "-d", "1s", "--procs", "1")
	if err := one.planProcs(netip.AddrPort{}, Discard); err != nil || one.procsN != 1 {
		t.Fatalf("--procs 1: %d processes, %v; want 1", one.procsN, err)
	}
	err := (&Plan{Variants: []Variant{{Spec: one}}}).check()
	if !IsUsage(err) || !strings.Contains(fmt.Sprint(err), "--procs auto") {
		t.Errorf("--procs 1 past the limit: %v; want the refusal naming --procs auto", err)
	}

	three := specFromArgs(t, "-w", "hold", "-n", "1000", "--rate", "1000", "-d", "1s", "--procs", "3")
	if err := three.planProcs(netip.AddrPort{}, Discard); err != nil || three.procsN != 3 {
		t.Errorf("--procs 3: %d processes, %v; want 3", three.procsN, err)
	}

	small := specFromArgs(t, "-w", "hold", "-n", "100", "--rate", "1000", "-d", "1s")
	if err := small.planProcs(netip.AddrPort{}, Discard); err != nil || small.procsN != 1 {
		t.Errorf("a hold that fits: %d processes, %v; want 1", small.procsN, err)
	}

	// A child never shards again: its parent did.
	child := specFromArgs(t, "-w", "hold", "-n", "1000", "--rate", "1000", "-d", "1s")
	child.Child = true
	if err := child.planProcs(netip.AddrPort{}, Discard); err != nil || child.procsN != 1 {
		t.Errorf("a child: %d processes, %v; want 1", child.procsN, err)
	}
}

// runHold runs a small hold against the built-in listener in this process
// and returns its run.
func runHold(t *testing.T, args ...string) results.Run {
	t.Helper()
	s := specFromArgs(t, append([]string{"-w", "hold", "-n", "200", "--rate", "4000", "-d", "100ms", "--loops", "1", "--listener-loops", "1"}, args...)...)
	p, err := NewPlan(s, netip.AddrPort{}, nil, Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	doc, err := p.Run(ctx, Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].Hold == nil {
		t.Fatalf("no hold run: %+v", doc.Runs)
	}
	return doc.Runs[0]
}

// timeWaitToward counts, apart from the run, the sockets in TIME_WAIT
// toward target.
func timeWaitToward(t *testing.T, target string) int {
	t.Helper()
	s, err := kernel.NewSampler()
	if err != nil {
		t.Skipf("sock_diag is not available here to count TIME_WAIT: %v", err)
	}
	defer s.Close()
	smp, err := s.Sample(kernel.Filter{Remote: netip.MustParseAddrPort(target), States: kernel.MaskOf(kernel.StateTimeWait)})
	if err != nil {
		t.Skipf("sock_diag cannot count here: %v", err)
	}
	return smp.States[kernel.StateTimeWait]
}

// TestHoldEndsClean: a hold resets its connections at the end by default
// and leaves no TIME_WAIT; --close fin closes them gracefully, and the
// TIME_WAIT sockets it leaves are counted in the result.
func TestHoldEndsClean(t *testing.T) {
	if _, err := kernel.NewSampler(); err != nil {
		t.Skipf("sock_diag is not available here to count TIME_WAIT: %v", err)
	}
	r := runHold(t)
	if r.Hold.Held != 200 {
		t.Fatalf("held %d of 200", r.Hold.Held)
	}
	var cfg workloads.Config
	if err := json.Unmarshal(r.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if r.Hold.Close != "rst" || cfg.Socket.Close.String() != "rst" {
		t.Errorf("default close: hold says %q, config %q; want rst", r.Hold.Close, cfg.Socket.Close)
	}
	if r.Hold.TimeWaitLeft != 0 {
		t.Errorf("default close left %d TIME_WAIT, want 0", r.Hold.TimeWaitLeft)
	}
	if n := timeWaitToward(t, r.Target); n != 0 {
		t.Errorf("default close: %d sockets in TIME_WAIT toward %s, want 0", n, r.Target)
	}

	r = runHold(t, "--close", "fin")
	if r.Hold.Close != "fin" {
		t.Errorf("--close fin: hold says %q", r.Hold.Close)
	}
	n := timeWaitToward(t, r.Target)
	if n == 0 || r.Hold.TimeWaitLeft <= 0 {
		t.Fatalf("--close fin: %d sockets in TIME_WAIT toward %s, the run counted %d; want some, counted", n, r.Target, r.Hold.TimeWaitLeft)
	}
	// Counted once the closes settled: what the run saw is there after it.
	if r.Hold.TimeWaitLeft > int64(n) || r.Hold.TimeWaitLeft > 200 {
		t.Errorf("--close fin: the run counted %d TIME_WAIT, %d are there (of 200 connections)", r.Hold.TimeWaitLeft, n)
	}
}

// TestSizeBacklog: the built-in listener's backlog is a second of the
// arrivals its sockets are offered, capped at somaxconn with a note
// naming it; --backlog given is left alone.
func TestSizeBacklog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		reuse     bool
		loops     int
		somaxconn string
		want      int
		note      bool
	}{
		{"a slow rate: the default", []string{"-w", "hold", "-n", "10", "--rate", "1"}, false, 1, "4096", listener.DefaultBacklog, false},
		{"a second of 20,000/s", []string{"-w", "hold", "-n", "10", "--rate", "20000"}, false, 1, "65535", 20000, false},
		{"somaxconn is the limit", []string{"-w", "hold", "-n", "10", "--rate", "20000"}, false, 1, "4096", 4096, true},
		{"SO_REUSEPORT: each socket its share", []string{"-w", "hold", "-n", "10", "--rate", "40000"}, true, 4, "65535", 10000, false},
		{"a ramp sized for its top", []string{"-w", "hold", "-n", "10", "--rate", "1000:30000", "-d", "2s"}, false, 1, "65535", 30000, false},
		{"--backlog given", []string{"-w", "hold", "-n", "10", "--rate", "20000", "--backlog", "100"}, false, 1, "4096", 100, false},
		{"closed loop: left alone", []string{"-w", "per-request"}, false, 1, "4096", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := specFromArgs(t, tc.args...)
			lc := s.ListenerConfig()
			lc.ReusePort, lc.Loops = tc.reuse, tc.loops
			note := s.sizeBacklog(&lc, map[string]string{"net.core.somaxconn": tc.somaxconn})
			if lc.Backlog != tc.want {
				t.Errorf("backlog %d, want %d", lc.Backlog, tc.want)
			}
			if (note != "") != tc.note || (tc.note && !strings.Contains(note, "net.core.somaxconn")) {
				t.Errorf("note %q, want one naming net.core.somaxconn: %v", note, tc.note)
			}
		})
	}
}

// TestWholeConfig: the merged document of a --procs run echoes the whole
// run's rate, connections and bounds, not process 1's share.
func TestWholeConfig(t *testing.T) {
	s := specFromArgs(t, "-w", "hold", "-n", "200000", "--rate", "20000", "-d", "2s")
	s.procsN = 6
	child := s.childSpec(0, time.Now())
	if err := child.Validate(); err != nil {
		t.Fatal(err)
	}
	child.holdDefaults()
	target := netip.MustParseAddrPort("127.0.0.1:9")
	share, _ := json.Marshal(child.Config("hold", target))
	doc := &results.Document{Runs: []results.Run{{Config: share, Schedule: &results.Schedule{RatePerSec: child.Rate.Start}}}}
	s.wholeConfig(doc, target)
	var got workloads.Config
	if err := json.Unmarshal(doc.Runs[0].Config, &got); err != nil {
		t.Fatal(err)
	}
	if got.Rate != 20000 || got.Requests != 200000 || got.MaxInflight != s.MaxInflight || got.Concurrency != s.Concurrency {
		t.Errorf("merged config: rate %v, requests %d, max_inflight %d, concurrency %d; want 20000, 200000, %d, %d",
			got.Rate, got.Requests, got.MaxInflight, got.Concurrency, s.MaxInflight, s.Concurrency)
	}
	if got.Socket.Close.String() != "rst" || got.Workload != "hold" {
		t.Errorf("the rest of the config lost: %s", doc.Runs[0].Config)
	}
	if r := doc.Runs[0].Schedule.RatePerSec; r != 20000 {
		t.Errorf("schedule rate %v, want 20000", r)
	}
}
