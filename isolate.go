package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
)

// isolatedCmd is the hidden command a re-executed connbench runs inside a
// fresh network namespace:
//
//	connbench __isolated [--base NAME=VALUE]... [--sysctl NAME=VALUE]... [--check] -- run ARGS...
//
// It brings loopback up, writes the --base sysctls (the host's values, so
// the namespace behaves like the host; failures ignored) and then the
// --sysctl ones (the variant's; a failure is an error naming the sysctl and
// the kernel's errno), and runs the command. With --check it stops after
// the sysctls: that is how values are validated before anything runs.
const isolatedCmd = "__isolated"

func cmdIsolated(args []string, stdout, stderr io.Writer) int {
	var base, set [][2]string
	check := false
	i := 0
	for ; i < len(args) && args[i] != "--"; i++ {
		switch a := args[i]; {
		case a == "--check":
			check = true
		case (a == "--base" || a == "--sysctl") && i+1 < len(args):
			k, v, ok := strings.Cut(args[i+1], "=")
			if !ok {
				return exitCode(stderr, usagef("%s %q: want NAME=VALUE", a, args[i+1]))
			}
			if err := kernel.CheckSysctlName(k); err != nil {
				return exitCode(stderr, usagef("%s sysctl %v", a, err))
			}
			if err := kernel.CheckSysctlValue(v); err != nil {
				return exitCode(stderr, usagef("%s %s: %v", a, k, err))
			}
			if a == "--base" {
				base = append(base, [2]string{k, v})
			} else {
				set = append(set, [2]string{k, v})
			}
			i++
		default:
			return exitCode(stderr, usagef("%s: unexpected argument %q", isolatedCmd, a))
		}
	}
	if err := kernel.LinkUp("lo"); err != nil {
		return exitCode(stderr, fmt.Errorf("network namespace: %w", err))
	}
	for _, kv := range base {
		kernel.WriteSysctl("", kv[0], kv[1])
	}
	for _, kv := range set {
		if err := checkNamespaced(kv[0]); err != nil {
			return exitCode(stderr, usageError{err})
		}
		if err := kernel.WriteSysctl("", kv[0], kv[1]); err != nil {
			return exitCode(stderr, usagef("--vary sysctl:%s=%s: the kernel refused the value: %v", kv[0], kv[1], errors.Unwrap(err)))
		}
	}
	if check || i+1 >= len(args) {
		return exitOK
	}
	var names []string
	for _, kv := range set {
		names = append(names, kv[0])
	}
	os.Setenv(variedSysctlsEnv, strings.Join(names, ","))
	return run(args[i+1:], stdout, stderr)
}

// checkNamespaced fails for a sysctl that cannot be varied per network
// namespace: only net.* sysctls can be, and of those only the ones a fresh
// namespace has its own copy of (the kernel shows global ones only in the
// host's namespace). The parent has already checked that the host has it.
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

// isolatedRun is one run made by a re-executed connbench in a fresh
// network namespace.
type isolatedRun struct {
	args    []string          // run flags (no target: the built-in listener)
	base    map[string]string // host sysctls copied into the namespace
	sysctls map[string]string // the variant's sysctls
	check   bool
}

// exec runs it and returns the document the child wrote. The child gets its
// own process group, so a Ctrl-C at the terminal reaches only the parent,
// which passes on exactly one SIGINT (the child then writes its partial
// result); if the parent dies, the kernel kills the child (Pdeathsig), and
// the namespace dies with it.
func (r *isolatedRun) exec(ctx context.Context, stderr io.Writer) (*results.Document, int, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, exitFailure, fmt.Errorf("cannot re-execute connbench: %w", err)
	}
	args := []string{isolatedCmd}
	for _, kv := range sortedPairs(r.base) {
		args = append(args, "--base", kv[0]+"="+kv[1])
	}
	for _, kv := range sortedPairs(r.sysctls) {
		args = append(args, "--sysctl", kv[0]+"="+kv[1])
	}
	var out string
	if r.check {
		args = append(args, "--check")
	} else {
		tmp, err := makeTempDir("ns")
		if err != nil {
			return nil, exitFailure, err
		}
		defer tmp.remove()
		out = filepath.Join(tmp.path, "run.json")
		args = append(args, "--", "run")
		args = append(args, r.args...)
		args = append(args, "-o", out, "--child")
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) {
			return nil, exitUsage, usagef("a fresh network namespace needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN): %v", err)
		}
		return nil, exitFailure, fmt.Errorf("cannot start an isolated run: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case werr = <-done:
		case <-hardStop(ctx):
			cmd.Process.Signal(syscall.SIGINT) // the child stops at once too
			werr = <-done
		}
	}
	code := exitOK
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return nil, exitFailure, werr
		}
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return nil, exitFailure, fmt.Errorf("the isolated run (pid %d) was killed by %s and wrote no result", cmd.Process.Pid, signalName(ws.Signal()))
		}
	}
	if r.check || (code != exitOK && !isInterruptedCode(code)) {
		return nil, code, nil // the child said why on stderr
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		return nil, exitFailure, fmt.Errorf("isolated run wrote no result: %w", err)
	}
	return doc, code, nil
}

func sortedPairs(m map[string]string) [][2]string {
	var out [][2]string
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// canIsolate reports whether this process may create network namespaces.
func canIsolate() bool { return os.Geteuid() == 0 }
