package runner

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/tlsconf"
	"github.com/connbench/connbench/workloads"
	"github.com/spf13/pflag"
)

// tlsState is what Validate and the run's set-up derive from the TLS
// flags.
type tlsState struct {
	client tlsconf.Client
	server tlsconf.Server
	srv    *tls.Config    // the built-in listener's, once made
	roots  *x509.CertPool // the client's trusted roots (nil: the system's)
}

// defineTLSFlags defines the TLS flags in a group of their own.
func (s *Spec) defineTLSFlags(group func(title string) *pflag.FlagSet) {
	t := group("TLS (client, and the built-in listener)")
	t.BoolVar(&s.TLS, "tls", false, "speak TLS over every connection (per-request, pooled, connect, churn, hold; raw, http, redis or memcached inside). "+
		"Runs on a path of its own, a goroutine per connection in flight, with its TCP handshake, TLS handshake, first byte and transaction timed apart. "+
		"A hold's connections, once open, keep no goroutine or thread (about 6-7 KB of client memory each, 20-26 KB at the built-in listener). "+
		"Go's crypto/tls has no client 0-RTT: a resumed TLS 1.3 handshake still costs one round trip")
	t.StringVar(&s.TLSVersion, "tls-version", "", "TLS version: 1.2 or 1.3 (default: both offered, 1.3 preferred)")
	t.StringVar(&s.TLSResume, "tls-resume", "off", "session resumption: off (every handshake full) or tickets (session tickets, shared by the process's connections; the result gives the share that resumed)")
	t.StringVar(&s.TLSGroups, "tls-groups", "", "key exchange groups in preference order, comma-separated: "+strings.Join(tlsconf.GroupNames, ", ")+" (default: Go's)")
	t.StringVar(&s.TLSCiphers, "tls-ciphers", "", "TLS 1.2 cipher suites, comma-separated Go names, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (TLS 1.3's are fixed in Go)")
	t.StringVar(&s.SNI, "sni", "", "server name to send and verify (default: none sent, the certificate checked against the target's address; connbench.test for the built-in listener)")
	t.StringVar(&s.ALPN, "alpn", "", "ALPN protocols to offer, comma-separated, e.g. http/1.1 (at most 8)")
	t.StringVar(&s.TLSCA, "tls-ca", "", "PEM file of the CA(s) to trust for an external server (at most 1 MiB; default: the system's roots)")
	t.BoolVar(&s.TLSInsecure, "tls-insecure", false, "do not verify the server's certificate")
	t.StringVar(&s.TLSCert, "tls-cert", "ecdsa-p256", "built-in listener: certificate generated at start: ecdsa-p256, rsa2048, rsa3072 or ed25519")
	t.StringVar(&s.TLSCertFile, "tls-cert-file", "", "built-in listener: PEM certificate (chain) file to serve instead (with --tls-key-file; at most 1 MiB each)")
	t.StringVar(&s.TLSKeyFile, "tls-key-file", "", "built-in listener: PEM private key file for --tls-cert-file")
	t.StringVar(&s.TLSTickets, "tls-tickets", "on", "built-in listener: issue session tickets (on) or not (off: every handshake is full)")
	t.BoolVar(&s.TLSPlain, "tls-plain", false, "internal: run plain TCP through the TLS path (no TLS), to measure that path's own overhead against the event loops")
	t.MarkHidden("tls-plain")
}

// tlsFlags names the TLS flags that need --tls.
var tlsFlags = []string{"tls-version", "tls-resume", "tls-groups", "tls-ciphers", "sni", "alpn", "tls-ca", "tls-insecure",
	"tls-cert", "tls-cert-file", "tls-key-file", "tls-tickets"}

// splitList splits a comma list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validateTLS checks the TLS flags and derives the client's and the
// listener's settings.
func (s *Spec) validateTLS() error {
	s.tls = tlsState{}
	if !s.TLS {
		if s.TLSPlain {
			s.tls.client = tlsconf.Client{Plain: true}
			return nil
		}
		for _, n := range tlsFlags {
			if s.changed(n) {
				return Usagef("--%s needs --tls", n)
			}
		}
		return nil
	}
	if s.TLSPlain {
		return Usagef("--tls-plain runs the TLS path without TLS: not with --tls")
	}
	c := tlsconf.Client{On: true, Version: s.TLSVersion, Resume: s.TLSResume, Groups: splitList(s.TLSGroups),
		Ciphers: splitList(s.TLSCiphers), SNI: s.SNI, ALPN: splitList(s.ALPN), CAFile: s.TLSCA, Insecure: s.TLSInsecure}
	if err := c.Check(); err != nil {
		return Usagef("%v", err)
	}
	var noTickets bool
	switch s.TLSTickets {
	case "on":
	case "off":
		noTickets = true
	default:
		return Usagef("--tls-tickets %q: want on or off", s.TLSTickets)
	}
	srv := tlsconf.Server{On: true, Cert: s.TLSCert, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile, NoTickets: noTickets}
	if err := srv.Check(); err != nil {
		return Usagef("%v", err)
	}
	switch s.Workload {
	case "backlog", "synflood":
		return Usagef("--tls: --workload %s is not supported over TLS (per-request, pooled, connect, churn and hold are)", s.Workload)
	}
	if s.foMode != 0 {
		return Usagef("--tls with --fastopen: the TLS path does not put data in the SYN")
	}
	if s.UntilExhausted {
		return Usagef("--until-exhausted is not supported with --tls")
	}
	for _, n := range []string{"accept-delay", "accept-pause", "leak", "fastopen-queue", "reuseport", "listener-loops"} {
		if s.changed(n) {
			return Usagef("--%s is a knob of the built-in listener's event loops; its TLS side serves a goroutine per connection and has none", n)
		}
	}
	if s.Concurrency > workloads.MaxTLSWorkers {
		return Usagef("--concurrency %d with --tls: at most %d (the TLS path runs a goroutine per connection in flight)", s.Concurrency, workloads.MaxTLSWorkers)
	}
	if s.Rate.IsSet() && s.changed("max-inflight") && s.MaxInflight > workloads.MaxTLSWorkers {
		return Usagef("--max-inflight %d with --tls: at most %d", s.MaxInflight, workloads.MaxTLSWorkers)
	}
	if !s.changed("max-inflight") {
		s.MaxInflight = 256 // a thread each: the engine's 4096 would be too many
	}
	s.tls.client, s.tls.server = c, srv
	// The user's files are read now, so that a bad one is a usage error
	// before anything starts; a certificate is generated only for a run.
	if s.TLSCA != "" {
		roots, err := tlsconf.LoadRoots(s.TLSCA)
		if err != nil {
			return Usagef("%v", err)
		}
		s.tls.roots = roots
	}
	if s.TLSCertFile != "" {
		cfg, err := srv.ServerConfig()
		if err != nil {
			return Usagef("%v", err)
		}
		s.tls.srv = cfg
	}
	return nil
}

// prepareTLS makes what a run's TLS needs before it starts: the built-in
// listener's certificate (generated, or read from the files) and the
// client's trusted roots (--tls-ca, or the built-in listener's
// certificate).
func (s *Spec) prepareTLS(builtin bool) error {
	if !s.TLS {
		return nil
	}
	if builtin && s.tls.srv == nil {
		cfg, err := s.tls.server.ServerConfig()
		if err != nil {
			return Usagef("%v", err)
		}
		s.tls.srv = cfg
	}
	switch {
	case s.TLSCA != "":
	case builtin && s.TLSCertFile == "":
		s.tls.roots = tlsconf.Roots(s.tls.srv)
		if s.tls.client.SNI == "" {
			s.tls.client.SNI = "connbench.test" // in the generated certificate, whatever the path's addresses
		}
	}
	return nil
}

// tlsConfig is the workload's TLS (nil without --tls or --tls-plain).
func (s *Spec) tlsConfig() *workloads.TLSConfig {
	if !s.tls.client.Enabled() {
		return nil
	}
	t := &workloads.TLSConfig{Client: s.tls.client}
	if s.TLS {
		cfg, err := s.tls.client.ClientConfig(s.tls.roots)
		if err != nil {
			return nil // checked by Validate
		}
		t.Config = cfg
	}
	return t
}

// listenerTLS is the built-in listener's TLS configuration (nil: none).
func (s *Spec) listenerTLS() *tls.Config { return s.tls.srv }

// tlsRecord makes the run's TLS record from what the client saw.
func tlsRecord(res *workloads.Result, s *Spec, builtin bool, rtt float64) *results.TLS {
	st := res.TLS
	if st == nil {
		return nil
	}
	c := res.Config.TLS.Client
	r := &results.TLS{Version: c.Version, Resume: c.Resume, Groups: c.Groups, Ciphers: c.Ciphers, SNI: c.SNI, ALPN: c.ALPN,
		Plain: st.Plain, Handshakes: st.Handshakes, Resumed: st.Resumed, ClientCPUNs: int64(st.CPUHandshake),
		Versions: st.Versions, CipherSuites: st.Ciphers, GroupsNegotiated: st.Groups, Workers: st.Workers}
	if len(st.ALPN) > 0 {
		r.ALPNNegotiated = st.ALPN
	}
	if builtin && s.TLS {
		r.ServerCert = s.TLSCert
		if s.TLSCertFile != "" {
			r.ServerCert = "file"
		}
		on := s.TLSTickets != "off"
		r.ServerTickets = &on
	}
	if n := st.Handshakes; n > 0 {
		r.ResumedShare = float64(st.Resumed) / float64(n)
		r.ClientCPUNsPerHandshake = float64(st.CPUHandshake) / float64(n)
		r.BytesOutPerHandshake = float64(st.BytesOut) / float64(n)
		r.BytesInPerHandshake = float64(st.BytesIn) / float64(n)
		if full := n - st.Resumed; full > 0 {
			r.ClientCPUNsPerFullHandshake = float64(st.CPUFull) / float64(full)
		}
		if st.Resumed > 0 {
			r.ClientCPUNsPerResumedHandshake = float64(st.CPUResumed) / float64(st.Resumed)
		}
		if rtt > 0 {
			// Weighted by the versions negotiated, the resumed share
			// spread over them evenly.
			share := float64(st.Resumed) / float64(n)
			var trips float64
			for v, k := range st.Versions {
				trips += float64(k) * (share*float64(tlsconf.RoundTrips(v, true)) + (1-share)*float64(tlsconf.RoundTrips(v, false)))
			}
			r.PredictedRoundTrips = trips / float64(n)
			r.PredictedNs = int64(r.PredictedRoundTrips * rtt)
		}
	}
	return r
}

// listenerTLSRecord is the listener's TLS delta over the measured part.
func listenerTLSRecord(after, before listener.Stats) *results.ListenerTLS {
	n := after.TLSHandshakes - before.TLSHandshakes
	res := after.TLSResumed - before.TLSResumed
	cpu := after.TLSHandshakeCPU - before.TLSHandshakeCPU
	cpuRes := after.TLSResumedCPU - before.TLSResumedCPU
	if n == 0 && after.TLSFailed == before.TLSFailed && after.TLSHandshakes == 0 {
		return nil
	}
	r := &results.ListenerTLS{Handshakes: n, Resumed: res, Failed: after.TLSFailed - before.TLSFailed, CPUNs: int64(cpu)}
	if n > 0 {
		r.CPUNsPerHandshake = float64(cpu) / float64(n)
		if full := n - res; full > 0 {
			r.CPUNsPerFullHandshake = float64(cpu-cpuRes) / float64(full)
		}
		if res > 0 {
			r.CPUNsPerResumed = float64(cpuRes) / float64(res)
		}
	}
	if cpu > 0 {
		r.HandshakesPerCPUSecond = float64(n) / cpu.Seconds()
	}
	return r
}

// ServeTLSFlags defines serve's TLS flags on fs and returns what makes the
// listener's TLS configuration from them (nil without --tls); its errors
// are usage errors naming the flag.
func ServeTLSFlags(fs *pflag.FlagSet) func() (*tls.Config, error) {
	var srv tlsconf.Server
	var tickets string
	fs.BoolVar(&srv.On, "tls", false, "serve TLS (a goroutine per connection, on a thread of its own only while it works: an idle one holds about 20-26 KB; the handshake's CPU is counted apart)")
	fs.StringVar(&srv.Cert, "tls-cert", "ecdsa-p256", "with --tls: certificate generated at start (ecdsa-p256, rsa2048, rsa3072, ed25519), for localhost, connbench.test, 127.0.0.1 and ::1")
	fs.StringVar(&srv.CertFile, "tls-cert-file", "", "with --tls: PEM certificate (chain) file to serve instead (with --tls-key-file; at most 1 MiB each)")
	fs.StringVar(&srv.KeyFile, "tls-key-file", "", "with --tls: PEM private key file for --tls-cert-file")
	fs.StringVar(&tickets, "tls-tickets", "on", "with --tls: issue session tickets (on) or not (off)")
	var fromParent bool
	fs.BoolVar(&fromParent, ServeMaterialFlag, false, "internal: read the certificate, key and ticket key from standard input (a --procs parent's)")
	fs.MarkHidden(ServeMaterialFlag)
	return func() (*tls.Config, error) {
		for _, n := range []string{"tls-cert", "tls-cert-file", "tls-key-file", "tls-tickets", ServeMaterialFlag} {
			if f := fs.Lookup(n); f != nil && f.Changed && !srv.On {
				return nil, Usagef("--%s needs --tls", n)
			}
		}
		if !srv.On {
			return nil, nil
		}
		switch tickets {
		case "on":
		case "off":
			srv.NoTickets = true
		default:
			return nil, Usagef("--tls-tickets %q: want on or off", tickets)
		}
		if fromParent {
			if srv.CertFile != "" {
				return nil, Usagef("--%s and --tls-cert-file: one certificate or the other", ServeMaterialFlag)
			}
			m, err := tlsconf.ReadMaterial(serveStdin)
			if err != nil {
				return nil, Usagef("--%s: %v", ServeMaterialFlag, err)
			}
			srv.Material = m
		}
		cfg, err := srv.ServerConfig()
		if err != nil {
			return nil, Usagef("%v", err)
		}
		return cfg, nil
	}
}

// ServeMaterialFlag is serve's hidden flag by which a --procs parent
// hands its listener processes the certificate (tlsconf.Material, on
// standard input).
const ServeMaterialFlag = "tls-material-stdin"

// serveStdin is where serve reads a parent's Material (a variable for
// tests).
var serveStdin io.Reader = os.Stdin

// ServeTLSSummary is serve's closing line about TLS ("" without it).
func ServeTLSSummary(s listener.Stats) string {
	if s.TLSHandshakes == 0 && s.TLSFailed == 0 {
		return ""
	}
	per := time.Duration(0)
	if s.TLSHandshakes > 0 {
		per = s.TLSHandshakeCPU / time.Duration(s.TLSHandshakes)
	}
	return fmt.Sprintf("connbench: TLS: %d handshakes (%d resumed, %d failed), %s CPU per handshake\n",
		s.TLSHandshakes, s.TLSResumed, s.TLSFailed, per.Round(time.Microsecond))
}

// procsTLS is what a --procs run over TLS hands its processes: the
// listener processes the certificate and ticket key the parent made (on
// their standard input), the client processes the roots to trust (in
// their request). Nil without --tls.
type procsTLS struct {
	material []byte // tlsconf.Material, JSON; nil: not against the built-in listener
	tickets  string
	roots    []byte // PEM; nil: the system's roots
	sni      string // the name the children send when --sni was not given
}

// procsTLS makes the certificate of a --procs run's built-in listener
// (builtin), once, in this process, and what the children need of it.
func (s *Spec) procsTLS(builtin bool) (*procsTLS, error) {
	if !s.TLS {
		return nil, nil
	}
	k := &procsTLS{tickets: s.TLSTickets}
	if s.TLSCA != "" {
		b, err := tlsconf.ReadFile(s.TLSCA)
		if err != nil {
			return nil, Usagef("--tls-ca %s: %v", s.TLSCA, err)
		}
		k.roots = b
	}
	if !builtin {
		return k, nil
	}
	if err := s.prepareTLS(true); err != nil {
		return nil, err
	}
	m, err := tlsconf.Export(s.tls.srv)
	if err != nil {
		return nil, err
	}
	if k.material, err = json.Marshal(m); err != nil {
		return nil, err
	}
	if s.TLSCA == "" && s.TLSCertFile == "" {
		k.roots = m.CertPEM
	}
	if s.SNI == "" {
		k.sni = s.tls.client.SNI
	}
	return k, nil
}

// serveArgs adds to a listener process's arguments what makes it serve
// TLS with the parent's certificate, and returns what goes on its
// standard input.
func (k *procsTLS) serveArgs(args []string) ([]string, []byte) {
	if k == nil || k.material == nil {
		return args, nil
	}
	return append(args, "--tls", "--tls-tickets", k.tickets, "--"+ServeMaterialFlag), k.material
}

// child puts into a client process's request the roots it trusts (and the
// name it sends).
func (k *procsTLS) child(req *ChildRequest) {
	if k == nil {
		return
	}
	req.TLSRoots = k.roots
	// A client process serves nothing: the listener's files are the
	// parent's to read, once.
	req.Spec.TLSCertFile, req.Spec.TLSKeyFile = "", ""
	if k.roots != nil {
		req.Spec.TLSCA = "" // the parent's copy, read once, rather than the file again
	}
	if k.sni != "" {
		req.Spec.SNI = k.sni
	}
}

// childRoots makes a --tls child trust the roots its parent sent (PEM,
// at most tlsconf.MaxPEMBytes).
func (s *Spec) childRoots(pemBytes []byte) error {
	if len(pemBytes) == 0 {
		return nil
	}
	if !s.TLS {
		return Usagef("child request: TLS roots without --tls")
	}
	if len(pemBytes) > tlsconf.MaxPEMBytes {
		return Usagef("child request: TLS roots larger than %d bytes", tlsconf.MaxPEMBytes)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemBytes) {
		return Usagef("child request: no PEM certificate in the TLS roots")
	}
	s.tls.roots = p
	return nil
}
