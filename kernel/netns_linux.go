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
