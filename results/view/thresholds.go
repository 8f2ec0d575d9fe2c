package view

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/connbench/connbench/results"
)

// WriteThresholds lists the --fail-on outcomes, failed ones marked, and a
// last line with how many failed; nothing when there are none.
func WriteThresholds(w io.Writer, ts []results.Threshold) error {
	if len(ts) == 0 {
		return nil
	}
	var b strings.Builder
	failed := 0
	b.WriteString("\nthresholds (--fail-on):\n")
	for _, t := range ts {
		mark := "ok    "
		switch {
		case t.Failed:
			mark = "FAILED"
			failed++
		case t.Skipped:
			mark = "skip  "
		}
		fmt.Fprintf(&b, "  %s %s [%s]: %s\n", mark, t.Expr, t.Variant, t.Detail)
	}
	if failed > 0 {
		fmt.Fprintf(&b, "%d of %d thresholds failed\n", failed, len(ts))
	} else {
		fmt.Fprintf(&b, "all %d thresholds passed\n", len(ts))
	}
	_, err := io.WriteString(w, results.PrintableText(b.String()))
	return err
}

// JUnit XML, as CI systems read it (the Ant JUnit report format): a
// testsuites element holding one testsuite, one testcase per threshold
// outcome; a failed threshold's testcase holds a failure, a skipped one a
// skipped element.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Hostname  string      `xml:"hostname,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the threshold outcomes as JUnit XML: suite names the
// test suite ("connbench thresholds"), started and host its timestamp and
// hostname; each outcome is a testcase named by its expression and
// variant, classed connbench.thresholds.
func WriteJUnit(w io.Writer, ts []results.Threshold, suite string, started time.Time, host string) error {
	s := junitSuite{Name: suite, Tests: len(ts), Time: "0", Timestamp: started.UTC().Format("2006-01-02T15:04:05"), Hostname: host}
	for _, t := range ts {
		c := junitCase{Name: t.Expr + " [" + t.Variant + "]", Classname: "connbench.thresholds", Time: "0", SystemOut: t.Detail}
		switch {
		case t.Failed:
			s.Failures++
			c.Failure = &junitFailure{Message: t.Detail, Type: "threshold", Text: t.Detail}
		case t.Skipped:
			s.Skipped++
			c.Skipped = &junitSkipped{Message: t.Detail}
		}
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{Name: suite, Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped, Time: "0", Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
