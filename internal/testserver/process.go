package testserver

import (
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Run starts bin with args, its standard output and error to the file
// log, and stops it by its PID at cleanup: SIGTERM, then SIGKILL after
// 10 s. The channel is closed once the process has exited (for a caller
// waiting for it to accept, to stop waiting when it died).
func Run(t testing.TB, bin string, args []string, log string) <-chan struct{} {
	t.Helper()
	out, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	return exited
}

// FreePort is a loopback TCP port that was free when asked.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
