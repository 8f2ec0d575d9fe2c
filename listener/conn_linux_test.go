package listener

import (
	"testing"
	"unsafe"
)

// TestConnSize: the per-connection state a listener keeps by descriptor
// stays small (a hold's listeners keep one per held connection); what
// only echo and HTTP need is apart, and made only in those modes.
func TestConnSize(t *testing.T) {
	if got := unsafe.Sizeof(conn{}); got > 24 {
		t.Errorf("listener conn is %d bytes, want at most 24", got)
	}
}
