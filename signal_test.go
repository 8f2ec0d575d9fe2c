package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
	"golang.org/x/sys/unix"
)

// silentServer accepts connections on 127.0.0.1 and never answers: every
// transaction on them waits for ever unless it has a timeout. accepted
// receives once per accepted connection.
func silentServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan struct{}, 1024)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case acc <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), acc
}

// subprocess starts this test binary as connbench with args; it is killed
// (by its PID) at cleanup if it still runs. The returned channel is closed
// when it has exited.
func subprocess(t *testing.T, args ...string) (*exec.Cmd, *lockedBuffer, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	return cmd, stderr, exited
}

// lockedBuffer is a bytes.Buffer a child's output may be copied into while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSignalEndsStuckRun: against a server that never answers, with no
// timeout (--timeout 0) and a request count that will never be reached, a
// single SIGINT, SIGTERM or SIGHUP ends the run (it used to wait for ever
// for the transactions in flight), with the shell's 128+signal exit code
// and the document written, flagged partial.
func TestSignalEndsStuckRun(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
		{syscall.SIGHUP, 129},
	} {
		t.Run(unix.SignalName(tc.sig), func(t *testing.T) {
			addr, accepted := silentServer(t)
			out := filepath.Join(t.TempDir(), "r.json")
			cmd, stderr, exited := subprocess(t, "run", "-w", "pooled", "-c", "2", "-n", "100000000",
				"--timeout", "0", "--no-check", "-o", out, addr)
			// Both connections open: the run is under way, its signal
			// handler installed (before the first connection is made).
			waitAccepted(t, accepted, exited, stderr, 2, 10*time.Second)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			// The bound is about not hanging, not about speed.
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10 s after %s", unix.SignalName(tc.sig))
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d (%v), want %d; stderr:\n%s", code, cmd.ProcessState, tc.code, stderr)
			}
			doc, err := results.ReadFile(out)
			if err != nil {
				t.Fatalf("no result after %s: %v", unix.SignalName(tc.sig), err)
			}
			if !doc.Partial || len(doc.Runs) != 1 || !doc.Runs[0].Partial {
				t.Errorf("document partial %v with %d runs, want one partial run", doc.Partial, len(doc.Runs))
			}
		})
	}
}

// childrenOf waits for n processes whose parent is ppid and whose command
// line holds want, and returns their PIDs in increasing order.
func childrenOf(t *testing.T, ppid int, want string, n int, exited <-chan struct{}) []int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var found []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces; split after ')'.
			f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
			if len(f) < 2 || f[1] != strconv.Itoa(ppid) {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if bytes.Contains(cmdline, []byte(want)) {
				found = append(found, pid)
			}
		}
		if len(found) >= n {
			sort.Ints(found)
			return found[:n]
		}
		select {
		case <-exited:
			t.Fatalf("the parent ended before its child %q appeared", want)
		case <-time.After(10 * time.Millisecond): // polling /proc, bounded
		}
	}
	t.Fatalf("no %d children of %d with %q in their command line within 20 s", n, ppid, want)
	return nil
}

// childOf is the one child of ppid whose command line holds want.
func childOf(t *testing.T, ppid int, want string, exited <-chan struct{}) int {
	t.Helper()
	return childrenOf(t, ppid, want, 1, exited)[0]
}

// TestProcsChildKilled: with --procs 2, SIGKILL to one client process does
// not lose the other's result: the merged document is written, flagged
// partial, and names the lost process and how it ended; the exit code is 1
// (the run failed in part), and the run left no file behind.
func TestProcsChildKilled(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out := filepath.Join(t.TempDir(), "m.json")
	cmd, stderr, exited := subprocess(t, "run", "-w", "pooled", "-c", "4", "-d", "2s", "--procs", "2", "-o", out, "--quiet")
	victim := childrenOf(t, cmd.Process.Pid, runner.ChildCommand, 2, exited)[1]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil { // the test's own grandchild
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the --procs parent did not end within 30 s; stderr:\n%s", stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitFailure {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatalf("no merged result: %v; stderr:\n%s", err, stderr)
	}
	if !doc.Partial || len(doc.Runs) != 1 || !doc.Runs[0].Partial {
		t.Fatalf("document partial %v with %d runs, want one partial run", doc.Partial, len(doc.Runs))
	}
	r := doc.Runs[0]
	want := fmt.Sprintf(" of 2 (pid %d) was killed by SIGKILL", victim)
	found := false
	for _, n := range r.Notes {
		found = found || strings.Contains(n, want)
	}
	if !found {
		t.Errorf("no note says %q: %q", want, r.Notes)
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr)
	}
	if r.Counts.Transactions <= 0 || r.Counts.Connections != 2 {
		t.Errorf("merged: %d transactions over %d connections, want the surviving process's (> 0, 2)", r.Counts.Transactions, r.Counts.Connections)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("files left behind in the temporary directory: %v", left)
	}
}

// TestProcsListenerKilled: with --procs against the built-in listener, a
// listener process that dies mid-run is named in the merged result, which
// is flagged partial.
func TestProcsListenerKilled(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	out := filepath.Join(t.TempDir(), "m.json")
	cmd, stderr, exited := subprocess(t, "run", "-w", "pooled", "-c", "4", "-d", "2s", "--procs", "2", "-o", out, "--quiet")
	childrenOf(t, cmd.Process.Pid, runner.ChildCommand, 2, exited) // the listener is up before the clients start
	victim := childOf(t, cmd.Process.Pid, "serve", exited)
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the --procs parent did not end within 30 s; stderr:\n%s", stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitFailure {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatalf("no merged result: %v; stderr:\n%s", err, stderr)
	}
	want := fmt.Sprintf("listener process 1 of 1 (pid %d) was killed by SIGKILL", victim)
	if !doc.Partial || len(doc.Runs) != 1 || !strings.Contains(strings.Join(doc.Runs[0].Notes, "\n"), want) {
		t.Errorf("document partial %v, notes %q; want partial and a note saying %q", doc.Partial, doc.Runs[0].Notes, want)
	}
}

// TestProcsSignalForwarded: SIGTERM to a --procs parent reaches its
// children, which stop and write what they have: the parent merges it,
// flagged partial, and exits 143.
func TestProcsSignalForwarded(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	addr, accepted := silentServer(t)
	out := filepath.Join(t.TempDir(), "m.json")
	cmd, stderr, exited := subprocess(t, "run", "-w", "pooled", "-c", "2", "-n", "100000000", "--timeout", "0",
		"--procs", "2", "--no-check", "-o", out, "--quiet", addr)
	waitAccepted(t, accepted, exited, stderr, 2, 20*time.Second) // one connection from each child: both are running
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM; stderr:\n%s", stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Errorf("exit %d, want 143; stderr:\n%s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatalf("no merged result: %v; stderr:\n%s", err, stderr)
	}
	if !doc.Partial || len(doc.Runs) != 1 || doc.Runs[0].Counts.Connections != 2 {
		t.Errorf("document partial %v, %d runs; want partial, one run holding both children's connections", doc.Partial, len(doc.Runs))
	}
}

// TestParentKilledLeavesNothing: SIGKILL to a --procs parent takes its
// children with it (Pdeathsig), and leaves no file behind (children report
// over pipes).
func TestParentKilledLeavesNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cmd, _, exited := subprocess(t, "run", "-w", "pooled", "-c", "4", "-d", "30s", "--procs", "2", "--quiet")
	kids := append(childrenOf(t, cmd.Process.Pid, runner.ChildCommand, 2, exited), childOf(t, cmd.Process.Pid, "serve", exited))
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	for _, pid := range kids {
		// Gone, or a zombie awaiting reaping by init: either way no load.
		deadline := time.Now().Add(10 * time.Second)
		for {
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil || bytes.Contains(stat, []byte(") Z ")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("child %d still runs 10 s after its parent was killed", pid)
			}
			time.Sleep(10 * time.Millisecond) // polling /proc, bounded
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the killed parent left files behind: %v", left)
	}
}

// TestInterruptBeforeStart: a run stopped while it waits for --start-at
// says so and replaces no -o file with a document that holds nothing (a
// --procs child still hands its parent such a document, flagged partial,
// on its standard output).
func TestInterruptBeforeStart(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	at := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	cmd, stderr, exited := subprocess(t, "run", "-w", "pooled", "-c", "1", "-n", "10", "--start-at", at, "-o", out)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "waiting until"); {
		if time.Now().After(deadline) {
			t.Fatalf("not waiting for the start within 10 s; stderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling its stderr, bounded
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting 10 s after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr:\n%s", code, stderr)
	}
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Errorf("%s written (%v), want nothing written", out, err)
	}
	if !strings.Contains(stderr.String(), "interrupted before the start") {
		t.Errorf("stderr does not say it stopped before the start:\n%s", stderr)
	}
}

// waitAccepted waits for n connections to silentServer, failing if the run
// ends first or they do not come within d.
func waitAccepted(t *testing.T, accepted <-chan struct{}, exited <-chan struct{}, stderr *lockedBuffer, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for i := 0; i < n; i++ {
		select {
		case <-accepted:
		case <-exited:
			t.Fatalf("the run ended before connecting: %s", stderr)
		case <-deadline:
			t.Fatalf("no connection within %s", d)
		}
	}
}
