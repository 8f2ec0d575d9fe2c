//go:build !linux

package kernel

import (
	"errors"
	"fmt"
)

func kernelRelease() string { return "" }

func openFileLimit() (soft, hard uint64, err error) {
	return 0, 0, fmt.Errorf("kernel: open file limit: %w", errors.ErrUnsupported)
}

func raiseOpenFileLimit() (soft, hard uint64, err error) { return openFileLimit() }
