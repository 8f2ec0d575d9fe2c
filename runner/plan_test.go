package runner

import (
	"path/filepath"
	"strings"
	"testing"
)

// --hlog and --hgrm naming one file, or stdout, are usage errors before a
// run.
func TestHistogramFilesCollide(t *testing.T) {
	x := filepath.Join(t.TempDir(), "x")
	for _, tc := range []struct {
		hlog, hgrm string
		want       []string
	}{
		{x, x, []string{"--hgrm and --hlog both name " + x}},
		{"-", "", []string{"--hlog -", "name a file"}},
		{"", "-", []string{"--hgrm -", "name a file"}},
	} {
		err := checkHistogramFiles(tc.hlog, tc.hgrm)
		if !IsUsage(err) {
			t.Errorf("checkHistogramFiles(%q, %q) = %v, want a usage error", tc.hlog, tc.hgrm, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q does not mention %q", err, w)
			}
		}
	}
	if err := checkHistogramFiles("/dev/null", "/dev/null"); err != nil {
		t.Errorf("both to /dev/null: %v", err)
	}
}
