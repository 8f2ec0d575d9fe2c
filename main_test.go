package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
)

// mainEnv makes the test binary act as the connbench command: the
// subprocess tests re-execute it with this variable set and the command's
// arguments, which never reach the testing package's flag parsing.
const mainEnv = "CONNBENCH_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" || (len(os.Args) > 1 && os.Args[1] == runner.ChildCommand) {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// cli runs the command in-process and returns its exit code and output.
func connbench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(args, &o, &e)
	return code, o.String(), e.String()
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // substrings of the one stderr line
	}{
		{[]string{"run", "--concurrency", "0"}, []string{"--concurrency", "0"}},
		{[]string{"run", "-c", "-3"}, []string{"--concurrency", "-3"}},
		{[]string{"run", "-w", "nope"}, []string{"--workload", `"nope"`}},
		{[]string{"run", "--close", "maybe"}, []string{"--close", `"maybe"`}},
		{[]string{"run", "--source", "10.0.0.x"}, []string{"--source", "10.0.0.x"}},
		{[]string{"run", "--local-port-range", "5-1"}, []string{"--local-port-range", `"5-1"`}},
		{[]string{"run", "--local-port-range", "1000"}, []string{"--local-port-range", `"1000"`}},
		{[]string{"run", "--duration", "-1s"}, []string{"--duration"}},
		{[]string{"run", "-d", "0"}, []string{"--duration 0", "--requests"}},
		{[]string{"run", "--request-size", "0"}, []string{"--request-size"}},
		{[]string{"run", "127.0.0.1:99999"}, []string{"127.0.0.1:99999", "port"}},
		{[]string{"run", "127.0.0.1:0"}, []string{"127.0.0.1:0", "port"}},
		{[]string{"run", "127.0.0.1"}, []string{"127.0.0.1", "HOST:PORT"}},
		{[]string{"run", "0.0.0.0:80"}, []string{"0.0.0.0"}},
		{[]string{"run", "--rtt", "-5ms"}, []string{"--rtt", "-5ms"}},
		{[]string{"run", "--loss", "150%"}, []string{"--loss", `"150%"`}},
		{[]string{"run", "--drop-syn", "x"}, []string{"--drop-syn", `"x"`}},
		{[]string{"run", "--rate-limit", "fast"}, []string{"--rate-limit", `"fast"`}},
		{[]string{"run", "--fastopen=maybe"}, []string{"--fastopen", `"maybe"`}},
		{[]string{"run", "-w", "connect", "--fastopen"}, []string{"--fastopen", "connect"}},
		{[]string{"run", "--accept-pause", "soon"}, []string{"--accept-pause", `"soon"`}},
		{[]string{"run", "--rtt", "10ms", "--procs", "2"}, []string{"--procs", "emulated path"}},
		{[]string{"run", "--rtt", "10ms", "127.0.0.1:1"}, []string{"emulated path", "127.0.0.1:1"}},
		{[]string{"run", "--request", "@/nonexistent"}, []string{"--request", "/nonexistent"}},
		{[]string{"run", "a:1", "b:2"}, []string{"one target", "a:1", "b:2"}},
		{[]string{"frob"}, []string{`"frob"`, "unknown command"}},
		{[]string{"--frobnicate"}, []string{"--frobnicate"}},
		{[]string{"run", "--frobnicate"}, []string{"--frobnicate", "run --help"}},
		{[]string{"--concurrency", "0"}, []string{"--concurrency"}},
		{[]string{"-d", "1s", "extra"}, []string{`"extra"`}},
		{[]string{"serve", "--mode", "x"}, []string{"--mode", `"x"`}},
		{[]string{"serve", "--response-size", "0"}, []string{"--response-size"}},
		{[]string{"serve", "a", "b"}, []string{"one address"}},
		{[]string{"serve", "127.0.0.1:70000"}, []string{"70000"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := connbench(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
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
		})
	}
}

func TestOutputNotWritable(t *testing.T) {
	t.Run("missing root directory", func(t *testing.T) {
		const path = "/nonexistent-dir/x.json"
		code, stdout, stderr := connbench(t, "run", "-o", path, "-n", "10")
		if code != exitFailure {
			t.Errorf("exit code %d, want %d", code, exitFailure)
		}
		if stdout != "" {
			t.Errorf("stdout not empty (did a run start?): %q", stdout)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, path) || !strings.Contains(stderr, "--output") {
			t.Errorf("stderr is not one line naming --output and %s: %q", path, stderr)
		}
		if _, err := os.Stat("/nonexistent-dir"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("/nonexistent-dir exists after the run: %v", err)
		}
	})
	t.Run("missing subdirectory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "missing", "x.json")
		code, stdout, stderr := connbench(t, "run", "-o", path, "-n", "10")
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, path) {
			t.Errorf("exit %d, stdout %q, stderr %q: want exit %d, nothing on stdout, %s named", code, stdout, stderr, exitFailure, path)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("left in %s: %v", dir, ents)
		}
	})
	t.Run("output is a directory", func(t *testing.T) {
		dir := t.TempDir()
		code, stdout, stderr := connbench(t, "-o", dir, "-d", "100ms")
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, "is a directory") {
			t.Errorf("exit %d, stdout %q, stderr %q: want exit %d, nothing on stdout, \"is a directory\"", code, stdout, stderr, exitFailure)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("left in %s: %v", dir, ents)
		}
	})
}

// closedPort returns a loopback port nothing listens on (it was free a
// moment ago; another process could take it, which is unlikely).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestClosedPort(t *testing.T) {
	target := closedPort(t)

	code, stdout, stderr := connbench(t, "run", target, "-n", "10")
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if stdout != "" {
		t.Errorf("stdout not empty (did the load run?): %q", stdout)
	}
	for _, w := range []string{"connection refused", "--no-check", target} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not mention %q", stderr, w)
		}
	}

	out := filepath.Join(t.TempDir(), "refused.json")
	code, stdout, stderr = connbench(t, "run", target, "-n", "10", "--no-check", "-o", out)
	if code != exitOK {
		t.Fatalf("--no-check: exit code %d, want 0; stderr %q", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(doc.Runs))
	}
	r := doc.Runs[0]
	if want := map[string]int64{"ECONNREFUSED": 10}; !reflect.DeepEqual(r.Failures, want) {
		t.Errorf("failures %v, want %v", r.Failures, want)
	}
	if r.FailuresTotal != 10 || r.Counts.Transactions != 0 || r.Counts.Connections != 0 {
		t.Errorf("failures_total %d, counts %+v: want 10 failures and nothing else", r.FailuresTotal, r.Counts)
	}
	if r.BuiltinListener || r.Listener != nil || r.Target != target {
		t.Errorf("run against %s: builtin_listener %v, listener %+v, target %q", target, r.BuiltinListener, r.Listener, r.Target)
	}
	if !strings.Contains(stdout, "ECONNREFUSED") {
		t.Errorf("table does not show the failure class:\n%s", stdout)
	}
}

func TestRunPerRequest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	hgrm := filepath.Join(t.TempDir(), "r.hgrm")
	code, stdout, stderr := connbench(t, "run", "-n", "200", "-c", "4", "-o", out, "--hgrm", hgrm, "--quiet")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet run printed on stderr: %q", stderr)
	}
	if !strings.Contains(stdout, "per-request") || !strings.Contains(stdout, "transactions") {
		t.Errorf("table lacks the run:\n%s", stdout)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Schema != results.Schema || doc.Partial || len(doc.Runs) != 1 {
		t.Fatalf("schema %q, partial %v, %d runs", doc.Schema, doc.Partial, len(doc.Runs))
	}
	r := doc.Runs[0]
	if r.Label != "per-request" || r.Workload != "per-request" || !r.BuiltinListener || r.Partial {
		t.Errorf("run label %q workload %q builtin %v partial %v", r.Label, r.Workload, r.BuiltinListener, r.Partial)
	}
	if r.Counts.Transactions != 200 || r.Counts.Connections != 200 || r.FailuresTotal != 0 {
		t.Errorf("counts %+v, failures %v: want 200 transactions on 200 connections", r.Counts, r.Failures)
	}
	if r.Listener == nil {
		t.Fatal("no listener stats for a run against the built-in listener")
	}
	if r.Listener.Accepted != 200 || r.Listener.Requests != 200 {
		t.Errorf("listener accepted %d, answered %d: want 200 each", r.Listener.Accepted, r.Listener.Requests)
	}
	for _, ph := range []string{"handshake", "first_byte", "response", "transaction"} {
		p, ok := r.Phases[ph]
		if !ok || p.Count != 200 {
			t.Errorf("phase %s: %+v, want count 200", ph, p.Summary)
			continue
		}
		if p.MinNs <= 0 || p.P50Ns < p.MinNs || p.MaxNs < p.P999Ns {
			t.Errorf("phase %s: implausible summary %+v", ph, p.Summary)
		}
	}
	// A per-request transaction includes its handshake.
	if r.Phases["transaction"].MaxNs < r.Phases["handshake"].MinNs {
		t.Errorf("transaction max %d below handshake min %d", r.Phases["transaction"].MaxNs, r.Phases["handshake"].MinNs)
	}
	if r.DurationNs <= 0 || r.Rates.TransactionsPerSec <= 0 {
		t.Errorf("duration %d ns, %v transactions/s", r.DurationNs, r.Rates.TransactionsPerSec)
	}
	// --hgrm: one percentile block per recorded phase, each ending at the
	// 100% row with the phase's full count.
	b, err := os.ReadFile(hgrm)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(strings.TrimSpace(string(b)), "\n\n\n")
	if len(blocks) != len(r.Phases) {
		t.Errorf("--hgrm has %d blocks, the run %d phases", len(blocks), len(r.Phases))
	}
	for _, bl := range blocks {
		lines := strings.Split(bl, "\n")
		var last string
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 3 && f[1] == "1.000000000000" {
				last = f[2]
			}
		}
		if last != "200" {
			t.Errorf("--hgrm block %q: 100%% row count %q, want 200", lines[0], last)
		}
	}
}

// The document records the command line that made it, so that it can be
// run again: for `connbench run` that includes the word run.
func TestRecordedCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.json")
	args := []string{"run", "-n", "10", "-c", "2", "-o", out, "--quiet"}
	if code, _, stderr := connbench(t, args...); code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]string{"connbench"}, args...); !reflect.DeepEqual(doc.Command, want) {
		t.Errorf("command %q, want %q", doc.Command, want)
	}
}

func TestMainJob(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.json")
	code, stdout, stderr := connbench(t, "-d", "300ms", "-c", "4", "-o", out, "--quiet")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "Pooling gives") {
		t.Errorf("no headline:\n%s", stdout)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range doc.Runs {
		labels = append(labels, r.Label)
		if r.Counts.Transactions <= 0 || r.DurationNs <= 0 {
			t.Errorf("run %s: %d transactions in %d ns", r.Label, r.Counts.Transactions, r.DurationNs)
		}
		if r.Workload != r.Label {
			t.Errorf("run %s has workload %s", r.Label, r.Workload)
		}
	}
	if want := []string{"connbench", "-d", "300ms", "-c", "4", "-o", out, "--quiet"}; !reflect.DeepEqual(doc.Command, want) {
		t.Errorf("command %q, want %q", doc.Command, want)
	}
	if want := []string{"pooled", "per-request"}; !reflect.DeepEqual(labels, want) {
		t.Fatalf("runs %q, want %q", labels, want)
	}
	// Pooled connections are opened once: at most -c of them.
	if c := doc.Runs[0].Counts.Connections; c > 4 {
		t.Errorf("pooled run opened %d connections with -c 4", c)
	}
	if doc.Runs[1].Counts.Connections < doc.Runs[1].Counts.Transactions {
		t.Errorf("per-request: %d connections for %d transactions", doc.Runs[1].Counts.Connections, doc.Runs[1].Counts.Transactions)
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:", "connbench run", "Flags:", "--duration", "--output"}},
		{[]string{"-h"}, []string{"Usage:", "Flags:"}},
		{[]string{"help"}, []string{"Usage:", "Flags:"}},
		{[]string{"run", "--help"}, []string{"Usage: connbench run", "Examples:", "connbench run -w", "--workload", "--no-check"}},
		{[]string{"help", "run"}, []string{"Usage: connbench run", "Examples:"}},
		{[]string{"serve", "--help"}, []string{"Usage: connbench serve", "Examples:", "connbench serve :9000", "--mode"}},
		{[]string{"help", "serve"}, []string{"Usage: connbench serve", "Examples:"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := connbench(t, tc.args...)
			if code != exitOK {
				t.Errorf("exit code %d, want 0", code)
			}
			if stderr != "" {
				t.Errorf("stderr not empty: %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
	code, stdout, _ := connbench(t, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "connbench "+runner.Version) {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}

// With -o -, stdout is the JSON document, so that it can be piped into a
// JSON tool.
func TestOutputStdoutIsJSON(t *testing.T) {
	code, stdout, stderr := connbench(t, "run", "-n", "20", "-c", "2", "-o", "-", "--quiet")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	doc, err := results.Decode(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("stdout of -o - is not a result document: %v\n%s", err, stdout)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].Counts.Transactions != 20 {
		t.Errorf("document on stdout: %+v", doc.Runs)
	}
}

// The listener's figures cover the measured part only, like the client's:
// the warm-up is not in them.
func TestWarmupNotInListenerCounts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "w.json")
	code, _, stderr := connbench(t, "run", "-n", "200", "-c", "4", "--warmup", "200ms", "-o", out, "--quiet")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := doc.Runs[0]
	if r.Counts.Transactions != 200 {
		t.Fatalf("transactions %d, want 200", r.Counts.Transactions)
	}
	// The listener is snapshotted when the measured part begins, by a
	// timer: connections in flight then, and those made while the timer
	// fires, fall on either side. Before the fix the warm-up's thousands
	// were all counted.
	if a := r.Listener.Accepted; a < 150 || a > 250 {
		t.Errorf("listener accepted %d connections for 200 measured transactions (-c 4): the warm-up is counted", a)
	}
}

// listenerPort is the built-in listener's port in a progress line.
var listenerPort = regexp.MustCompile(`the built-in listener [^ ]*:(\d+),`)

// timeWaitTo counts TIME_WAIT sockets whose remote port is port: each is a
// connection the client closed after its transaction.
func timeWaitTo(port int) int {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || fs[3] != "06" {
				continue
			}
			_, p, ok := strings.Cut(fs[2], ":")
			if v, err := strconv.ParseUint(p, 16, 16); ok && err == nil && int(v) == port {
				n++
			}
		}
	}
	return n
}

func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.json")
	cmd := exec.Command(os.Args[0], "run", "-d", "30s", "-c", "4", "-o", out)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill() // our child, by PID
			<-exited
		}
	})

	var mu sync.Mutex
	var stderr strings.Builder
	lines := make(chan string, 100)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			mu.Lock()
			stderr.WriteString(sc.Text() + "\n")
			mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		cmd.Wait()
	}()
	errText := func() string { mu.Lock(); defer mu.Unlock(); return stderr.String() }

	// Wait for the run to start ...
	port := 0
	deadline := time.After(10 * time.Second)
	for port == 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the child ended before the run started; stderr:\n%s", errText())
			}
			if strings.HasPrefix(l, "connbench: per-request against") {
				m := listenerPort.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("no listener port in %q", l)
				}
				port, _ = strconv.Atoi(m[1])
			}
		case <-deadline:
			t.Fatalf("no progress line within 10 s; stderr:\n%s", errText())
		}
	}
	// ... and for transactions to have completed (their closed client
	// sockets sit in TIME_WAIT), so the partial result has some.
	for end := time.Now().Add(10 * time.Second); timeWaitTo(port) < 20; {
		if time.Now().After(end) {
			t.Fatalf("no completed connections to port %d within 10 s; stderr:\n%s", port, errText())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the child did not exit within 20 s of SIGINT; stderr:\n%s", errText())
	}

	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code %d (%v), want %d", code, cmd.ProcessState, exitInterrupted)
	}
	if !strings.Contains(errText(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", errText())
	}
	if !strings.Contains(stdout.String(), "(partial)") {
		t.Errorf("table does not mark the run partial:\n%s", stdout.String())
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatalf("partial result: %v", err)
	}
	if !doc.Partial || len(doc.Runs) != 1 || !doc.Runs[0].Partial {
		t.Fatalf("document partial %v, %d runs, want one partial run", doc.Partial, len(doc.Runs))
	}
	r := doc.Runs[0]
	if r.Counts.Transactions <= 0 {
		t.Errorf("partial run has %d transactions", r.Counts.Transactions)
	}
	if r.DurationNs <= 0 || r.DurationNs >= int64(30*time.Second) {
		t.Errorf("partial run lasted %d ns; it was stopped well before 30 s", r.DurationNs)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%s holds %v, want only p.json", dir, ents)
	}
}

func openFDs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list descriptors: %v", err)
	}
	var out []string
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		out = append(out, e.Name()+" -> "+target)
	}
	return out
}

// ours lists the goroutines, other than the caller and the test binary's
// main goroutine, running code of this module or its signal handling.
var oursRE = regexp.MustCompile(`(?m)^(github\.com/connbench/connbench[./]|os/signal\.NotifyContext)`)

func ours() []string {
	buf := make([]byte, 1<<20)
	blocks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	var out []string
	for _, b := range blocks[1:] { // blocks[0] is the caller
		if oursRE.MatchString(b) && !strings.Contains(b, "testing.(*M).Run(") {
			out = append(out, b)
		}
	}
	return out
}

// settle waits until no goroutine of ours is left, then returns how many
// goroutines there are.
func settle(t *testing.T) int {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		left := ours()
		if len(left) == 0 {
			return runtime.NumGoroutine()
		}
		if time.Now().After(end) {
			t.Errorf("goroutines left running 5 s after the run:\n%s", strings.Join(left, "\n\n"))
			return runtime.NumGoroutine()
		}
	}
}

func TestRunLeaksNothing(t *testing.T) {
	args := []string{"run", "-n", "100", "-c", "4", "--quiet"}
	// The first run starts what lives as long as the process (the signal
	// watcher of os/signal).
	if code, _, stderr := connbench(t, args...); code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	g0 := settle(t)
	fd0 := openFDs(t)

	if code, _, stderr := connbench(t, args...); code != exitOK {
		t.Fatalf("exit code %d; stderr %q", code, stderr)
	}
	fd1 := openFDs(t)
	g1 := settle(t)

	if len(fd1) != len(fd0) {
		t.Errorf("%d descriptors open before the run, %d after\nbefore: %q\nafter:  %q", len(fd0), len(fd1), fd0, fd1)
	}
	if g1 != g0 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the run, %d after:\n%s", g0, g1, buf[:runtime.Stack(buf, true)])
	}
}

// TestStartAt: --start-at in the past starts at once; bad times are usage
// errors naming the flag; the run starts no earlier than asked.
func TestStartAt(t *testing.T) {
	at := time.Now().Add(300 * time.Millisecond)
	code, _, stderr := connbench(t, "run", "-n", "5", "--start-at", at.Format(time.RFC3339Nano), "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if time.Now().Before(at) {
		t.Error("run ended before --start-at")
	}
	for _, bad := range []string{"tomorrow", "-5", time.Now().Add(48 * time.Hour).Format(time.RFC3339)} {
		code, _, stderr := connbench(t, "run", "-n", "5", "--start-at", bad)
		if code != exitUsage || !strings.Contains(stderr, "--start-at") {
			t.Errorf("--start-at %q: exit %d, %q", bad, code, stderr)
		}
	}
}
