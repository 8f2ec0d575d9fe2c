package explain

import (
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestHoldCloseNote: a graceful close that left TIME_WAIT is explained
// with its count and the default that leaves none; a reset, or a graceful
// close that left none, is not.
func TestHoldCloseNote(t *testing.T) {
	for _, tc := range []struct {
		close string
		tw    int64
		want  bool
	}{
		{"fin", 1916, true},
		{"fin", 0, false},
		{"fin", -1, false},
		{"rst", 0, false},
		{"", 0, false},
	} {
		r := &results.Run{Hold: &results.Hold{Asked: 10, Opened: 10, Held: 10, Close: tc.close, TimeWaitLeft: tc.tw}}
		var got string
		for _, n := range holdNotes(r) {
			if strings.Contains(n, "TIME_WAIT") {
				got = n
			}
		}
		if (got != "") != tc.want {
			t.Errorf("close %q, %d TIME_WAIT: note %q, want one: %v", tc.close, tc.tw, got, tc.want)
		}
		if tc.want && (!strings.Contains(got, "1916 client sockets") || !strings.Contains(got, "RST")) {
			t.Errorf("note %q lacks the count or the reset default", got)
		}
	}
}
