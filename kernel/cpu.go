package kernel

import "time"

// ThreadCPU returns the user and system CPU time consumed so far by the
// calling OS thread (getrusage RUSAGE_THREAD), at microsecond resolution.
// The caller must hold its thread with runtime.LockOSThread for the figure
// to mean anything. Both are 0 if the kernel cannot say (never on Linux
// 2.6.26+; always off Linux).
func ThreadCPU() (user, sys time.Duration) { return threadCPU() }

// ProcessCPU returns the user and system CPU time consumed so far by the
// whole process, all threads included (getrusage RUSAGE_SELF), at
// microsecond resolution. Both are 0 if the kernel cannot say.
func ProcessCPU() (user, sys time.Duration) { return processCPU() }
