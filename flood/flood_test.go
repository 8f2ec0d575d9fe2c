package flood

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var target = netip.MustParseAddrPort("198.18.0.2:8080")

func good() Config {
	return Config{Target: target, Rate: 1000, Duration: time.Second, Seed: 1}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // in the error
	}{
		{"no target", func(c *Config) { c.Target = netip.AddrPort{} }, "Target"},
		{"loopback target", func(c *Config) { c.Target = netip.MustParseAddrPort("127.0.0.1:80") }, errOutsideRange},
		{"public target", func(c *Config) { c.Target = netip.MustParseAddrPort("192.0.2.1:80") }, errOutsideRange},
		{"next block", func(c *Config) { c.Target = netip.MustParseAddrPort("198.20.0.2:80") }, errOutsideRange},
		{"IPv6 target", func(c *Config) { c.Target = netip.MustParseAddrPort("[2001:db8::1]:80") }, errOutsideRange},
		{"port 0", func(c *Config) { c.Target = netip.MustParseAddrPort("198.18.0.2:0") }, "port 0"},
		{"sources outside", func(c *Config) { c.Sources = netip.MustParsePrefix("10.0.0.0/8") }, "Sources"},
		{"sources wider", func(c *Config) { c.Sources = netip.MustParsePrefix("198.16.0.0/14") }, "Sources"},
		{"sources IPv6", func(c *Config) { c.Sources = netip.MustParsePrefix("2001:db8::/64") }, "Sources"},
		{"sources only the client", func(c *Config) { c.Sources = netip.MustParsePrefix("198.18.0.1/32") }, "Sources"},
		{"sources only the server", func(c *Config) { c.Sources = netip.MustParsePrefix("198.18.0.2/32") }, "Sources"},
		{"sources only the target", func(c *Config) {
			c.Target = netip.MustParseAddrPort("198.18.9.9:80")
			c.Sources = netip.MustParsePrefix("198.18.9.9/32")
		}, "Sources"},
		{"rate 0", func(c *Config) { c.Rate = 0 }, "Rate"},
		{"rate negative", func(c *Config) { c.Rate = -1 }, "Rate"},
		{"rate NaN", func(c *Config) { c.Rate = math.NaN() }, "Rate"},
		{"rate Inf", func(c *Config) { c.Rate = math.Inf(1) }, "Rate"},
		{"duration 0", func(c *Config) { c.Duration = 0 }, "Duration"},
		{"duration negative", func(c *Config) { c.Duration = -time.Second }, "Duration"},
	} {
		c := good()
		tc.mod(&c)
		_, err := c.normalize()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := good()
	c.Seed = 0
	c.Target = netip.AddrPortFrom(netip.AddrFrom16(target.Addr().As16()), target.Port()) // ::ffff:198.18.0.2
	n, err := c.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if n.Sources != Range || n.Seed == 0 || n.Target != target {
		t.Errorf("normalized %+v: want Sources %s, a seed, Target %s", n, Range, target)
	}
	c.Sources = netip.MustParsePrefix("198.19.1.2/24")
	if n, err = c.normalize(); err != nil || n.Sources.String() != "198.19.1.0/24" {
		t.Errorf("Sources 198.19.1.2/24 normalized to %v, %v", n.Sources, err)
	}
	// The smallest prefixes that still hold a usable address.
	for _, s := range []string{"198.18.0.0/31", "198.18.0.0/30", "198.18.0.3/32", "198.19.255.255/32"} {
		c.Sources = netip.MustParsePrefix(s)
		if _, err := c.normalize(); err != nil {
			t.Errorf("Sources %s: %v", s, err)
		}
	}
}

// verify checks that p is a well-formed IPv4 TCP SYN toward target and
// returns its source.
func verify(t *testing.T, p []byte, target netip.AddrPort) netip.AddrPort {
	t.Helper()
	if len(p) != pktLen || p[0] != 0x45 || int(binary.BigEndian.Uint16(p[2:])) != len(p) || p[9] != 6 || p[8] == 0 {
		t.Fatalf("IP header % x", p[:ipLen])
	}
	if checksum(0, p[:ipLen]) != 0 {
		t.Fatalf("IP header checksum wrong: % x", p[:ipLen])
	}
	if checksum(pseudoSum(p), p[ipLen:]) != 0 {
		t.Fatalf("TCP checksum wrong: % x", p)
	}
	h := p[ipLen:]
	if netip.AddrFrom4([4]byte(p[16:20])) != target.Addr() || binary.BigEndian.Uint16(h[2:]) != target.Port() {
		t.Fatalf("destination % x", p[16:20])
	}
	if h[13] != tcpSYN || int(h[12]>>4)*4 != tcpLen || binary.BigEndian.Uint32(h[8:]) != 0 {
		t.Fatalf("TCP header % x", h[:20])
	}
	if h[20] != 2 || h[21] != 4 || binary.BigEndian.Uint16(h[22:]) != synMSS {
		t.Fatalf("no MSS option first: % x", h[20:])
	}
	sport := binary.BigEndian.Uint16(h[0:])
	if sport < 1024 {
		t.Fatalf("source port %d", sport)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[12:16])), sport)
}

func TestPackets(t *testing.T) {
	c := good()
	c.Sources = netip.MustParsePrefix("198.18.0.0/30") // .1 and .2 are the path's ends
	n, err := c.normalize()
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(n)
	seen := map[netip.Addr]int{}
	ports := map[uint16]bool{}
	isns := map[uint32]bool{}
	for range 2000 {
		p := g.next()
		src := verify(t, p, target)
		seen[src.Addr()]++
		ports[src.Port()] = true
		isns[binary.BigEndian.Uint32(p[ipLen+4:])] = true
	}
	if len(seen) != 2 || seen[netip.MustParseAddr("198.18.0.0")] < 800 || seen[netip.MustParseAddr("198.18.0.3")] < 800 {
		t.Errorf("sources %v, want 198.18.0.0 and .3 about evenly", seen)
	}
	if len(ports) < 1900 || len(isns) < 1990 {
		t.Errorf("%d distinct ports and %d sequence numbers in 2000 SYNs", len(ports), len(isns))
	}

	// The whole range, with the target elsewhere in it: never an end of
	// the path nor the target; the same seed gives the same packets.
	c = good()
	c.Target = netip.MustParseAddrPort("198.19.0.9:80")
	c.Sources = netip.MustParsePrefix("198.19.0.8/29")
	n, _ = c.normalize()
	g1, g2 := newGen(n), newGen(n)
	for range 1000 {
		p := g1.next()
		src := verify(t, p, n.Target)
		if src.Addr() == n.Target.Addr() || !n.Sources.Contains(src.Addr()) {
			t.Fatalf("source %s", src)
		}
		if q := g2.next(); string(p) != string(q) {
			t.Fatal("same seed, different packets")
		}
	}
	n, _ = good().normalize()
	g = newGen(n)
	for range 100000 {
		a := netip.AddrFrom4([4]byte(g.next()[12:16]))
		if a == clientAddr || a == serverAddr || !Range.Contains(a) {
			t.Fatalf("source %s", a)
		}
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	n, _ := good().normalize()
	g := newGen(n)
	if a := testing.AllocsPerRun(1000, func() { g.next() }); a != 0 {
		t.Errorf("%v allocations per SYN", a)
	}
}

// fakeFlood runs the pacing loop against a counting sender.
func fakeFlood(c Config, fail func(i int64) error) (*Flooder, *atomic.Int64) {
	var n atomic.Int64
	var closed atomic.Bool
	c, err := c.normalize()
	if err != nil {
		panic(err)
	}
	f := newFlooder(c, func(p []byte) error {
		if closed.Load() {
			return errors.New("send after close")
		}
		i := n.Add(1)
		if fail != nil {
			return fail(i)
		}
		return nil
	}, func() error { closed.Store(true); return nil })
	go f.run()
	return f, &n
}

func TestPacing(t *testing.T) {
	c := good()
	c.Rate, c.Duration = 5000, 300*time.Millisecond
	start := time.Now()
	f, n := fakeFlood(c, nil)
	select {
	case <-f.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("flood did not stop by itself")
	}
	took := time.Since(start)
	st := f.Stats()
	// It ends at Duration; what fell due up to its last tick was sent.
	want := c.Rate * c.Duration.Seconds()
	if float64(st.Sent) > want || float64(st.Sent) < want*0.8 || st.Sent != n.Load() || st.Errors != 0 {
		t.Errorf("sent %d (sender saw %d, %d errors) in %v, want about %.0f", st.Sent, n.Load(), st.Errors, took, want)
	}
	if took < c.Duration {
		t.Errorf("ended after %v, before its Duration %v", took, c.Duration)
	}
	f.Stop() // after the end: returns at once
}

func TestStopAndErrors(t *testing.T) {
	c := good()
	c.Rate, c.Duration = 2000, time.Hour
	f, _ := fakeFlood(c, func(i int64) error {
		if i%2 == 0 {
			return errors.New("no buffer space")
		}
		return nil
	})
	for deadline := time.Now().Add(10 * time.Second); f.Stats().Sent+f.Stats().Errors < 100; {
		if time.Now().After(deadline) {
			t.Fatal("nothing sent")
		}
		time.Sleep(time.Millisecond)
	}
	f.Stop()
	st := f.Stats()
	if st.Errors == 0 || st.FirstError != "no buffer space" || st.Sent < st.Errors-1 || st.Sent > st.Errors+1 {
		t.Errorf("stats %+v: want every second SYN failed", st)
	}
	// Stop waited for the sender to return: nothing more is sent.
	if st2 := f.Stats(); st2 != st {
		t.Errorf("still sending after Stop: %+v then %+v", st, st2)
	}
	f.Stop()
}
