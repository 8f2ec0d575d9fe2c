package kernel

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteSysctlNetns writes real sysctls, but only in a network namespace
// of its own (/proc/sys/net follows the calling thread's namespace), and
// checks that the namespace of the rest of the process is untouched.
func TestWriteSysctlNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		err := WriteSysctl("", "net.ipv4.tcp_fin_timeout", "60")
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("unprivileged write: err = %v, want os.ErrPermission", err)
		}
		t.Skip("not root: cannot create a network namespace to write in")
	}
	const name = "net.ipv4.ip_local_port_range"
	outer, err := ReadSysctl("", name)
	if err != nil {
		t.Fatal(err)
	}
	// On a thread of its own, never the main one (which Go never
	// discards: it would stay in the throwaway namespace, and /proc/net
	// with it, for the tests that follow).
	onOwnThread(func() {
		before, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil {
			t.Error(err)
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare(CLONE_NEWNET): %v", err)
			return
		}
		after, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil || after == before {
			t.Errorf("still in namespace %s (%v): not writing", after, err)
			return
		}
		if err := WriteSysctl("", name, "40000 50000"); err != nil {
			t.Errorf("WriteSysctl: %v", err)
		}
		if v, err := ReadSysctl("", name); err != nil || v != "40000 50000" {
			t.Errorf("read back %q, %v; want \"40000 50000\"", v, err)
		}
		err = WriteSysctl("", name, "50000 40000") // high below low
		if !errors.Is(err, unix.EINVAL) {
			t.Errorf("invalid range: err = %v, want EINVAL", err)
		}
		err = WriteSysctl("", "net.ipv4.tcp_fin_timeout", "not-a-number")
		if !errors.Is(err, unix.EINVAL) {
			t.Errorf("non-numeric value: err = %v, want EINVAL", err)
		}
	})
	runtime.LockOSThread() // read from a thread known to be in the original namespace
	defer runtime.UnlockOSThread()
	if v, err := ReadSysctl("", name); err != nil || v != outer {
		t.Errorf("original namespace changed: %q, %v; was %q", v, err, outer)
	}
}
