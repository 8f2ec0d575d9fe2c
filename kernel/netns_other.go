//go:build !linux

package kernel

import "errors"

// LinkUp is Linux-only.
func LinkUp(name string) error { return errors.ErrUnsupported }
