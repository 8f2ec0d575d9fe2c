package netpath

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// This file holds the forwarder's decisions, free of system calls so that
// they are tested anywhere: which packets to drop, when to release the
// others, and the queue that holds them meanwhile. Times are nanoseconds on
// the path's monotonic clock.

// verdict is what a shaper decides for one packet.
type verdict uint8

const (
	pass verdict = iota
	dropLoss
	dropSYN
)

// shaper decides for one direction. It is owned by that direction's
// forwarder and not safe for concurrent use.
type shaper struct {
	half, jitter int64 // one-way delay and jitter, ns
	loss         float64
	synShare     float64
	dropSYN      int
	rate         int64 // bits per second, 0 = unlimited
	rng          *rand.Rand
	last         int64 // release time of the previous packet
	linkFree     int64 // when the emulated link finishes serializing
	syns         synTable
}

// newShaper returns the shaper of one direction of c, seeded with seed.
func newShaper(c Config, seed uint64) *shaper {
	return &shaper{
		half:     int64(c.RTT / 2),
		jitter:   int64(c.Jitter),
		loss:     c.Loss,
		synShare: c.DropSYNShare,
		dropSYN:  c.DropSYN,
		rate:     c.Rate,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// judge decides whether pkt, read at now, is dropped. SYN rules come first:
// a SYN transmission is counted for DropSYN even if Loss would drop it.
func (s *shaper) judge(pkt []byte, now int64) verdict {
	if s.dropSYN > 0 || s.synShare > 0 {
		if k, isn, ok := parseSYN(pkt); ok {
			if s.dropSYN > 0 && s.syns.see(k, isn, now) <= s.dropSYN {
				return dropSYN
			}
			if s.synShare > 0 && s.rng.Float64() < s.synShare {
				return dropSYN
			}
		}
	}
	if s.loss > 0 && s.rng.Float64() < s.loss {
		return dropLoss
	}
	return pass
}

// release returns when a packet of size bytes, read at now and not
// dropped, is due: after the link has serialized it (with Rate) and its
// one-way delay, but never before the previous packet, so the path does not
// reorder.
func (s *shaper) release(now int64, size int) int64 {
	t := now
	if s.rate > 0 {
		start := max(now, s.linkFree)
		s.linkFree = start + int64(size)*8_000_000_000/s.rate
		t = s.linkFree
	}
	d := s.half
	if s.jitter > 0 {
		d += s.rng.Int64N(2*s.jitter+1) - s.jitter
		d = max(d, 0)
	}
	t = max(t+d, s.last)
	s.last = t
	return t
}

// synKey is a connection's 4-tuple as its SYN carries it.
type synKey struct {
	src, dst     [4]byte
	sport, dport uint16
}

// parseSYN reports whether pkt is an IPv4 TCP segment with SYN set and ACK
// clear, and returns its 4-tuple and initial sequence number. A packet
// whose headers do not fit in it (IHL below 5, a TCP data offset below 5,
// a total length shorter than the headers or longer than pkt) or that is a
// fragment other than the first is not taken for a SYN, and is then only
// subject to Loss.
func parseSYN(pkt []byte) (k synKey, isn uint32, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != 6 {
		return k, 0, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || binary.BigEndian.Uint16(pkt[6:8])&0x1fff != 0 || len(pkt) < ihl+20 {
		return k, 0, false // bad header, or a later fragment
	}
	tcp := pkt[ihl:]
	doff := int(tcp[12]>>4) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:4]))
	if doff < 20 || total < ihl+doff || total > len(pkt) {
		return k, 0, false
	}
	if tcp[13]&(0x02|0x10) != 0x02 {
		return k, 0, false
	}
	copy(k.src[:], pkt[12:16])
	copy(k.dst[:], pkt[16:20])
	k.sport = binary.BigEndian.Uint16(tcp[0:2])
	k.dport = binary.BigEndian.Uint16(tcp[2:4])
	return k, binary.BigEndian.Uint32(tcp[4:8]), true
}

// synForget is how long a 4-tuple's SYN count is kept at least; with the
// default tcp_syn_retries (6) a connect gives up after 127 s, its last SYN
// at 63 s.
const synForget = 2 * time.Minute

// synTable counts SYN transmissions per connection. It keeps two
// generations of maps and drops the older one every synForget, so an entry
// lives 2 to 4 minutes after its last SYN without a scan per packet.
type synTable struct {
	cur, prev map[synKey]synEntry
	rotated   int64
}

type synEntry struct {
	isn uint32
	n   int32
}

// see records a SYN of connection (k, isn) at now and returns how many
// transmissions of it have been seen, this one included. A different ISN on
// a known 4-tuple is a new connection.
func (t *synTable) see(k synKey, isn uint32, now int64) int {
	if t.cur == nil {
		t.cur, t.prev, t.rotated = make(map[synKey]synEntry), make(map[synKey]synEntry), now
	}
	if now-t.rotated >= int64(synForget) {
		t.prev, t.cur = t.cur, t.prev
		clear(t.cur)
		t.rotated = now
	}
	e, ok := t.cur[k]
	if !ok {
		e, ok = t.prev[k]
	}
	if !ok || e.isn != isn {
		e = synEntry{isn: isn}
	}
	e.n++
	t.cur[k] = e
	return int(e.n)
}

// slotSize is the room for one packet in a queue: more than MTU.
const slotSize = 2048

// queue is a FIFO of packets and their release times in one preallocated
// slab, so that holding a packet allocates nothing.
type queue struct {
	slab []byte
	size []int32
	rel  []int64
	head int
	n    int
}

func newQueue(capacity int) *queue {
	return &queue{
		slab: make([]byte, capacity*slotSize),
		size: make([]int32, capacity),
		rel:  make([]int64, capacity),
	}
}

func (q *queue) full() bool { return q.n == len(q.size) }

// index returns the slot i places after the head.
func (q *queue) index(i int) int {
	j := q.head + i
	if j >= len(q.size) {
		j -= len(q.size)
	}
	return j
}

// tail returns the free slot the next packet is read into; the queue must
// not be full.
func (q *queue) tail() []byte {
	j := q.index(q.n)
	return q.slab[j*slotSize : (j+1)*slotSize]
}

// push commits the packet read into tail, size bytes long, due at rel.
func (q *queue) push(size int, rel int64) {
	j := q.index(q.n)
	q.size[j], q.rel[j] = int32(size), rel
	q.n++
}

// front returns the oldest packet and its release time; the queue must not
// be empty.
func (q *queue) front() ([]byte, int64) {
	j := q.head
	return q.slab[j*slotSize : j*slotSize+int(q.size[j])], q.rel[j]
}

// pop removes the oldest packet.
func (q *queue) pop() {
	q.head = q.index(1)
	q.n--
}

// parseDevDrops reads a /proc/net/dev table and returns the receive and
// transmit drop counts of device dev. A count that is not a decimal
// integer from 0 to 2^63-1 is an error.
func parseDevDrops(r io.Reader, dev string) (rx, tx int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) != dev {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return 0, 0, fmt.Errorf("netpath: /proc/net/dev: %s: %d fields, want 16", dev, len(f))
		}
		// Receive: bytes packets errs drop ...; transmit the same from 8.
		rx, err1 := strconv.ParseInt(f[3], 10, 64)
		tx, err2 := strconv.ParseInt(f[8+3], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, 0, fmt.Errorf("netpath: /proc/net/dev: %s: %w", dev, err)
		}
		if rx < 0 || tx < 0 {
			return 0, 0, fmt.Errorf("netpath: /proc/net/dev: %s: negative drop count %q or %q", dev, f[3], f[8+3])
		}
		return rx, tx, nil
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("netpath: /proc/net/dev: %w", err)
	}
	return 0, 0, fmt.Errorf("netpath: /proc/net/dev: no device %s", dev)
}

// maxConfig bounds what configHasNetem reads of a kernel config, after
// decompression: a real one is some 300 KiB.
const maxConfig = 16 << 20

// configHasNetem reports whether a kernel config (plain or gzipped, as
// /proc/config.gz) builds sch_netem into the kernel. It reads at most
// maxConfig bytes of it, decompressed.
func configHasNetem(r io.Reader) bool {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false
		}
		defer zr.Close()
		br = bufio.NewReader(io.LimitReader(zr, maxConfig))
	} else {
		br = bufio.NewReader(io.LimitReader(br, maxConfig))
	}
	sc := bufio.NewScanner(br)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "CONFIG_NET_SCH_NETEM=y" {
			return true
		}
	}
	return false
}

// containsLine reports whether text has a line equal to line.
func containsLine(text []byte, line string) bool {
	for l := range bytes.Lines(text) {
		if string(bytes.TrimRight(l, "\r\n")) == line {
			return true
		}
	}
	return false
}
