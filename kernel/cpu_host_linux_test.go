package kernel

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestThreadCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u0, s0 := ThreadCPU()
	if u0 < 0 || s0 < 0 {
		t.Fatalf("ThreadCPU = %v, %v", u0, s0)
	}
	// Burn some CPU on this thread (bounded by count, not time).
	x := uint64(1)
	for i := range 20_000_000 {
		x = x*6364136223846793005 + uint64(i)
	}
	if x == 0 {
		t.Log(x)
	}
	u1, s1 := ThreadCPU()
	if u1 < u0 || s1 < s0 {
		t.Errorf("thread CPU went backwards: %v,%v then %v,%v", u0, s0, u1, s1)
	}
	if u1+s1 == u0+s0 {
		t.Errorf("thread CPU did not move over 20M iterations: %v", u1+s1)
	}
	pu, ps := ProcessCPU()
	if pu+ps < u1+s1-time.Millisecond {
		t.Errorf("process CPU %v below this thread's %v", pu+ps, u1+s1)
	}
}

func TestKernelRelease(t *testing.T) {
	r := KernelRelease()
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Skip(err)
	}
	if want := strings.TrimSpace(string(b)); r != want {
		t.Errorf("KernelRelease = %q, want %q", r, want)
	}
}

func TestOpenFileLimit(t *testing.T) {
	soft, hard, err := OpenFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if soft == 0 || soft > hard {
		t.Errorf("OpenFileLimit = %d, %d", soft, hard)
	}
	s2, h2, err := RaiseOpenFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if s2 != hard || h2 != hard {
		t.Errorf("RaiseOpenFileLimit = %d, %d; want %d, %d", s2, h2, hard, hard)
	}
}
