package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/connbench/connbench/kernel"
	"github.com/spf13/pflag"
)

// defaultStateFile is where host sysctl variants record the original values.
var defaultStateFile = filepath.Join(os.TempDir(), "connbench-sysctl-restore.json")

// stateFile is what `connbench restore` reads after a crash.
type stateFile struct {
	Note    string            `json:"note"`
	PID     int               `json:"pid"`
	Started time.Time         `json:"started"`
	Sysctls map[string]string `json:"sysctls"`
}

// hostSysctls varies sysctls on the host itself (compare against an
// external target with --allow-host-sysctl). Before the first change the
// original values go to a state file; restore writes them back and removes
// the file, after the last variant, on Ctrl-C or SIGTERM, or through
// `connbench restore` after a crash.
type hostSysctls struct {
	path  string
	names []string
	orig  map[string]string
	began bool
}

func newHostSysctls(path string, names []string) *hostSysctls {
	sort.Strings(names)
	return &hostSysctls{path: path, names: names}
}

func (h *hostSysctls) begin() error {
	if _, err := os.Stat(h.path); err == nil {
		return fmt.Errorf("--state-file %s exists: an earlier run did not restore its sysctls; run `connbench restore --state-file %s` first", h.path, h.path)
	}
	h.orig = map[string]string{}
	for _, n := range h.names {
		v, err := kernel.ReadSysctl("", n)
		if err != nil {
			return fmt.Errorf("--vary sysctl:%s: %v", n, err)
		}
		h.orig[n] = v
	}
	b, _ := json.MarshalIndent(stateFile{
		Note:    "sysctl values connbench changed; `connbench restore` writes them back",
		PID:     os.Getpid(),
		Started: time.Now().UTC(),
		Sysctls: h.orig,
	}, "", "  ")
	tmp := h.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("--state-file %s: %v", h.path, err)
	}
	if err := os.Rename(tmp, h.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--state-file %s: %v", h.path, err)
	}
	h.began = true
	return nil
}

// apply sets every varied sysctl to the variant's value (or back to the
// original where the variant leaves it alone).
func (h *hostSysctls) apply(vals map[string]string) error {
	for _, n := range h.names {
		v, ok := vals[n]
		if !ok {
			v = h.orig[n]
		}
		if err := kernel.WriteSysctl("", n, v); err != nil {
			return fmt.Errorf("--vary sysctl:%s=%s: the kernel refused it: %v", n, v, errors.Unwrap(err))
		}
	}
	return nil
}

// restore writes the originals back and removes the state file.
func (h *hostSysctls) restore() error {
	if !h.began {
		return nil
	}
	if err := restoreSysctls(h.orig); err != nil {
		return fmt.Errorf("%v; the originals are in %s (connbench restore)", err, h.path)
	}
	os.Remove(h.path)
	return nil
}

// original returns the recorded sysctls as they were before the run.
func (h *hostSysctls) original() map[string]string {
	m := kernel.ReadSysctls("", kernel.DefaultSysctls)
	for k, v := range h.orig {
		if _, ok := m[k]; ok {
			m[k] = v
		}
	}
	return m
}

func restoreSysctls(vals map[string]string) error {
	var failed []string
	for _, kv := range sortedPairs(vals) {
		if err := kernel.WriteSysctl("", kv[0], kv[1]); err != nil {
			failed = append(failed, fmt.Sprintf("%s=%s (%v)", kv[0], kv[1], err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not restore %v", failed)
	}
	return nil
}

const restoreUsage = `Usage: connbench restore [--state-file FILE]

Writes back the sysctl values that a compare run with --allow-host-sysctl
recorded before changing them, and removes the state file. Needed only when
that run could not restore them itself (it was killed).

Flags:
`

func cmdRestore(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench restore", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	path := fs.String("state-file", defaultStateFile, "the state file the compare run wrote")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, restoreUsage, fs.FlagUsages())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench restore --help)", err))
	}
	b, err := os.ReadFile(*path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "connbench: nothing to restore (%s does not exist)\n", *path)
			return exitOK
		}
		return exitCode(stderr, err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil || st.Sysctls == nil {
		return exitCode(stderr, fmt.Errorf("%s: not a connbench state file", *path))
	}
	if err := restoreSysctls(st.Sysctls); err != nil {
		return exitCode(stderr, err)
	}
	os.Remove(*path)
	for _, kv := range sortedPairs(st.Sysctls) {
		fmt.Fprintf(stdout, "connbench: restored %s = %s\n", kv[0], kv[1])
	}
	return exitOK
}
