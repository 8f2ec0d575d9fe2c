package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/connbench/connbench/results"
)

// WriteReport renders the sources as text: one source as the table its run
// printed (WriteTable) and its recorded --fail-on outcomes; several as one
// line per source saying where it came from, then all their runs side by
// side (Combine).
func WriteReport(w io.Writer, srcs []results.Source) error {
	if len(srcs) == 1 {
		if err := WriteTable(w, srcs[0].Doc); err != nil {
			return err
		}
		return WriteThresholds(w, srcs[0].Doc.Thresholds)
	}
	var b strings.Builder
	for _, s := range srcs {
		d := s.Doc
		fmt.Fprintf(&b, "%s: %s, %s %s on %s (kernel %s), started %s%s\n", results.Printable(s.Name),
			plural(len(d.Runs), "run"), results.Printable(d.Tool.Name), results.Printable(d.Tool.Version), results.Printable(d.Host.Hostname), results.Printable(d.Host.Kernel),
			d.StartedAt.UTC().Format(time.RFC3339), map[bool]string{true: ", partial"}[d.Partial])
	}
	b.WriteByte('\n')
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return WriteTable(w, results.Combine(srcs))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
