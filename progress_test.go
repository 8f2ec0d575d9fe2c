package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's master and slave ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestProgressTerminalAndPipe: on a terminal one line is rewritten in place
// each interval; into a pipe, a plain line per interval; --quiet, none.
func TestProgressTerminalAndPipe(t *testing.T) {
	args := []string{"run", "-w", "pooled", "-c", "2", "-d", "600ms", "--interval", "200ms"}

	master, slave := openPTY(t)
	defer master.Close()
	var tty bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&tty, master); close(done) }()
	if code := dispatch(args, io.Discard, slave); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	slave.Close()
	<-done // EIO at the master once the slave is closed
	out := tty.String()
	if n := strings.Count(out, "\r\x1b[K"); n < 3 {
		t.Errorf("terminal: %d in-place rewrites, want one per interval (3):\n%q", n, out)
	}

	var pipe bytes.Buffer
	if code := dispatch(args, io.Discard, &pipe); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := 0
	for _, l := range strings.Split(pipe.String(), "\n") {
		if strings.Contains(l, "tx/s") {
			lines++
			if strings.Contains(l, "\r") || strings.Contains(l, "\x1b") {
				t.Errorf("pipe line with terminal codes: %q", l)
			}
		}
	}
	if lines != 3 {
		t.Errorf("pipe: %d progress lines, want 3:\n%s", lines, pipe.String())
	}

	var quiet bytes.Buffer
	dispatch(append(args, "--quiet"), io.Discard, &quiet)
	if strings.Contains(quiet.String(), "tx/s") {
		t.Errorf("--quiet printed progress: %q", quiet.String())
	}
}
