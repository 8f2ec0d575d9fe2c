//go:build !linux

package kernel

import (
	"errors"
	"fmt"
)

func (s *Sampler) open() error {
	return fmt.Errorf("kernel: sock_diag: %w", errors.ErrUnsupported)
}

func (s *Sampler) close() error { return nil }

func (s *Sampler) sample(Filter) (Sample, error) {
	return Sample{}, fmt.Errorf("kernel: sock_diag: %w", errors.ErrUnsupported)
}
