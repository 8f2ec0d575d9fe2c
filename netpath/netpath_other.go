//go:build !linux

package netpath

import (
	"errors"
	"fmt"
)

// pathSys is empty: no Path is ever created here.
type pathSys struct{}

func newPath(Config) (*Path, error) {
	return nil, fmt.Errorf("netpath: network namespaces are Linux-only: %w", errors.ErrUnsupported)
}

func (p *Path) stats() Stats { return Stats{Mechanism: Mechanism, Config: p.cfg} }

func (p *Path) close() error { return nil }

func enter(int) error {
	return fmt.Errorf("netpath: network namespaces are Linux-only: %w", errors.ErrUnsupported)
}

func netemAvailable() bool { return false }

func goIn(int, func()) error {
	return fmt.Errorf("netpath: network namespaces are Linux-only: %w", errors.ErrUnsupported)
}
