package kernel

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// nrOpenWhy returns why writing fs.nr_open failed with err, as a clause to
// append to the error ("" if there is nothing to add).
func nrOpenWhy(err error) string {
	switch {
	case errors.Is(err, os.ErrPermission):
		return " needs root: euid 0 in the initial user namespace"
	case errors.Is(err, unix.EROFS):
		return " needs /proc/sys, mounted read-only here, to be writable"
	case errors.Is(err, unix.EINVAL):
		return ": the kernel refuses values above its maximum"
	}
	return ""
}
