package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
)

// isolated is one run made by a child connbench in a fresh network
// namespace: per-namespace sysctls are set there only, and no TIME_WAIT or
// Fast Open cookie leaks from one run into the next.
type isolated struct {
	spec    *Spec
	base    map[string]string // host sysctls copied into the namespace
	sysctls map[string]string // the variant's sysctls
	check   bool              // only set the sysctls (validating them)
	obs     Observer          // told the child's intervals if a ChildObserver
	label   string            // the variant's label, for obs
}

// run starts the child and returns the document it wrote. On ctx's end the
// child gets one SIGINT (a second at the hard stop, SIGKILL if it still runs
// childrenGrace later: waitChildren) and writes its partial result; if this
// process dies, the kernel kills the child (Pdeathsig), and the namespace
// dies with it.
func (r isolated) run(ctx context.Context, stderr io.Writer) (*results.Document, error) {
	spec := r.spec.Clone()
	spec.Child, spec.Output, spec.HLog, spec.HGrm, spec.CPUProfile = true, "", "", "", ""
	spec.VariedSysctls = r.sysctls
	req := &ChildRequest{Spec: spec, Namespace: true, Base: r.base, Sysctls: r.sysctls, Check: r.check, obs: r.obs, label: r.label}
	c, err := startChild("isolated run", []string{ChildCommand}, req, stderr, true)
	if err != nil {
		if IsUsage(err) {
			return nil, err
		}
		return nil, fmt.Errorf("cannot start an isolated run: %w", err)
	}
	waitChildren(ctx, []*child{c})
	code := c.state.ExitCode()
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return nil, fmt.Errorf("isolated run: %s", c.how())
	}
	if r.check || (code != 0 && !interruptedStatus(code)) {
		if code != 0 {
			return nil, ChildError{Status: code} // the child said why on stderr
		}
		return nil, nil
	}
	doc, err := c.document()
	if err != nil {
		return nil, fmt.Errorf("isolated run wrote no result: %w", err)
	}
	if len(doc.Runs) == 0 {
		if doc.Partial {
			return nil, errors.New("isolated run: stopped before it started")
		}
		return nil, errors.New("isolated run wrote no run")
	}
	return doc, nil
}

// interruptedStatus reports whether a child's exit status says a signal
// stopped it after it wrote its partial result: 128 plus SIGINT, SIGTERM
// or SIGHUP, as a shell reports it.
func interruptedStatus(code int) bool {
	for _, s := range stopSignals {
		if code == 128+int(s.(syscall.Signal)) {
			return true
		}
	}
	return false
}

func checkNamespaced(name string) error {
	if !strings.HasPrefix(name, "net.") {
		return fmt.Errorf("--vary sysctl:%s: not per network namespace (only net.* sysctls can be): setting it would change the whole host", name)
	}
	if _, err := kernel.ReadSysctl("", name); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--vary sysctl:%s: global to the host, not per network namespace (a fresh namespace has no copy of it), so it cannot be varied in one; against an external target, --allow-host-sysctl varies it on the host", name)
		}
		return fmt.Errorf("--vary sysctl:%s: %v", name, err)
	}
	return nil
}

func sortedPairs(m map[string]string) [][2]string {
	var out [][2]string
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// CanIsolate reports whether this process may create network namespaces.
func CanIsolate() bool { return os.Geteuid() == 0 }
