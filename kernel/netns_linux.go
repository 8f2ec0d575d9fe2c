package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LinkUp sets the IFF_UP flag of the network interface name (e.g. "lo"
// in a fresh network namespace, where loopback starts down). It needs
// CAP_NET_ADMIN in the calling thread's network namespace.
func LinkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("kernel: link %s up: %w", name, err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fmt.Errorf("kernel: link %s up: %w", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("kernel: link %s up: get flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("kernel: link %s up: set flags: %w", name, err)
	}
	return nil
}

// CheckOwnNetNS fails unless the calling thread is in a network namespace
// other than its parent process's: the check a child makes before writing
// sysctls meant for a namespace its parent made for it, so they never
// land in the parent's (the host's).
func CheckOwnNetNS() error {
	var self, parent unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &self); err != nil {
		return fmt.Errorf("kernel: network namespace: %w", err)
	}
	pp := fmt.Sprintf("/proc/%d/ns/net", unix.Getppid())
	if err := unix.Stat(pp, &parent); err != nil {
		return fmt.Errorf("kernel: the parent's network namespace: %w", err)
	}
	if self.Ino == parent.Ino && self.Dev == parent.Dev {
		return fmt.Errorf("kernel: this is the parent's network namespace, not one made for this child")
	}
	return nil
}
