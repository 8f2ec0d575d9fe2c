package workloads

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/tlsconf"
)

// TLS phases, recorded by the TLS path only (all values nanoseconds).
const (
	// PhaseTLSHandshake: from the first ClientHello byte written to the
	// handshake's end (crypto/tls's Handshake returning: for TLS 1.3 the
	// client's Finished sent, for 1.2 the server's Finished read).
	PhaseTLSHandshake = "tls_handshake"
	// PhaseTLSFull and PhaseTLSResumed split it by whether the session
	// resumed (recorded when session resumption is on).
	PhaseTLSFull    = "tls_handshake_full"
	PhaseTLSResumed = "tls_handshake_resumed"
)

// TLSConfig is the client's TLS for a run (Config.TLS): the settings as
// given, echoed in the result, and the crypto/tls configuration built from
// them by the caller (who reads the trusted roots).
type TLSConfig struct {
	tlsconf.Client
	// Config is the crypto/tls client configuration. Nil with Plain.
	Config *tls.Config `json:"-"`
}

// MaxTLSWorkers bounds the TLS path's goroutines (each on a thread of its
// own while it runs): -c for a closed loop and pooled runs, --max-inflight
// for an open loop of new connections.
const MaxTLSWorkers = 2048

// TLSStats is what the TLS path saw of its handshakes (measured part).
type TLSStats struct {
	// Handshakes counts completed TLS handshakes; Resumed those that
	// resumed a session (a ticket).
	Handshakes, Resumed int64
	// CPUHandshake is the client threads' CPU time inside the handshakes
	// (CLOCK_THREAD_CPUTIME_ID around crypto/tls's Handshake, ClientHello
	// key generation included); CPUFull and CPUResumed split it.
	CPUHandshake, CPUFull, CPUResumed time.Duration
	// BytesOut and BytesIn count the bytes the handshakes put on and took
	// off the wire (TLS records, TCP payload), client side.
	BytesOut, BytesIn int64
	// Versions, Ciphers, Groups and ALPN count handshakes by what was
	// negotiated.
	Versions, Ciphers, Groups, ALPN map[string]int64
	// Workers is the number of goroutines (threads) the path ran.
	Workers int
	// Plain: no TLS at all, the path's overhead check.
	Plain bool
}

// tlsNormalize checks what the TLS path cannot do.
func (c *Config) tlsNormalize() error {
	switch c.Workload {
	case "backlog", "synflood":
		return fmt.Errorf("workloads: --tls: --workload %s is not supported over TLS (per-request, pooled, connect, churn and hold are)", c.Workload)
	}
	if c.Socket.FastOpen != dialer.FastOpenOff {
		return errors.New("workloads: --tls with --fastopen: the TLS path does not put data in the SYN")
	}
	// TCP_NODELAY, as Go's net, curl and nginx set it: the client's
	// Finished and the request leave in separate writes, and with Nagle
	// the request would wait for the server's delayed ACK (40 ms).
	c.Socket.NoDelay = true
	if c.PortRange > 0 || c.UntilExhausted {
		c.PortRange = 0 // connect() calls are not banded on the TLS path
	}
	if c.UntilExhausted {
		return errors.New("workloads: --until-exhausted is not supported over --tls")
	}
	if n := c.tlsWorkers(); n > MaxTLSWorkers {
		return fmt.Errorf("workloads: --tls runs a goroutine per connection in flight: at most %d (-c, or --max-inflight for an open loop), got %d", MaxTLSWorkers, n)
	}
	if !c.TLS.Plain && c.TLS.Config == nil {
		return errors.New("workloads: --tls: no TLS configuration")
	}
	return nil
}

// tlsWorkers is the number of goroutines the TLS path runs.
func (c *Config) tlsWorkers() int {
	if c.Workload == "hold" {
		// The handshakes in flight; the connections held have no
		// goroutine (tlsHold).
		return int(min(int64(c.MaxInflight), c.Requests))
	}
	if c.open() && !Registry[c.Workload].Persistent {
		return c.MaxInflight
	}
	return c.Concurrency
}

// on reports whether the run goes through the TLS path.
func (t *TLSConfig) on() bool { return t != nil && t.Client.Enabled() }
