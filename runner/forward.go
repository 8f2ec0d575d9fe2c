package runner

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/connbench/connbench/workloads"
)

// ChildObserver is an Observer that also follows the runs made in child
// processes (a --procs run's shares, compare's variants in fresh network
// namespaces). For each, ChildLive is called with the label of the
// variant it makes and the child's workload configuration, and the Live
// it returns gets the child's intervals as the child reports them (from
// several children at once for --procs). An Observer without ChildLive
// hears nothing of them: the children show their own progress.
type ChildObserver interface {
	Observer
	ChildLive(label string, cfg workloads.Config) Live
}

// maxLiveFD bounds ChildRequest.LiveFD, the descriptor on which a child
// asked for its live intervals writes them, one JSON liveEvent a line.
const maxLiveFD = 16

// maxLiveLine bounds a line the parent reads from a child's live stream:
// an interval with every phase's histogram encoded is far smaller.
const maxLiveLine = 16 << 20

// liveDrain bounds how long a parent waits, once a child has exited, for
// the rest of its live stream.
const liveDrain = 2 * time.Second

// liveEvent is one line of a child's live stream: a workload run starts
// (Config), reports an interval, or is done.
type liveEvent struct {
	Config   *workloads.Config   `json:"config,omitempty"`
	Interval *workloads.Interval `json:"interval,omitempty"`
	Done     bool                `json:"done,omitempty"`
}

// forwarder is a child's Observer when its parent asked for the live
// intervals: everything goes to the child's own Observer as before, and
// the workload runs are also written to the parent, until a write fails.
type forwarder struct {
	Observer
	mu  sync.Mutex
	w   io.WriteCloser
	bad bool
}

// forwardLive wraps obs so that the runs' intervals also go to the parent
// on descriptor fd; it is closed on exec, so that no process this one
// starts holds the parent's stream open.
func forwardLive(obs Observer, fd int) *forwarder {
	syscall.CloseOnExec(fd)
	return &forwarder{Observer: obs, w: os.NewFile(uintptr(fd), "live")}
}

func (f *forwarder) send(ev liveEvent) {
	b, err := json.Marshal(ev)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bad || err != nil {
		return
	}
	if _, err := f.w.Write(append(b, '\n')); err != nil {
		f.bad = true // the parent stopped reading: the run goes on
	}
}

// Close ends the stream.
func (f *forwarder) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w.Close()
	f.bad = true
}

func (f *forwarder) Live(cfg workloads.Config) Live {
	f.send(liveEvent{Config: &cfg})
	return forwardedLive{Live: f.Observer.Live(cfg), f: f}
}

type forwardedLive struct {
	Live
	f *forwarder
}

func (l forwardedLive) Interval(iv workloads.Interval) {
	l.f.send(liveEvent{Interval: &iv})
	l.Live.Interval(iv)
}

func (l forwardedLive) Done() {
	l.f.send(liveEvent{Done: true})
	l.Live.Done()
}

// receive reads a child's live stream from r and hands it to obs's
// ChildLive under label, until the stream ends (the child exited) or turns
// bad; it then drains r, so that the child never blocks on it, and closes
// it.
func receive(r *os.File, obs ChildObserver, label string) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLiveLine)
	var live Live
	for sc.Scan() {
		var ev liveEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			break
		}
		switch {
		case ev.Config != nil:
			if live != nil {
				live.Done()
			}
			live = obs.ChildLive(label, *ev.Config)
		case ev.Interval != nil && live != nil:
			live.Interval(*ev.Interval)
		case ev.Done && live != nil:
			live.Done()
			live = nil
		}
	}
	if live != nil {
		live.Done()
	}
	io.Copy(io.Discard, r)
}
