package kernel

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		return unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

func openFileLimit() (soft, hard uint64, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, fmt.Errorf("kernel: getrlimit RLIMIT_NOFILE: %w", err)
	}
	return rl.Cur, rl.Max, nil
}

func raiseOpenFileLimit() (soft, hard uint64, err error) {
	soft, hard, err = openFileLimit()
	if err != nil || soft >= hard {
		return soft, hard, err
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: hard, Max: hard}); err != nil {
		return soft, hard, fmt.Errorf("kernel: setrlimit RLIMIT_NOFILE %d: %w", hard, err)
	}
	return openFileLimit()
}
