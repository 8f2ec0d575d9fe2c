package runner

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSignalContextGrace: the first signal cancels the context and the
// hard stop follows by itself after the grace, without a second signal;
// StopSignal names the signal.
func TestSignalContextGrace(t *testing.T) {
	ctx, stop := SignalContext()
	defer stop()
	if StopSignal(ctx) != 0 {
		t.Errorf("signal before a signal: %v", StopSignal(ctx))
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	select {
	case <-hardStop(ctx):
	case <-time.After(10 * time.Second):
		t.Fatal("no hard stop after the grace")
	}
	if sig := StopSignal(ctx); sig != syscall.SIGTERM {
		t.Errorf("signal after SIGTERM: %v, want SIGTERM", sig)
	}
	if hardStop(t.Context()) != nil {
		t.Error("a context without signals has a hard-stop channel")
	}
}
