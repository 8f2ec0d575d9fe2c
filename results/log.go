package results

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// logLinePrefix starts a document written on one line (--jsonl, EncodeLine).
var logLinePrefix = []byte(`{"schema":`)

// ReadLog reads the documents at path: one document, or a log (kubectl
// logs of the pods of a run, one after the other) in which each document
// is a line of its own (--jsonl) among other lines, which are skipped. The
// whole input is bounded by MaxDocumentBytes. A line that starts like a
// document but is not one is an error naming its line; a log without any
// document is the error of reading it as one.
func ReadLog(path string) ([]*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("%s: results: is a directory, not a result document", path)
	} else if st.Mode().IsRegular() && st.Size() > MaxDocumentBytes {
		return nil, fmt.Errorf("%s: results: %w (%d bytes)", path, limitError(MaxDocumentBytes), st.Size())
	}
	b, err := io.ReadAll(&limitedReader{r: f, left: MaxDocumentBytes, limit: MaxDocumentBytes})
	if err != nil {
		return nil, fmt.Errorf("%s: results: %w", path, err)
	}
	doc, whole := decode(bytes.NewReader(b), MaxDocumentBytes)
	if whole == nil {
		return []*Document{doc}, nil
	}
	var docs []*Document
	for n, line := 1, b; len(line) > 0; n++ {
		var rest []byte
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, rest = line[:i], line[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, "\r")
		if bytes.HasPrefix(line, logLinePrefix) {
			d, err := decode(bytes.NewReader(line), MaxDocumentBytes)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			docs = append(docs, d)
		}
		line = rest
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: %w", path, whole)
	}
	return docs, nil
}
