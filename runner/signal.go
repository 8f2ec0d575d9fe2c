package runner

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stopSignals end a run, each the same way: SIGINT (Ctrl-C), SIGTERM (kill,
// systemd, a container stop) and SIGHUP (the terminal went away).
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// drainGrace is how long the first signal lets the work in flight finish
// before the run stops at once. A transaction on a live path takes far
// less; a connection stuck with no timeout (--timeout 0) would otherwise
// hold the run forever. Stopping and writing the result take the rest of
// the second a single Ctrl-C is allowed.
var drainGrace = 500 * time.Millisecond

// signalKey carries a signalContext's state in its context.
type signalKey struct{}

type signalState struct {
	hard chan struct{} // closed by the hard stop
	sig  atomic.Int32  // the first signal's number, 0 before one
}

// SignalContext is cancelled by the first SIGINT, SIGTERM or SIGHUP: runs
// stop starting new work and let what is in flight finish. drainGrace
// later, or at a second signal if sooner, the context's hard-stop channel
// closes: runs stop at once, still writing what they recorded. A third
// signal gets the default handling (the process dies).
func SignalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	st := &signalState{hard: make(chan struct{})}
	ctx = context.WithValue(ctx, signalKey{}, st)
	sig := make(chan os.Signal, 3)
	for _, s := range stopSignals {
		if !signal.Ignored(s) { // under nohup, SIGHUP stays ignored
			signal.Notify(sig, s)
		}
	}
	quit := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			if n, ok := s.(syscall.Signal); ok {
				st.sig.Store(int32(n))
			}
		case <-quit:
			return
		}
		cancel()
		grace := time.NewTimer(drainGrace)
		defer grace.Stop()
		select {
		case <-sig:
			close(st.hard)
			signal.Stop(sig)
			return
		case <-grace.C:
			close(st.hard)
		case <-quit:
			return
		}
		// Stopped by the grace timer: a second signal still finds the
		// run writing its result, and is taken as already obeyed.
		select {
		case <-sig:
			signal.Stop(sig)
		case <-quit:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sig)
			close(quit)
			cancel()
		})
	}
}

// hardStop is the channel closed when a stopped run must end at once (nil
// outside a SignalContext).
func hardStop(ctx context.Context) <-chan struct{} {
	if st, ok := ctx.Value(signalKey{}).(*signalState); ok {
		return st.hard
	}
	return nil
}

// StopSignal is the signal that stopped ctx's runs (a child stopped by its
// parent gets the parent's SIGINT), or 0 when none did.
func StopSignal(ctx context.Context) syscall.Signal {
	if st, ok := ctx.Value(signalKey{}).(*signalState); ok {
		return syscall.Signal(st.sig.Load())
	}
	return 0
}
