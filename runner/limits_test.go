package runner

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/connbench/connbench/kernel"
)

// hasCapSysResource reports whether this process may raise its hard
// RLIMIT_NOFILE (CAP_SYS_RESOURCE, bit 24 of CapEff).
func hasCapSysResource(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return caps&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	t.Fatal("/proc/self/status has no CapEff line")
	return false
}

// limitsNow reads fs.nr_open and this process's RLIMIT_NOFILE.
func limitsNow(t *testing.T) (nrOpen int64, lim unix.Rlimit) {
	t.Helper()
	v, err := kernel.ReadSysctl("", "fs.nr_open")
	if err != nil {
		t.Fatal(err)
	}
	if nrOpen, err = strconv.ParseInt(v, 10, 64); err != nil {
		t.Fatalf("fs.nr_open %q: %v", v, err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	return nrOpen, lim
}

// TestRaiseLimits is --raise-limits below fs.nr_open (the test never asks
// for more: fs.nr_open is one value for the whole host, and a test must not
// change it). A need the soft limit covers changes nothing; one above the
// hard limit raises it with CAP_SYS_RESOURCE and says so, and without it
// fails naming the hard limit, the need and the missing capability, with
// the limits as they were.
func TestRaiseLimits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("--raise-limits acts as root only; not root here")
	}
	nrOpen, before := limitsNow(t)
	// Go raises the soft limit to the hard one at start-up; the first step
	// of raiseLimits does the same, so both are the hard limit from here.
	if before.Max == unix.RLIM_INFINITY || before.Max+1000 > uint64(nrOpen) {
		t.Skipf("the hard open-file limit %d leaves no room below fs.nr_open %d to test in without raising fs.nr_open on the host", before.Max, nrOpen)
	}

	t.Run("covered", func(t *testing.T) {
		msg, err := raiseLimits(before.Max / 2)
		if msg != "" || err != nil {
			t.Errorf("need %d under the hard limit %d: %q, %v; want nothing done and no error", before.Max/2, before.Max, msg, err)
		}
		if n, lim := limitsNow(t); n != nrOpen || lim.Max != before.Max || lim.Cur != before.Max {
			t.Errorf("limits now fs.nr_open %d, RLIMIT_NOFILE %d/%d; want %d, %d/%d", n, lim.Cur, lim.Max, nrOpen, before.Max, before.Max)
		}
	})

	t.Run("above the hard limit", func(t *testing.T) {
		need := before.Max + 1000
		msg, err := raiseLimits(need)
		n, lim := limitsNow(t)
		if n != nrOpen {
			t.Errorf("fs.nr_open %d after raiseLimits(%d), was %d: it needed no change", n, need, nrOpen)
		}
		if hasCapSysResource(t) {
			t.Cleanup(func() {
				if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &before); err != nil {
					t.Errorf("restoring RLIMIT_NOFILE %d/%d: %v", before.Cur, before.Max, err)
				}
			})
			if err != nil {
				t.Fatalf("with CAP_SYS_RESOURCE: %v", err)
			}
			if want := "--raise-limits: open-file limit raised to " + strconv.FormatUint(need, 10); msg != want {
				t.Errorf("said %q, want %q (fs.nr_open was not raised, so not named)", msg, want)
			}
			if lim.Cur != need || lim.Max != need {
				t.Errorf("RLIMIT_NOFILE %d/%d, want %d/%d", lim.Cur, lim.Max, need, need)
			}
			return
		}
		if err == nil {
			t.Fatalf("without CAP_SYS_RESOURCE raiseLimits(%d) succeeded (%q) though the hard limit is %d", need, msg, before.Max)
		}
		for _, w := range []string{"--raise-limits", "hard open-file limit " + strconv.FormatUint(before.Max, 10),
			"raised to " + strconv.FormatUint(need, 10), "CAP_SYS_RESOURCE", "--procs auto"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not name %q", err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is more than one line: %q", err)
		}
		if lim != before {
			t.Errorf("RLIMIT_NOFILE %d/%d after a failed raise, was %d/%d", lim.Cur, lim.Max, before.Cur, before.Max)
		}
	})
}
