// Package tlsconf turns connbench's TLS settings into crypto/tls
// configurations for the client and the built-in listener: versions, key
// exchange groups, 1.2 cipher suites, SNI, ALPN, trust (a CA file or none),
// session resumption, and certificates generated at start or read from
// files with bounds. It also names TLS failures by class. It does no I/O
// on connections.
//
// Go's crypto/tls has no client 0-RTT (TLS 1.3 early data): resumed TLS 1.3
// handshakes still take one round trip before the request.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Client is the client's TLS settings, as the flags give them; the zero
// value is TLS off. It is echoed in the result's config.
type Client struct {
	// On turns TLS on (--tls).
	On bool `json:"on"`
	// Version is "1.2", "1.3", or "" for both (1.3 preferred).
	Version string `json:"version,omitempty"`
	// Resume is "off" or "tickets" (session tickets, shared by all
	// connections of a process).
	Resume string `json:"resume,omitempty"`
	// Groups are key exchange groups in preference order (names as
	// ParseGroups takes them). Empty: Go's default.
	Groups []string `json:"groups,omitempty"`
	// Ciphers are TLS 1.2 cipher suites (Go's names). Empty: Go's default.
	// TLS 1.3 suites are not configurable in Go.
	Ciphers []string `json:"ciphers,omitempty"`
	// SNI is the server name sent and verified. Empty: none sent; the
	// certificate is verified against the target's IP address.
	SNI string `json:"sni,omitempty"`
	// ALPN are the protocols offered, e.g. http/1.1. Empty: none.
	ALPN []string `json:"alpn,omitempty"`
	// CAFile is the PEM file of trusted roots (--tls-ca). Empty: the
	// system roots (or the built-in listener's certificate).
	CAFile string `json:"ca_file,omitempty"`
	// Insecure skips certificate verification (--tls-insecure).
	Insecure bool `json:"insecure,omitempty"`
	// Plain runs plain TCP through the TLS path with no TLS at all, to
	// measure the path's own overhead against the event-loop engine.
	Plain bool `json:"plain,omitempty"`
}

// Enabled reports whether the run goes through the TLS path.
func (c *Client) Enabled() bool { return c != nil && (c.On || c.Plain) }

// Versions is the accepted --tls-version values.
var Versions = []string{"1.2", "1.3"}

// ParseVersion maps "1.2"/"1.3" to crypto/tls constants; "" is 0 (both).
func ParseVersion(s string) (uint16, error) {
	switch s {
	case "":
		return 0, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("want 1.2 or 1.3")
}

// groups names the key exchange groups by what users type (IANA names,
// case-insensitive, and the short ones).
var groups = map[string]tls.CurveID{
	"x25519":             tls.X25519,
	"p-256":              tls.CurveP256,
	"p256":               tls.CurveP256,
	"secp256r1":          tls.CurveP256,
	"p-384":              tls.CurveP384,
	"p384":               tls.CurveP384,
	"secp384r1":          tls.CurveP384,
	"p-521":              tls.CurveP521,
	"p521":               tls.CurveP521,
	"secp521r1":          tls.CurveP521,
	"x25519mlkem768":     tls.X25519MLKEM768,
	"secp256r1mlkem768":  tls.SecP256r1MLKEM768,
	"secp384r1mlkem1024": tls.SecP384r1MLKEM1024,
}

// GroupNames lists the group names ParseGroups knows, canonical spelling.
var GroupNames = []string{"X25519", "P-256", "P-384", "P-521", "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"}

// ParseGroups parses a list of group names (at most 16).
func ParseGroups(names []string) ([]tls.CurveID, error) {
	if len(names) > 16 {
		return nil, errors.New("at most 16 groups")
	}
	var out []tls.CurveID
	for _, n := range names {
		id, ok := groups[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("unknown group %q (known: %s)", n, strings.Join(GroupNames, ", "))
		}
		out = append(out, id)
	}
	return out, nil
}

// ParseCiphers parses TLS 1.2 cipher suite names as Go spells them
// (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ...), the secure ones and
// Go's insecure ones alike (at most 32).
func ParseCiphers(names []string) ([]uint16, error) {
	if len(names) > 32 {
		return nil, errors.New("at most 32 cipher suites")
	}
	all := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	var out []uint16
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSpace(n))
		i := slices.IndexFunc(all, func(c *tls.CipherSuite) bool { return c.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown cipher suite %q (e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", n)
		}
		if slices.Contains(all[i].SupportedVersions, tls.VersionTLS13) && !slices.Contains(all[i].SupportedVersions, tls.VersionTLS12) {
			return nil, fmt.Errorf("cipher suite %s is TLS 1.3's: Go does not let TLS 1.3 suites be chosen", n)
		}
		out = append(out, all[i].ID)
	}
	return out, nil
}

// Bounds on the list flags.
const (
	MaxALPN    = 8
	MaxNameLen = 253
)

// Check validates c and returns the first problem, naming its flag.
func (c *Client) Check() error {
	if !c.Enabled() {
		return nil
	}
	if _, err := ParseVersion(c.Version); err != nil {
		return fmt.Errorf("--tls-version %q: %v", c.Version, err)
	}
	switch c.Resume {
	case "", "off", "tickets":
	default:
		return fmt.Errorf("--tls-resume %q: want off or tickets", c.Resume)
	}
	if _, err := ParseGroups(c.Groups); err != nil {
		return fmt.Errorf("--tls-groups: %v", err)
	}
	if _, err := ParseCiphers(c.Ciphers); err != nil {
		return fmt.Errorf("--tls-ciphers: %v", err)
	}
	if len(c.Ciphers) > 0 && c.Version == "1.3" {
		return errors.New("--tls-ciphers sets TLS 1.2 suites: with --tls-version 1.3 they would not be used (Go's TLS 1.3 suites are fixed)")
	}
	if len(c.SNI) > MaxNameLen || strings.ContainsAny(c.SNI, " \t\r\n/") {
		return fmt.Errorf("--sni %q: want a host name of at most %d bytes", c.SNI, MaxNameLen)
	}
	if len(c.ALPN) > MaxALPN {
		return fmt.Errorf("--alpn: at most %d protocols", MaxALPN)
	}
	for _, p := range c.ALPN {
		if p == "" || len(p) > 255 {
			return fmt.Errorf("--alpn %q: each protocol 1 to 255 bytes", p)
		}
	}
	if c.Insecure && c.CAFile != "" {
		return errors.New("--tls-insecure and --tls-ca: choose one (no verification, or verification against the CA file)")
	}
	return nil
}

// ClientConfig builds the client's crypto/tls configuration. roots are the
// trusted roots (nil: the system's), unless Insecure. cache, when Resume is
// "tickets", is the shared session cache (nil: one is made).
func (c *Client) ClientConfig(roots *x509.CertPool) (*tls.Config, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	v, _ := ParseVersion(c.Version)
	g, _ := ParseGroups(c.Groups)
	cs, _ := ParseCiphers(c.Ciphers)
	cfg := &tls.Config{
		ServerName:         c.SNI,
		RootCAs:            roots,
		InsecureSkipVerify: c.Insecure,
		NextProtos:         c.ALPN,
		CurvePreferences:   g,
		CipherSuites:       cs,
		MinVersion:         tls.VersionTLS12,
		MaxVersion:         tls.VersionTLS13,
	}
	if v != 0 {
		cfg.MinVersion, cfg.MaxVersion = v, v
	}
	if c.Resume == "tickets" {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4096)
	}
	return cfg, nil
}

// VersionName names a negotiated version ("1.2", "1.3").
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// RoundTrips is the handshake's round trips before the client may send
// its request, for a TLS version and whether the session resumed: TLS 1.2
// takes two for a full handshake and one resumed (abbreviated); TLS 1.3
// takes one either way (Go's client has no 0-RTT).
func RoundTrips(version string, resumed bool) int {
	if version == "1.2" && !resumed {
		return 2
	}
	return 1
}
