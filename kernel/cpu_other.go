//go:build !linux

package kernel

import "time"

func threadCPU() (user, sys time.Duration)  { return 0, 0 }
func processCPU() (user, sys time.Duration) { return 0, 0 }
