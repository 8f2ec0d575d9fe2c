package kernel

// KernelRelease returns the running kernel's release as uname -r prints it,
// for example "6.18.44-fc-v669"; "" if it cannot be had.
func KernelRelease() string { return kernelRelease() }

// OpenFileLimit returns the soft and hard limits on open file descriptors
// of this process (RLIMIT_NOFILE). A limit of unix.RLIM_INFINITY is
// returned as is (the largest uint64).
func OpenFileLimit() (soft, hard uint64, err error) { return openFileLimit() }

// RaiseOpenFileLimit raises the soft limit on open file descriptors to the
// hard limit and returns the limits now in force. The hard limit itself is
// never changed. Go programs normally start with the soft limit already
// raised (the runtime does it, and gives child processes the original soft
// limit back); then this changes nothing and reports the figures. If it does
// have to raise the limit, child processes inherit the raised one.
func RaiseOpenFileLimit() (soft, hard uint64, err error) { return raiseOpenFileLimit() }
