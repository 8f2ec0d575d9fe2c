package results

import (
	"bytes"
	"slices"
	"testing"
)

// twoSources is the fixture twice, as two generators' files: the second
// is the odd half of a split, on another host, with other sysctls.
func twoSources(t testing.TB) []Source {
	a, _, _ := reportDoc(t, 0, 1)
	b, _, _ := reportDoc(t, 1, 2)
	b.Host.Hostname = "gen2"
	b.Sysctls = map[string]string{"net.ipv4.tcp_tw_reuse": "1"}
	b.Runs = append(b.Runs, Run{Label: "connect", Workload: "connect", Target: "127.0.0.1:9000",
		DurationNs: 1e9, Failures: map[string]int64{}, Phases: map[string]Phase{"handshake": phaseOf(t, recorder(10_000, 20_000, 30_000))}})
	return []Source{{Name: "main.json", Doc: a}, {Name: "gen2.json", Doc: b}}
}

func TestCombine(t *testing.T) {
	srcs := twoSources(t)
	srcs[1].Doc.Partial = true
	d := Combine(srcs)
	var labels []string
	for _, r := range d.Runs {
		labels = append(labels, r.Label)
	}
	want := []string{"main.json: pooled", "main.json: per-request", "gen2.json: pooled", "gen2.json: per-request", "connect"}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q", labels, want)
	}
	if !d.Partial || d.Schema != Schema || d.Host.Hostname != "vm, gen2" || d.Host.CPUs != 4 {
		t.Errorf("partial %v, schema %q, host %+v", d.Partial, d.Schema, d.Host)
	}
	if d.Runs[0].Sysctls != nil || d.Runs[2].Sysctls["net.ipv4.tcp_tw_reuse"] != "1" {
		t.Errorf("run sysctls: first file's %v, second file's %v", d.Runs[0].Sysctls, d.Runs[2].Sysctls)
	}
	if d.Runs[4].Notes[0] != "from gen2.json (host gen2, kernel 6.18.44)" {
		t.Errorf("source note %q", d.Runs[4].Notes)
	}
	// The sources are not modified.
	if srcs[0].Doc.Runs[0].Label != "pooled" || len(srcs[0].Doc.Runs[0].Notes) != 1 {
		t.Errorf("Combine modified its input: %q %q", srcs[0].Doc.Runs[0].Label, srcs[0].Doc.Runs[0].Notes)
	}
	// The combined document is a valid document.
	back, err := Decode(bytes.NewReader(encode(t, d)))
	if err != nil || len(back.Runs) != 5 {
		t.Fatalf("combined document does not decode: %v", err)
	}
	if one := Combine(srcs[:1]); one != srcs[0].Doc {
		t.Errorf("Combine of one source is not that source")
	}
}
