//go:build !linux

package kernel

func nrOpenWhy(err error) string { return "" }
