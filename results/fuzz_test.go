package results

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds the reader report and merge use (with a 1 MiB limit)
// arbitrary input; seeds are in testdata/fuzz/FuzzDecode plus a valid
// document. It must never panic; a document it accepts must encode and
// decode again to the same bytes. (That it renders as text without a
// terminal control character is view's FuzzDecodeTable.)
func FuzzDecode(f *testing.F) {
	doc, _ := sampleDoc(f)
	valid := encode(f, doc)
	f.Add(valid)
	f.Add(valid[:len(valid)/3])
	f.Add([]byte(`{"schema":"connbench/v1","runs":[{"phases":{"x":{"hdr":"HISTFAAAAB542pJpmczAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwAQA"}}}]}`))
	f.Add([]byte(`{"schema":"connbench/v1","runs":[{"phases":{"x":{"count":1,"overflow":2,"hdr":""}}}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := decode(bytes.NewReader(in), 1<<20)
		if err != nil {
			if d != nil {
				t.Fatalf("error %v with a document", err)
			}
			return
		}
		if d.Schema != Schema {
			t.Fatalf("accepted schema %q", d.Schema)
		}
		for i, r := range d.Runs {
			for name, p := range r.Phases {
				if _, err := p.Recorder(); err != nil {
					t.Fatalf("accepted run %d phase %s whose histogram does not decode: %v", i, name, err)
				}
			}
		}
		var first, second bytes.Buffer
		if err := Encode(&first, d); err != nil {
			t.Fatalf("encode an accepted document: %v", err)
		}
		d2, err := Decode(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("decode its own encoding: %v", err)
		}
		if err := Encode(&second, d2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("encoding is not stable:\n%s\n%s", first.Bytes(), second.Bytes())
		}
	})
}

// controlIn returns the first character Printable (or PrintableText, with
// layout) must not let through, or -1.
func controlIn(s string, layout bool) rune {
	for _, r := range s {
		switch {
		case layout && (r == '\n' || r == '\t'):
		case r < 0x20, r >= 0x7f && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return r
		}
	}
	return -1
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07x", "a\r\nb\tc", "\u009b2J\u009d8;;x\u009c", "\xff\xfe", "\u202eevil", "\x1b", "\x1b]unterminated\nnext"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, pt := Printable(s), PrintableText(s)
		if bad := controlIn(p, false); bad >= 0 {
			t.Fatalf("Printable(%q) = %q holds %U", s, p, bad)
		}
		if bad := controlIn(pt, true); bad >= 0 {
			t.Fatalf("PrintableText(%q) = %q holds %U", s, pt, bad)
		}
		if !utf8.ValidString(p) || !utf8.ValidString(pt) {
			t.Fatalf("not UTF-8: %q %q", p, pt)
		}
		if Printable(p) != p || PrintableText(pt) != pt {
			t.Fatalf("not idempotent: %q %q", p, pt)
		}
		if strings.Count(pt, "\n") > strings.Count(s, "\n") {
			t.Fatalf("PrintableText(%q) added lines: %q", s, pt)
		}
	})
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, line, text string }{
		{"pooled", "pooled", "pooled"},
		{"\x1b[31mred\x1b[0m", "red", "red"},
		{"\x1b]0;pwned\x07title", "title", "title"},
		{"\x1b]8;;http://x\x1b\\link", "link", "link"},
		{"a\r\nb\tc", "a  b c", "a\nb\tc"},
		{"bell\x07 del\x7f nul\x00", "bell del nul", "bell del nul"},
		{"c1 \u009b2J csi, \u0085nel", "c1  csi, nel", "c1  csi, nel"},
		{"\u202egnp.exe", "gnp.exe", "gnp.exe"},
		{"bad \xff utf8", "bad \ufffd utf8", "bad \ufffd utf8"},
		{"µs → é", "µs → é", "µs → é"},
		{"\x1b]0;never ends\nnext line", " next line", "\nnext line"},
	} {
		if got := Printable(tc.in); got != tc.line {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.line)
		}
		if got := PrintableText(tc.in); got != tc.text {
			t.Errorf("PrintableText(%q) = %q, want %q", tc.in, got, tc.text)
		}
	}
}
