//go:build !linux

package kernel

import "errors"

// LinkUp is Linux-only.
func LinkUp(name string) error { return errors.ErrUnsupported }

// CheckOwnNetNS is Linux only.
func CheckOwnNetNS() error { return errors.New("kernel: network namespaces are Linux only") }
