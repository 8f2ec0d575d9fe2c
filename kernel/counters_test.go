package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestReadCountersLinux618(t *testing.T) {
	c, err := ReadCounters("testdata/linux618")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"Tcp.RtoMin":                 200,
		"Tcp.MaxConn":                -1,
		"Tcp.ActiveOpens":            17,
		"Tcp.PassiveOpens":           2,
		"Tcp.OutRsts":                2,
		"IcmpMsg.InType3":            1,
		"TcpExt.TW":                  15,
		"TcpExt.TCPAbortOnData":      1,
		"TcpExt.TCPBacklogCoalesce":  182,
		"TcpExt.TCPAutoCorking":      155,
		"TcpExt.TCPAODroppedIcmps":   0,
		"IpExt.InOctets":             26041810,
		"MPTcpExt.WinProbe":          0,
		"TcpExt.TCPFastOpenActive":   0,
		"TcpExt.TCPTimeWaitOverflow": 0,
	}
	for k, v := range want {
		got, ok := c[k]
		if !ok || got != v {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, v)
		}
	}
	for _, k := range KeyCounters {
		if _, ok := c[k]; !ok {
			t.Errorf("key counter %s missing from the 6.18 fixture", k)
		}
	}
	// snmp has 20+29+1+15+9+9 names, netstat 135+18+76.
	if n := len(c); n != 83+229 {
		t.Errorf("got %d counters, want %d", n, 83+229)
	}
}

func TestReadCountersOldKernel(t *testing.T) {
	c, err := ReadCounters("testdata/old")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{
		"TcpExt.TWKilled", "TcpExt.TCPFastOpenActive", "TcpExt.TCPFastOpenPassiveFail",
		"TcpExt.TCPFastOpenCookieReqd", "TcpExt.TCPSynRetrans", "Tcp.InCsumErrors",
	} {
		if v, ok := c[k]; ok {
			t.Errorf("%s present (= %d) in a kernel that lacks it", k, v)
		}
	}
	want := map[string]int64{
		"Tcp.ActiveOpens":        4242,
		"Tcp.EstabResets":        34,
		"Tcp.RetransSegs":        77,
		"TcpExt.TW":              3900,
		"TcpExt.TWRecycled":      2,
		"TcpExt.ListenOverflows": 8,
		"TcpExt.ListenDrops":     9,
		"TcpExt.TCPAbortOnData":  6,
		"IpExt.OutOctets":        98765432,
	}
	for k, v := range want {
		if got, ok := c[k]; !ok || got != v {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, v)
		}
	}
}

func TestReadCountersMalformed(t *testing.T) {
	_, err := ReadCounters("testdata/malformed")
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if !strings.Contains(err.Error(), filepath.Join("testdata", "malformed", "net", "netstat")) ||
		!strings.HasPrefix(err.Error(), "kernel: ") {
		t.Errorf("error %q does not name the package and the file", err)
	}
}

func TestReadCountersMissing(t *testing.T) {
	_, err := ReadCounters(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}

func TestReadCountersLive(t *testing.T) {
	c, err := ReadCounters("")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Tcp.ActiveOpens", "Tcp.MaxConn", "TcpExt.ListenOverflows", "TcpExt.TW"} {
		if _, ok := c[k]; !ok {
			t.Errorf("%s missing from this kernel's counters", k)
		}
	}
	if c["Tcp.MaxConn"] != -1 {
		t.Errorf("Tcp.MaxConn = %d, want -1", c["Tcp.MaxConn"])
	}
}

func TestParseCounters(t *testing.T) {
	good := []struct {
		in   string
		want Counters
	}{
		{"", Counters{}},
		{"\n\nTcp: A B\nTcp: 1 -2\n\n", Counters{"Tcp.A": 1, "Tcp.B": -2}},
		{"Tcp:\nTcp:\n", Counters{}},
		{"X: A\nX: 1\nX: A\nX: 2\n", Counters{"X.A": 2}},
		{"Big: U\nBig: 18446744073709551615\n", Counters{"Big.U": -1}},
		{"Tcp: A  B\r\nTcp: 3\t4\r\n", Counters{"Tcp.A": 3, "Tcp.B": 4}},
	}
	for _, tc := range good {
		got, err := ParseCounters(strings.NewReader(tc.in))
		if err != nil {
			t.Errorf("ParseCounters(%q): %v", tc.in, err)
			continue
		}
		if !equalCounters(got, tc.want) {
			t.Errorf("ParseCounters(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	bad := []string{
		"Tcp: A B\nTcp: 1\n",                  // fewer values
		"Tcp: A\nTcp: 1 2\n",                  // more values
		"Tcp: A\nUdp: 1\n",                    // prefix mismatch
		"Tcp: A B\n",                          // header without values
		"Tcp: A\nTcp: x\n",                    // not a number
		"Tcp: A\nTcp: 1.5\n",                  // not an integer
		"Tcp A\nTcp 1\n",                      // no colon
		"Tcp: A\nTcp: 99999999999999999999\n", // out of 64 bits
	}
	for _, in := range bad {
		c, err := ParseCounters(strings.NewReader(in))
		if !errors.Is(err, ErrMalformed) || c != nil {
			t.Errorf("ParseCounters(%q) = %v, %v; want nil, ErrMalformed", in, c, err)
		} else if !strings.HasPrefix(err.Error(), "kernel: parse counters: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
}

func TestDelta(t *testing.T) {
	before := Counters{"Tcp.ActiveOpens": 10, "Tcp.MaxConn": -1, "Gone.X": 5}
	after := Counters{"Tcp.ActiveOpens": 25, "Tcp.MaxConn": -1, "TcpExt.New": 3}
	d := after.Delta(before)
	want := Counters{"Tcp.ActiveOpens": 15, "Tcp.MaxConn": 0, "TcpExt.New": 3}
	if !equalCounters(d, want) {
		t.Errorf("Delta = %v, want %v", d, want)
	}
	if d := (Counters(nil)).Delta(before); len(d) != 0 {
		t.Errorf("nil.Delta = %v, want empty", d)
	}
}

func equalCounters(a, b Counters) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func FuzzParseCounters(f *testing.F) {
	for _, p := range []string{
		"testdata/linux618/net/snmp", "testdata/linux618/net/netstat",
		"testdata/old/net/snmp", "testdata/old/net/netstat", "testdata/malformed/net/netstat",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Tcp: A B\nTcp: 1 -2\n"))
	f.Add([]byte("Tcp: A\nTcp: 18446744073709551615\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCounters(strings.NewReader(string(in)))
		if err != nil {
			if c != nil {
				t.Fatalf("non-nil counters with error %v", err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Render every counter as its own pair and parse that again: the
		// same map must come back.
		keys := make([]string, 0, len(c))
		for k := range c {
			prefix, name, ok := strings.Cut(k, ".")
			if !ok || prefix == "" || name == "" {
				t.Fatalf("bad key %q", k)
			}
			if strings.Contains(name, ".") || strings.Contains(prefix, ":") {
				return // ambiguous to render; nothing more to check
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var sb strings.Builder
		for _, k := range keys {
			prefix, name, _ := strings.Cut(k, ".")
			sb.WriteString(prefix + ": " + name + "\n" + prefix + ": " + strconv.FormatInt(c[k], 10) + "\n")
		}
		c2, err := ParseCounters(strings.NewReader(sb.String()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !equalCounters(c, c2) {
			t.Fatalf("round trip: %v != %v", c, c2)
		}
	})
}
