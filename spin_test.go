package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The default --spin polls only when the run's own event loops fit the
// CPUs; more loops than CPUs turn it off with a line saying so, and a
// --spin given on the command line is kept. The result's config says
// which (spin_ns). The built-in listener polls too when the loops fit, and
// never when they do not, asked for or not (listener.spin_ns: the time it
// polled).
func TestSpinGuard(t *testing.T) {
	over := strconv.Itoa(runtime.NumCPU()) // client loops; the listener adds one more
	for _, tc := range []struct {
		name           string
		args           []string
		spins, lnSpins bool
	}{
		{"fits", []string{"--loops", "1", "--listener-loops", "1"}, runtime.NumCPU() >= 2, runtime.NumCPU() >= 2},
		{"oversubscribed", []string{"--loops", over, "--listener-loops", "1"}, false, false},
		{"asked for", []string{"--loops", over, "--listener-loops", "1", "--spin", "20us"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			args := append([]string{"run", "-w", "pooled", "-c", "2", "-n", "2000", "-o", out}, tc.args...)
			code, _, stderr := connbench(t, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			said := strings.Contains(stderr, "no polling before sleeps (--spin 0)")
			if said == tc.spins {
				t.Errorf("spins %v, but the guard line said %v: %s", tc.spins, said, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Runs []struct {
					Config struct {
						SpinNs int64 `json:"spin_ns"`
					} `json:"config"`
					Listener struct {
						SpinNs int64 `json:"spin_ns"`
					} `json:"listener"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(b, &doc); err != nil || len(doc.Runs) != 1 {
				t.Fatalf("document: %v", err)
			}
			if got := doc.Runs[0].Config.SpinNs > 0; got != tc.spins {
				t.Errorf("config spin_ns %d, want spinning %v", doc.Runs[0].Config.SpinNs, tc.spins)
			}
			if got := doc.Runs[0].Listener.SpinNs > 0; got != tc.lnSpins {
				t.Errorf("listener spin_ns %d, want polling %v", doc.Runs[0].Listener.SpinNs, tc.lnSpins)
			}
		})
	}
}
