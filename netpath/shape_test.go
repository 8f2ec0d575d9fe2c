package netpath

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// tcpPacket builds an IPv4 TCP header (no payload) with the given flags.
func tcpPacket(src, dst [4]byte, sport, dport uint16, seq uint32, flags byte) []byte {
	p := make([]byte, 40)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], 40)
	p[8], p[9] = 64, 6
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	t := p[20:]
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	t[12] = 5 << 4
	t[13] = flags
	return p
}

const (
	finFlag = 0x01
	synFlag = 0x02
	rstFlag = 0x04
	ackFlag = 0x10
)

var (
	cli = [4]byte{198, 18, 0, 1}
	srv = [4]byte{198, 18, 0, 2}
)

func TestParseSYN(t *testing.T) {
	k, isn, ok := parseSYN(tcpPacket(cli, srv, 40000, 80, 12345, synFlag))
	if !ok || isn != 12345 || k.sport != 40000 || k.dport != 80 || k.src != cli || k.dst != srv {
		t.Errorf("SYN: %+v %d %v", k, isn, ok)
	}
	for name, p := range map[string][]byte{
		"SYN-ACK": tcpPacket(srv, cli, 80, 40000, 1, synFlag|ackFlag),
		"ACK":     tcpPacket(cli, srv, 40000, 80, 1, ackFlag),
		"FIN":     tcpPacket(cli, srv, 40000, 80, 1, finFlag|ackFlag),
		"RST":     tcpPacket(cli, srv, 40000, 80, 1, rstFlag),
		"short":   tcpPacket(cli, srv, 40000, 80, 1, synFlag)[:30],
		"empty":   nil,
	} {
		if _, _, ok := parseSYN(p); ok {
			t.Errorf("%s taken for a SYN", name)
		}
	}
	udp := tcpPacket(cli, srv, 40000, 80, 1, synFlag)
	udp[9] = 17
	if _, _, ok := parseSYN(udp); ok {
		t.Error("UDP taken for a SYN")
	}
	frag := tcpPacket(cli, srv, 40000, 80, 1, synFlag)
	binary.BigEndian.PutUint16(frag[6:], 10) // fragment offset 80 bytes
	if _, _, ok := parseSYN(frag); ok {
		t.Error("a later fragment taken for a SYN")
	}
	opts := append(tcpPacket(cli, srv, 1, 2, 7, 0)[:20:20], make([]byte, 4)...)
	opts[0] = 0x46 // 24-byte IP header
	opts = append(opts, tcpPacket(cli, srv, 1, 2, 7, synFlag)[20:]...)
	binary.BigEndian.PutUint16(opts[2:], uint16(len(opts)))
	if _, isn, ok := parseSYN(opts); !ok || isn != 7 {
		t.Error("SYN after IP options not found")
	}
	v6 := tcpPacket(cli, srv, 1, 2, 7, synFlag)
	v6[0] = 0x60
	if _, _, ok := parseSYN(v6); ok {
		t.Error("IPv6 packet parsed as IPv4")
	}
}

func TestShaperDropSYN(t *testing.T) {
	s := newShaper(Config{DropSYN: 2}, 1)
	syn := tcpPacket(cli, srv, 40000, 80, 100, synFlag)
	want := []verdict{dropSYN, dropSYN, pass, pass}
	for i, w := range want {
		if v := s.judge(syn, int64(i)*int64(time.Second)); v != w {
			t.Errorf("transmission %d: %v, want %v", i+1, v, w)
		}
	}
	// The same 4-tuple with a new ISN is a new connection.
	if v := s.judge(tcpPacket(cli, srv, 40000, 80, 999, synFlag), int64(5*time.Second)); v != dropSYN {
		t.Errorf("new connection on a reused 4-tuple: %v, want dropSYN", v)
	}
	// Other connections and other segments are independent.
	if v := s.judge(tcpPacket(cli, srv, 40001, 80, 100, synFlag), 0); v != dropSYN {
		t.Errorf("another port: %v", v)
	}
	if v := s.judge(tcpPacket(cli, srv, 40000, 80, 101, ackFlag), 0); v != pass {
		t.Errorf("ACK: %v", v)
	}
}

func TestSYNTableForgets(t *testing.T) {
	var tab synTable
	k := synKey{src: cli, dst: srv, sport: 1, dport: 2}
	min := int64(time.Minute)
	if n := tab.see(k, 5, 0); n != 1 {
		t.Fatalf("first: %d", n)
	}
	if n := tab.see(k, 5, 1*min); n != 2 {
		t.Fatalf("after 1 min: %d", n)
	}
	// Seen at 1 min: kept at least until 3 min, gone by 5 min.
	if n := tab.see(synKey{}, 0, 2*min+1); n != 1 { // rotates
		t.Fatalf("other key: %d", n)
	}
	if n := tab.see(k, 5, 3*min); n != 3 {
		t.Errorf("2 min after its last SYN: %d, want 3 (remembered)", n)
	}
	tab.see(synKey{}, 0, 4*min+2) // rotates
	tab.see(synKey{}, 0, 6*min+3) // rotates: k (last seen at 3 min) is gone
	if n := tab.see(k, 5, 6*min+4); n != 1 {
		t.Errorf("3 min after its last SYN: %d, want 1 (forgotten)", n)
	}
	if len(tab.cur)+len(tab.prev) > 3 {
		t.Errorf("table holds %d+%d entries", len(tab.cur), len(tab.prev))
	}
}

func TestShaperShare(t *testing.T) {
	s := newShaper(Config{DropSYNShare: 0.25, Loss: 0.1}, 7)
	const n = 20000
	var synDrops, lossDrops int
	for i := range n {
		switch s.judge(tcpPacket(cli, srv, uint16(i), 80, uint32(i), synFlag), 0) {
		case dropSYN:
			synDrops++
		case dropLoss:
			lossDrops++
		}
	}
	if synDrops < n*23/100 || synDrops > n*27/100 {
		t.Errorf("DropSYNShare 0.25: %d of %d dropped", synDrops, n)
	}
	// Loss applies to what the SYN rule let through: 10% of 75%.
	if lossDrops < n*65/1000 || lossDrops > n*85/1000 {
		t.Errorf("Loss 0.1: %d of %d dropped", lossDrops, n)
	}
}

func TestShaperRelease(t *testing.T) {
	ms := int64(time.Millisecond)
	s := newShaper(Config{RTT: 20 * time.Millisecond}, 1)
	if r := s.release(5*ms, 100); r != 15*ms {
		t.Errorf("RTT 20ms: released at %d, want %d", r, 15*ms)
	}
	if r := newShaper(Config{}, 1).release(5*ms, 100); r != 5*ms {
		t.Errorf("plain path: released at %d, want now", r)
	}

	// Jitter stays within ±J of the delay and never reorders.
	s = newShaper(Config{RTT: 10 * time.Millisecond, Jitter: 3 * time.Millisecond}, 1)
	var last int64
	var early, late bool
	for i := range int64(10000) {
		now := i * 10_000 // a packet every 10 µs
		r := s.release(now, 100)
		if r < last {
			t.Fatalf("packet %d released at %d before the previous one at %d", i, r, last)
		}
		d := r - now
		if d < 2*ms || (d > 8*ms && r != last) {
			t.Fatalf("packet %d delayed %d ns, want 5 ms ± 3 ms", i, d)
		}
		early = early || d < 3*ms
		late = late || d > 7*ms
		last = r
	}
	if !late {
		t.Error("dense traffic never delayed near +J")
	}
	// Sparse traffic (gaps wider than the jitter) spreads over the range.
	early, late = false, false
	for i := range int64(200) {
		now := last + 20*ms + i
		d := s.release(now, 100) - now
		early = early || d < 3*ms
		late = late || d > 7*ms
		last = now + d
	}
	if !early || !late {
		t.Error("jitter does not spread over its range")
	}

	// Jitter larger than the delay is cut at 0, never negative.
	s = newShaper(Config{Jitter: time.Millisecond}, 1)
	for i := range int64(1000) {
		if r := s.release(i*ms, 100); r < i*ms {
			t.Fatalf("released before it was read")
		}
	}

	// Rate: 1500-byte packets at 12 Mbit/s take 1 ms each.
	s = newShaper(Config{Rate: 12_000_000, RTT: 2 * time.Millisecond}, 1)
	for i := range int64(5) {
		if r := s.release(0, 1500); r != (i+1)*ms+ms {
			t.Errorf("packet %d at %d, want %d", i, r, (i+1)*ms+ms)
		}
	}
	// An idle link starts afresh.
	if r := s.release(100*ms, 1500); r != 102*ms {
		t.Errorf("after idle: %d, want %d", r, 102*ms)
	}
}

func TestQueue(t *testing.T) {
	q := newQueue(3)
	for round := range 5 {
		for i := range 3 {
			if q.full() {
				t.Fatalf("round %d: full after %d", round, i)
			}
			b := q.tail()
			if len(b) != slotSize {
				t.Fatalf("slot of %d bytes", len(b))
			}
			n := copy(b, []byte{byte(round), byte(i), 9})
			q.push(n, int64(round*10+i))
		}
		if !q.full() {
			t.Fatal("not full")
		}
		for i := range 3 {
			p, rel := q.front()
			if !bytes.Equal(p, []byte{byte(round), byte(i), 9}) || rel != int64(round*10+i) {
				t.Fatalf("round %d: got %v at %d", round, p, rel)
			}
			q.pop()
		}
		if q.n != 0 {
			t.Fatal("not empty")
		}
		// Leave the head somewhere else for the next round.
		b := q.tail()
		q.push(copy(b, "x"), 0)
		q.pop()
	}
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	s := newShaper(Config{RTT: time.Millisecond, Jitter: 100 * time.Microsecond, Loss: 0.01, DropSYN: 1}, 1)
	q := newQueue(16)
	syn := tcpPacket(cli, srv, 1, 2, 3, synFlag)
	ack := tcpPacket(cli, srv, 1, 2, 4, ackFlag)
	s.judge(syn, 0) // creates the SYN table
	now := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 1000
		for _, p := range [][]byte{syn, ack} {
			if s.judge(p, now) != pass {
				continue
			}
			n := copy(q.tail(), p)
			q.push(n, s.release(now, n))
			q.front()
			q.pop()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet pair", allocs)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	for field, c := range map[string]Config{
		"RTT":          {RTT: -1},
		"Jitter":       {Jitter: -1},
		"Loss":         {Loss: 1.5},
		"DropSYN":      {DropSYN: -1},
		"DropSYNShare": {DropSYNShare: -0.1},
		"Rate":         {Rate: -1},
		"Queue":        {Queue: -1},
		"Threads":      {Threads: 3},
	} {
		err := c.validate()
		if err == nil || !strings.Contains(err.Error(), field) || !strings.HasPrefix(err.Error(), "netpath: ") {
			t.Errorf("%s: error %v does not name the field", field, err)
		}
	}
	if err := (Config{Loss: nan()}).validate(); err == nil {
		t.Error("NaN Loss accepted")
	}
}

func nan() float64 {
	var z float64
	return z / z
}

const procNetDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
cbpath0: 5140680   76512    0    7    0     0          0         0  6049880   76518    0   42    0     0       0          0
`

func TestParseDevDrops(t *testing.T) {
	rx, tx, err := parseDevDrops(strings.NewReader(procNetDev), "cbpath0")
	if err != nil || rx != 7 || tx != 42 {
		t.Errorf("got %d, %d, %v; want 7, 42", rx, tx, err)
	}
	if _, _, err := parseDevDrops(strings.NewReader(procNetDev), "eth0"); err == nil {
		t.Error("missing device not reported")
	}
	if _, _, err := parseDevDrops(strings.NewReader("cbpath0: 1 2 3\n"), "cbpath0"); err == nil {
		t.Error("short line not reported")
	}
}

func TestConfigHasNetem(t *testing.T) {
	cfg := "CONFIG_NET_SCHED=y\n# CONFIG_NET_SCH_NETEM is not set\n"
	if configHasNetem(strings.NewReader(cfg)) {
		t.Error("'is not set' read as built in")
	}
	if configHasNetem(strings.NewReader("CONFIG_NET_SCH_NETEM=m\n")) {
		t.Error("a module (maybe not installed) read as built in")
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("CONFIG_X=y\nCONFIG_NET_SCH_NETEM=y\n"))
	w.Close()
	if !configHasNetem(&gz) {
		t.Error("gzipped =y not found")
	}
	if !containsLine([]byte("a.ko\nkernel/net/sched/sch_netem.ko\n"), "kernel/net/sched/sch_netem.ko") ||
		containsLine([]byte("kernel/net/sched/sch_netem.ko.xz"), "kernel/net/sched/sch_netem.ko") {
		t.Error("containsLine")
	}
}
