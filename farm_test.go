package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// farm is a server network namespace joined by a veth pair to each of
// gens generator namespaces (198.18.I.2 on generator I's side, 198.18.I.1
// on the server's, a default route back), all made for one test and
// removed after it, with the processes it started in them.
type farm struct {
	t      *testing.T
	server string
	gens   []string
}

// farmAddr is the server's address every generator reaches it by.
const farmAddr = "198.18.0.1"

func newFarm(t *testing.T, gens int) *farm {
	t.Helper()
	needRoot(t)
	for _, tool := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	f := &farm{t: t, server: fmt.Sprintf("cbfarm%ds", os.Getpid())}
	f.ns(f.server)
	for i := 0; i < gens; i++ {
		g := fmt.Sprintf("cbfarm%dg%d", os.Getpid(), i)
		f.ns(g)
		f.gens = append(f.gens, g)
		peer := fmt.Sprintf("cbf%d", i)
		f.ip("link", "add", "cbg", "netns", g, "type", "veth", "peer", "name", peer, "netns", f.server)
		f.ip("-n", g, "addr", "add", fmt.Sprintf("198.18.%d.2/24", i), "dev", "cbg")
		f.ip("-n", f.server, "addr", "add", fmt.Sprintf("198.18.%d.1/24", i), "dev", peer)
		f.ip("-n", g, "link", "set", "cbg", "up")
		f.ip("-n", f.server, "link", "set", peer, "up")
		if i > 0 {
			f.ip("-n", g, "route", "add", "default", "via", fmt.Sprintf("198.18.%d.1", i))
		}
	}
	return f
}

// ns makes a namespace with loopback up, removed when the test ends
// (its veth pairs go with it).
func (f *farm) ns(name string) {
	f.t.Helper()
	f.ip("netns", "add", name)
	f.t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	f.ip("-n", name, "link", "set", "lo", "up")
}

func (f *farm) ip(args ...string) {
	f.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		f.t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
	}
}

// start starts this test binary as connbench in namespace ns (nsenter
// execs it: the PID is connbench's), killed by its PID when the test ends
// if it still runs.
func (f *farm) start(ns string, args ...string) *exec.Cmd {
	f.t.Helper()
	self, err := os.Executable()
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + ns, self}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	cmd.Stderr = os.Stderr
	return cmd
}

func (f *farm) run(cmd *exec.Cmd) {
	f.t.Helper()
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
	})
}

// TestFarmSegmentsEqualOneGenerator runs one open-loop run (-n, --rate)
// from one generator, then the same run as 4 segments from 4 generator
// processes in 4 namespaces starting together, against one `connbench
// serve` in a server namespace. The merge of the 4 must have the single
// run's connection and transaction counts exactly, about its starts per
// interval (the schedules interleave: not 4 bursts at the same instants),
// and, per phase, the histogram that merging the 4 parts' histograms gives.
func TestFarmSegmentsEqualOneGenerator(t *testing.T) {
	const gens, rate, n = 4, 400, 800
	f := newFarm(t, gens)
	srv := f.start(f.server, "serve", "--loops", "1", farmAddr+":9000")
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f.run(srv)
	if line, _ := bufio.NewReader(out).ReadString('\n'); !strings.Contains(line, "listening on") {
		t.Fatalf("serve: %q", line)
	}
	dir := t.TempDir()
	flags := []string{"run", "-w", "per-request", "--rate", strconv.Itoa(rate), "-n", strconv.Itoa(n),
		"--interval", "500ms", "--loops", "1", "-q", "--run-id", "farm"}
	startAt := func() string {
		return strconv.FormatFloat(float64(time.Now().Add(1500*time.Millisecond).UnixNano())/1e9, 'f', 3, 64)
	}

	one := filepath.Join(dir, "one.json")
	c := f.start(f.gens[0], append(flags, "--start-at", startAt(), "-o", one, farmAddr+":9000")...)
	f.run(c)
	if err := c.Wait(); err != nil {
		t.Fatalf("the single generator: %v", err)
	}

	at := startAt()
	var files []string
	var cmds []*exec.Cmd
	for i, g := range f.gens {
		p := filepath.Join(dir, fmt.Sprintf("seg%d.json", i))
		files = append(files, p)
		c := f.start(g, append(flags, "--start-at", at, "--segment", fmt.Sprintf("%d/%d", i, gens), "-o", p, farmAddr+":9000")...)
		f.run(c)
		cmds = append(cmds, c)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("generator %d: %v", i, err)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	if code, _, stderr := connbench(t, append([]string{"merge", "-o", merged}, files...)...); code != exitOK {
		t.Fatalf("merge: %d %s", code, stderr)
	}
	// Three of four is refused, naming the missing one.
	if code, _, stderr := connbench(t, append([]string{"merge", "-o", filepath.Join(dir, "x.json")}, files[:3]...)...); code == exitOK || !strings.Contains(stderr, "missing: 3/4") {
		t.Errorf("merge of 3 of 4: exit %d, %q", code, stderr)
	}

	w := readDoc(t, one).Runs[0]
	md := readDoc(t, merged)
	m := md.Runs[0]
	if md.RunID != "farm" || md.Segment == nil || strings.Join(md.Segment.Parts, ",") != "0/4:4/4" || md.Partial {
		t.Errorf("merged document: run id %q segment %+v partial %v", md.RunID, md.Segment, md.Partial)
	}
	if w.Counts.Transactions != n || w.FailuresTotal != 0 {
		t.Fatalf("the single generator made %d transactions with %d failures (%v), want %d without", w.Counts.Transactions, w.FailuresTotal, w.Failures, n)
	}
	if m.Counts.Connections != w.Counts.Connections || m.Counts.Transactions != w.Counts.Transactions || m.FailuresTotal != w.FailuresTotal {
		t.Errorf("merged counts %+v (failures %d), the single generator's %+v (failures %d)", m.Counts, m.FailuresTotal, w.Counts, w.FailuresTotal)
	}

	// Starts per interval: each interval's start_lag samples are the
	// transactions started in it. The segments' intervals begin a few
	// milliseconds apart (each its own start): allow each generator one
	// start either side of a boundary at this rate, and 2% for a loaded
	// machine's late starts.
	starts := func(r results.Run) []int64 {
		var s []int64
		for _, iv := range r.Series {
			if !iv.Warmup {
				s = append(s, iv.Phases["start_lag"].Count)
			}
		}
		return s
	}
	ws, ms := starts(w), starts(m)
	t.Logf("starts per 500 ms interval: one generator %v, 4 segments merged %v", ws, ms)
	// Only a run that kept its schedule starts what the schedule says
	// per interval: on a machine too loaded for that (a start lag of a
	// tenth of the interval), the comparison says nothing about segments.
	const keep = 50 * time.Millisecond
	if lw, lm := time.Duration(w.Phases["start_lag"].P99Ns), time.Duration(m.Phases["start_lag"].P99Ns); lw > keep || lm > keep {
		t.Logf("starts per interval not compared: the machine was too loaded to keep the schedule (start lag p99 %s alone, %s in segments; over %s)", lw, lm, keep)
	} else {
		slack := int64(gens + rate/2*2/100)
		for k := 0; k < min(len(ws), len(ms))-1; k++ {
			if d := ms[k] - ws[k]; d > slack || d < -slack {
				t.Errorf("interval %d: %d starts merged, %d from one generator (allowed ±%d)", k, ms[k], ws[k], slack)
			}
		}
	}

	// Each merged phase is the exact merge of the parts' histograms.
	var parts []results.Run
	for _, p := range files {
		parts = append(parts, readDoc(t, p).Runs[0])
	}
	for name, ph := range m.Phases {
		got, err := ph.Recorder()
		if err != nil {
			t.Fatal(err)
		}
		want := histogram.New()
		for _, p := range parts {
			r, err := p.Phases[name].Recorder()
			if err != nil {
				t.Fatal(err)
			}
			want.Merge(r)
		}
		if !got.Hist().Equals(want.Hist()) || got.Count() != want.Count() {
			t.Errorf("phase %s: merged histogram (%d values) is not the merge of the parts' (%d)", name, got.Count(), want.Count())
		}
	}
	tx, wtx := m.Phases["transaction"], w.Phases["transaction"]
	t.Logf("1 generator: %d connections, %d transactions, transaction p50 %s p99 %s; 4 segments merged: %d connections, %d transactions, p50 %s p99 %s",
		w.Counts.Connections, w.Counts.Transactions, time.Duration(wtx.P50Ns), time.Duration(wtx.P99Ns),
		m.Counts.Connections, m.Counts.Transactions, time.Duration(tx.P50Ns), time.Duration(tx.P99Ns))
}

func readDoc(t *testing.T, p string) *results.Document {
	t.Helper()
	d, err := results.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 1 {
		t.Fatalf("%s: %d runs", p, len(d.Runs))
	}
	return d
}
