package runner

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/workloads"
	"golang.org/x/sys/unix"
)

// Text is the Observer for a terminal or a log: status lines prefixed
// "connbench: ", and one progress line per interval (on a terminal one line
// rewritten in place, otherwise a plain line each time). Quiet drops all
// but the warnings.
type Text struct {
	W     io.Writer
	Quiet bool
	// Segment, when set, marks the progress lines as one segment's share
	// of a run ("3/51": a --procs child or a --segment run).
	Segment string
	mu      sync.Mutex
	live    *progress
}

// NewText returns a Text observer writing to w.
func NewText(w io.Writer, quiet bool) *Text { return &Text{W: w, Quiet: quiet} }

// Say writes a status line unless quiet.
func (t *Text) Say(format string, a ...any) {
	if !t.Quiet {
		t.line(format, a...)
	}
}

// Warn writes a line, quiet or not.
func (t *Text) Warn(format string, a ...any) { t.line(format, a...) }

func (t *Text) line(format string, a ...any) {
	t.mu.Lock()
	live := t.live
	t.mu.Unlock()
	if live != nil {
		live.Done() // end a line being rewritten first
	}
	fmt.Fprintf(t.W, "connbench: "+format+"\n", a...)
}

// Live starts the progress lines of one workload run.
func (t *Text) Live(cfg workloads.Config) Live {
	p := newProgress(t.W, t.Quiet, cfg)
	p.segment = t.Segment
	t.mu.Lock()
	t.live = p
	t.mu.Unlock()
	return p
}

// progress writes one workload run's progress lines.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	quiet   bool
	tty     bool
	cfg     workloads.Config
	drawn   bool
	segment string
}

func newProgress(w io.Writer, quiet bool, cfg workloads.Config) *progress {
	return &progress{w: w, quiet: quiet, tty: isTerminal(w), cfg: cfg}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Interval writes the line for iv.
func (p *progress) Interval(iv workloads.Interval) {
	if p.quiet {
		return
	}
	line := p.format(iv)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) format(iv workloads.Interval) string {
	var b strings.Builder
	if p.segment != "" {
		fmt.Fprintf(&b, "  [segment %s]", p.segment) // its share's figures, not the whole run's
	}
	total := ""
	if p.cfg.Duration > 0 && p.cfg.Workload != "hold" {
		total = "/" + p.cfg.Duration.String()
	}
	if iv.Warmup {
		fmt.Fprintf(&b, "  warm-up %s", view.Seconds(iv.End+p.cfg.Warmup))
	} else {
		fmt.Fprintf(&b, "  %s%s", view.Seconds(iv.End), total)
	}
	secs := (iv.End - iv.Start).Seconds()
	if secs <= 0 {
		secs = 1
	}
	if p.cfg.Workload == "hold" {
		// Inflight is what is open or opening; the rate is of opens.
		fmt.Fprintf(&b, "  open %s of %s  %s opened/s (asked %s)", view.Count(int64(iv.Inflight)), view.Count(p.cfg.Requests),
			view.Count(int64(float64(iv.Connections)/secs)), view.Count(int64(p.cfg.Rate)))
		if iv.Transactions > 0 {
			fmt.Fprintf(&b, "  %s pings/s", view.Count(int64(float64(iv.Transactions)/secs)))
		}
	} else {
		fmt.Fprintf(&b, "  %s tx/s", view.Count(int64(float64(iv.Transactions)/secs)))
	}
	if p.cfg.Rate > 0 && p.cfg.Workload != "hold" {
		fmt.Fprintf(&b, " (asked %s)", view.Count(int64(p.cfg.Rate)))
	}
	phases := []string{workloads.PhaseHandshake, workloads.PhaseTransaction}
	if _, ok := iv.Phases[workloads.PhaseTLSHandshake]; ok {
		phases[0] = workloads.PhaseTLSHandshake // over TLS, the handshake that matters
	}
	if workloads.Registry[p.cfg.Workload].Persistent && p.cfg.Workload != "hold" {
		phases = phases[1:] // the pool's handshakes are not the story
	}
	for _, ph := range phases {
		if s, ok := iv.Phases[ph]; ok && s.Count > 0 {
			fmt.Fprintf(&b, "  p99 %s %s", ph, view.Dur(s.P99Ns))
			break
		}
	}
	var fails int64
	for _, v := range iv.Failures {
		fails += v
	}
	fmt.Fprintf(&b, "  failures %s", view.Count(fails))
	if iv.States != nil {
		fmt.Fprintf(&b, "  TIME_WAIT %s", view.Count(int64(iv.States["time_wait"])))
		if p.cfg.PortRange > 0 {
			n := max(1, len(p.cfg.Socket.Sources))
			fmt.Fprintf(&b, "  ports %s/%s", view.Count(int64(iv.PortsInUse)), view.Count(int64(p.cfg.PortRange*n)))
		}
	}
	return b.String()
}

// Done ends a rewritten line so that what follows starts on its own.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
