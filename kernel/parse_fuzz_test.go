package kernel

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseStatmResident(f *testing.F) {
	f.Add("310453 2561 1345 313 0 45630 0\n") // a shell on Linux 6.18
	f.Add("0 0 0 0 0 0 0\n")
	f.Add("1 1099511627776")
	f.Add("1 1099511627777")
	f.Add("1 -0")
	f.Add("1 +5")
	f.Add("1 9223372036854775807")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := parseStatmResident(in)
		if err != nil {
			if v != 0 || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%d, %v: want 0 and ErrMalformed", v, err)
			}
			return
		}
		if v < 0 || v > maxStatmPages {
			t.Fatalf("resident pages %d out of range", v)
		}
		if p := v * 65536; p/65536 != v {
			t.Fatalf("%d pages overflow in bytes", v)
		}
		if w, err := strconv.ParseInt(strings.Fields(in)[1], 10, 64); err != nil || w != v {
			t.Fatalf("got %d, second field says %d (%v)", v, w, err)
		}
	})
}

// renderSlabinfo writes s in the format of /proc/slabinfo 2.1.
func renderSlabinfo(s Slabinfo) string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("slabinfo - version: 2.1\n# name <active_objs> ...\n")
	for _, n := range names {
		c := s[n]
		fmt.Fprintf(&b, "%s %d %d %d %d %d : tunables 0 0 0 : slabdata %d %d 0\n",
			c.Name, c.ActiveObjs, c.NumObjs, c.ObjSize, c.ObjPerSlab, c.PagesPerSlab, c.ActiveSlabs, c.NumSlabs)
	}
	return b.String()
}

func FuzzParseSlabinfo(f *testing.F) {
	b, err := os.ReadFile("testdata/slabinfo/linux618")
	if err != nil {
		f.Fatal(err)
	}
	// The whole file (30 KiB) makes every mutation and minimization slow:
	// its head and its TCP lines are seed enough.
	lines := strings.SplitAfter(string(b), "\n")
	seed := strings.Join(lines[:6], "")
	for _, l := range lines[6:] {
		if strings.Contains(l, "TCP") {
			seed += l
		}
	}
	f.Add([]byte(seed))
	const v = "slabinfo - version: 2.1\n"
	f.Add([]byte(v + "odd name 5 10 100 10 1 : tunables 0 0 0 : slabdata 1 1 0\n"))
	f.Add([]byte(v + "dup 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0 : globalstat 1 2 3\ndup 3 4 64 64 1 : tunables 0 0 0 : slabdata 2 2 0\n"))
	f.Add([]byte(v + "big 1 1 1099511627776 1 1 : tunables 0 0 0 : slabdata 1 1099511627776 0\n"))
	f.Add([]byte(v + "neg -1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n"))
	f.Add([]byte(v + "x 1 2 3 4 5 : slabdata\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSlabinfo(strings.NewReader(string(in)))
		if err != nil {
			if s != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v, %v: want nil and ErrMalformed", s, err)
			}
			return
		}
		for name, c := range s {
			if name != c.Name || name == "" {
				t.Fatalf("cache %q under name %q", c.Name, name)
			}
			if err := c.check(); err != nil {
				t.Fatalf("accepted: %v", err)
			}
			if c.SlabBytes() < 0 || c.ActiveObjs*c.ObjSize < 0 {
				t.Fatalf("%+v: negative bytes", c)
			}
		}
		if objs, bytes := s.Sum(TCPSlabCaches...); objs < 0 || bytes < 0 || s.ActiveBytes(TCPSlabCaches...) < 0 {
			t.Fatalf("Sum = %d, %d: negative", objs, bytes)
		}
		// What was parsed, written out again, parses to the same caches.
		s2, err := ParseSlabinfo(strings.NewReader(renderSlabinfo(s)))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(s2) != len(s) {
			t.Fatalf("re-parse: %d caches, want %d", len(s2), len(s))
		}
		for name, c := range s {
			if s2[name] != c {
				t.Fatalf("re-parse: %+v, want %+v", s2[name], c)
			}
		}
	})
}

// renderSockstat writes s in the format of /proc/net/sockstat.
func renderSockstat(s Sockstat) string {
	return fmt.Sprintf("sockets: used %d\nTCP: inuse %d orphan %d tw %d alloc %d mem %d\nUDP: inuse 0 mem 0\n",
		s.Sockets, s.TCPInUse, s.TCPOrphan, s.TCPTimeWait, s.TCPAlloc, s.TCPMemPages)
}

func FuzzParseSockstatRoundTrip(f *testing.F) {
	b, err := os.ReadFile("testdata/sockstat/linux618")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("sockets: used -1\nTCP: inuse 1099511627776 orphan 2 tw 3 alloc 4 mem -9223372036854775808\n"))
	f.Add([]byte("sockets: used 1\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 9223372036854775807\n"))
	f.Add([]byte(" TCP : tw 1 tw 2 inuse 1 orphan 1 alloc 1 mem 1\nsockets: used 0 used 7\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSockstat(strings.NewReader(string(in)))
		if err != nil {
			if s != (Sockstat{}) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%+v, %v: want the zero Sockstat and ErrMalformed", s, err)
			}
			return
		}
		if m := pagesToBytes(s.TCPMemPages, 65536); (m < 0) != (s.TCPMemPages < 0) {
			t.Fatalf("TCPMemPages %d is %d bytes", s.TCPMemPages, m)
		}
		s2, err := ParseSockstat(strings.NewReader(renderSockstat(s)))
		if err != nil || s2 != s {
			t.Fatalf("re-parse: %+v, %v; want %+v", s2, err, s)
		}
	})
}

// endless is a reader of an endless stream of one line repeated.
type endless struct {
	line string
	off  int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.line[e.off:])
		n += c
		e.off = (e.off + c) % len(e.line)
	}
	return n, nil
}

// TestParseBounded feeds each parser an endless input: each must stop at
// 16 MiB with ErrMalformed instead of reading (and keeping) it all.
func TestParseBounded(t *testing.T) {
	for _, c := range []struct {
		name  string
		parse func(io.Reader) error
		line  string
	}{
		{"counters", func(r io.Reader) error { _, err := ParseCounters(r); return err }, "Tcp: A\nTcp: 1\n"},
		{"sockstat", func(r io.Reader) error { _, err := ParseSockstat(r); return err }, "UDP: inuse 0\n"},
		{"slabinfo", func(r io.Reader) error { _, err := ParseSlabinfo(r); return err },
			"slabinfo - version: 2.1\n"},
	} {
		err := c.parse(io.MultiReader(strings.NewReader(c.line), &endless{line: "# " + strings.Repeat("x", 100) + "\n"}))
		if c.name == "counters" {
			// The line cut at the bound may be rejected first.
			if err := c.parse(&endless{line: c.line}); !errors.Is(err, ErrMalformed) {
				t.Errorf("counters: endless pairs: err = %v, want ErrMalformed", err)
			}
			err = c.parse(&endless{line: "\n"})
		}
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than 16777216 bytes") {
			t.Errorf("%s: endless input: err = %v, want ErrMalformed naming the bound", c.name, err)
		}
	}
	// Exactly the bound is still read.
	in := "slabinfo - version: 2.1\n"
	comment := "#" + strings.Repeat("x", 1022) + "\n"
	in += strings.Repeat(comment, (maxProcFile-len(in))/len(comment))
	in += strings.Repeat("\n", maxProcFile-len(in))
	if s, err := ParseSlabinfo(strings.NewReader(in)); err != nil || len(s) != 0 {
		t.Errorf("input of exactly the bound: %v, %v", s, err)
	}
}

func TestPagesToBytes(t *testing.T) {
	for _, c := range []struct{ pages, page, want int64 }{
		{3, 4096, 3 * 4096},
		{-3, 4096, -3 * 4096},
		{math.MaxInt64 / 4096, 4096, math.MaxInt64 / 4096 * 4096},
		{math.MaxInt64/4096 + 1, 4096, math.MaxInt64},
		{math.MinInt64 / 4096, 4096, math.MinInt64},
		{math.MinInt64/4096 - 1, 4096, math.MinInt64},
	} {
		if got := pagesToBytes(c.pages, c.page); got != c.want {
			t.Errorf("pagesToBytes(%d, %d) = %d, want %d", c.pages, c.page, got, c.want)
		}
	}
}

func TestSlabinfoBounds(t *testing.T) {
	const v = "slabinfo - version: 2.1\n"
	for _, in := range []string{
		v + "a -1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n",
		v + "a 1 2 3 4 5 : tunables 0 0 0 : slabdata -1 1 0\n",
		v + "a 1 2 3 4 1099511627777 : tunables 0 0 0 : slabdata 1 1 0\n",
		v + "a 1 2 3 4 1048576 : tunables 0 0 0 : slabdata 1 1048577 0\n", // 2^40 + 2^20 pages
		v + "a 1 1048576 1048577 4 1 : tunables 0 0 0 : slabdata 1 1 0\n", // objects' bytes above 2^40
		v + "a 1099511627776 1 1 4 1 : tunables 0 0 0 : slabdata 1 1 0\n" +
			"a 1 1 1 4 1 : tunables 0 0 0 : slabdata 1 1 0\n", // the sum of two lines
	} {
		if s, err := ParseSlabinfo(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, %v; want ErrMalformed", in, s, err)
		}
	}
	in := v + "a 1099511627776 1099511627776 1 1 1 : tunables 0 0 0 : slabdata 1 1099511627776 0\n"
	if s, err := ParseSlabinfo(strings.NewReader(in)); err != nil || s["a"].NumSlabs != 1<<40 {
		t.Errorf("figures of 2^40: %v, %v; want them accepted", s, err)
	}
}
