package kernel

import (
	"errors"
	"net/netip"
	"strconv"
)

// ErrBadFilter is wrapped by the error Sample returns for a Filter it cannot
// apply.
var ErrBadFilter = errors.New("bad socket filter")

// State is a TCP socket state, numbered as in the kernel (include/net/tcp_states.h).
// The zero State is not a state.
type State uint8

// The TCP states. TIME_WAIT sockets (and orphaned FIN_WAIT2 ones, which the
// kernel also keeps as timewait entries) are reported under their own state.
const (
	StateEstablished State = 1 + iota // ESTABLISHED
	StateSynSent                      // SYN_SENT
	StateSynRecv                      // SYN_RECV, including pending request sockets
	StateFinWait1                     // FIN_WAIT1
	StateFinWait2                     // FIN_WAIT2
	StateTimeWait                     // TIME_WAIT
	StateClose                        // CLOSE
	StateCloseWait                    // CLOSE_WAIT
	StateLastAck                      // LAST_ACK
	StateListen                       // LISTEN
	StateClosing                      // CLOSING

	// NumStates is one more than the highest State: the length of StateCounts.
	NumStates = 12
)

var stateNames = [NumStates]string{
	"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
}

var stateKeys = [NumStates]string{
	"", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",
	"time_wait", "close", "close_wait", "last_ack", "listen", "closing",
}

// String returns the kernel's name of s ("ESTABLISHED", "TIME_WAIT", ...),
// or "State(N)" for a number that is not a state, including 0.
func (s State) String() string {
	if s > 0 && s < NumStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Key returns the lowercase snake-case name of s used as a key in result
// documents ("established", "time_wait", ...), or "state_N" for a number
// that is not a state.
func (s State) Key() string {
	if s > 0 && s < NumStates {
		return stateKeys[s]
	}
	return "state_" + strconv.Itoa(int(s))
}

// StateMask is a set of States: bit 1<<s stands for State s. The zero
// StateMask, where a set of states is asked for, means all states.
type StateMask uint32

// AllStates is the StateMask of every State.
const AllStates StateMask = (1<<NumStates - 1) &^ 1

// MaskOf returns the StateMask holding states.
func MaskOf(states ...State) StateMask {
	var m StateMask
	for _, s := range states {
		if s < NumStates {
			m |= 1 << s
		}
	}
	return m
}

// Has reports whether s is in m. The zero StateMask has no state.
func (m StateMask) Has(s State) bool { return s < 32 && m&(1<<s) != 0 }

// StateCounts counts sockets by State: StateCounts[StateTimeWait] is the
// number of TIME_WAIT sockets. Index 0 is unused and stays 0.
type StateCounts [NumStates]int

// Total returns the number of sockets over all states; 0 for the zero value.
func (c StateCounts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Map returns the non-zero counts keyed by State.Key ("time_wait": 3). It is
// empty, not nil, when every count is zero.
func (c StateCounts) Map() map[string]int {
	m := make(map[string]int)
	for s, v := range c {
		if v != 0 {
			m[State(s).Key()] = v
		}
	}
	return m
}

// Filter selects the TCP sockets a Sampler counts. The zero Filter selects
// every TCP socket of both families in the sampler's network namespace.
type Filter struct {
	// Family is unix.AF_INET or unix.AF_INET6; 0 means the family of the
	// Remote or Local address if one is set, else both families.
	Family int
	// Remote selects sockets whose peer is this address and port, as on the
	// client side of a run toward a target. A zero port matches any port and
	// an invalid (zero) address or an unspecified one (0.0.0.0, ::) any
	// address; the zero AddrPort selects any peer. IPv4 addresses are not
	// matched against IPv4-mapped peers of AF_INET6 sockets.
	Remote netip.AddrPort
	// Local selects sockets whose local end is this address and port, as on
	// the server side of a run (the listener is included, in StateListen).
	// Zero parts match anything, as for Remote. With both Remote and Local
	// set, a socket must match both.
	Local netip.AddrPort
	// States selects the states to count; 0 means AllStates. The kernel
	// leaves other states out of the dump, which is cheaper than dropping
	// them here.
	States StateMask
}

// Sample is one count of the sockets matching a Filter.
type Sample struct {
	// States counts the matching sockets by state.
	States StateCounts
	// LocalPorts is the number of distinct local ports among the matching
	// sockets: on the client side, the ephemeral ports in use toward the
	// target. Sockets of different local addresses that share a port count
	// once. 0 when nothing matched.
	LocalPorts int
}

// Sampler counts TCP sockets by state through one NETLINK_SOCK_DIAG socket,
// reused with one receive buffer across samples, so that a sample costs one
// kernel dump of the matching sockets and no allocation. The kernel filters
// the sockets by port (the request's socket id) and by address and port (an
// INET_DIAG_REQ_BYTECODE program, as ss(8) sends) itself, so only matching
// sockets cross into user space; should it reject the program, the Sampler
// filters addresses in user space from then on. A sample still costs the
// kernel a walk over every TCP socket of the namespace: about 10 ms per
// 100,000 sockets on a 2-core 6.18 guest, plus about 0.25 ms per 1,000
// matching ones. Sockets are counted in the network namespace of the thread
// that called NewSampler (or, after a failed dump, of the thread whose
// Sample reopened the socket). No privilege is needed. A Sampler is not safe
// for concurrent use; the zero Sampler is not usable.
type Sampler struct {
	fd         int    // netlink socket; -1 after Close or a broken dump
	closed     bool   // Close was called
	buf        []byte // receive buffer
	req        []byte // request being built
	seq        uint32 // sequence number of the last request
	noBytecode bool   // the kernel rejected a filter program: filter here
	received   int    // socket messages received by the last Sample
	ports      [65536 / 64]uint64
}

// NewSampler opens the netlink socket of a Sampler. Its error wraps the
// errno of socket(2) (for example unix.EAFNOSUPPORT where sock_diag is not
// built in) or errors.ErrUnsupported off Linux.
func NewSampler() (*Sampler, error) {
	s := &Sampler{fd: -1}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases the netlink socket. Sample after Close returns an error
// wrapping os.ErrClosed; Close may be called more than once.
func (s *Sampler) Close() error {
	s.closed = true
	return s.close()
}

// Sample counts the TCP sockets matching f by state, and the distinct local
// ports among them. An f with an unknown Family, or with addresses of a
// family other than Family or of different families, is an error wrapping
// ErrBadFilter. On error the Sample is zero. A dump that fails part way
// leaves the Sampler usable: its socket is reopened on the next call.
func (s *Sampler) Sample(f Filter) (Sample, error) {
	return s.sample(f)
}
