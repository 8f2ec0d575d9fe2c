package results

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func writeString(path, s string) error {
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}

// fileState is what a test checks is unchanged: content, mode, inode.
type fileState struct {
	data  string
	mode  fs.FileMode
	inode uint64
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	var data string
	if st.Mode().IsRegular() {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data = string(b)
	} else if st.Mode()&fs.ModeSymlink != 0 {
		data, _ = os.Readlink(path)
	}
	return fileState{data, st.Mode(), st.Sys().(*syscall.Stat_t).Ino}
}

func oneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// A planted symbolic link to a regular file is refused: the link is not
// replaced, the file it names is not written, nothing is left behind.
func TestWriteSymlinkToRegularRefused(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out.json")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	before, beforeLink := stateOf(t, victim), stateOf(t, link)
	err := writeString(link, "result")
	oneLine(t, err, link, "symbolic link to "+victim, "regular file")
	if err := CheckWritable(link); err == nil {
		t.Errorf("CheckWritable(link to a regular file) succeeded")
	}
	if got := stateOf(t, victim); got != before {
		t.Errorf("victim changed: %+v, was %+v", got, before)
	}
	if got := stateOf(t, link); got != beforeLink {
		t.Errorf("link changed: %+v, was %+v", got, beforeLink)
	}
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"out.json", "victim"}) {
		t.Errorf("directory holds %v", n)
	}
}

// A dangling link is refused too: writing through it would create the
// file it names, wherever that is.
func TestWriteDanglingSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "out.json")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	oneLine(t, writeString(link, "result"), link, "symbolic link to", "elsewhere")
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"out.json"}) {
		t.Errorf("directory holds %v", n)
	}
}

// A FIFO is written in place (its reader gets the bytes) and stays a FIFO;
// so is a link to one, the link left as it was.
func TestWriteFIFOInPlace(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, link} {
		if err := CheckWritable(path); err != nil { // must not wait for a reader
			t.Errorf("CheckWritable(%s): %v", path, err)
		}
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(fifo) // waits for the writer
			if err != nil {
				got <- err.Error()
				return
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			got <- string(b)
		}()
		if err := writeString(path, "through the pipe\n"); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		if s := <-got; s != "through the pipe\n" {
			t.Errorf("%s: reader got %q", path, s)
		}
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("fifo is no longer a FIFO: %v %v", st.Mode(), err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link is no longer a link: %v %v", st.Mode(), err)
	}
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"fifo", "link"}) {
		t.Errorf("directory holds %v", n)
	}
}

// A null device is written in place and stays a character device: first
// one made in a temporary directory, then, that passed, /dev/null itself.
func TestWriteDevNull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a device node needs root")
	}
	dir := t.TempDir()
	own := filepath.Join(dir, "null")
	if err := unix.Mknod(own, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	for _, path := range []string{own, "/dev/null"} {
		if err := CheckWritable(path); err != nil {
			if errors.Is(err, unix.EACCES) && path == own {
				t.Skipf("devices cannot be opened on this file system (nodev): %v", err)
			}
			t.Fatalf("CheckWritable(%s): %v", path, err)
		}
		before := stateOf(t, path)
		if err := writeString(path, "discarded"); err != nil {
			if errors.Is(err, unix.EACCES) && path == own {
				t.Skipf("devices cannot be opened on this file system (nodev): %v", err)
			}
			t.Fatalf("write %s: %v", path, err)
		}
		after := stateOf(t, path)
		if after != before || after.mode&fs.ModeCharDevice == 0 {
			t.Fatalf("%s changed: %+v, was %+v", path, after, before)
		}
	}
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"null"}) {
		t.Errorf("directory holds %v", n)
	}
}

// A regular file is replaced, not rewritten: a hard link to the old file
// still holds the old content; the mode is kept; nothing is left behind.
// A new file is 0644.
func TestWriteRegularReplacedAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, filepath.Join(dir, "old")); err != nil {
		t.Fatal(err)
	}
	if err := writeString(path, "new"); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, path); got.data != "new" || got.mode != 0o640 {
		t.Errorf("r.json: %+v, want new content, mode 0640", got)
	}
	if got := stateOf(t, filepath.Join(dir, "old")); got.data != "old" {
		t.Errorf("the old file was written in place: %q", got.data)
	}
	fresh := filepath.Join(dir, "fresh.json")
	if err := writeString(fresh, "x"); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, fresh); got.data != "x" || got.mode != 0o644 {
		t.Errorf("fresh.json: %+v, want mode 0644", got)
	}
	// A failing producer leaves the file as it was.
	err := WriteAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("producer failed")
	})
	if err == nil || stateOf(t, path).data != "new" {
		t.Errorf("failed write: %v, content %q", err, stateOf(t, path).data)
	}
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"fresh.json", "old", "r.json"}) {
		t.Errorf("directory holds %v", n)
	}
}

func TestWriteDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(sub, link); err != nil {
		t.Fatal(err)
	}
	oneLine(t, writeString(sub, "x"), sub, "is a directory")
	oneLine(t, writeString(link, "x"), link, "a directory")
	oneLine(t, CheckWritable(sub), sub, "is a directory")
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"link", "sub"}) {
		t.Errorf("directory holds %v", n)
	}
	if n := dirNames(t, sub); len(n) != 0 {
		t.Errorf("sub holds %v", n)
	}
}

func TestWriteStdout(t *testing.T) {
	var b bytes.Buffer
	if err := Write("-", &b, func(w io.Writer) error { _, err := io.WriteString(w, "out"); return err }); err != nil || b.String() != "out" {
		t.Errorf("Write(-): %v, %q", err, b.String())
	}
	oneLine(t, writeString("-", "x"), "stdout")
	oneLine(t, writeString("", "x"), "empty file name")
}

func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x")
	if err := os.WriteFile(x, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard")
	if err := os.Link(x, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "via")); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, filepath.Join(dir, "new.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		outputs map[string]string
		want    []string // nil: no error
	}{
		{"distinct", map[string]string{"-o": x, "--hlog": filepath.Join(dir, "y"), "--hgrm": "-"}, nil},
		{"not asked", map[string]string{"-o": x, "--hlog": "", "--hgrm": ""}, nil},
		{"same path", map[string]string{"-o": x, "--hlog": x}, []string{"-o and --hlog both name " + x}},
		{"same new file, relative and absolute", map[string]string{"-o": filepath.Join(dir, "new.json"), "--hgrm": rel}, []string{"-o " + filepath.Join(dir, "new.json") + " and --hgrm " + rel + " are the same file"}},
		{"unclean", map[string]string{"-o": filepath.Join(dir, "new.json"), "--hlog": dir + "/./sub/../new.json"}, []string{"are the same file"}},
		{"through a linked directory", map[string]string{"-o": filepath.Join(dir, "via", "new.json"), "--hlog": filepath.Join(dir, "new.json")}, []string{"-o " + filepath.Join(dir, "via", "new.json") + " and --hlog", "are the same file"}},
		{"hard link", map[string]string{"--hlog": x, "--hgrm": hard}, []string{"--hgrm " + hard + " and --hlog " + x + " are the same file"}},
		{"stdout twice", map[string]string{"-o": "-", "--hlog": "-"}, []string{"-o and --hlog both name - (stdout)"}},
		{"null device twice", map[string]string{"-o": "/dev/null", "--hlog": "/dev/null", "--hgrm": "/dev/null"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOutputs(tc.outputs)
			if tc.want == nil {
				if err != nil {
					t.Errorf("%v", err)
				}
				return
			}
			oneLine(t, err, tc.want...)
		})
	}
}

// A block device (here a node made for loop0, never opened) is refused:
// a result is not written onto a disk.
func TestWriteBlockDeviceRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a device node needs root")
	}
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := unix.Mknod(disk, unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(disk, link); err != nil {
		t.Fatal(err)
	}
	oneLine(t, writeString(disk, "x"), disk, "block device")
	oneLine(t, writeString(link, "x"), link, "block device")
	oneLine(t, CheckWritable(disk), disk, "block device")
	if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"disk", "link"}) {
		t.Errorf("directory holds %v", n)
	}
}
