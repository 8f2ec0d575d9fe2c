package kernel

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestProcessRSS(t *testing.T) {
	const size = 64 << 20
	before, err := ProcessRSS()
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("ProcessRSS = %d", before)
	}
	// The slice is mapped directly rather than taken from the Go heap,
	// which may hand out memory that an earlier test left resident. It is
	// not resident until touched: touch every page.
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	after, err := ProcessRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RSS %d before, %d after touching %d bytes (+%d)", before, after, size, after-before)
	if after-before < size/2 {
		t.Errorf("RSS grew by %d after touching %d bytes, want at least %d", after-before, size, size/2)
	}
	byPid, err := ReadRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := byPid - after; d < -size/4 || d > size/4 {
		t.Errorf("ReadRSS(own pid) = %d, far from ProcessRSS %d", byPid, after)
	}
}

func TestReadRSSOtherProcess(t *testing.T) {
	if _, err := ReadRSS(1); err != nil { // statm is readable by all
		t.Errorf("ReadRSS(1): %v", err)
	}
	if _, err := ReadRSS(1<<31 - 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadRSS of no process: err = %v, want os.ErrNotExist", err)
	}
}

// countFDsDirect counts /proc/self/fd the slow way, for comparison; the
// directory's own descriptor is among the entries and is taken off.
func countFDsDirect(t *testing.T) int {
	t.Helper()
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(e) - 1
}

// countFDsBoth returns CountFDs(pid) after checking that counting the
// directory's entries gives the same.
func countFDsBoth(t *testing.T, pid int) int {
	t.Helper()
	n, err := CountFDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	m, err := countFDsDir(procPidPath(pid, "fd"), pid == 0 || pid == os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if n != m {
		t.Errorf("pid %d: CountFDs = %d but the directory lists %d", pid, n, m)
	}
	return n
}

func TestCountFDs(t *testing.T) {
	const k = 37
	n0 := countFDsBoth(t, 0)
	if n0 < 3 {
		t.Fatalf("CountFDs(0) = %d, want at least stdin, stdout and stderr", n0)
	}
	if d := countFDsDirect(t); d != n0 {
		t.Errorf("CountFDs(0) = %d, but /proc/self/fd lists %d others", n0, d)
	}
	if n := countFDsBoth(t, os.Getpid()); n != n0 {
		t.Errorf("CountFDs(own pid) = %d; want %d like CountFDs(0)", n, n0)
	}
	files := make([]*os.File, 0, k)
	for range k {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	n1 := countFDsBoth(t, 0)
	for _, f := range files {
		f.Close()
	}
	if n1 != n0+k {
		t.Errorf("after opening %d files: CountFDs = %d; want %d", k, n1, n0+k)
	}
	if n2 := countFDsBoth(t, 0); n2 != n0 {
		t.Errorf("after closing them: CountFDs = %d; want %d", n2, n0)
	}
}

// inheritable returns how many descriptors of this process numbered from
// lo up lack FD_CLOEXEC, so that a child started now inherits them: Go
// opens its own with FD_CLOEXEC, but those this process was started with
// may lack it.
func inheritable(t *testing.T, lo int) int {
	t.Helper()
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range names {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < lo {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			n++
		}
	}
	return n
}

// TestCountFDsChild counts the descriptors of another process: a child
// with stdin, stdout and stderr on /dev/null, k more, and whatever it
// inherits without asking.
func TestCountFDsChild(t *testing.T) {
	const k = 5
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(sleep, "30")
	cmd.Env = []string{"LC_ALL=C"} // no locale files to open
	for range k {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	want := 3 + k + inheritable(t, 3+k) // ExtraFiles replace 3 to 3+k-1
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// The child may still be starting up, and opening and closing files:
	// poll until the count has been what it must be a few times running.
	var (
		n, m, same int
		err1, err2 error
	)
	for deadline := time.Now().Add(5 * time.Second); same < 5 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n, err1 = CountFDs(cmd.Process.Pid)
		m, err2 = countFDsDir(procPidPath(cmd.Process.Pid, "fd"), false)
		if n == want && m == want {
			same++
		} else {
			same = 0
		}
	}
	if same < 5 {
		t.Errorf("child: CountFDs = %d, %v; directory listing %d, %v; want %d", n, err1, m, err2, want)
	}
}

// TestCountFDsUnprivileged counts the descriptors of process 1 from a
// thread running as nobody: the size that stat gives needs no right over
// the process, listing the directory does.
func TestCountFDsUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot become nobody on one thread")
	}
	want := countFDsBoth(t, 1)
	if want == 0 {
		t.Skip("process 1 has no descriptors")
	}
	onOwnThread(func() {
		if !asNobody(t) {
			return
		}
		n, err := CountFDs(1)
		if st, serr := os.Stat("/proc/1/fd"); serr == nil && st.Size() > 0 {
			// Descriptors of process 1 may come and go: allow a few.
			if err != nil || n < want-10 || n > want+10 {
				t.Errorf("CountFDs(1) as nobody = %d, %v; want about %d", n, err, want)
			}
		}
		if _, err := countFDsDir("/proc/1/fd", false); !errors.Is(err, os.ErrPermission) {
			t.Errorf("listing /proc/1/fd as nobody: err = %v, want os.ErrPermission", err)
		}
	})
}

// asNobody sets the effective uid of the calling thread to nobody's
// (65534); it must be called from onOwnThread, whose thread the runtime
// discards afterwards. Credentials are per thread in Linux: the raw system
// call changes this thread only, where unix.Setresuid would change every
// thread of the process. It reports whether it succeeded.
func asNobody(t *testing.T) bool {
	if unix.Gettid() == unix.Getpid() {
		t.Error("asNobody on the main thread")
		return false
	}
	const nobody = 65534
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), nobody, ^uintptr(0)); e != 0 {
		t.Errorf("setresuid: %v", e)
		return false
	}
	if os.Geteuid() != nobody {
		t.Errorf("euid is %d, not %d", os.Geteuid(), nobody)
		return false
	}
	return true
}

func TestCountFDsNoProcess(t *testing.T) {
	if _, err := CountFDs(1<<31 - 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}

// manyFDs opens descriptors until this process has about 19,000 (fewer if
// RLIMIT_NOFILE does not allow that many), and returns how many it has.
func manyFDs(b *testing.B) int {
	soft, _, err := RaiseOpenFileLimit()
	if err != nil {
		b.Fatal(err)
	}
	n0, err := CountFDs(0)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	want := min(19000, int(min(soft, 1<<30))-100) - n0
	for range want {
		fd, err := unix.Dup(int(f.Fd()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { unix.Close(fd) })
	}
	return n0 + want + 1
}

func BenchmarkCountFDs(b *testing.B) {
	want := manyFDs(b)
	for b.Loop() {
		if n, err := CountFDs(0); err != nil || n != want {
			b.Fatalf("CountFDs = %d, %v; want %d", n, err, want)
		}
	}
	b.ReportMetric(float64(want), "fds")
}

func BenchmarkCountFDsDir(b *testing.B) {
	want := manyFDs(b)
	for b.Loop() {
		if n, err := countFDsDir("/proc/self/fd", true); err != nil || n != want {
			b.Fatalf("countFDsDir = %d, %v; want %d", n, err, want)
		}
	}
	b.ReportMetric(float64(want), "fds")
}

func TestRaiseNrOpenNoChange(t *testing.T) {
	cur, err := ReadSysctl("", nrOpenSysctl)
	if err != nil {
		// fs.nr_open is on every Linux since 2.6.25: not reading it is
		// connbench's own failure, not the machine's.
		t.Fatal(err)
	}
	want, err := strconv.ParseInt(cur, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{0, 1024, want} {
		old, err := RaiseNrOpen(n)
		if err != nil || old != want {
			t.Errorf("RaiseNrOpen(%d) = %d, %v; want %d, nil", n, old, err, want)
		}
	}
	if v, _ := ReadSysctl("", nrOpenSysctl); v != cur {
		t.Errorf("fs.nr_open changed from %s to %s", cur, v)
	}
}

// TestRaiseNrOpenRefused asks for one more than fs.nr_open without the
// privilege to write it: as a non-root user it simply calls RaiseNrOpen;
// as root it calls it from a thread running as nobody (asNobody).
// fs.nr_open is global, so this test must never
// change it; should the kernel let the write through after all, it puts
// the old value back.
func TestRaiseNrOpenRefused(t *testing.T) {
	cur, err := ReadSysctl("", nrOpenSysctl)
	if err != nil {
		// fs.nr_open is on every Linux since 2.6.25: not reading it is
		// connbench's own failure, not the machine's.
		t.Fatal(err)
	}
	was, err := strconv.ParseInt(cur, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	try := func() {
		old, err := RaiseNrOpen(was + 1)
		if err == nil {
			t.Errorf("RaiseNrOpen(%d) without privilege succeeded; putting %d back", was+1, was)
			if err := WriteSysctl("", nrOpenSysctl, cur); err != nil {
				t.Errorf("could not put fs.nr_open back to %s: %v", cur, err)
			}
			return
		}
		if old != was || !errors.Is(err, os.ErrPermission) {
			t.Errorf("RaiseNrOpen(%d) = %d, %v; want %d and os.ErrPermission", was+1, old, err, was)
		}
		if msg := err.Error(); !strings.Contains(msg, "needs root") || !strings.Contains(msg, "/proc/sys/fs/nr_open") ||
			!strings.Contains(msg, strconv.FormatInt(was+1, 10)) {
			t.Errorf("error %q does not name the file, the value and what is needed", msg)
		}
		t.Logf("refused: %v", err)
	}
	if os.Geteuid() != 0 {
		try()
		return
	}
	onOwnThread(func() {
		if asNobody(t) {
			try()
		}
	})
	if v, _ := ReadSysctl("", nrOpenSysctl); v != cur {
		t.Errorf("fs.nr_open changed from %s to %s", cur, v)
	}
	if os.Geteuid() != 0 {
		t.Errorf("the test goroutine's euid is %d after the test: the uid change leaked", os.Geteuid())
	}
}
