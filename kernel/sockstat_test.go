package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSockstatFixture(t *testing.T) {
	// testdata/sockstat/linux618 is /proc/net/sockstat as Linux 6.18 wrote it.
	s, err := ReadSockstat("testdata/sockstat/linux618")
	if err != nil {
		t.Fatal(err)
	}
	want := Sockstat{Sockets: 12, TCPInUse: 1, TCPOrphan: 75, TCPTimeWait: 2, TCPAlloc: 76, TCPMemPages: 203}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got, want := s.TCPMemBytes(), 203*int64(os.Getpagesize()); got != want {
		t.Errorf("TCPMemBytes = %d, want %d", got, want)
	}
}

func TestParseSockstat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Sockstat
	}{
		{"minimal", "sockets: used 3\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5\n",
			Sockstat{3, 1, 2, 3, 4, 5}},
		{"keys in another order, unknown key, other lines, no final newline",
			"UDP: inuse 9 mem 9\nTCP: mem 50 alloc 40 newkey 7 tw 30 orphan 20 inuse 10\nFRAG: inuse 0 memory 0\n  sockets:   used\t99",
			Sockstat{99, 10, 20, 30, 40, 50}},
		{"wide values", "sockets: used 4294967296\nTCP: inuse 0 orphan 0 tw 0 alloc 0 mem 9223372036854775807\n",
			Sockstat{Sockets: 1 << 32, TCPMemPages: 1<<63 - 1}},
	} {
		got, err := ParseSockstat(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestParseSockstatMalformed(t *testing.T) {
	for _, tc := range []struct{ in, inErr string }{
		{"", "no sockets used, TCP inuse"},
		{"sockets: used 1\n", "no TCP inuse, TCP orphan, TCP tw, TCP alloc, TCP mem"},
		{"TCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5\n", "no sockets used"},
		{"sockets: used 1\nTCP: inuse 1 orphan 2 tw 3 alloc 4\n", "no TCP mem"},
		{"sockets: used 1\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem\n", "line 2"},
		{"sockets: used x\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5\n", `sockets used: value "x"`},
		{"sockets: used 1\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5.5\n", `TCP mem: value "5.5"`},
		{"sockets: used 1\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 99999999999999999999\n", "TCP mem"},
		{"sockets used 1\nTCP inuse 1 orphan 2 tw 3 alloc 4 mem 5\n", "no sockets used"},
		{"sockets: used 1\nTCP: " + strings.Repeat("x", 70000) + "\n", "line 2"},
	} {
		s, err := ParseSockstat(strings.NewReader(tc.in))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%.40q: err = %v, want ErrMalformed", tc.in, err)
			continue
		}
		if s != (Sockstat{}) {
			t.Errorf("%.40q: non-zero %+v with an error", tc.in, s)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "kernel: parse sockstat: ") || !strings.Contains(msg, tc.inErr) {
			t.Errorf("%.40q: error %q does not say %q", tc.in, msg, tc.inErr)
		}
	}
}

func TestReadSockstatErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "sockstat")
	if _, err := ReadSockstat(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: err = %v, want os.ErrNotExist naming %s", err, missing)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("sockets: used 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadSockstat(bad)
	if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "kernel: read "+bad+": ") {
		t.Errorf("truncated file: err = %v, want ErrMalformed naming %s", err, bad)
	}
}

func FuzzParseSockstat(f *testing.F) {
	b, err := os.ReadFile("testdata/sockstat/linux618")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("sockets: used 1\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5 6\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSockstat(strings.NewReader(string(in)))
		if err != nil {
			if s != (Sockstat{}) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%+v, %v: want the zero Sockstat and ErrMalformed", s, err)
			}
		}
	})
}

// tcpSlabFixture is what TCPSlabCaches add up to in
// testdata/slabinfo/linux618: active objects, and pages held.
const (
	tcpSlabFixtureObjects = 48 + 0 + 39 + 361 + 180 + 143 // tw6, req6, TCPv6, tw, req, TCP
	tcpSlabFixturePages   = 3*1 + 0 + 7*8 + 29*1 + 15*1 + 11*8
)

func TestReadSlabinfoFixture(t *testing.T) {
	// testdata/slabinfo/linux618 is /proc/slabinfo as Linux 6.18 wrote it.
	s, err := ReadSlabinfo("testdata/slabinfo/linux618")
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 235 {
		t.Errorf("%d caches, want 235", len(s))
	}
	want := SlabCache{Name: "TCP", ActiveObjs: 143, NumObjs: 143, ObjSize: 2368, ObjPerSlab: 13, PagesPerSlab: 8, ActiveSlabs: 11, NumSlabs: 11}
	if s["TCP"] != want {
		t.Errorf("TCP = %+v, want %+v", s["TCP"], want)
	}
	want = SlabCache{Name: "dentry", ActiveObjs: 146484, NumObjs: 146727, ObjSize: 192, ObjPerSlab: 21, PagesPerSlab: 1, ActiveSlabs: 6987, NumSlabs: 6987}
	if s["dentry"] != want {
		t.Errorf("dentry = %+v, want %+v", s["dentry"], want)
	}
	page := int64(os.Getpagesize())
	if got := s["TCP"].SlabBytes(); got != 88*page {
		t.Errorf("TCP SlabBytes = %d, want %d", got, 88*page)
	}
	objs, bytes := s.Sum(TCPSlabCaches...)
	if objs != tcpSlabFixtureObjects || bytes != tcpSlabFixturePages*page {
		t.Errorf("Sum(TCPSlabCaches) = %d, %d; want %d, %d", objs, bytes, tcpSlabFixtureObjects, tcpSlabFixturePages*page)
	}
	objs, bytes, err = ReadTCPSlab("testdata/slabinfo/linux618")
	if err != nil || objs != tcpSlabFixtureObjects || bytes != tcpSlabFixturePages*page {
		t.Errorf("ReadTCPSlab = %d, %d, %v; want %d, %d", objs, bytes, err, tcpSlabFixtureObjects, tcpSlabFixturePages*page)
	}
	objs, _ = s.Sum(SocketFileSlabCaches...)
	if objs != 323+693+146484 {
		t.Errorf("Sum(SocketFileSlabCaches) objects = %d, want %d", objs, 323+693+146484)
	}
	if objs, bytes := s.Sum("no_such_cache"); objs != 0 || bytes != 0 {
		t.Errorf("Sum of an absent cache = %d, %d", objs, bytes)
	}
}

func TestParseSlabinfo(t *testing.T) {
	const in = "slabinfo - version: 2.1 (statistics)\n" +
		"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n" +
		"odd name    5  10  100  10  1 : tunables 0 0 0 : slabdata 1 1 0\n" +
		"dup   1  2  64  64  1 : tunables 0 0 0 : slabdata 1 1 0 : globalstat 1 2 3 : cpustat 4 5 6\n" +
		"\n" +
		"dup   3  4  64  64  1 : tunables 0 0 0 : slabdata 2 2 0\n"
	s, err := ParseSlabinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := (SlabCache{"odd name", 5, 10, 100, 10, 1, 1, 1}); s["odd name"] != want {
		t.Errorf("odd name = %+v, want %+v", s["odd name"], want)
	}
	if want := (SlabCache{"dup", 4, 6, 64, 64, 1, 3, 3}); s["dup"] != want {
		t.Errorf("dup = %+v, want %+v", s["dup"], want)
	}
	if len(s) != 2 {
		t.Errorf("%d caches, want 2: %v", len(s), s)
	}
}

func TestParseSlabinfoMalformed(t *testing.T) {
	const v = "slabinfo - version: 2.1\n"
	for _, tc := range []struct{ in, inErr string }{
		{"", "empty"},
		{"slabinfo - version: 1.1\nTCP 1 2 3 4 5 6\n", "line 1"},
		{"TCP 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n", "line 1"},
		{v + "TCP 1 2 3 4 : tunables 0 0 0 : slabdata 1 1 0\n", "line 2"},
		{v + "TCP 1 2 3 4 5 tunables 0 0 0 slabdata 1 1 0\n", "line 2"},
		{v + "TCP 1 2 x 4 5 : tunables 0 0 0 : slabdata 1 1 0\n", `value "x"`},
		{v + "TCP 1 2 3 4 5 : tunables 0 0 0 : slabdata 1\n", "slabdata"},
		{v + "TCP 1 2 3 4 5 : tunables 0 0 0\n", "slabdata"},
		{v + "TCP 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 -x 0\n", `slabdata value "-x"`},
	} {
		s, err := ParseSlabinfo(strings.NewReader(tc.in))
		if !errors.Is(err, ErrMalformed) || s != nil {
			t.Errorf("%q: %v, %v; want nil and ErrMalformed", tc.in, s, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "kernel: parse slabinfo: ") || !strings.Contains(msg, tc.inErr) {
			t.Errorf("%q: error %q does not say %q", tc.in, msg, tc.inErr)
		}
	}
	if _, _, err := ReadTCPSlab(filepath.Join(t.TempDir(), "slabinfo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadTCPSlab of a missing file: err = %v, want os.ErrNotExist", err)
	}
}
