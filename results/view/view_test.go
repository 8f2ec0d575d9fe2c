package view

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// Every registered name is unique and renders the fixture; the registry's
// text, csv and hgrm are the functions the golden files check.
func TestRegistry(t *testing.T) {
	names := Names()
	if want := []string{"text", "json", "csv", "series-csv", "hgrm", "html"}; !slices.Equal(names, want) {
		t.Fatalf("Names() = %q, want %q", names, want)
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal(`Lookup("nope") found a renderer`)
	}
	srcs := twoSources(t)
	for _, name := range names {
		render, ok := Lookup(name)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", name)
		}
		var b bytes.Buffer
		if err := render(&b, srcs, Options{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Len() == 0 {
			t.Errorf("%s: empty output", name)
		}
	}
	direct := map[string]func(b *bytes.Buffer) error{
		"text": func(b *bytes.Buffer) error { return WriteReport(b, srcs) },
		"csv":  func(b *bytes.Buffer) error { return WriteCSV(b, srcs) },
		"hgrm": func(b *bytes.Buffer) error { _, err := WriteHgrm(b, srcs, DefaultPhases); return err },
		"json": func(b *bytes.Buffer) error { return results.Encode(b, results.Combine(srcs)) },
	}
	for name, f := range direct {
		render, _ := Lookup(name)
		var a, b bytes.Buffer
		if err := render(&a, srcs, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: the registry's output differs from the direct call", name)
		}
	}
}

// hgrm with no run in the asked phases is an error naming them, not an
// empty file.
func TestRegistryHgrmNoPhase(t *testing.T) {
	render, _ := Lookup("hgrm")
	var b bytes.Buffer
	err := render(&b, twoSources(t), Options{Phases: []string{"start_lag", "scheduled"}})
	if err == nil || !strings.Contains(err.Error(), "no run has latencies in phase start_lag or scheduled") {
		t.Fatalf("err = %v", err)
	}
}
