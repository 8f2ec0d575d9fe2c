package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

func rusage(who int) (user, sys time.Duration) {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func threadCPU() (user, sys time.Duration)  { return rusage(unix.RUSAGE_THREAD) }
func processCPU() (user, sys time.Duration) { return rusage(unix.RUSAGE_SELF) }
