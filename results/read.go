package results

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxDocumentBytes bounds a result document read by ReadFile and Decode
// (report, merge, the parent of --procs and isolated runs): 512 MiB. A
// document's size grows with its time series, not with its connections: a
// run's totals and whole-run histograms are a few KiB whatever the count
// of connections (a million-connection run included), and each interval
// adds about 1-10 KiB (its figures and one compressed histogram per phase
// it recorded, 3-5 for most workloads). An hour at the default 1 s
// interval is then 4-36 MiB, and the limit holds over 14 hours of the
// largest case; decoding one needs a small multiple of it in memory, so a
// huge or endless input is an error at the limit, not an out-of-memory
// kill.
const MaxDocumentBytes = 512 << 20

// ErrTooLarge is matched (errors.Is) by the error for input past
// MaxDocumentBytes.
var ErrTooLarge = errors.New("result document too large")

// tooLarge is the error for input past limit bytes.
type tooLarge struct{ limit int64 }

func (e tooLarge) Error() string {
	return fmt.Sprintf("larger than the %d MiB limit for a result document", e.limit>>20)
}

func (e tooLarge) Is(target error) bool { return target == ErrTooLarge }

// ReadFile reads and checks the document at path, which may be a regular
// file, a FIFO or a device (report <(...), /dev/stdin). A directory is
// refused; a regular file larger than MaxDocumentBytes is refused before
// it is read, any other input when it passes the limit. Errors start with
// the path: "big.json: larger than the 512 MiB limit".
func ReadFile(path string) (*Document, error) {
	return readFile(path, MaxDocumentBytes)
}

func readFile(path string, limit int64) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: results: is a directory, not a result document", path)
	}
	if st.Mode().IsRegular() && st.Size() > limit {
		return nil, fmt.Errorf("%s: results: %w (%d bytes)", path, limitError(limit), st.Size())
	}
	doc, err := decode(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// Decode reads one document of at most MaxDocumentBytes and checks it:
// the schema must be this one (a newer connbench/vN is refused with a
// message saying so), every phase's histogram must decode, nothing may
// follow the document.
func Decode(r io.Reader) (*Document, error) {
	return decode(r, MaxDocumentBytes)
}

func limitError(limit int64) error { return tooLarge{limit} }

// limitedReader is io.LimitedReader that fails past its limit instead of
// ending quietly, so a long input is an error, not a truncated document.
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a document of exactly the limit from a
		// longer one.
		var b [1]byte
		if _, err := io.ReadFull(l.r, b[:]); err != nil {
			return 0, err
		}
		return 0, limitError(l.limit)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ErrSameFile is wrapped by ReadSources' error for one file given twice to
// a merge.
var ErrSameFile = errors.New("the same file")

// ReadSources reads and checks every file (each at most
// MaxDocumentBytes); the first bad one is the error (it names the
// file). With distinct (merge) a file may also be a log holding several
// documents on lines of their own (ReadLog): they are named FILE#1,
// FILE#2, .... A file given twice is named "FILE (2)" the second time, so its
// runs stay apart; with distinct (merge) it is refused instead, as one file
// under two names (links) is, with an error wrapping ErrSameFile.
func ReadSources(paths []string, distinct bool) ([]Source, error) {
	srcs := make([]Source, 0, len(paths))
	seen := map[string]int{}
	var stats []os.FileInfo
	for _, p := range paths {
		if distinct {
			if st, err := os.Stat(p); err == nil {
				for j, prev := range stats {
					if prev != nil && os.SameFile(prev, st) && st.Mode().IsRegular() {
						return nil, fmt.Errorf("%s and %s are %w: merging it with itself would count its runs twice", paths[j], p, ErrSameFile)
					}
				}
				stats = append(stats, st)
			} else {
				stats = append(stats, nil)
			}
		}
		if distinct {
			docs, err := ReadLog(p)
			if err != nil {
				return nil, err
			}
			if len(docs) > 1 {
				for i, d := range docs {
					srcs = append(srcs, Source{Name: fmt.Sprintf("%s#%d", p, i+1), Doc: d})
				}
				continue
			}
			srcs = append(srcs, Source{Name: p, Doc: docs[0]})
			continue
		}
		doc, err := ReadFile(p)
		if err != nil {
			return nil, err
		}
		seen[p]++
		name := p
		if seen[p] > 1 {
			name = fmt.Sprintf("%s (%d)", p, seen[p])
		}
		srcs = append(srcs, Source{Name: name, Doc: doc})
	}
	return srcs, nil
}
