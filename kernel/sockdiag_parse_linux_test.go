package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// appendNlMsg appends a netlink message of type typ and sequence number seq
// with body, padded to 4 bytes as the kernel pads them.
func appendNlMsg(b []byte, typ uint16, seq uint32, body []byte) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, uint32(sizeofNlMsghdr+len(body)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, unix.NLM_F_MULTI)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // pid
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// diagSocketBody returns the inet_diag_msg the kernel would send for m.
func diagSocketBody(m diagMsg) []byte {
	body := make([]byte, sizeofDiagMsg)
	body[0], body[1] = unix.AF_INET6, m.state
	binary.BigEndian.PutUint16(body[4:], m.sport)
	binary.BigEndian.PutUint16(body[6:], m.dport)
	copy(body[8:24], m.src[:])
	copy(body[24:40], m.dst[:])
	return body
}

// errBody returns the body of an NLMSG_ERROR or NLMSG_DONE carrying e.
func errBody(e int32) []byte {
	return binary.NativeEndian.AppendUint32(nil, uint32(e))
}

// walkDiag calls nextDiag over b until the datagram ends or an error, and
// checks that every call consumes part of b and returns a suffix of it.
func walkDiag(t *testing.T, b []byte, seq uint32) ([]diagMsg, error) {
	t.Helper()
	var out []diagMsg
	for {
		m, rest, err := nextDiag(b, seq)
		if err != nil {
			if rest != nil || m != (diagMsg{}) {
				t.Fatalf("error %v with a message %+v or %d bytes left", err, m, len(rest))
			}
			return out, err
		}
		if m.kind == diagEnd {
			if rest != nil {
				t.Fatalf("end with %d bytes left", len(rest))
			}
			return out, nil
		}
		if len(rest) >= len(b) || !bytes.Equal(rest, b[len(b)-len(rest):]) {
			t.Fatalf("%d bytes left of %d are not a shorter suffix", len(rest), len(b))
		}
		out = append(out, m)
		b = rest
	}
}

func TestNextDiag(t *testing.T) {
	s1 := diagMsg{kind: diagSocket, state: uint8(StateTimeWait), sport: 40000, dport: 80}
	s1.src[0], s1.dst[15] = 10, 1
	s2 := diagMsg{kind: diagSocket, state: tcpNewSynRecv, sport: 1, dport: 65535}
	var b []byte
	b = appendNlMsg(b, unix.SOCK_DIAG_BY_FAMILY, 6, diagSocketBody(s2)) // an earlier dump's
	b = appendNlMsg(b, unix.SOCK_DIAG_BY_FAMILY, 7, diagSocketBody(s1))
	b = appendNlMsg(b, unix.NLMSG_ERROR, 7, errBody(0)) // an acknowledgement
	b = appendNlMsg(b, unix.SOCK_DIAG_BY_FAMILY, 7, diagSocketBody(s2))
	b = appendNlMsg(b, unix.NLMSG_DONE, 7, errBody(-int32(unix.ENOMEM)))
	got, err := walkDiag(t, b, 7)
	want := []diagMsg{s1, s2, {kind: diagDone, errno: unix.ENOMEM}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, err := walkDiag(t, appendNlMsg(nil, unix.NLMSG_ERROR, 1, errBody(-int32(unix.EINVAL))), 1); err != nil ||
		len(got) != 1 || got[0].kind != diagError || got[0].errno != unix.EINVAL {
		t.Errorf("NLMSG_ERROR EINVAL: %+v, %v", got, err)
	}
	// A few trailing bytes, too few for a header, end the datagram.
	if got, err := walkDiag(t, append(appendNlMsg(nil, unix.NLMSG_DONE, 1, nil), 1, 2, 3), 1); err != nil ||
		len(got) != 1 || got[0] != (diagMsg{kind: diagDone}) {
		t.Errorf("done without error code: %+v, %v", got, err)
	}

	sock := appendNlMsg(nil, unix.SOCK_DIAG_BY_FAMILY, 1, diagSocketBody(s1))
	for _, c := range []struct {
		name string
		b    []byte
	}{
		// Length 0 would make a reader that trusts it loop for ever.
		{"length 0", binary.NativeEndian.AppendUint32(nil, 0)[:4:4]},
		{"length below header", func() []byte { b := bytes.Clone(sock); binary.NativeEndian.PutUint32(b, 15); return b }()},
		{"length past end", func() []byte { b := bytes.Clone(sock); binary.NativeEndian.PutUint32(b, uint32(len(b)+1)); return b }()},
		{"length 2^32-1", func() []byte { b := bytes.Clone(sock); binary.NativeEndian.PutUint32(b, ^uint32(0)); return b }()},
		{"short socket message", appendNlMsg(nil, unix.SOCK_DIAG_BY_FAMILY, 1, make([]byte, sizeofDiagMsg-1))},
		{"short error", appendNlMsg(nil, unix.NLMSG_ERROR, 1, []byte{1, 2})},
		{"positive error code", appendNlMsg(nil, unix.NLMSG_ERROR, 1, errBody(5))},
		{"error code below -4095", appendNlMsg(nil, unix.NLMSG_ERROR, 1, errBody(-4096))},
		{"dump error below -4095", appendNlMsg(nil, unix.NLMSG_DONE, 1, errBody(-1<<31))},
		{"bad second message", append(bytes.Clone(sock), 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)},
	} {
		b := c.b
		if len(b) < sizeofNlMsghdr {
			b = append(b, make([]byte, sizeofNlMsghdr-len(b))...)
		}
		if _, err := walkDiag(t, b, 1); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", c.name, err)
		}
	}
}

func FuzzNextDiag(f *testing.F) {
	// testdata/fuzz/FuzzNextDiag holds two dumps from Linux 6.18 (with and
	// without a filter program); these add the edge cases.
	s := diagMsg{kind: diagSocket, state: 1, sport: 2, dport: 3}
	f.Add(appendNlMsg(appendNlMsg(nil, unix.SOCK_DIAG_BY_FAMILY, 1, diagSocketBody(s)), unix.NLMSG_DONE, 1, errBody(0)), uint32(1))
	f.Add(appendNlMsg(nil, unix.NLMSG_ERROR, 1, errBody(-22)), uint32(1))
	f.Add(appendNlMsg(nil, unix.NLMSG_ERROR, 1, errBody(-1<<31)), uint32(1))
	f.Add(make([]byte, 16), uint32(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint32(0))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		// The first message's length field is checked before anything is
		// read past the header, whatever its type or sequence number.
		if len(b) >= sizeofNlMsghdr {
			l := binary.NativeEndian.Uint32(b)
			if _, _, err := nextDiag(b, seq); (l < uint32(sizeofNlMsghdr) || l > uint32(len(b))) && err == nil {
				t.Fatalf("message length %d of %d bytes accepted", l, len(b))
			}
		}
		got, err := walkDiag(t, b, seq)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		// Encode what was decoded and decode it again: the same messages
		// must come back.
		var re []byte
		for _, m := range got {
			switch m.kind {
			case diagSocket:
				if !bytes.Contains(b, diagSocketBody(m)[4:40]) {
					t.Fatalf("socket %+v is not in the input", m)
				}
				re = appendNlMsg(re, unix.SOCK_DIAG_BY_FAMILY, seq, diagSocketBody(m))
			case diagDone:
				if m.errno > maxErrno {
					t.Fatalf("errno %d", m.errno)
				}
				re = appendNlMsg(re, unix.NLMSG_DONE, seq, errBody(-int32(m.errno)))
			case diagError:
				if m.errno == 0 || m.errno > maxErrno {
					t.Fatalf("errno %d returned as an error", m.errno)
				}
				re = appendNlMsg(re, unix.NLMSG_ERROR, seq, errBody(-int32(m.errno)))
			default:
				t.Fatalf("kind %d returned before the end", m.kind)
			}
		}
		got2, err := walkDiag(t, re, seq)
		if err != nil || len(got2) != len(got) {
			t.Fatalf("re-decode: %d messages, %v; want %d", len(got2), err, len(got))
		}
		for i := range got {
			if got[i] != got2[i] {
				t.Fatalf("message %d: %+v, re-decoded %+v", i, got[i], got2[i])
			}
		}
	})
}
