package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tempPrefix begins the name of every temporary directory a run makes, then
// the owning process's PID and what the directory is for:
// connbench-run-1234-procs-567890. The owner holds an exclusive flock on the
// directory for as long as it lives; the kernel drops it when the owner
// dies, however it dies, so a directory nobody holds is a leftover.
const tempPrefix = "connbench-run-"

// tempDir is a temporary directory this process owns.
type tempDir struct {
	path string
	lock *os.File
}

// makeTempDir makes and locks a temporary directory for kind ("procs",
// "ns").
func makeTempDir(kind string) (*tempDir, error) {
	path, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", tempPrefix, os.Getpid(), kind))
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	f, err := os.Open(path)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(path)
		return nil, fmt.Errorf("temporary directory %s: lock: %w", path, err)
	}
	return &tempDir{path: path, lock: f}, nil
}

// remove deletes the directory and what is in it.
func (d *tempDir) remove() {
	os.RemoveAll(d.path)
	d.lock.Close()
}

// leftoverAge is how old a directory whose PID is alive must be before an
// unheld lock is taken to mean its owner died and the PID was reused: a
// directory younger than this may be one another run has just made and not
// yet locked.
const leftoverAge = time.Minute

// cleanLeftovers removes the temporary directories of runs that ended
// without removing them (killed with SIGKILL, the machine lost power):
// those in the temporary directory named by tempPrefix, owned by this
// user, whose lock nobody holds, and whose PID is gone (or which are older
// than leftoverAge). It returns the paths it removed and the first error
// met; a directory it could not judge is left alone.
func cleanLeftovers() ([]string, error) {
	dir := os.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	var removed []string
	var first error
	for _, e := range ents {
		pid, ok := leftoverPID(e.Name())
		if !ok || e.Type()&os.ModeType != os.ModeDir {
			continue
		}
		path := filepath.Join(dir, e.Name())
		gone, err := removeIfLeftover(path, pid)
		if err != nil && first == nil {
			first = fmt.Errorf("leftovers: %s: %w", path, err)
		}
		if gone {
			removed = append(removed, path)
		}
	}
	return removed, first
}

// leftoverPID reads the owner's PID out of a temporary directory's name.
func leftoverPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, tempPrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, false
	}
	return pid, true
}

func removeIfLeftover(path string, pid int) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil // its owner removed it meanwhile
		}
		return false, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	if int(st.Uid) != os.Geteuid() {
		return false, nil // another user's: not ours to judge
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil // its run is alive
		}
		return false, err
	}
	age := time.Since(time.Unix(st.Mtim.Unix()))
	if pidAlive(pid) && age < leftoverAge {
		return false, nil
	}
	if err := os.RemoveAll(path); err != nil {
		return false, err
	}
	return true, nil
}

// pidAlive reports whether a process with this PID exists (in this PID
// namespace).
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
