package runner

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connbench/connbench/workloads"
)

// childRecorder is a ChildObserver keeping what reaches it.
type childRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *childRecorder) Say(string, ...any)             {}
func (r *childRecorder) Warn(string, ...any)            {}
func (r *childRecorder) Live(workloads.Config) Live     { return discard{} }
func (r *childRecorder) add(e string)                   { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *childRecorder) Interval(iv workloads.Interval) { r.add("interval " + iv.Hists["handshake"]) }
func (r *childRecorder) Done()                          { r.add("done") }
func (r *childRecorder) ChildLive(label string, cfg workloads.Config) Live {
	r.add("start " + label + " " + cfg.Workload + " " + cfg.Warmup.String())
	return r
}

// TestForwardLive: what a child's forwarder writes, the parent's receive
// hands to its ChildObserver in order, under the variant's label; a line
// that is not an event ends the stream, and the rest is drained so that
// the child never blocks on it.
func TestForwardLive(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{Observer: Discard, w: w}
	rec := &childRecorder{}
	received := make(chan struct{})
	go func() { receive(r, rec, "v1"); close(received) }()

	l := f.Live(workloads.Config{Workload: "pooled", Warmup: time.Second})
	l.Interval(workloads.Interval{Index: 0, Hists: map[string]string{"handshake": "A"}})
	l.Interval(workloads.Interval{Index: 1, Hists: map[string]string{"handshake": "B"}})
	l.Done()
	l = f.Live(workloads.Config{Workload: "hold"})
	l.Interval(workloads.Interval{Index: 0, Hists: map[string]string{"handshake": "C"}})
	// Not an event: the parent stops there, and drains what follows
	// (more than a pipe's buffer, which would block a child not drained).
	f.mu.Lock()
	w.Write([]byte("{not json\n"))
	w.Write(bytes.Repeat([]byte("x"), 1<<20))
	f.mu.Unlock()
	l.Interval(workloads.Interval{Index: 1, Hists: map[string]string{"handshake": "D"}})
	f.Close()
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		t.Fatal("receive did not end with the stream")
	}
	got := strings.Join(rec.events, "; ")
	want := "start v1 pooled 1s; interval A; interval B; done; start v1 hold 0s; interval C; done"
	if got != want {
		t.Errorf("received %q\nwant     %q", got, want)
	}

	// A forwarder whose parent is gone: the run goes on, nothing blocks.
	r2, w2, _ := os.Pipe()
	r2.Close()
	f2 := &forwarder{Observer: Discard, w: w2}
	f2.Live(workloads.Config{}).Interval(workloads.Interval{})
	if !f2.bad {
		t.Error("a failed write did not stop the forwarding")
	}
	f2.Close()
}

// TestForwardLineBound: a line longer than maxLiveLine ends the stream
// (and is drained) rather than sizing a buffer.
func TestForwardLineBound(t *testing.T) {
	r, w, _ := os.Pipe()
	rec := &childRecorder{}
	received := make(chan struct{})
	go func() { receive(r, rec, "v"); close(received) }()
	b, _ := json.Marshal(liveEvent{Config: &workloads.Config{Workload: "pooled"}})
	w.Write(append(b, '\n'))
	w.Write(bytes.Repeat([]byte("y"), maxLiveLine+10))
	w.Close()
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		t.Fatal("receive did not end")
	}
	if got := strings.Join(rec.events, "; "); got != "start v pooled 0s; done" {
		t.Errorf("received %q", got)
	}
}
