package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"syscall"
	"time"
)

// Server is the built-in listener's TLS settings; the zero value is TLS
// off.
type Server struct {
	// On turns TLS on (serve --tls, or run --tls against the built-in
	// listener).
	On bool `json:"on"`
	// Cert is the kind of certificate generated at start: one of
	// CertKinds. Zero: ecdsa-p256. Ignored with CertFile.
	Cert string `json:"cert,omitempty"`
	// CertFile and KeyFile are the user's PEM certificate (chain) and key.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// NoTickets turns session tickets off: every handshake is full.
	NoTickets bool `json:"no_tickets,omitempty"`
	// Material, when set, is the certificate and ticket key a parent
	// process handed over (instead of CertFile or generating one).
	Material *Material `json:"-"`
	// Version, when set ("1.2", "1.3"), is the only version served.
	Version string `json:"version,omitempty"`
	// Groups and Ciphers restrict the server as the client's do.
	Groups  []string `json:"groups,omitempty"`
	Ciphers []string `json:"ciphers,omitempty"`
}

// CertKinds are the certificates the listener can generate.
var CertKinds = []string{"ecdsa-p256", "rsa2048", "rsa3072", "ed25519"}

// MaxPEMBytes bounds a certificate or key file.
const MaxPEMBytes = 1 << 20

// Check validates s, naming the flag at fault.
func (s *Server) Check() error {
	if !s.On {
		return nil
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("--tls-cert-file and --tls-key-file go together")
	}
	switch s.Cert {
	case "", "ecdsa-p256", "rsa2048", "rsa3072", "ed25519":
	default:
		return fmt.Errorf("--tls-cert %q: want one of ecdsa-p256, rsa2048, rsa3072, ed25519", s.Cert)
	}
	if _, err := ParseVersion(s.Version); err != nil {
		return fmt.Errorf("--tls-version %q: %v", s.Version, err)
	}
	if _, err := ParseGroups(s.Groups); err != nil {
		return fmt.Errorf("--tls-groups: %v", err)
	}
	if _, err := ParseCiphers(s.Ciphers); err != nil {
		return fmt.Errorf("--tls-ciphers: %v", err)
	}
	return nil
}

// ServerConfig builds the listener's configuration: the certificate read
// from the files or generated, the restrictions, tickets on or off.
func (s *Server) ServerConfig() (*tls.Config, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	var cert tls.Certificate
	var err error
	switch {
	case s.Material != nil:
		cert, err = tls.X509KeyPair(s.Material.CertPEM, s.Material.KeyPEM)
	case s.CertFile != "":
		cert, err = LoadKeyPair(s.CertFile, s.KeyFile)
	default:
		cert, err = Generate(s.Cert)
	}
	if err != nil {
		return nil, err
	}
	v, _ := ParseVersion(s.Version)
	g, _ := ParseGroups(s.Groups)
	cs, _ := ParseCiphers(s.Ciphers)
	cfg := &tls.Config{
		Certificates:           []tls.Certificate{cert},
		SessionTicketsDisabled: s.NoTickets,
		CurvePreferences:       g,
		CipherSuites:           cs,
		MinVersion:             tls.VersionTLS12,
		NextProtos:             []string{"http/1.1"},
	}
	if v != 0 {
		cfg.MinVersion, cfg.MaxVersion = v, v
	}
	if m := s.Material; m != nil && len(m.TicketKey) == 32 {
		cfg.SetSessionTicketKeys([][32]byte{[32]byte(m.TicketKey)})
	}
	return cfg, nil
}

// Roots is a pool trusting cfg's first certificate (the built-in
// listener's, for its own client).
func Roots(cfg *tls.Config) *x509.CertPool {
	p := x509.NewCertPool()
	if len(cfg.Certificates) > 0 && cfg.Certificates[0].Leaf != nil {
		p.AddCert(cfg.Certificates[0].Leaf)
	}
	return p
}

// Generate makes a self-signed certificate of kind (CertKinds; "" is
// ecdsa-p256) for localhost, 127.0.0.1, ::1 and connbench.test, valid from
// an hour ago for a week.
func Generate(kind string) (tls.Certificate, error) {
	var key crypto.Signer
	var err error
	switch kind {
	case "", "ecdsa-p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa3072":
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return tls.Certificate{}, fmt.Errorf("tlsconf: certificate kind %q: want one of %v", kind, CertKinds)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "connbench built-in listener"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost", "connbench.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment // TLS 1.2 RSA key exchange suites
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// LoadKeyPair reads a PEM certificate chain and key with ReadFile's bounds.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-cert-file %s: %w", certFile, err)
	}
	k, err := ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-key-file %s: %w", keyFile, err)
	}
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-cert-file %s / --tls-key-file %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// LoadRoots reads a PEM file of trusted roots with ReadFile's bounds.
func LoadRoots(name string) (*x509.CertPool, error) {
	b, err := ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca %s: %w", name, err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", name)
	}
	return p, nil
}

// ReadFile reads a file a user named, as root may: a regular file (not a
// FIFO, device or directory; a symbolic link is followed to a regular
// file), opened without blocking on a FIFO, of at most MaxPEMBytes.
func ReadFile(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > MaxPEMBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxPEMBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPEMBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPEMBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxPEMBytes)
	}
	return b, nil
}

// Material is a listener's certificate and key, and the key its session
// tickets are sealed with, as one connbench process hands them to another
// through a pipe (never through a file another user could swap): the
// listener processes of a --procs run serve the one certificate their
// parent made and its clients trust, and resume each other's tickets.
type Material struct {
	CertPEM   []byte `json:"cert_pem"`             // the certificate chain
	KeyPEM    []byte `json:"key_pem"`              // PKCS #8
	TicketKey []byte `json:"ticket_key,omitempty"` // 32 bytes; none: each process its own
}

// MaxMaterialBytes bounds a Material as read from a pipe (JSON, base64).
const MaxMaterialBytes = 3 * MaxPEMBytes

// Export makes the Material of cfg's first certificate, with a new random
// ticket key.
func Export(cfg *tls.Config) (*Material, error) {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil, errors.New("tlsconf: no certificate to hand over")
	}
	c := cfg.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: key: %w", err)
	}
	m := &Material{KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), TicketKey: make([]byte, 32)}
	for _, der := range c.Certificate {
		m.CertPEM = append(m.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if _, err := rand.Read(m.TicketKey); err != nil {
		return nil, fmt.Errorf("tlsconf: ticket key: %w", err)
	}
	return m, nil
}

// ReadMaterial reads a Material (JSON) from r, at most MaxMaterialBytes,
// and checks it: a key pair that matches, a 32-byte ticket key or none.
func ReadMaterial(r io.Reader) (*Material, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxMaterialBytes+1))
	if err != nil {
		return nil, fmt.Errorf("tlsconf: certificate from the parent: %w", err)
	}
	if len(b) > MaxMaterialBytes {
		return nil, fmt.Errorf("tlsconf: certificate from the parent: larger than %d bytes", MaxMaterialBytes)
	}
	var m Material
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errors.New("tlsconf: certificate from the parent: not a connbench parent's")
	}
	if len(m.CertPEM) > MaxPEMBytes || len(m.KeyPEM) > MaxPEMBytes || (len(m.TicketKey) != 0 && len(m.TicketKey) != 32) {
		return nil, errors.New("tlsconf: certificate from the parent: out of bounds")
	}
	if _, err := tls.X509KeyPair(m.CertPEM, m.KeyPEM); err != nil {
		return nil, fmt.Errorf("tlsconf: certificate from the parent: %w", err)
	}
	return &m, nil
}
