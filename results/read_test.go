package results

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A regular file over the limit is refused from its size, before it is
// read (the file here is sparse: 512 MiB of nothing on disk).
func TestReadFileOverLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxDocumentBytes + 1); err != nil {
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	f.Close()
	_, err = ReadFile(path)
	oneLine(t, err, path+": ", "larger than the 512 MiB limit")
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("%v is not ErrTooLarge", err)
	}
}

// An endless source that is not a regular file (a FIFO fed forever) is
// cut at the limit with the same error; the limit is made small here.
func TestReadFileEndless(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "endless")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer w.Close()
		// `{"schema":` and then whitespace forever: valid so far, so the
		// decoder keeps reading. The writer stops when the reader closes
		// (EPIPE).
		if _, err := w.WriteString(`{"schema":`); err != nil {
			done <- err
			return
		}
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				done <- nil
				return
			}
		}
	}()
	_, err := readFile(fifo, 1<<20)
	oneLine(t, err, fifo+": ", "larger than the 1 MiB limit")
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("%v is not ErrTooLarge", err)
	}
	if err := <-done; err != nil {
		t.Errorf("writer: %v", err)
	}
}

// /dev/zero is refused at its first byte (not the start of a document),
// without reading on to the limit.
func TestReadFileDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skipf("no /dev/zero: %v", err)
	}
	_, err := ReadFile("/dev/zero")
	oneLine(t, err, "/dev/zero: ", "invalid character")
}

func TestReadFileDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadFile(dir)
	oneLine(t, err, dir, "is a directory")
}

// A document of exactly the limit is read; one byte less of limit refuses
// it, and so does any byte after it.
func TestDecodeLimitEdge(t *testing.T) {
	doc, _ := sampleDoc(t)
	b := encode(t, doc)
	if _, err := decode(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Errorf("document of exactly the limit: %v", err)
	}
	_, err := decode(bytes.NewReader(b), int64(len(b))-1)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("document one byte over the limit: %v, want ErrTooLarge", err)
	}
	_, err = decode(bytes.NewReader(append(b, ' ', ' ')), int64(len(b))+1)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("whitespace past the limit: %v, want ErrTooLarge", err)
	}
}

// Merge refuses one measurement given twice: the same document, and a copy
// of it written again with another command line.
func TestMergeSameRunTwice(t *testing.T) {
	a, _, _ := reportDoc(t, 0, 2)
	copied, err := Decode(bytes.NewReader(encode(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	copied.Command = []string{"connbench", "report", "a.json", "--format", "json"}
	copied.Tool.Version = "other"
	for _, b := range []*Document{a, copied} {
		_, err := Merge([]Source{{"a.json", a}, {"b.json", b}})
		oneLine(t, err, "b.json", "same runs as a.json", "counted twice")
		if !errors.Is(err, ErrMerge) {
			t.Errorf("%v is not ErrMerge", err)
		}
	}
	// The other half of the load, from the same host and start, merges.
	b, _, _ := reportDoc(t, 1, 2)
	if _, err := Merge([]Source{{"a.json", a}, {"b.json", b}}); err != nil {
		t.Errorf("two halves: %v", err)
	}
	// One run of the copy differing (a later start) is another measurement.
	copied.Runs[0].StartedAt = copied.Runs[0].StartedAt.Add(time.Millisecond)
	if _, err := Merge([]Source{{"a.json", a}, {"c.json", copied}}); err != nil && strings.Contains(err.Error(), "same runs") {
		t.Errorf("different start refused as the same run: %v", err)
	}
}
