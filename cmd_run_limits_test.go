package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRaiseLimitsRefused: `run --raise-limits` as root without
// CAP_SYS_RESOURCE (as in many containers) stops before the run, in one
// line naming the hard limit, what the run needs and the way out, and
// writes no result. With the capability the run would go ahead and hold
// thousands of connections, which is not a unit test's business.
func TestRaiseLimitsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("--raise-limits acts as root only; not root here")
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			if caps, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64); caps&(1<<unix.CAP_SYS_RESOURCE) != 0 {
				t.Skip("this root has CAP_SYS_RESOURCE: --raise-limits would succeed and the run hold its connections (runner's TestRaiseLimits covers that path)")
			}
		}
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max > 1_000_000 {
		t.Skipf("the hard open-file limit %d is past what a hold run here may ask for", lim.Max)
	}
	// hold -n N against the built-in listener needs 2N+128 descriptors.
	n := lim.Max / 2
	need := 2*n + 128
	if v, err := os.ReadFile("/proc/sys/fs/nr_open"); err != nil {
		t.Fatal(err)
	} else if nr, _ := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64); need > nr {
		t.Skipf("the run would need %d descriptors, past fs.nr_open %d: --raise-limits would raise fs.nr_open for the whole host", need, nr)
	}
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := connbench(t, "run", "-w", "hold", "--rate", "2000", "-n", strconv.FormatUint(n, 10), "--raise-limits", "--quiet", "-o", out)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	for _, w := range []string{"--raise-limits", "hard open-file limit " + strconv.FormatUint(lim.Max, 10), "raised to " + strconv.FormatUint(need, 10), "CAP_SYS_RESOURCE", "--procs auto"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not name %q", stderr, w)
		}
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr is more than one line: %q", stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run wrote its result file")
	}
	var after unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &after); err != nil {
		t.Fatal(err)
	}
	if after.Max != lim.Max {
		t.Errorf("hard open-file limit %d after the refusal, was %d", after.Max, lim.Max)
	}
}
