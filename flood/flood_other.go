//go:build !linux

package flood

import (
	"errors"
	"fmt"
	"net/netip"
)

func openSender(netip.AddrPort) (func([]byte) error, func() error, error) {
	return nil, nil, fmt.Errorf("flood: raw IPv4 sockets with spoofed sources are Linux-only: %w", errors.ErrUnsupported)
}
