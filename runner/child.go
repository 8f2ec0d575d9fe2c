package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
	"golang.org/x/sys/unix"
)

// ChildCommand is the hidden command a parent connbench starts a child
// process with. The child reads a ChildRequest (JSON) on its standard
// input, makes the run, and writes the result document (JSON) on its
// standard output; what it has to say goes to its standard error. Nothing
// travels in the environment.
const ChildCommand = "__child"

// maxChildRequest bounds what a child reads of its request: a spec with a
// request payload of up to MaxPayload bytes, base64 in JSON.
const maxChildRequest = MaxPayload*4/3 + 16<<20

// ChildRequest is what a parent sends a child process.
type ChildRequest struct {
	Spec   *Spec  `json:"spec"`
	Target string `json:"target,omitempty"` // HOST:PORT; empty: the built-in listener
	// Namespace: the child runs in a fresh network namespace its parent
	// made; it brings loopback up and writes Base (the host's values, so
	// the namespace behaves like the host; failures ignored), then Sysctls
	// (the variant's; a refused value is a usage error naming it).
	Namespace bool              `json:"namespace,omitempty"`
	Base      map[string]string `json:"base,omitempty"`
	Sysctls   map[string]string `json:"sysctls,omitempty"`
	// Check stops after the sysctls: how a compare tries every variant's
	// values before anything runs.
	Check bool `json:"check,omitempty"`
	// TLSRoots is the PEM of the certificates a --tls child trusts: its
	// parent's built-in listener's, or the --tls-ca file's as the parent
	// read it (empty: the system's roots).
	TLSRoots []byte `json:"tls_roots,omitempty"`
	// LiveFD: the child writes its runs' intervals on this descriptor (a
	// pipe from the parent; 0: none), for a parent Observer that follows
	// them (ChildObserver). Set by startChild, after any other descriptors
	// it passes (a hold's barrier takes 3 and 4).
	LiveFD int `json:"live_fd,omitempty"`

	// Not sent: the parent's Observer, told the child's intervals when it
	// is a ChildObserver, under the label of the variant the child makes.
	obs   Observer
	label string
}

// ReadChildRequest reads a ChildRequest from r, at most maxChildRequest
// bytes (about 101 MiB).
func ReadChildRequest(r io.Reader) (*ChildRequest, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxChildRequest+1))
	if err != nil {
		return nil, fmt.Errorf("child request: %w", err)
	}
	if len(b) > maxChildRequest {
		return nil, fmt.Errorf("child request: larger than %d bytes", maxChildRequest)
	}
	var req ChildRequest
	if err := json.Unmarshal(b, &req); err != nil || req.Spec == nil {
		return nil, fmt.Errorf("child request: not a request from a connbench parent")
	}
	return &req, nil
}

// RunChild makes the run a parent asked for. With Check it returns a nil
// document once the sysctls are written.
func RunChild(ctx context.Context, req *ChildRequest, obs Observer) (*results.Document, error) {
	if t, ok := obs.(*Text); ok && !req.Spec.Segment.IsWhole() {
		t.Segment = req.Spec.Segment.Label()
	}
	for _, m := range []map[string]string{req.Base, req.Sysctls} {
		for _, kv := range sortedPairs(m) {
			if err := kernel.CheckSysctlName(kv[0]); err != nil {
				return nil, Usagef("sysctl %v", err)
			}
			if err := kernel.CheckSysctlValue(kv[1]); err != nil {
				return nil, Usagef("sysctl %s: %v", kv[0], err)
			}
		}
	}
	for name := range req.Base {
		if !strings.HasPrefix(name, "net.") {
			return nil, Usagef("child request: base sysctl %s: only net.* sysctls are per network namespace", name)
		}
	}
	if req.Namespace {
		if err := kernel.CheckOwnNetNS(); err != nil {
			return nil, fmt.Errorf("child request: %w", err)
		}
		if err := prepareNamespace(req.Base, req.Sysctls); err != nil {
			return nil, err
		}
	}
	if req.Check {
		return nil, nil
	}
	s := req.Spec
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := s.childRoots(req.TLSRoots); err != nil {
		return nil, err
	}
	if req.LiveFD >= 3 && req.LiveFD <= maxLiveFD && isPipe(req.LiveFD) {
		f := forwardLive(obs, req.LiveFD)
		defer f.Close()
		obs = f
	}
	s.ownNet = req.Namespace
	if err := s.takeSegment(); err != nil {
		return nil, err
	}
	var target netip.AddrPort
	if req.Target != "" {
		t, err := netip.ParseAddrPort(req.Target)
		if err != nil {
			return nil, Usagef("child request: target %q: %v", req.Target, err)
		}
		target = t
	}
	p := &Plan{Target: target, Repeat: 1, Variants: []Variant{{Label: s.Workload, Spec: s}}}
	return p.Run(ctx, obs)
}

// prepareNamespace brings loopback up in this (fresh) network namespace
// and writes the host's sysctls, then the variant's.
func prepareNamespace(base, sysctls map[string]string) error {
	if err := kernel.LinkUp("lo"); err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	for _, kv := range sortedPairs(base) {
		kernel.WriteSysctl("", kv[0], kv[1])
	}
	for _, kv := range sortedPairs(sysctls) {
		if err := checkNamespaced(kv[0]); err != nil {
			return UsageError{err}
		}
		if err := kernel.WriteSysctl("", kv[0], kv[1]); err != nil {
			return Usagef("--vary sysctl:%s=%s: the kernel refused the value: %v", kv[0], kv[1], errors.Unwrap(err))
		}
	}
	return nil
}

// child is a connbench process this one started.
type child struct {
	name  string
	cmd   *exec.Cmd
	out   bytes.Buffer  // its standard output: a result document
	done  chan struct{} // closed when it has ended (its live stream read); state is set then
	state *os.ProcessState
	live  *os.File      // the read end of its live stream; nil without one
	lived chan struct{} // closed when the live stream has been read
}

// startChild starts connbench with args as a child: in a process group of
// its own (a Ctrl-C at the terminal reaches the parent only, which passes
// it on), killed by the kernel if the parent dies, however it dies (so a
// killed parent leaves no load generator behind), with req on its standard
// input (nil: none) and its standard output kept (at most a result
// document's size).
func startChild(name string, args []string, req *ChildRequest, stderr io.Writer, newNet bool, extra ...*os.File) (*child, error) {
	cmd, err := command(args, newNet)
	if err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	var co ChildObserver
	var liveW *os.File
	cmd.ExtraFiles = extra // descriptors 3, 4, ... in the child
	if req != nil {
		var ok bool
		if co, ok = req.obs.(ChildObserver); ok {
			if c.live, liveW, err = os.Pipe(); err != nil {
				return nil, err
			}
			cmd.ExtraFiles = append(cmd.ExtraFiles, liveW)
			req.LiveFD = 2 + len(cmd.ExtraFiles) // ExtraFiles start at 3
		}
		b, err := json.Marshal(req)
		if err != nil {
			c.closeLive(liveW)
			return nil, err
		}
		cmd.Stdin = bytes.NewReader(b)
	}
	cmd.Stdout = &limitedWriter{w: &c.out, n: results.MaxDocumentBytes}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		c.closeLive(liveW)
		if newNet && errors.Is(err, syscall.EPERM) {
			return nil, Usagef("a fresh network namespace needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN): %v", err)
		}
		return nil, err
	}
	if c.live != nil {
		liveW.Close() // the child holds it: its exit ends the stream
		c.lived = make(chan struct{})
		go func() {
			defer close(c.lived)
			receive(c.live, co, req.label)
		}()
	}
	go c.wait()
	return c, nil
}

// closeLive closes both ends of a live stream that was not started.
func (c *child) closeLive(w *os.File) {
	if c.live != nil {
		c.live.Close()
		w.Close()
	}
}

// isPipe reports whether descriptor fd is open on a pipe.
func isPipe(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// command is this connbench executable with args, set up as a child.
func command(args []string, newNet bool) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot re-execute connbench: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if newNet {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	return cmd, nil
}

// wait waits for the child's end and records it.
func (c *child) wait() {
	c.cmd.Wait()
	if c.lived != nil {
		// The stream ends with the child, unless a process it started
		// kept the descriptor: then it is cut.
		select {
		case <-c.lived:
		case <-time.After(liveDrain):
			c.live.Close()
			<-c.lived
		}
	}
	c.state = c.cmd.ProcessState
	close(c.done)
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// document decodes what the child wrote (after it ended).
func (c *child) document() (*results.Document, error) {
	return results.Decode(&c.out)
}

// how says how the child ended, for a note.
func (c *child) how() string {
	s := fmt.Sprintf("%s (pid %d) ", c.name, c.cmd.Process.Pid)
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		s += fmt.Sprintf("was killed by %s", signalName(sig))
		if sig == syscall.SIGKILL {
			s += " (by someone, or by the kernel's out-of-memory killer)"
		}
		return s
	}
	return s + fmt.Sprintf("exited with status %d and wrote no result", c.state.ExitCode())
}

// limitedWriter keeps at most n bytes and fails past them.
type limitedWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if int64(len(p)) > l.n {
		return 0, fmt.Errorf("child output larger than %d bytes", results.MaxDocumentBytes)
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// signalName is a signal's name as kill -l prints it ("SIGKILL").
func signalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return s.String()
}
