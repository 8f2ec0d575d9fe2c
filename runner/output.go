package runner

import (
	"fmt"
	"io"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
)

// WriteOutputs writes what s asks for of doc: the JSON document (-o; - is
// stdout), the interval histograms (--hlog), the percentile distributions
// (--hgrm) and the threshold outcomes (--junit), each by results.Write's
// rules (a device or FIFO in place, a file atomically, a link to a file
// refused). It returns the files written (not stdout), also when it fails
// part way.
func WriteOutputs(doc *results.Document, s *Spec, stdout io.Writer) ([]string, error) {
	var written []string
	if s.Output != "" {
		if err := results.Write(s.Output, stdout, func(w io.Writer) error { return results.Encode(w, doc) }); err != nil {
			return nil, fmt.Errorf("--output: %w", err)
		}
		if s.Output != "-" {
			written = append(written, s.Output)
		}
	}
	more, err := writeHistograms(doc, s.HLog, s.HGrm, s.Output)
	written = append(written, more...)
	if err == nil && s.JUnit != "" {
		if err = writeJUnit(doc, s.JUnit, stdout); err == nil {
			written = append(written, s.JUnit)
		}
	}
	return written, err
}

// writeHistograms writes the --hlog and --hgrm files of doc (when asked),
// by results.Write's rules (a device or FIFO in place, a file atomically),
// and returns the files written.
func writeHistograms(doc *results.Document, hlog, hgrm, output string) ([]string, error) {
	var written []string
	// The run's validation refuses this before the run; here it keeps an
	// --hlog or --hgrm from replacing the -o file just written.
	if err := results.CheckOutputs(map[string]string{"-o": output, "--hlog": hlog, "--hgrm": hgrm}); err != nil {
		return nil, Usagef("%v (-o was written)", err)
	}
	if hlog != "" {
		if err := results.WriteAtomic(hlog, func(w io.Writer) error { return view.WriteHlog(w, doc) }); err != nil {
			return written, fmt.Errorf("--hlog: %w", err)
		}
		written = append(written, hlog)
	}
	if hgrm != "" {
		name := output
		if name == "" || name == "-" {
			name = "run"
		}
		err := results.WriteAtomic(hgrm, func(w io.Writer) error {
			_, err := view.WriteHgrm(w, []results.Source{{Name: name, Doc: doc}}, results.PhaseOrder)
			return err
		})
		if err != nil {
			return written, fmt.Errorf("--hgrm: %w", err)
		}
		written = append(written, hgrm)
	}
	return written, nil
}
