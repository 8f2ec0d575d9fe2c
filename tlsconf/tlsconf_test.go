package tlsconf

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	g, err := ParseGroups([]string{"x25519", "P-256", "X25519MLKEM768"})
	if err != nil || len(g) != 3 || g[0] != tls.X25519 || g[1] != tls.CurveP256 || g[2] != tls.X25519MLKEM768 {
		t.Fatalf("ParseGroups = %v, %v", g, err)
	}
	if _, err := ParseGroups([]string{"P-999"}); err == nil {
		t.Error("ParseGroups took P-999")
	}
	cs, err := ParseCiphers([]string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"})
	if err != nil || len(cs) != 1 || cs[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Fatalf("ParseCiphers = %v, %v", cs, err)
	}
	if _, err := ParseCiphers([]string{"TLS_AES_128_GCM_SHA256"}); err == nil || !strings.Contains(err.Error(), "1.3") {
		t.Errorf("ParseCiphers took a TLS 1.3 suite: %v", err)
	}
	for _, c := range []Client{
		{On: true, Version: "1.4"},
		{On: true, Resume: "always"},
		{On: true, Version: "1.3", Ciphers: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		{On: true, Insecure: true, CAFile: "x"},
		{On: true, SNI: "a b"},
		{On: true, ALPN: []string{""}},
	} {
		if err := c.Check(); err == nil {
			t.Errorf("Check(%+v) = nil", c)
		}
	}
	if RoundTrips("1.2", false) != 2 || RoundTrips("1.2", true) != 1 || RoundTrips("1.3", false) != 1 || RoundTrips("1.3", true) != 1 {
		t.Error("RoundTrips")
	}
}

// handshake runs a handshake between srv and cli over loopback TCP (a
// pipe would deadlock: the TLS 1.3 server writes its tickets before the
// client reads again) and returns the client's error and the server's.
func handshake(t *testing.T, srv, cli *tls.Config) (error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(b, srv)
		err := s.Handshake()
		if err != nil {
			b.Close()
		}
		done <- err
	}()
	c := tls.Client(a, cli)
	err = c.Handshake()
	if err != nil {
		a.Close()
	}
	return err, <-done
}

func TestGenerateAndClassify(t *testing.T) {
	for _, kind := range CertKinds {
		srv, err := (&Server{On: true, Cert: kind}).ServerConfig()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		cli, err := (&Client{On: true, SNI: "connbench.test"}).ClientConfig(Roots(srv))
		if err != nil {
			t.Fatal(err)
		}
		if ce, se := handshake(t, srv, cli); ce != nil || se != nil {
			t.Errorf("%s: handshake: client %v, server %v", kind, ce, se)
		}
		bad, _ := (&Client{On: true, SNI: "other.example"}).ClientConfig(Roots(srv))
		ce, _ := handshake(t, srv, bad)
		if got := Classify(ce); got != FailCertificate {
			t.Errorf("%s: wrong name: class %q (%v), want %s", kind, got, ce, FailCertificate)
		}
	}
	srv, _ := (&Server{On: true, Version: "1.3"}).ServerConfig()
	cli, _ := (&Client{On: true, Version: "1.2", SNI: "connbench.test"}).ClientConfig(Roots(srv))
	ce, _ := handshake(t, srv, cli)
	if got := Classify(ce); got != FailVersion {
		t.Errorf("version mismatch: class %q (%v), want %s", got, ce, FailVersion)
	}
	// An ECDSA certificate and only RSA suites: the server's alert.
	srv, _ = (&Server{On: true}).ServerConfig()
	cli, _ = (&Client{On: true, Version: "1.2", SNI: "connbench.test", Ciphers: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}).ClientConfig(Roots(srv))
	ce, _ = handshake(t, srv, cli)
	if got := Classify(ce); got != FailAlertPrefix+"handshake_failure" {
		t.Errorf("no common suite: class %q (%v), want %shandshake_failure", got, ce, FailAlertPrefix)
	}
	if Classify(os.ErrDeadlineExceeded) != FailTimeout || Classify(syscall.ECONNRESET) != "" {
		t.Error("Classify: timeout or a socket error")
	}
}

func TestReadFileBounds(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "regular") {
		t.Errorf("directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(fifo); err == nil || !strings.Contains(err.Error(), "regular") {
		t.Errorf("FIFO: %v (must not block, must refuse)", err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, MaxPEMBytes+1), 0o600)
	if _, err := ReadFile(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("big file: %v", err)
	}
	if _, err := ReadFile("/dev/zero"); err == nil {
		t.Error("/dev/zero read")
	}
	if _, err := LoadKeyPair(big, big); err == nil || !strings.Contains(err.Error(), "--tls-cert-file") {
		t.Errorf("LoadKeyPair: %v", err)
	}
	if _, err := LoadRoots(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "--tls-ca") {
		t.Errorf("LoadRoots: %v", err)
	}
}
