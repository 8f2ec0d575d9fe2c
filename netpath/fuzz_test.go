package netpath

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// linuxSYN is a SYN as Linux 6.18 sends it from 198.18.0.1:40000 to
// 198.18.0.2:80 on a 1500-byte MTU path: 20 bytes of IP, 20 of TCP and 20
// of options (MSS 1460, SACK permitted, timestamps, NOP, window scale 7).
var linuxSYN = []byte{
	0x45, 0x00, 0x00, 0x3c, 0x8a, 0x1c, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
	198, 18, 0, 1, 198, 18, 0, 2,
	0x9c, 0x40, 0x00, 0x50, 0x1f, 0x2e, 0x3d, 0x4c, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x12, 0x34, 0x56, 0x78,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
}

func TestParseSYNMalformed(t *testing.T) {
	if k, isn, ok := parseSYN(linuxSYN); !ok || isn != 0x1f2e3d4c || k.sport != 40000 || k.dport != 80 || k.src != cli || k.dst != srv {
		t.Fatalf("linuxSYN: %+v %d %v", k, isn, ok)
	}
	for name, edit := range map[string]func(p []byte) []byte{
		"IHL 4":                 func(p []byte) []byte { p[0] = 0x44; return p },
		"IHL 15, short packet":  func(p []byte) []byte { p[0] = 0x4f; return p },
		"data offset 4":         func(p []byte) []byte { p[32] = 0x42; return p },
		"data offset past end":  func(p []byte) []byte { p[32] = 0xf2; return p },
		"total length 39":       func(p []byte) []byte { binary.BigEndian.PutUint16(p[2:], 39); return p },
		"total length past end": func(p []byte) []byte { binary.BigEndian.PutUint16(p[2:], 61); return p },
		"cut in the options":    func(p []byte) []byte { return p[:50] },
		"cut in the TCP header": func(p []byte) []byte { return p[:33] },
		"version 6":             func(p []byte) []byte { p[0] = 0x65; return p },
	} {
		if _, _, ok := parseSYN(edit(bytes.Clone(linuxSYN))); ok {
			t.Errorf("%s: taken for a SYN", name)
		}
	}
}

func FuzzParseSYN(f *testing.F) {
	f.Add(linuxSYN)
	f.Add(tcpPacket(cli, srv, 1, 2, 3, synFlag))
	f.Add(tcpPacket(cli, srv, 1, 2, 3, synFlag|ackFlag))
	f.Add(linuxSYN[:20])
	f.Add([]byte{0x4f})
	f.Add(append([]byte{0x60}, make([]byte, 59)...))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		k, isn, ok := parseSYN(pkt)
		if !ok {
			if k != (synKey{}) || isn != 0 {
				t.Fatalf("not a SYN, yet %+v %d", k, isn)
			}
			return
		}
		// Everything parseSYN accepts has whole headers inside the packet.
		ihl := int(pkt[0]&0x0f) * 4
		if pkt[0]>>4 != 4 || pkt[9] != 6 || ihl < 20 || len(pkt) < ihl+20 {
			t.Fatalf("accepted with version %d, protocol %d, IHL %d in %d bytes", pkt[0]>>4, pkt[9], ihl, len(pkt))
		}
		tcp := pkt[ihl:]
		doff := int(tcp[12]>>4) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:]))
		if doff < 20 || total < ihl+doff || total > len(pkt) {
			t.Fatalf("accepted with data offset %d, total length %d, IHL %d in %d bytes", doff, total, ihl, len(pkt))
		}
		if tcp[13]&0x12 != 0x02 || binary.BigEndian.Uint16(pkt[6:])&0x1fff != 0 {
			t.Fatalf("accepted flags %#x, fragment %#x", tcp[13], binary.BigEndian.Uint16(pkt[6:]))
		}
		// The same SYN, built anew, parses to the same thing.
		k2, isn2, ok2 := parseSYN(tcpPacket(k.src, k.dst, k.sport, k.dport, isn, synFlag))
		if !ok2 || k2 != k || isn2 != isn {
			t.Fatalf("rebuilt: %+v %d %v; want %+v %d", k2, isn2, ok2, k, isn)
		}
		// Cut anywhere in its headers, it is no SYN.
		if _, _, ok := parseSYN(pkt[:ihl+doff-1]); ok {
			t.Fatalf("cut to %d bytes, still a SYN", ihl+doff-1)
		}
	})
}

func FuzzParseDevDrops(f *testing.F) {
	f.Add(procNetDev, "cbpath0")
	f.Add(procNetDev, "lo")
	f.Add("cbpath0: 1 2 3 -4 5 6 7 8 9 10 11 12 13 14 15 16\n", "cbpath0")
	f.Add("cbpath0: 1 2 3 9223372036854775808 5 6 7 8 9 10 11 12 13 14 15 16\n", "cbpath0")
	f.Add("x:"+strings.Repeat(" 1", 16)+"\n", "x")
	f.Fuzz(func(t *testing.T, in, dev string) {
		rx, tx, err := parseDevDrops(strings.NewReader(in), dev)
		if err != nil {
			if rx != 0 || tx != 0 {
				t.Fatalf("%d, %d with error %v", rx, tx, err)
			}
			if !strings.HasPrefix(err.Error(), "netpath: /proc/net/dev: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if rx < 0 || tx < 0 {
			t.Fatalf("negative drops %d, %d", rx, tx)
		}
		// The counts are the 4th and 12th figures of the device's line.
		want := strconv.FormatInt(rx, 10) + " " + strconv.FormatInt(tx, 10)
		for _, line := range strings.Split(in, "\n") {
			name, rest, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) != dev {
				continue
			}
			fields := strings.Fields(rest)
			rx2, _ := strconv.ParseInt(fields[3], 10, 64)
			tx2, _ := strconv.ParseInt(fields[11], 10, 64)
			if got := fmt.Sprint(rx2, " ", tx2); got != want {
				t.Fatalf("parsed %s, the line says %s", want, got)
			}
			return
		}
		t.Fatalf("%s found in no line of the input", dev)
	})
}

func FuzzConfigHasNetem(f *testing.F) {
	f.Add([]byte("CONFIG_NET_SCHED=y\n# CONFIG_NET_SCH_NETEM is not set\n"))
	f.Add([]byte("CONFIG_NET_SCH_NETEM=y\n"))
	f.Add([]byte("CONFIG_NET_SCH_NETEM=m\n"))
	f.Add([]byte{0x1f, 0x8b})
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("CONFIG_X=y\n  CONFIG_NET_SCH_NETEM=y \n"))
	w.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		got := configHasNetem(bytes.NewReader(in))
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			return // gzip: nothing simpler to compare with
		}
		// Plain text: the same as looking for the line, if no line is too
		// long for the scanner.
		want := false
		for l := range bytes.Lines(in) {
			if len(l) > 60<<10 {
				return
			}
			if string(bytes.TrimSpace(l)) == "CONFIG_NET_SCH_NETEM=y" {
				want = true
				break
			}
		}
		if got != want {
			t.Fatalf("configHasNetem = %v, want %v", got, want)
		}
	})
}
