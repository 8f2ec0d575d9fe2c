package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
	"golang.org/x/sys/unix"
)

// rptDoc is a small valid result document: one run of the given
// workload and label, with a two-interval series; values are recorded
// from vals.
func rptDoc(t *testing.T, workload string, vals ...int64) *results.Document {
	t.Helper()
	start := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	rec := histogram.New()
	ivs := []*histogram.Recorder{histogram.New(), histogram.New()}
	for i, v := range vals {
		rec.Record(v)
		ivs[i%2].Record(v)
	}
	p, err := results.NewPhase(rec)
	if err != nil {
		t.Fatal(err)
	}
	var series []results.Interval
	for i, ir := range ivs {
		enc, err := ir.Encode()
		if err != nil {
			t.Fatal(err)
		}
		s := ir.Summary()
		series = append(series, results.Interval{
			StartNs: int64(i) * 1e9, EndNs: int64(i+1) * 1e9, Transactions: ir.Count(), TransactionsPerSec: float64(ir.Count()),
			Phases: map[string]results.IntervalPhase{"transaction": {Count: s.Count, P50Ns: s.P50Ns, P99Ns: s.P99Ns, MaxNs: s.MaxNs}},
			Hdr:    map[string]string{"transaction": enc},
			States: map[string]int{"time_wait": 10 * (i + 1)},
		})
	}
	n := int64(len(vals))
	return &results.Document{
		Schema: results.Schema, Tool: results.Tool{Name: "connbench", Version: "0.1.0"}, StartedAt: start,
		Host: results.Host{Hostname: "vm", Kernel: "6.18.44", CPUs: 2},
		Runs: []results.Run{{
			Label: workload, Workload: workload, Target: "127.0.0.1:9000", Config: json.RawMessage(`{"interval_ns":1000000000}`),
			StartedAt: start, DurationNs: 2e9,
			Counts: results.Counts{Transactions: n, Connections: n}, Rates: results.Rates{TransactionsPerSec: float64(n) / 2, ConnsPerSec: float64(n) / 2},
			Failures: map[string]int64{}, Phases: map[string]results.Phase{"transaction": p}, Series: series,
			Kernel: &results.Kernel{PortRangeSize: 1000, Sources: 1, Samples: 2},
		}},
	}
}

// rptSave writes doc into dir as name and returns the path.
func rptSave(t *testing.T, dir, name string, doc *results.Document) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := results.WriteFile(path, doc); err != nil {
		t.Fatal(err)
	}
	return path
}

func rptRaw(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rptBadFiles writes one file per kind of bad input and returns their paths
// and what the error must say about each.
func rptBadFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	good := rptSave(t, dir, "good.json", rptDoc(t, "per-request", 100_000, 200_000, 300_000))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["runs"].([]any)[0].(map[string]any)["phases"].(map[string]any)["transaction"].(map[string]any)["hdr"] = "HISTFAAAAnotahistogram"
	corrupt, _ := json.Marshal(doc)
	newer := strings.Replace(string(data), `"connbench/v1"`, `"connbench/v2"`, 1)
	return map[string][]string{
		rptRaw(t, dir, "other.json", `{"name": "something else", "version": 3}`):   {"other.json", "not a connbench result document"},
		rptRaw(t, dir, "newer.json", newer):                                        {"newer.json", "connbench/v2", "another connbench version"},
		rptRaw(t, dir, "truncated.json", string(data[:len(data)/2])):               {"truncated.json", "unexpected EOF"},
		rptRaw(t, dir, "corrupt.json", string(corrupt)):                            {"corrupt.json", "phase transaction", "histogram"},
		rptRaw(t, dir, "text.txt", "pooled 100000/s\n"):                            {"text.txt", "invalid character"},
		filepath.Join(dir, "missing.json"):                                         {"missing.json", "no such file"},
		rptRaw(t, dir, "empty.json", ""):                                           {"empty.json", "EOF"},
		rptRaw(t, dir, "two.json", string(data)+string(data)):                      {"two.json", "after the end of the document"},
		rptRaw(t, dir, "array.json", `[{"schema":"connbench/v1"}]`):                {"array.json", "cannot unmarshal"},
		rptRaw(t, dir, "noschema.json", `{"runs":[{"label":"x","workload":"y"}]}`): {"noschema.json", "not a connbench result document"},
	}
}

// rptOneLine checks that stderr is one "connbench: " line mentioning want.
func rptOneLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "connbench: ") {
		t.Errorf("stderr is not one line starting with \"connbench: \": %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not mention %q", stderr, w)
		}
	}
}

func TestReportMergeBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := rptSave(t, dir, "good2.json", rptDoc(t, "per-request", 5, 6, 7))
	for path, want := range rptBadFiles(t, dir) {
		for _, cmd := range []string{"report", "merge"} {
			t.Run(cmd+" "+filepath.Base(path), func(t *testing.T) {
				out := filepath.Join(dir, "out-"+cmd+"-"+filepath.Base(path))
				args := []string{cmd, good, path, "-o", out}
				if cmd == "report" {
					args = append(args, "--format", "html")
				}
				code, stdout, stderr := connbench(t, args...)
				if code != exitFailure {
					t.Errorf("exit code %d, want %d", code, exitFailure)
				}
				if stdout != "" {
					t.Errorf("stdout not empty: %q", stdout)
				}
				rptOneLine(t, stderr, want...)
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("output %s exists after the failure: %v", out, err)
				}
			})
		}
	}
	// Nothing but the inputs is left in the directory (no temporary files).
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "out-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestReportMergeBadFlags(t *testing.T) {
	dir := t.TempDir()
	good := rptSave(t, dir, "good.json", rptDoc(t, "per-request", 5, 6, 7))
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"report"}, []string{"at least one result file"}},
		{[]string{"report", good, "--format", "pdf"}, []string{"--format", `"pdf"`, "html"}},
		{[]string{"report", good, "-f", ""}, []string{"--format"}},
		{[]string{"report", good, "--phase", "handshake"}, []string{"--phase", "hgrm"}},
		{[]string{"report", good, "--format", "hgrm", "--phase", "nope"}, []string{"--phase", `"nope"`}},
		{[]string{"report", good, "--frobnicate"}, []string{"--frobnicate", "report --help"}},
		{[]string{"report", good, "-o", ""}, []string{"--output"}},
		{[]string{"merge"}, []string{"at least two", "got 0"}},
		{[]string{"merge", good}, []string{"at least two", "got 1"}},
		{[]string{"merge", good, good, "--format", "csv"}, []string{"--format", "merge --help"}},
		{[]string{"merge", good, good, "-o", ""}, []string{"--output"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := connbench(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			rptOneLine(t, stderr, tc.want...)
		})
	}
}

func TestMergeDifferentWorkloads(t *testing.T) {
	dir := t.TempDir()
	a := rptSave(t, dir, "a.json", rptDoc(t, "per-request", 5, 6, 7))
	bdoc := rptDoc(t, "per-request", 8, 9)
	bdoc.Runs[0].Workload = "connect"
	b := rptSave(t, dir, "b.json", bdoc)
	out := rptRaw(t, dir, "all.json", "keep")
	code, stdout, stderr := connbench(t, "merge", a, b, "-o", out)
	if code != exitFailure || stdout != "" {
		t.Errorf("exit %d, stdout %q: want %d and nothing", code, stdout, exitFailure)
	}
	rptOneLine(t, stderr, "b.json", "workload connect", "per-request")
	if data, _ := os.ReadFile(out); string(data) != "keep" {
		t.Errorf("the existing output was changed: %q", data)
	}
}

func TestReportFormats(t *testing.T) {
	dir := t.TempDir()
	a := rptSave(t, dir, "a.json", rptDoc(t, "per-request", 100_000, 200_000, 300_000, 400_000))
	b := rptSave(t, dir, "b.json", rptDoc(t, "per-request", 150_000, 250_000))
	for _, format := range []string{"text", "json", "csv", "series-csv", "hgrm", "html"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := connbench(t, "report", "--format", format, a, b)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			switch format {
			case "text":
				if !strings.Contains(stdout, "a.json: per-request") || !strings.Contains(stdout, "b.json: per-request") {
					t.Errorf("text lacks the prefixed labels:\n%s", stdout)
				}
			case "json":
				doc, err := results.Decode(strings.NewReader(stdout))
				if err != nil || len(doc.Runs) != 2 || doc.Runs[1].Label != b+": per-request" {
					t.Errorf("json: %v, %+v", err, doc)
				}
			case "csv", "series-csv":
				recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
				want := 3 // header + one row per run
				if format == "series-csv" {
					want = 5 // header + two intervals per run
				}
				if err != nil || len(recs) != want {
					t.Errorf("%s: %v, %d records, want %d:\n%s", format, err, len(recs), want, stdout)
				}
			case "hgrm":
				if strings.Count(stdout, "Value     Percentile TotalCount 1/(1-Percentile)") != 2 ||
					!strings.Contains(stdout, "#[Buckets =           32, SubBuckets     =         2048]") {
					t.Errorf("hgrm:\n%s", stdout)
				}
			case "html":
				if !strings.HasPrefix(stdout, "<!DOCTYPE html>") || !strings.Contains(stdout, `<svg class="chart"`) {
					t.Errorf("html:\n%.500s", stdout)
				}
			}
		})
	}
	// -o writes the file atomically and says so on stderr.
	out := filepath.Join(dir, "r.html")
	code, stdout, stderr := connbench(t, "report", a, "-f", "html", "-o", out)
	if code != exitOK || stdout != "" || stderr != "connbench: wrote "+out+"\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if data, err := os.ReadFile(out); err != nil || !bytes.HasSuffix(data, []byte("</html>\n")) {
		t.Errorf("%s: %v", out, err)
	}
	// A phase no run has is an error, not an empty file.
	code, _, stderr = connbench(t, "report", a, "-f", "hgrm", "--phase", "handshake", "-o", filepath.Join(dir, "h.hgrm"))
	if code != exitFailure {
		t.Errorf("hgrm of an absent phase: exit %d", code)
	}
	rptOneLine(t, stderr, "handshake")
	if _, err := os.Stat(filepath.Join(dir, "h.hgrm")); !os.IsNotExist(err) {
		t.Errorf("h.hgrm written: %v", err)
	}
	// An output in a missing directory fails and leaves nothing.
	code, _, stderr = connbench(t, "report", a, "-o", filepath.Join(dir, "missing", "r.txt"))
	if code != exitFailure {
		t.Errorf("missing directory: exit %d", code)
	}
	rptOneLine(t, stderr, "--output", "missing")
	code, _, stderr = connbench(t, "report", a, "-o", dir)
	if code != exitFailure {
		t.Errorf("directory as output: exit %d", code)
	}
	rptOneLine(t, stderr, "is a directory")
}

// Two real runs against the built-in listener, merged: counts add up and
// the histograms hold every value of both.
func TestMergeRealRuns(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"gen1.json", "gen2.json"} {
		p := filepath.Join(dir, name)
		if code, _, stderr := connbench(t, "run", "-n", "200", "-c", "2", "--quiet", "-o", p); code != exitOK {
			t.Fatalf("run: exit %d: %s", code, stderr)
		}
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "all.json")
	code, stdout, stderr := connbench(t, "merge", paths[0], paths[1], "-o", out)
	if code != exitOK || stdout != "" || stderr != "connbench: wrote "+out+"\n" {
		t.Fatalf("merge: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	m, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var docs []*results.Document
	for _, p := range paths {
		d, err := results.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	g, r1, r2 := m.Runs[0], docs[0].Runs[0], docs[1].Runs[0]
	if g.Counts.Transactions != r1.Counts.Transactions+r2.Counts.Transactions ||
		g.Counts.Connections != r1.Counts.Connections+r2.Counts.Connections {
		t.Errorf("merged counts %+v, want the sum of %+v and %+v", g.Counts, r1.Counts, r2.Counts)
	}
	for ph, p := range g.Phases {
		if want := r1.Phases[ph].Count + r2.Phases[ph].Count; p.Count != want {
			t.Errorf("phase %s: %d values, want %d", ph, p.Count, want)
		}
	}
	if len(m.Command) < 2 || m.Command[1] != "merge" || m.Tool.Version != runner.ToolVersion() {
		t.Errorf("merged document's command %q, tool %+v", m.Command, m.Tool)
	}
	// And it reports.
	if code, stdout, stderr := connbench(t, "report", out); code != exitOK || !strings.Contains(stdout, "merged from 2 generators") {
		t.Errorf("report of the merge: exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
}

func TestReportMergeHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"report", "--help"}, []string{"Usage: connbench report", "Examples:", "--format", "--phase", "series-csv", "hgrm"}},
		{[]string{"help", "report"}, []string{"Usage: connbench report"}},
		{[]string{"merge", "--help"}, []string{"Usage: connbench merge", "Examples:", "--output", "SCHEMA.md"}},
		{[]string{"help", "merge"}, []string{"Usage: connbench merge"}},
		{[]string{"--help"}, []string{"connbench report", "connbench merge"}},
	} {
		code, stdout, stderr := connbench(t, tc.args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%q lacks %q", tc.args, w)
			}
		}
	}
}

// pythonWithMatplotlib returns a python3 that imports matplotlib, or "".
func pythonWithMatplotlib() string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import matplotlib").Run() == nil {
			return p
		}
	}
	return ""
}

// The example plotting scripts run on what connbench writes and draw
// their three PNG files (skipped where matplotlib or gnuplot is missing;
// CI does not install them).
func TestPlotScripts(t *testing.T) {
	dir := t.TempDir()
	a := rptSave(t, dir, "a.json", rptDoc(t, "per-request", 100_000, 200_000, 300_000, 400_000, 500_000))
	b := rptSave(t, dir, "b.json", rptDoc(t, "pooled", 50_000, 60_000, 70_000))
	pngs := func(t *testing.T, prefix string) {
		t.Helper()
		for _, name := range []string{"spectrum", "timeline", "states"} {
			p := prefix + "-" + name + ".png"
			data, err := os.ReadFile(p)
			if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) || len(data) < 5000 {
				t.Errorf("%s: %v, %d bytes", p, err, len(data))
			}
		}
	}
	run := func(t *testing.T, name string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
	}
	t.Run("plot.py", func(t *testing.T) {
		py := pythonWithMatplotlib()
		if py == "" {
			t.Skip("no python3 with matplotlib (Debian: apt-get install python3-matplotlib)")
		}
		run(t, py, filepath.Join(wd(t), "scripts", "plot.py"), a, b, "-o", filepath.Join(dir, "py"))
		pngs(t, filepath.Join(dir, "py"))
	})
	t.Run("plot.gp", func(t *testing.T) {
		if _, err := exec.LookPath("gnuplot"); err != nil {
			t.Skip("gnuplot not installed (Debian: apt-get install gnuplot-nox)")
		}
		hgrm, series := filepath.Join(dir, "s.hgrm"), filepath.Join(dir, "s.csv")
		for _, args := range [][]string{{"report", a, b, "-f", "hgrm", "-o", hgrm}, {"report", a, b, "-f", "series-csv", "-o", series}} {
			if code, _, stderr := connbench(t, args...); code != exitOK {
				t.Fatalf("%q: exit %d: %s", args, code, stderr)
			}
		}
		run(t, "gnuplot", "-e", fmt.Sprintf("spectrum='%s'; series='%s'; out='%s'", hgrm, series, filepath.Join(dir, "gp")),
			filepath.Join(wd(t), "scripts", "plot.gp"))
		pngs(t, filepath.Join(dir, "gp"))
	})
}

func wd(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dirState is every name in dir with its mode, size and content: what a
// hostile-path test checks is unchanged.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		s := st.Mode().String()
		if st.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			s += " " + string(b)
		} else if dest, err := os.Readlink(p); err == nil {
			s += " -> " + dest
		}
		out[e.Name()] = s
	}
	return out
}

// Hostile outputs for report -o and merge -o: a planted link to a regular
// file is refused before anything is read, and nothing in the directory
// changes; a FIFO is written in place.
func TestReportMergeHostileOutput(t *testing.T) {
	dir := t.TempDir()
	a := rptSave(t, dir, "a.json", rptDoc(t, "per-request", 5, 6, 7))
	b := rptSave(t, dir, "b.json", rptDoc(t, "per-request", 8, 9))
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)
	for _, args := range [][]string{
		{"report", a, "-o", link},
		{"report", a, "--format", "json", "-o", link},
		{"merge", a, b, "-o", link},
	} {
		code, stdout, stderr := connbench(t, args...)
		if code != exitFailure || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q", args, code, stdout)
		}
		rptOneLine(t, stderr, "--output", link, "symbolic link to "+victim)
		if got := dirState(t, dir); !maps.Equal(got, before) {
			t.Errorf("%q changed the directory: %v, was %v", args, got, before)
		}
	}

	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		data, _ := io.ReadAll(f)
		got <- string(data)
	}()
	code, _, stderr := connbench(t, "report", a, "-o", fifo)
	if code != exitOK {
		t.Fatalf("report -o FIFO: exit %d: %s", code, stderr)
	}
	if s := <-got; !strings.Contains(s, "per-request") {
		t.Errorf("the FIFO's reader got %q", s)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("fifo replaced: %v %v", st.Mode(), err)
	}
}

// merge refuses one file twice (usage error) and a copy of one (same
// run), whose counts would double; report of an over-limit file names the
// limit.
func TestMergeSameRunAndHugeInput(t *testing.T) {
	dir := t.TempDir()
	a := rptSave(t, dir, "a.json", rptDoc(t, "per-request", 5, 6, 7))
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	cp := rptRaw(t, dir, "copy.json", string(data))
	hard := filepath.Join(dir, "hard.json")
	if err := os.Link(a, hard); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "all.json")
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"merge", a, a, "-o", out}, exitUsage, []string{a + " and " + a + " are the same file", "twice"}},
		{[]string{"merge", a, hard, "-o", out}, exitUsage, []string{"same file"}},
		{[]string{"merge", a, cp, "-o", out}, exitFailure, []string{"copy.json", "same runs as " + a, "counted twice"}},
	} {
		code, stdout, stderr := connbench(t, tc.args...)
		if code != tc.code || stdout != "" {
			t.Errorf("%q: exit %d (want %d), stdout %q", tc.args, code, tc.code, stdout)
		}
		rptOneLine(t, stderr, tc.want...)
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%q wrote %s: %v", tc.args, out, err)
		}
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, results.MaxDocumentBytes+1); err != nil {
		t.Skipf("cannot make a sparse file: %v", err)
	}
	code, _, stderr := connbench(t, "report", huge)
	if code != exitFailure {
		t.Errorf("report of a huge file: exit %d", code)
	}
	rptOneLine(t, stderr, huge, "larger than the 512 MiB limit")
}

// After a run, an --hlog naming the -o file does not replace it (before
// one, runner's TestHistogramFilesCollide).
func TestHistogramFilesCollide(t *testing.T) {
	dir := t.TempDir()
	doc := rptDoc(t, "per-request", 5, 6, 7)
	out := rptSave(t, dir, "out.json", doc)
	before := dirState(t, dir)
	_, err := runner.WriteOutputs(doc, &runner.Spec{Output: out, HLog: out}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-o and --hlog both name "+out) {
		t.Errorf("--hlog over the -o file: %v", err)
	}
	if got := dirState(t, dir); !maps.Equal(got, before) {
		t.Errorf("the -o file changed")
	}
}
