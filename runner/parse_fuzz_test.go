package runner

// Native fuzz targets for the run flags' value parsers. Each runs its seeds
// (f.Add and testdata/fuzz/FuzzX/) as a normal test; `go test -fuzz=FuzzX`
// explores further. The property is the same throughout: no panic, an
// error is a usage error, and an accepted value is inside its documented
// range and parses back from its written form to the same value.

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stubResolver answers host names without the network: "none..." does not
// resolve, "zero..." resolves to unspecified addresses only, "six..." to
// IPv6 only, anything else to 127.0.0.1 and ::1.
func stubResolver(_ context.Context, _, host string) ([]netip.Addr, error) {
	switch {
	case strings.HasPrefix(host, "none"):
		return nil, errors.New("no such host")
	case strings.HasPrefix(host, "zero"):
		return []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified(), netip.MustParseAddr("::ffff:0.0.0.0")}, nil
	case strings.HasPrefix(host, "six"):
		return []netip.Addr{netip.IPv6Loopback()}, nil
	}
	return []netip.Addr{netip.IPv6Loopback(), netip.MustParseAddr("::ffff:127.0.0.1")}, nil
}

func FuzzParseTarget(f *testing.F) {
	saved := lookupNetIP
	lookupNetIP = stubResolver
	f.Cleanup(func() { lookupNetIP = saved })
	for _, s := range []string{"127.0.0.1:8080", "[::1]:80", "[fe80::1%eth0]:443", "localhost:6379", "six.example:1",
		"zero.example:80", "none.example:80", "0.0.0.0:80", "[::]:80", "[::ffff:0.0.0.0]:80", "[::ffff:10.0.0.1]:80",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1", ":80", "a..b:80", "bad\x1bhost:80",
		strings.Repeat("a", 300) + ":80", "[::1]:+80", "1.2.3.4:0x50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseTarget(s)
		if err != nil {
			if !IsUsage(err) {
				t.Fatalf("%q: %v is not a usage error", s, err)
			}
			return
		}
		a := ap.Addr()
		if !a.IsValid() || a.IsUnspecified() || a.Is4In6() || ap.Port() == 0 {
			t.Fatalf("%q: accepted %s", s, ap)
		}
		again, err := ParseTarget(ap.String())
		if err != nil || again != ap {
			t.Fatalf("%q -> %s -> %s, %v", s, ap, again, err)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"2000", "100:5000", "0:100", "100:0", "0.5", "1e7", "1e7:0", "NaN", "NaN:100", "100:NaN",
		"Inf", "-Inf", "+Inf:1", "-5", "0", "0:0", "1e8", "", ":", "1:2:3", "0x1p4", "1_000", " 5", "5 ", "1e-320"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b, ramp, err := parseRate(s)
		if err != nil {
			if !IsUsage(err) || !strings.Contains(err.Error(), "--rate") {
				t.Fatalf("%q: %v does not name --rate as a usage error", s, err)
			}
			return
		}
		for _, v := range []float64{a, b} {
			if math.IsNaN(v) || v < 0 || v > MaxRate {
				t.Fatalf("%q: accepted %g:%g", s, a, b)
			}
		}
		if !ramp && (a <= 0 || b != 0) || ramp && a == 0 && b == 0 {
			t.Fatalf("%q: accepted %g:%g (ramp %v)", s, a, b, ramp)
		}
		a2, b2, ramp2, err := parseRate(formatRate(a, b, ramp))
		if err != nil || a2 != a || b2 != b || ramp2 != ramp {
			t.Fatalf("%q -> %q -> %g:%g %v, %v", s, formatRate(a, b, ramp), a2, b2, ramp2, err)
		}
	})
}

func FuzzParseStartAt(f *testing.F) {
	for _, s := range []string{"2026-11-24T16:30:00Z", "2026-11-24T16:30:00.123456789+02:00", "1795000000", "1795000000.5",
		"0", "-1", "NaN", "Inf", "1e300", "253402300799", "253402300800", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0.000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseStartAt(s)
		if err != nil {
			return
		}
		if u := tm.Unix(); u < 0 || u > MaxUnixSeconds {
			t.Fatalf("%q: accepted %s (Unix %d)", s, tm, u)
		}
		again, err := parseStartAt(tm.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(tm) {
			t.Fatalf("%q -> %s -> %s, %v", s, tm.Format(time.RFC3339Nano), again, err)
		}
	})
}

func FuzzParseAcceptPause(f *testing.F) {
	for _, s := range []string{"3s", "1s:3s", "0s:1ms", "720h:720h", "721h", "-1s:3s", "1s:0s", "1s:-3s", ":", "1s:", ":1s",
		"soon", "1s:2s:3s", "9223372036ns", "2562047h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		after, dur, err := ParseAcceptPause(s)
		if err != nil {
			if !IsUsage(err) || !strings.Contains(err.Error(), "--accept-pause") {
				t.Fatalf("%q: %v does not name --accept-pause as a usage error", s, err)
			}
			return
		}
		if after < 0 || after > MaxRunTime || dur <= 0 || dur > MaxRunTime {
			t.Fatalf("%q: accepted %s:%s", s, after, dur)
		}
		a2, d2, err := ParseAcceptPause(after.String() + ":" + dur.String())
		if err != nil || a2 != after || d2 != dur {
			t.Fatalf("%q -> %s:%s -> %s:%s, %v", s, after, dur, a2, d2, err)
		}
	})
}

func FuzzParseShare(f *testing.F) {
	for _, s := range []string{"1%", "0.01", "0", "100%", "1", "150%", "-1%", "NaN", "NaN%", "Inf%", "%", "", "1e-400", "0x1p-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseShare(s)
		if err != nil {
			return
		}
		if !(v >= 0 && v <= 1) {
			t.Fatalf("%q: accepted %g", s, v)
		}
		again, err := parseShare(strconv.FormatFloat(v, 'g', -1, 64))
		if err != nil || again != v {
			t.Fatalf("%q -> %g -> %g, %v", s, v, again, err)
		}
	})
}

func FuzzParseBitRate(f *testing.F) {
	for _, s := range []string{"100mbit", "1gbit", "500kbit", "64000", "8kbit", "1000gbit", "1001gbit", "7999", "NaNmbit", "NaN",
		"Infgbit", "-1mbit", "100Mbps", "100mbit/s", "", "k", "1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseBitRate(s)
		if err != nil {
			return
		}
		if v < 8000 || v > 1e12 {
			t.Fatalf("%q: accepted %d bit/s", s, v)
		}
		again, err := parseBitRate(strconv.FormatInt(v, 10))
		if err != nil || again != v {
			t.Fatalf("%q -> %d -> %d, %v", s, v, again, err)
		}
	})
}

func FuzzParseListenAddr(f *testing.F) {
	for _, s := range []string{"9000", ":9000", "0.0.0.0:9000", "[::1]:9000", "[::]:0", "127.0.0.1:70000", "[::1]", "a:b", "", ":",
		"[fe80::1%eth0]:80", "[::ffff:1.2.3.4]:80", "1.2.3.4:+80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseListenAddr(s)
		if err != nil {
			if !IsUsage(err) {
				t.Fatalf("%q: %v is not a usage error", s, err)
			}
			return
		}
		if !ap.Addr().IsValid() {
			t.Fatalf("%q: accepted %s", s, ap)
		}
		again, err := ParseListenAddr(ap.String())
		if err != nil || again != ap {
			t.Fatalf("%q -> %s -> %s, %v", s, ap, again, err)
		}
	})
}
