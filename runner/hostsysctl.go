package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/connbench/connbench/kernel"
)

// stateDir is where host sysctl variants record the original values: a
// directory only root can write (made 0700 if missing), so no other user can
// plant a state file that restore would trust, nor a link the save follows.
const stateDir = "/run/connbench"

// oldStateFile is where connbench kept the state file before it moved to
// stateDir; restore only points at it (anyone can write the directory).
var oldStateFile = filepath.Join(os.TempDir(), "connbench-sysctl-restore.json")

// OldStateHint says, when restore found nothing at the default path, that
// an older connbench's state file is where it used to be ("" if not).
func OldStateHint(path string) string {
	if path != DefaultStateFile {
		return ""
	}
	if _, err := os.Lstat(oldStateFile); err != nil {
		return ""
	}
	return fmt.Sprintf("%s is where connbench before 0.2 kept it, in a directory anyone can write: read it, and if it is yours, connbench restore --state-file %s", oldStateFile, oldStateFile)
}

// DefaultStateFile is the state file compare and restore use by default.
var DefaultStateFile = filepath.Join(stateDir, "sysctl-restore.json")

// maxStateFile bounds what restore reads: a state file holds a few sysctls.
const maxStateFile = 1 << 20

// stateFile is what `connbench restore` reads after a crash.
type stateFile struct {
	Note    string            `json:"note"`
	PID     int               `json:"pid"`
	Started time.Time         `json:"started"`
	Sysctls map[string]string `json:"sysctls"`
}

// prepareStateDir makes the default state directory (0700) when path is in
// it, and refuses a directory that others could write into.
func prepareStateDir(path string) error {
	dir := filepath.Dir(path)
	if dir == stateDir {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--state-file %s: %v", path, err)
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("--state-file %s: %v", path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--state-file %s: %s is not a directory", path, dir)
	}
	if dir == stateDir {
		if err := checkOwned(dir, fi); err != nil {
			return fmt.Errorf("--state-file %s: %v", path, err)
		}
	}
	return nil
}

// checkOwned refuses a file or directory that is not owned by this user or
// that others can write.
func checkOwned(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot tell its owner", path)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by this user (uid %d): refusing to trust it", path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %v): refusing to trust it", path, fi.Mode().Perm())
	}
	return nil
}

// writeStateFile writes b to path through a temporary file made with
// os.CreateTemp in path's directory (an unpredictable name, O_EXCL), linked
// into place only if path does not exist: it never replaces or follows what
// is there.
func writeStateFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s appeared while connbench was writing it: refusing to replace it", path)
		}
		return err
	}
	return nil
}

// readStateFile reads and checks a state file: a regular file (not a link,
// device or FIFO) owned by this user and not writable by others, at most
// maxStateFile bytes, naming only valid sysctls with valid values. Nothing is
// written before all of it has passed.
func readStateFile(path string) (stateFile, error) {
	var st stateFile
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return st, fmt.Errorf("--state-file %s is a symbolic link: refusing to trust it", path)
		}
		return st, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, err
	}
	if !fi.Mode().IsRegular() {
		return st, fmt.Errorf("--state-file %s is not a regular file (%v): refusing to trust it", path, fi.Mode().Type())
	}
	if err := checkOwned("--state-file "+path, fi); err != nil {
		return st, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return st, err
	}
	if len(b) > maxStateFile {
		return st, fmt.Errorf("--state-file %s: larger than %d bytes: not a connbench state file", path, maxStateFile)
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Sysctls == nil {
		return st, fmt.Errorf("--state-file %s: not a connbench state file", path)
	}
	for _, kv := range sortedPairs(st.Sysctls) {
		if err := kernel.CheckSysctlName(kv[0]); err != nil {
			return st, fmt.Errorf("--state-file %s: sysctl %v; nothing restored", path, err)
		}
		if err := kernel.CheckSysctlValue(kv[1]); err != nil {
			return st, fmt.Errorf("--state-file %s: %s: %v; nothing restored", path, kv[0], err)
		}
	}
	return st, nil
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
	if _, err := os.Lstat(h.path); err == nil {
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
	if err := prepareStateDir(h.path); err != nil {
		return err
	}
	if err := writeStateFile(h.path, b); err != nil {
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

// Restore writes back the sysctls the state file at path recorded, after
// checking all of it (readStateFile), and removes the file. It returns the
// name and value of each sysctl restored, in name order; an error wrapping
// os.ErrNotExist when there is no state file.
func Restore(path string) ([][2]string, error) {
	st, err := readStateFile(path)
	if err != nil {
		return nil, err
	}
	if err := restoreSysctls(st.Sysctls); err != nil {
		return nil, err
	}
	os.Remove(path)
	return sortedPairs(st.Sysctls), nil
}
