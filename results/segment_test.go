package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// segDocs is a run split into n documents, each stamped as segment i/n of
// run id.
func segDocs(t *testing.T, n int, id string) []Source {
	t.Helper()
	var srcs []Source
	for i := 0; i < n; i++ {
		d, _, _ := reportDoc(t, i, n)
		d.Host.Hostname = "gen-" + string(rune('a'+i))
		d.RunID = id
		d.Segment = &Segment{Of: n, Parts: []string{partName(i, n)}, Spec: json.RawMessage(`{"workload":"per-request","requests":1000}`)}
		srcs = append(srcs, Source{Name: d.Host.Hostname + ".json", Doc: d})
	}
	return srcs
}

func partName(i, n int) string { return fmt.Sprintf("%d/%d", i, n) }

func TestMergeSegmentsComplete(t *testing.T) {
	srcs := segDocs(t, 3, "r1")
	m, err := Merge(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if m.RunID != "r1" || m.Segment == nil || strings.Join(m.Segment.Parts, ",") != "0/3:3/3" || len(m.Segment.Missing) != 0 || m.Partial {
		t.Fatalf("merged: run id %q segment %+v partial %v", m.RunID, m.Segment, m.Partial)
	}
	whole, _, _ := reportDoc(t, 0, 1)
	if m.Runs[0].Counts != whole.Runs[0].Counts {
		t.Fatalf("counts %+v, want the whole run's %+v", m.Runs[0].Counts, whole.Runs[0].Counts)
	}
}

// TestMergeSegmentsRefuses: a missing segment, one held twice, another
// run's or another spec's document, and a whole document among segments
// are refused on one line naming what is wrong; --partial merges the
// ones there are and says which are missing.
func TestMergeSegmentsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]Source) []Source
		want []string
	}{
		{"missing", func(s []Source) []Source { return append(s[:1], s[2:]...) }, []string{"missing: 1/4", "--partial"}},
		{"two missing", func(s []Source) []Source { return s[:2] }, []string{"missing: 2/4:4/4"}},
		{"twice", func(s []Source) []Source {
			s[3].Doc.Segment.Parts = []string{"2/4"}
			return s
		}, []string{"segment 2/4 (in gen-c.json and gen-d.json) held twice"}},
		{"overlap", func(s []Source) []Source {
			s[0].Doc.Segment.Parts = []string{"0/4:2/4"}
			return s
		}, []string{"segment 1/4 (in gen-a.json and gen-b.json) held twice"}},
		{"other run", func(s []Source) []Source { s[2].Doc.RunID = "r2"; return s }, []string{"gen-c.json is of run r2", "gen-a.json of run r1"}},
		{"other spec", func(s []Source) []Source {
			s[1].Doc.Segment.Spec = json.RawMessage(`{"workload":"per-request","requests":2000}`)
			return s
		}, []string{"whole-run specs differ"}},
		{"other split", func(s []Source) []Source { s[1].Doc.Segment.Parts = []string{"1/5"}; return s }, []string{`"1/5"`, "4 parts"}},
		{"whole", func(s []Source) []Source { s[1].Doc.Segment = nil; return s }, []string{"gen-b.json no segment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.edit(segDocs(t, 4, "r1")))
			if err == nil {
				t.Fatal("merged")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
	srcs := segDocs(t, 4, "r1")
	m, err := MergeWith([]Source{srcs[0], srcs[3]}, MergeOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Partial || strings.Join(m.Segment.Missing, ",") != "1/4:3/4" || strings.Join(m.Segment.Parts, ",") != "0/4,3/4" {
		t.Fatalf("partial merge: partial %v segment %+v", m.Partial, m.Segment)
	}
	if n := strings.Join(m.Runs[0].Notes, "\n"); !m.Runs[0].Partial || !strings.Contains(n, "segments 1/4:3/4 of the 4 of run r1 are missing") {
		t.Errorf("partial merge's run: partial %v, notes %q", m.Runs[0].Partial, n)
	}
	// Held twice is refused even with --partial.
	srcs = segDocs(t, 2, "r1")
	if _, err := MergeWith([]Source{srcs[0], srcs[1], {"copy", mustCopy(t, srcs[1].Doc)}}, MergeOptions{Partial: true}); err == nil {
		t.Fatal("a segment held twice merged with --partial")
	}
}

func mustCopy(t *testing.T, d *Document) *Document {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, d); err != nil {
		t.Fatal(err)
	}
	c, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	c.Host.Hostname = "elsewhere"
	return c
}

// TestReadLog: documents written with EncodeLine among other lines (the
// logs of several pods one after the other) are read back; a plain
// document is read as one; a broken document line is an error naming it.
func TestReadLog(t *testing.T) {
	dir := t.TempDir()
	srcs := segDocs(t, 3, "r1")
	var log bytes.Buffer
	for _, s := range srcs {
		log.WriteString("connbench: waiting until 2026-12-07T05:00:00Z to start\n")
		if err := EncodeLine(&log, s.Doc); err != nil {
			t.Fatal(err)
		}
		log.WriteString("\r\n")
	}
	p := filepath.Join(dir, "pods.log")
	os.WriteFile(p, log.Bytes(), 0o644)
	got, err := ReadSources([]string{p}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Name != p+"#3" || got[1].Doc.Segment.Parts[0] != "1/3" {
		t.Fatalf("read %d sources", len(got))
	}
	if m, err := Merge(got); err != nil || m.Segment == nil || len(m.Segment.Missing) != 0 {
		t.Fatalf("merge of the log: %v", err)
	}
	one := filepath.Join(dir, "one.json")
	var b bytes.Buffer
	Encode(&b, srcs[0].Doc)
	os.WriteFile(one, b.Bytes(), 0o644)
	if got, err := ReadSources([]string{one}, true); err != nil || len(got) != 1 || got[0].Name != one {
		t.Fatalf("plain document: %v", err)
	}
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("hello\n{\"schema\":\"connbench/v1\",\"runs\":[\n"), 0o644)
	if _, err := ReadSources([]string{bad}, true); err == nil || !strings.Contains(err.Error(), "bad.log:2") {
		t.Fatalf("broken line: %v", err)
	}
	if _, err := ReadSources([]string{filepath.Join(dir, "pods.log")}, false); err == nil {
		t.Fatal("report read a log as one document")
	}
}
