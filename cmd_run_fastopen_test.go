package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestFastOpenBitRefusesRun: `run --fastopen` where net.ipv4.tcp_fastopen
// lacks the client bit 0x1 would fail every sendto with EOPNOTSUPP, so it
// is refused before any connection, in one line naming the sysctl; without
// the server bit 0x2 the built-in listener only costs a warning. The
// sysctl is set in a namespace the test owns, never on the host.
func TestFastOpenBitRefusesRun(t *testing.T) {
	ns := netns(t)
	for _, tc := range []struct {
		value    string
		code     int
		stderr   []string // substrings of stderr
		noResult bool
	}{
		{"0", exitFailure, []string{"--fastopen", "net.ipv4.tcp_fastopen=0", "lacks the client bit 0x1", "sysctl -w net.ipv4.tcp_fastopen=3"}, true},
		{"2", exitFailure, []string{"--fastopen", "net.ipv4.tcp_fastopen=2", "lacks the client bit 0x1"}, true},
		{"1", exitOK, []string{"warning", "net.ipv4.tcp_fastopen=1 lacks the server bit 0x2"}, false},
		{"3", exitOK, nil, false},
	} {
		t.Run("tcp_fastopen="+tc.value, func(t *testing.T) {
			if out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c", "echo "+tc.value+" > /proc/sys/net/ipv4/tcp_fastopen").CombinedOutput(); err != nil {
				t.Fatalf("setting tcp_fastopen in %s: %v %s", ns, err, out)
			}
			if got := nsSysctl(t, ns, "net.ipv4.tcp_fastopen"); got != tc.value {
				t.Fatalf("tcp_fastopen in %s is %s, want %s", ns, got, tc.value)
			}
			out := filepath.Join(t.TempDir(), "r.json")
			cmd := inNetns(ns, "run", "--fastopen", "-n", "20", "-c", "2", "-o", out)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, stderr.String())
				}
			}
			if tc.stderr == nil && strings.Contains(stderr.String(), "lacks") {
				t.Errorf("stderr says a bit is missing though both are set: %s", stderr.String())
			}
			if tc.noResult {
				if n := strings.Count(strings.TrimSpace(stderr.String()), "\n"); n != 0 {
					t.Errorf("the refusal is %d lines, want one: %s", n+1, stderr.String())
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a refused run wrote %s", out)
				}
				return
			}
			doc, err := results.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if r := doc.Runs[0]; r.Counts.Transactions != 20 || r.FailuresTotal != 0 {
				t.Errorf("%d transactions, failures %v; want 20 and none", r.Counts.Transactions, r.Failures)
			}
		})
	}
	if got := nsSysctl(t, ns, "net.ipv4.tcp_fastopen"); got != "3" {
		t.Errorf("the run changed tcp_fastopen in its namespace to %s", got)
	}
}

// TestFastOpenBitRefusesCompareVariant: a compare variant that sets
// tcp_fastopen without the client bit in its own namespace is refused the
// same way, and the host's value is untouched.
func TestFastOpenBitRefusesCompareVariant(t *testing.T) {
	needRoot(t)
	host := hostSysctlFiles(t)["/proc/sys/net/ipv4/tcp_fastopen"]
	code, _, stderr := connbench(t, "compare", "--fastopen", "-n", "10", "--quiet", "--vary", "sysctl:net.ipv4.tcp_fastopen=0,3")
	if code != exitFailure || !strings.Contains(stderr, "net.ipv4.tcp_fastopen=0 lacks the client bit 0x1") {
		t.Errorf("exit %d, stderr %q; want %d naming net.ipv4.tcp_fastopen=0 and the client bit", code, stderr, exitFailure)
	}
	if got := hostSysctlFiles(t)["/proc/sys/net/ipv4/tcp_fastopen"]; got != host {
		t.Errorf("host tcp_fastopen %s after the compare, was %s", got, host)
	}
}
