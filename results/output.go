package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// How a result is written to the path a user named. connbench runs as
// root, so the path is hostile until looked at:
//
//   - "-" is stdout (Write only; the caller supplies it);
//   - a path that does not exist is created: a temporary file (os.CreateTemp,
//     O_EXCL, an unpredictable name) in its directory, written, synced and
//     renamed into place without replacing anything that appeared meanwhile;
//   - a regular file is replaced atomically the same way (a reader sees the
//     old file or the new one, a failure leaves the old one), keeping its
//     permission bits;
//   - a device, FIFO or socket is opened without O_CREAT and written in
//     place: -o /dev/null discards the result and stays a device;
//   - a symbolic link is resolved: one that ends at a device or FIFO
//     (/dev/stdout -> /proc/self/fd/1 -> a pipe) is written in place, one
//     that ends at a regular file is refused, so a planted link can neither
//     be replaced nor followed to clobber the file it names;
//   - a directory is refused, and so is a block device (-o /dev/sda is a
//     slip of the keyboard, not a wish to overwrite a disk).
type target int

const (
	targetNew     target = iota // does not exist: create
	targetReplace               // a regular file: replace atomically
	targetInPlace               // a device, FIFO or socket (or a link to one)
)

// inspect classifies path (see target). The error says what path is and
// why it is refused.
func inspect(path string) (target, fs.FileInfo, error) {
	if path == "" {
		return 0, nil, errors.New("empty file name")
	}
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return targetNew, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	switch m := st.Mode(); {
	case m.IsRegular():
		return targetReplace, st, nil
	case m.IsDir():
		return 0, nil, errors.New("is a directory")
	case m&fs.ModeSymlink != 0:
		dest, _ := os.Readlink(path)
		end, err := os.Stat(path)
		if err != nil {
			return 0, nil, fmt.Errorf("is a symbolic link to %s, which cannot be written: %w", dest, unwrapPath(err))
		}
		switch {
		case end.Mode()&fs.ModeDevice != 0 && end.Mode()&fs.ModeCharDevice == 0:
			return 0, nil, fmt.Errorf("is a symbolic link to %s, a block device: refusing to write a result onto a disk", dest)
		case end.Mode().IsRegular():
			return 0, nil, fmt.Errorf("is a symbolic link to %s, a regular file: refusing to replace the link or follow it (name the file itself)", dest)
		case end.IsDir():
			return 0, nil, fmt.Errorf("is a symbolic link to %s, a directory", dest)
		}
		return targetInPlace, end, nil
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		return 0, nil, errors.New("is a block device: refusing to write a result onto a disk")
	default:
		return targetInPlace, st, nil
	}
}

// unwrapPath drops the *fs.PathError wrapper, whose path the caller names
// already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Write writes what write produces to path, by the rules above: "-" to
// stdout, a device or FIFO in place, a new or regular file atomically. The
// content is produced into memory first, so a failing write leaves the
// target untouched. Errors read "results: write PATH: why".
func Write(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		if stdout == nil {
			return errors.New("results: write -: stdout is not available here")
		}
		return write(stdout)
	}
	kind, st, err := inspect(path)
	if err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	if kind == targetInPlace {
		lst, lerr := os.Lstat(path)
		link := lerr == nil && lst.Mode()&fs.ModeSymlink != 0
		err = writeInPlace(path, buf.Bytes(), link, st)
	} else {
		err = replace(path, buf.Bytes())
	}
	if err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	return nil
}

// WriteAtomic is Write without stdout: a regular or new file is written
// atomically, a device or FIFO in place, anything else refused.
func WriteAtomic(path string, write func(io.Writer) error) error {
	return Write(path, nil, write)
}

// WriteFile writes doc to path (see Write; "-" is not stdout here).
func WriteFile(path string, doc *Document) error {
	return WriteAtomic(path, func(w io.Writer) error { return Encode(w, doc) })
}

// writeInPlace opens an existing device, FIFO or socket without creating
// or truncating anything and writes data into it. A FIFO blocks until it
// has a reader, as a shell redirection does. Only a path inspect found to
// be a symbolic link is followed (O_NOFOLLOW otherwise), and the opened
// file must be the one inspect saw: anything swapped in meanwhile (a
// regular file) is closed unwritten.
func writeInPlace(path string, data []byte, link bool, seen fs.FileInfo) error {
	flags := os.O_WRONLY | unix.O_NOCTTY
	if !link {
		flags |= unix.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return unwrapPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return unwrapPath(err)
	}
	if !os.SameFile(st, seen) {
		return errors.New("changed while being opened; not written")
	}
	if _, err := f.Write(data); err != nil {
		return unwrapPath(err)
	}
	return unwrapPath(f.Close())
}

// replace writes data to a temporary file beside path and renames it over
// path: over the regular file that is there, or, for a path that did not
// exist, without replacing anything that appeared since (RENAME_NOREPLACE).
// The rename replaces a directory entry, never follows one, so a symbolic
// link swapped in meanwhile is replaced, not its target.
func replace(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return unwrapPath(err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return unwrapPath(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	// The mode is set on the descriptor before the file gets its name: a
	// regular file keeps its permission bits, a new one is 0644.
	perm := fs.FileMode(0o644)
	kind, st, err := inspect(path)
	if err != nil {
		return fail(err)
	}
	if kind == targetReplace {
		perm = st.Mode().Perm()
	}
	if kind == targetInPlace {
		return fail(errors.New("changed into a device or FIFO while being written; not replaced"))
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return unwrapPath(err)
	}
	if kind == targetNew {
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// A file system without RENAME_NOREPLACE: a hard link
			// fails the same way when path exists.
			if err = os.Link(tmp, path); err == nil {
				os.Remove(tmp)
			}
		}
		if errors.Is(err, fs.ErrExist) {
			err = errors.New("appeared while the result was written; not replaced")
		}
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return unwrapPath(err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself durable; a failure here loses nothing written
		d.Close()
	}
	return nil
}

// CheckWritable fails early when path cannot be written by Write
// (directory missing, no permission, a directory, a symbolic link to a
// regular file), before a run spends its time. For a new or regular file
// it creates and removes a temporary file beside path; a device or FIFO is
// checked for write permission only (opening a FIFO would wait for its
// reader). "-" is always writable.
func CheckWritable(path string) error {
	if path == "-" {
		return nil
	}
	kind, _, err := inspect(path)
	if err != nil {
		return fmt.Errorf("results: cannot write %s: %w", path, err)
	}
	if kind == targetInPlace {
		if err := unix.Access(path, unix.W_OK); err != nil {
			return fmt.Errorf("results: cannot write %s: %w", path, err)
		}
		return nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".check*")
	if err != nil {
		return fmt.Errorf("results: cannot write %s: %w", path, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// CheckOutputs returns an error when two of one command's outputs (flag
// name -> path; empty paths are not asked for and skipped) name the same
// file, which would be written twice, the second write replacing the
// first: "-o and --hlog both name x.json: ...". Paths are compared cleaned and
// absolute with their directory's links resolved, and existing files with
// os.SameFile (hard links, links). Two outputs to one device or FIFO
// (/dev/null) are fine; "-" (stdout) twice is not.
func CheckOutputs(outputs map[string]string) error {
	flags := make([]string, 0, len(outputs))
	for f, p := range outputs {
		if p != "" {
			flags = append(flags, f)
		}
	}
	// A stable order for the message: -o first, then by name.
	rank := func(f string) string {
		if f = strings.TrimLeft(f, "-"); f == "o" || f == "output" {
			return ""
		}
		return f
	}
	slices.SortFunc(flags, func(a, b string) int { return strings.Compare(rank(a), rank(b)) })
	type ident struct {
		name string
		st   fs.FileInfo // when it exists
	}
	ids := make([]ident, len(flags))
	for i, f := range flags {
		p := outputs[f]
		if p == "-" {
			ids[i].name = "-"
			continue
		}
		ids[i].name = canonical(p)
		if st, err := os.Stat(p); err == nil {
			ids[i].st = st
		}
	}
	for i := range flags {
		for j := i + 1; j < len(flags); j++ {
			a, b := ids[i], ids[j]
			same := a.name == b.name
			if a.st != nil && b.st != nil {
				same = same || os.SameFile(a.st, b.st)
				if same && !a.st.Mode().IsRegular() && a.name != "-" {
					continue // a device or FIFO: written in place, twice is fine
				}
			}
			if !same {
				continue
			}
			pa, pb := outputs[flags[i]], outputs[flags[j]]
			switch {
			case pa == "-":
				return fmt.Errorf("%s and %s both name - (stdout): give each output its own file", flags[i], flags[j])
			case pa == pb:
				return fmt.Errorf("%s and %s both name %s: give each output its own file", flags[i], flags[j], pa)
			}
			return fmt.Errorf("%s %s and %s %s are the same file: give each output its own file", flags[i], pa, flags[j], pb)
		}
	}
	return nil
}

// canonical is path made absolute and clean, its directory's symbolic
// links resolved (the file itself may not exist yet).
func canonical(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	dir, base := filepath.Split(abs)
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		return filepath.Join(d, base)
	}
	return abs
}
