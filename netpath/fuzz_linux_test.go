package netpath

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// nlAck returns an NLMSG_ERROR message of sequence seq carrying e, with the
// header of the request it answers, as the kernel sends it.
func nlAck(seq uint32, e int32) []byte {
	b := make([]byte, unix.SizeofNlMsghdr+4+unix.SizeofNlMsghdr)
	ne := binary.NativeEndian
	ne.PutUint32(b, uint32(len(b)))
	ne.PutUint16(b[4:], unix.NLMSG_ERROR)
	ne.PutUint32(b[8:], seq)
	ne.PutUint32(b[16:], uint32(e))
	return b
}

func TestParseAckMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"length 0":          make([]byte, 16),
		"length 15":         func() []byte { b := nlAck(1, 0); binary.NativeEndian.PutUint32(b, 15); return b }(),
		"length past end":   func() []byte { b := nlAck(1, 0); binary.NativeEndian.PutUint32(b, ^uint32(0)); return b }(),
		"short NLMSG_ERROR": nlAck(1, 0)[:19],
		"positive error":    nlAck(1, 17),
		"error below -4095": nlAck(1, -4096),
	} {
		if name == "short NLMSG_ERROR" {
			binary.NativeEndian.PutUint32(b, 19)
		}
		if _, ok, err := parseAck(b, 1); err == nil || ok {
			t.Errorf("%s: ok %v, err %v; want an error", name, ok, err)
		}
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add(nlAck(1, 0), uint32(1))
	f.Add(nlAck(1, -int32(unix.EEXIST)), uint32(1))
	f.Add(append(nlAck(2, 0), nlAck(1, -1)...), uint32(1))
	f.Add(nlAck(1, -1<<31), uint32(1))
	f.Add(make([]byte, 16), uint32(0))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		if len(b) >= unix.SizeofNlMsghdr {
			if l := binary.NativeEndian.Uint32(b); l < unix.SizeofNlMsghdr || l > uint32(len(b)) {
				if _, _, err := parseAck(b, seq); err == nil {
					t.Fatalf("message length %d of %d bytes accepted", l, len(b))
				}
			}
		}
		errno, ok, err := parseAck(b, seq)
		if err != nil || !ok {
			if errno != 0 || (err != nil && ok) {
				t.Fatalf("errno %d, ok %v with err %v", errno, ok, err)
			}
			return
		}
		if errno > 4095 {
			t.Fatalf("errno %d", errno)
		}
		// The acknowledgement, built anew, says the same.
		if e2, ok2, err2 := parseAck(nlAck(seq, -int32(errno)), seq); e2 != errno || !ok2 || err2 != nil {
			t.Fatalf("rebuilt: %d %v %v; want %d", e2, ok2, err2, errno)
		}
	})
}
