package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStatmResident(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"310453 2561 1345 313 0 45630 0\n", 2561}, // /proc/self/statm of a shell on Linux 6.18
		{"0 0 0 0 0 0 0\n", 0},                     // a kernel thread
		{"1 2", 2},
	} {
		if got, err := parseStatmResident(tc.in); err != nil || got != tc.want {
			t.Errorf("parseStatmResident(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "\n", "12", "1 x 3", "1 -2 3", "1 2.5"} {
		if _, err := parseStatmResident(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseStatmResident(%q): err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestProcPidPath(t *testing.T) {
	if got := procPidPath(0, "statm"); got != "/proc/self/statm" {
		t.Errorf("procPidPath(0) = %q", got)
	}
	if got := procPidPath(42, "fd"); got != "/proc/42/fd" {
		t.Errorf("procPidPath(42) = %q", got)
	}
}

func TestNegativePid(t *testing.T) {
	if _, err := ReadRSS(-1); err == nil {
		t.Error("ReadRSS(-1) gave no error")
	}
	if _, err := CountFDs(-1); err == nil {
		t.Error("CountFDs(-1) gave no error")
	}
}

// nrOpenRoot returns a proc root holding only sys/fs/nr_open with content.
func nrOpenRoot(t *testing.T, content string) (root, file string) {
	t.Helper()
	root = t.TempDir()
	file, err := SysctlPath(root, nrOpenSysctl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, file
}

func TestRaiseNrOpenFixture(t *testing.T) {
	root, file := nrOpenRoot(t, "1048576\n")
	content := func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, n := range []int64{-1, 0, 64, 1048575, 1048576} {
		old, err := raiseNrOpen(root, n)
		if err != nil || old != 1048576 {
			t.Errorf("raiseNrOpen(%d) = %d, %v; want 1048576, nil", n, old, err)
		}
		if c := content(); c != "1048576\n" {
			t.Errorf("raiseNrOpen(%d) changed the file to %q; it must never lower or rewrite it", n, c)
		}
	}
	old, err := raiseNrOpen(root, 2000000)
	if err != nil || old != 1048576 {
		t.Errorf("raiseNrOpen(2000000) = %d, %v; want 1048576, nil", old, err)
	}
	if c := content(); c != "2000000" {
		t.Errorf("after raising, the file holds %q, want \"2000000\"", c)
	}
	if old, err := raiseNrOpen(root, 1500000); err != nil || old != 2000000 || content() != "2000000" {
		t.Errorf("raiseNrOpen(1500000) after raising = %d, %v, file %q; want 2000000 and no change", old, err, content())
	}
}

func TestRaiseNrOpenBadFixture(t *testing.T) {
	root, _ := nrOpenRoot(t, "lots\n")
	if _, err := raiseNrOpen(root, 1); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "fs.nr_open") {
		t.Errorf("unparsable value: err = %v, want ErrMalformed naming fs.nr_open", err)
	}
	if _, err := raiseNrOpen(t.TempDir(), 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent sysctl: err = %v, want os.ErrNotExist", err)
	}
}
