package kernel

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procPidPath returns the file name under DefaultProcRoot/PID, or under
// DefaultProcRoot/self for pid 0.
func procPidPath(pid int, name string) string {
	dir := "self"
	if pid != 0 {
		dir = strconv.Itoa(pid)
	}
	return filepath.Join(DefaultProcRoot, dir, name)
}

// ProcessRSS returns the resident set size of this process in bytes; see
// ReadRSS.
func ProcessRSS() (int64, error) { return ReadRSS(0) }

// ReadRSS returns the resident set size of process pid (0 means this
// process) in bytes: the second field of /proc/PID/statm, in pages, times
// os.Getpagesize(). It counts anonymous memory (the Go heap and stacks),
// file pages mapped in (the executable) and shared memory that are in RAM
// now, the same figure as VmRSS in /proc/PID/status. The kernel keeps these
// counts per CPU and may show them a few dozen pages late. The Go runtime
// hands freed heap back to the kernel only gradually, so RSS goes down
// long after the heap has.
func ReadRSS(pid int) (int64, error) {
	if pid < 0 {
		return 0, fmt.Errorf("kernel: read rss: pid %d is negative", pid)
	}
	path := procPidPath(pid, "statm")
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("kernel: read %s: %w", path, err)
	}
	defer f.Close()
	// statm is seven numbers on one line; 4 KiB is far more than that.
	b, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return 0, fmt.Errorf("kernel: read %s: %w", path, err)
	}
	pages, err := parseStatmResident(string(b))
	if err != nil {
		return 0, fmt.Errorf("kernel: read %s: %w", path, err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// maxStatmPages bounds the resident pages parseStatmResident accepts: 2^40
// pages is more memory than any machine has, and times any page size it
// stays far from overflowing int64.
const maxStatmPages = 1 << 40

// parseStatmResident returns the second field, resident pages, of the
// contents of a /proc/PID/statm file ("size resident shared text lib data
// dt", all in pages). A figure that is negative or above maxStatmPages is
// an error wrapping ErrMalformed.
func parseStatmResident(s string) (int64, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, fmt.Errorf("%w: %d fields, want at least 2", ErrMalformed, len(f))
	}
	v, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || v < 0 || v > maxStatmPages {
		return 0, fmt.Errorf("%w: resident pages %q", ErrMalformed, f[1])
	}
	return v, nil
}

// fdBatch is the number of names countFDsDir asks Readdirnames for at a
// time. The os package reads the directory 8 KiB of entries (some 350 of
// them) per getdents call whatever the batch, so this only bounds how many
// names are held at once.
const fdBatch = 1024

// CountFDs returns the number of open file descriptors of process pid (0
// means this process).
//
// Since Linux 6.2, stat on /proc/PID/fd gives that number as the size of
// the directory, counted from the process's table of descriptors in one
// go; CountFDs uses it when it is not 0. It costs one stat call whatever
// the number of descriptors (about 3 µs with 19,000 open on Linux 6.18),
// and needs no right over the process beyond seeing it in /proc. Older
// kernels give 0, and CountFDs then counts the entries of the directory
// with getdents, never stat'ing them one by one: that took about 15 ms for
// 19,000 descriptors on the same machine, most of it in the kernel, which
// builds an entry for every descriptor. Listing another process's
// descriptors needs the right to ptrace it (same user and not
// dumpable-protected, or CAP_SYS_PTRACE); otherwise the error wraps
// os.ErrPermission. A process that does not exist gives an error wrapping
// os.ErrNotExist.
//
// The count includes the descriptors of the Go runtime (its netpoller's
// epoll and eventfd descriptors, once the first network connection or
// pollable file has been opened) and, for another process, those it
// inherited. The directory listing is not a snapshot: descriptors opened
// or closed by other threads while it is read may or may not be counted;
// the descriptor CountFDs opens on the directory itself is not.
func CountFDs(pid int) (int, error) {
	if pid < 0 {
		return 0, fmt.Errorf("kernel: count fds: pid %d is negative", pid)
	}
	path := procPidPath(pid, "fd")
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("kernel: count fds: %w", err)
	}
	if n := st.Size(); n > 0 {
		return int(n), nil
	}
	return countFDsDir(path, pid == 0 || pid == os.Getpid())
}

// countFDsDir counts the entries of path, a /proc/PID/fd directory, in a
// loop of getdents calls. If self is true, the directory is that of this
// process, which then has a descriptor open on the directory while reading
// it: that one is not counted.
func countFDsDir(path string, self bool) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("kernel: count fds: %w", err)
	}
	defer f.Close()
	own := "" // the name of our own descriptor on the directory, if listed
	if self {
		rc, err := f.SyscallConn()
		if err != nil {
			return 0, fmt.Errorf("kernel: count fds in %s: %w", path, err)
		}
		if err := rc.Control(func(fd uintptr) { own = strconv.FormatUint(uint64(fd), 10) }); err != nil {
			return 0, fmt.Errorf("kernel: count fds in %s: %w", path, err)
		}
	}
	n := 0
	for {
		names, err := f.Readdirnames(fdBatch)
		for _, name := range names {
			if name == own {
				own = "" // skip it once
				continue
			}
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("kernel: count fds: %w", err)
		}
	}
}

// nrOpenSysctl is the sysctl RaiseNrOpen reads and writes.
const nrOpenSysctl = "fs.nr_open"

// RaiseNrOpen raises the sysctl fs.nr_open to n if it is lower, and returns
// the value it had before. It never lowers it, and when the value is
// already n or more it changes nothing and needs no privilege, so
// RaiseNrOpen(0) just reads it.
//
// fs.nr_open is the most that setrlimit may set RLIMIT_NOFILE to (default
// 1048576). It is one value for the whole kernel: not per network
// namespace, user namespace or container, so raising it affects every
// process on the machine. Raising it is not enough for a process to open
// more files: the process must still raise its own RLIMIT_NOFILE, and
// raising the hard limit above its current value needs CAP_SYS_RESOURCE,
// which a container may lack even as root (on the machine this was written
// on, root lacks it and the hard limit stays at 20,000 whatever fs.nr_open
// says). Raising the soft limit up to the hard limit needs no privilege
// (RaiseOpenFileLimit). The total of open files of the whole system is
// capped separately, by fs.file-max.
//
// Writing fs.nr_open needs an effective uid of 0 as the initial user
// namespace sees it (root in a user namespace that maps it to another uid
// is refused) and a writable /proc/sys, which containers often mount
// read-only. The error then wraps os.ErrPermission or unix.EROFS, and a
// value above the kernel's maximum (2147483584 on 64-bit systems) gives one
// that wraps unix.EINVAL.
func RaiseNrOpen(n int64) (old int64, err error) { return raiseNrOpen("", n) }

// raiseNrOpen is RaiseNrOpen for the sysctl under procRoot ("" means
// DefaultProcRoot).
func raiseNrOpen(procRoot string, n int64) (old int64, err error) {
	v, err := ReadSysctl(procRoot, nrOpenSysctl)
	if err != nil {
		return 0, err
	}
	old, err = strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("kernel: parse %s: %q: %w", nrOpenSysctl, v, ErrMalformed)
	}
	if n <= old {
		return old, nil
	}
	if err := WriteSysctl(procRoot, nrOpenSysctl, strconv.FormatInt(n, 10)); err != nil {
		return old, fmt.Errorf("%w (raising %s from %d to %d%s)", err, nrOpenSysctl, old, n, nrOpenWhy(err))
	}
	return old, nil
}
