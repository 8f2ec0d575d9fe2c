package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// flagLine matches a flag in --help: "  -c, --concurrency int   text (default 16)".
var flagLine = regexp.MustCompile(`^\s+(?:-(\w), )?--([a-z0-9-]+)(?:\S*)?(?: \S+)?\s{2,}.*?(?: \(default (.*)\))?$`)

// TestFlagsGolden: every command's flags, their short forms and defaults,
// as --help shows them, against testdata/flags.golden. The layout of the
// help may change (groups, order); the flags a user types and what they
// default to may not without a deliberate -update.
func TestFlagsGolden(t *testing.T) {
	var b strings.Builder
	for _, cmd := range [][]string{{"--help"}, {"run", "--help"}, {"compare", "--help"}, {"serve", "--help"},
		{"report", "--help"}, {"merge", "--help"}, {"check", "--help"}, {"restore", "--help"}} {
		code, stdout, stderr := connbench(t, cmd...)
		if code != exitOK {
			t.Fatalf("%q: exit %d: %s", cmd, code, stderr)
		}
		var lines []string
		for _, l := range strings.Split(stdout, "\n") {
			m := flagLine.FindStringSubmatch(l)
			if m == nil || !strings.HasPrefix(strings.TrimSpace(l), "-") {
				continue
			}
			lines = append(lines, fmt.Sprintf("  --%s short=%q default=%s", m[2], m[1], m[3]))
		}
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s\n%s\n", strings.TrimSpace("connbench "+strings.Join(cmd[:len(cmd)-1], " ")), strings.Join(lines, "\n"))
	}
	got := b.String()
	const path = "testdata/flags.golden"
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestFlagsGolden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("flags or defaults changed (go test -run TestFlagsGolden -update rewrites %s after a deliberate change):\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// TestEveryCommandHasHelp: `connbench help` lists every visible command of
// the table, and `help NAME` shows each one's help (its help/NAME.txt is
// embedded).
func TestEveryCommandHasHelp(t *testing.T) {
	_, list, _ := connbench(t, "help")
	for _, c := range commands {
		if c.hidden {
			continue
		}
		if !strings.Contains(list, "connbench "+c.usage) {
			t.Errorf("help does not list %q", c.usage)
		}
		if c.name == "help" || c.name == "version" {
			continue
		}
		code, out, stderr := connbench(t, "help", c.name)
		if code != exitOK || !strings.Contains(out, "Usage: connbench "+c.name) {
			t.Errorf("help %s: exit %d, stderr %q, stdout %.80q", c.name, code, stderr, out)
		}
	}
}
