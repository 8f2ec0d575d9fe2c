package runner

import (
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/stats"
	"github.com/connbench/connbench/threshold"
	"github.com/spf13/pflag"
)

// Baseline is report --baseline OLD.json NEW.json: the statistics of
// compare --repeat between two result files recorded at different times,
// with thresholds for CI.
type Baseline struct {
	File   string   // --baseline: the older result file
	FailOn []string // --fail-on
	JUnit  string   // --junit
}

// DefineFlags defines report's --baseline, --fail-on and --junit on fs.
func (b *Baseline) DefineFlags(fs *pflag.FlagSet) {
	fs.StringVar(&b.File, "baseline", "", "compare FILE with this older result file: per variant (matched by label) the medians with 95% intervals and each change's significance (Mann-Whitney U); text only")
	fs.StringArrayVar(&b.FailOn, "fail-on", nil, "with --baseline: fail (exit status 99) when EXPR holds for the new file, e.g. p99(connect)>5ms or regression(p99(transaction))>5% (repeatable; see connbench run --help)")
	fs.StringVar(&b.JUnit, "junit", "", "with --baseline: write the --fail-on outcomes as JUnit XML to this file")
}

// Given reports whether any of b's flags was given.
func (b *Baseline) Given() bool { return b.File != "" || len(b.FailOn) > 0 || b.JUnit != "" }

// Report compares the one file in files with b.File, writes the text to
// output (- for stdout) and the --junit file, and returns a
// *threshold.FailedError when a threshold failed (the outputs are written
// first), or a usage error for bad flags before anything is read.
func (b *Baseline) Report(files []string, output, format string, stdout, stderr io.Writer) error {
	if b.File == "" {
		return Usagef("--fail-on and --junit with report need --baseline OLD.json")
	}
	if format != "text" {
		return Usagef("--baseline: the comparison is text only (not --format %s)", format)
	}
	if len(files) != 1 {
		return Usagef("report --baseline %s takes one newer result file, got %d", b.File, len(files))
	}
	exprs, err := threshold.ParseAll(b.FailOn)
	if err != nil {
		return Usagef("--fail-on %v (see connbench run --help)", err)
	}
	if b.JUnit != "" && len(exprs) == 0 {
		return Usagef("--junit %s: needs at least one --fail-on (the thresholds are its test cases)", b.JUnit)
	}
	if b.JUnit == "-" {
		return Usagef("--junit -: stdout is for the report; name a file (or /dev/stdout)")
	}
	if err := results.CheckOutputs(map[string]string{"-o": output, "--junit": b.JUnit}); err != nil {
		return Usagef("%v", err)
	}
	if b.JUnit != "" {
		if err := results.CheckWritable(b.JUnit); err != nil {
			return fmt.Errorf("--junit %s", err)
		}
	}
	srcs, err := results.ReadSources([]string{b.File, files[0]}, false)
	if err != nil {
		return err
	}
	old, cur := srcs[0], srcs[1]
	var text strings.Builder
	newG, baseG := pairGroups(old.Doc, cur.Doc)
	fmt.Fprintf(&text, "%s (%s) against the baseline %s (%s)\n", cur.Name, cur.Doc.StartedAt.UTC().Format("2006-01-02 15:04:05Z"),
		old.Name, old.Doc.StartedAt.UTC().Format("2006-01-02 15:04:05Z"))
	for i, g := range newG {
		text.WriteString("\n")
		if len(baseG[i].Runs) == 0 {
			fmt.Fprintf(&text, "%s: no run in the baseline has this label; not compared\n", results.Printable(g.Label))
			continue
		}
		fmt.Fprintf(&text, "%s (baseline: %s)\n", results.Printable(g.Label), results.Printable(baseG[i].Label))
		view.WriteStats(&text, stats.CompareGroups([]results.Group{
			{Label: "baseline", Runs: baseG[i].Runs}, {Label: "new", Runs: g.Runs}}))
	}
	ts := threshold.Evaluate(exprs, newG, baseG)
	if err := view.WriteThresholds(&text, ts); err != nil {
		return err
	}
	err = results.Write(output, stdout, func(w io.Writer) error { _, err := io.WriteString(w, results.PrintableText(text.String())); return err })
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if output != "-" {
		fmt.Fprintf(stderr, "connbench: wrote %s\n", output)
	}
	if b.JUnit != "" {
		doc := &results.Document{StartedAt: cur.Doc.StartedAt, Host: cur.Doc.Host, Thresholds: ts}
		if err := writeJUnit(doc, b.JUnit, stdout); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "connbench: wrote %s\n", b.JUnit)
	}
	return threshold.Failed(ts)
}

// pairGroups returns cur's variants and, for each, old's variant of the
// same label (none: a group without runs); when each file holds one
// variant, the two are paired whatever their labels.
func pairGroups(old, cur *results.Document) (groups, base []results.Group) {
	og, cg := results.Groups(old), results.Groups(cur)
	base = make([]results.Group, len(cg))
	for i, g := range cg {
		for _, o := range og {
			if o.Label == g.Label {
				base[i] = o
			}
		}
	}
	if len(og) == 1 && len(cg) == 1 {
		base[0] = og[0]
	}
	return cg, base
}
