package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/tlsconf"
)

// TestTLSUsage: bad TLS flags are usage errors (exit 2) naming the flag,
// before anything starts; user files are read with bounds.
func TestTLSUsage(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--tls-version", "1.3"}, "--tls-version needs --tls"},
		{[]string{"run", "--tls", "--tls-version", "1.4"}, "--tls-version \"1.4\""},
		{[]string{"run", "--tls", "--tls-resume", "always"}, "--tls-resume"},
		{[]string{"run", "--tls", "--tls-groups", "P-999"}, "--tls-groups"},
		{[]string{"run", "--tls", "--tls-ciphers", "TLS_NONE"}, "--tls-ciphers"},
		{[]string{"run", "--tls", "--tls-cert", "dsa"}, "--tls-cert"},
		{[]string{"run", "--tls", "--tls-cert-file", "x"}, "--tls-key-file go together"},
		{[]string{"run", "--tls", "--tls-tickets", "maybe"}, "--tls-tickets"},
		{[]string{"run", "--tls", "-w", "backlog"}, "backlog is not supported over TLS"},
		{[]string{"run", "--tls", "-w", "hold", "-n", "12000", "--rate", "1000"}, "may have only"},
		{[]string{"run", "--tls", "-w", "hold", "-n", "12000", "--rate", "1000"}, "--procs"},
		{[]string{"run", "--tls", "--fastopen"}, "--fastopen"},
		{[]string{"run", "--tls", "-c", "5000"}, "at most 2048"},
		{[]string{"run", "--tls", "--tls-ca", fifo, "-n", "1", "127.0.0.1:1"}, "not a regular file"},
		{[]string{"run", "--tls", "--tls-cert-file", dir, "--tls-key-file", dir, "-n", "1"}, "--tls-cert-file"},
		{[]string{"serve", "--tls-cert", "rsa2048"}, "--tls-cert needs --tls"},
	} {
		code, _, stderr := connbench(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestTLSRunCertFiles runs against the built-in listener serving the
// user's certificate files, trusted through --tls-ca, with tickets.
func TestTLSRunCertFiles(t *testing.T) {
	dir := t.TempDir()
	cert, err := tlsconf.Generate("rsa2048")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	out := filepath.Join(dir, "r.json")
	code, stdout, stderr := connbench(t, "run", "--tls", "--tls-cert-file", cf, "--tls-key-file", kf, "--tls-ca", cf, "--sni", "localhost",
		"--tls-resume", "tickets", "-n", "100", "-c", "2", "-q", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	b, _ := os.ReadFile(out)
	var doc results.Document
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Runs) != 1 {
		t.Fatalf("result: %v", err)
	}
	r := doc.Runs[0]
	if r.TLS == nil || r.TLS.Handshakes != 100 || r.TLS.Resumed < 90 || r.TLS.ServerCert != "file" || r.Listener == nil || r.Listener.TLS == nil ||
		r.Listener.TLS.Handshakes != 100 || r.Listener.TLS.Resumed != r.TLS.Resumed || r.Phases["tls_handshake"].Count != 100 {
		t.Fatalf("TLS record %+v, listener %+v", r.TLS, r.Listener)
	}
	for _, want := range []string{"TLS handshake p50", "TLS resumed", "listener CPU µs/TLS handshake"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

// TestTLSRoundTrips: over an emulated 50 ms RTT, a full TLS 1.2 handshake
// takes two round trips and TLS 1.3 one, as predicted and recorded beside
// the measured phase (wide bounds: the machine may be loaded).
func TestTLSRoundTrips(t *testing.T) {
	rtt := int64(50 * time.Millisecond)
	for _, tc := range []struct {
		version string
		trips   float64
	}{{"1.2", 2}, {"1.3", 1}} {
		r := pathRun(t, "--rtt", "50ms", "-n", "12", "-c", "3", "--tls", "--tls-version", tc.version)
		if r.TLS == nil || r.TLS.Handshakes != 12 || r.TLS.PredictedRoundTrips != tc.trips || r.TLS.PredictedNs != int64(tc.trips)*rtt {
			t.Fatalf("%s: TLS record %+v", tc.version, r.TLS)
		}
		hs := r.Phases["tls_handshake"].P50Ns
		if !between(hs, rtt, tc.trips*0.95, tc.trips+0.9) {
			t.Errorf("%s: TLS handshake p50 %v, want about %.0f × 50 ms", tc.version, time.Duration(hs), tc.trips)
		}
		if tcp := r.Phases["handshake"].P50Ns; !between(tcp, rtt, 0.95, 1.9) {
			t.Errorf("%s: TCP handshake p50 %v, want about one RTT", tc.version, time.Duration(tcp))
		}
		if !strings.Contains(strings.Join(r.Notes, "\n"), "predicted") {
			t.Errorf("%s: no note with the prediction: %q", tc.version, r.Notes)
		}
	}
}

// TestTLSHoldRun: a hold over TLS against the built-in listener holds
// every connection it was asked for, pings them, and its reset at the end
// leaves no TIME_WAIT.
func TestTLSHoldRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "h.json")
	code, stdout, stderr := connbench(t, "run", "--tls", "-w", "hold", "-n", "200", "--rate", "2000", "-d", "300ms", "--ping", "100ms", "-q", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil || len(doc.Runs) != 1 {
		t.Fatalf("result: %v", err)
	}
	r := doc.Runs[0]
	h := r.Hold
	if h == nil || h.Asked != 200 || h.Opened != 200 || h.Held != 200 || r.FailuresTotal != 0 || h.Close != "rst" || h.TimeWaitLeft != 0 {
		t.Fatalf("hold %+v, failures %v: want 200 held, none failed, reset with no TIME_WAIT left", h, r.Failures)
	}
	if r.TLS == nil || r.TLS.Handshakes != 200 || r.Listener == nil || r.Listener.TLS == nil || r.Listener.TLS.Handshakes != 200 {
		t.Fatalf("TLS %+v, listener %+v: want 200 handshakes each side", r.TLS, r.Listener)
	}
	if r.Counts.Transactions < 200 || r.Phases["transaction"].Count != r.Counts.Transactions {
		t.Errorf("%d pings (%d recorded), want at least one per connection", r.Counts.Transactions, r.Phases["transaction"].Count)
	}
	if h.UserBytesPerConn <= 0 || !strings.Contains(strings.Join(r.Notes, "\n"), "no goroutine or thread") {
		t.Errorf("memory per connection %v, notes %q", h.UserBytesPerConn, r.Notes)
	}
}

// TestTLSProcs: --procs 2 over TLS: the listener processes serve the
// certificate the parent made and the clients trust it; the merged
// document holds every transaction and handshake exactly, and a hold's
// every connection.
func TestTLSProcs(t *testing.T) {
	t.Setenv(mainEnv, "1") // the children are this test binary, as connbench
	dir := t.TempDir()
	out := filepath.Join(dir, "p.json")
	code, _, stderr := connbench(t, "run", "--tls", "-w", "per-request", "-c", "4", "-n", "200", "--procs", "2", "-o", out, "-q")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := doc.Runs[0]
	if r.Counts.Transactions != 200 || r.Counts.Connections != 200 || r.FailuresTotal != 0 || r.TLS == nil || r.TLS.Handshakes != 200 {
		t.Fatalf("merged: %d transactions, %d connections, failures %v, TLS %+v; want 200, 200, none, 200 handshakes",
			r.Counts.Transactions, r.Counts.Connections, r.Failures, r.TLS)
	}
	for _, ph := range []string{"transaction", "tls_handshake", "handshake"} {
		if c := r.Phases[ph].Count; c != 200 {
			t.Errorf("merged %s histogram holds %d values, want 200", ph, c)
		}
	}
	out = filepath.Join(dir, "h.json")
	code, _, stderr = connbench(t, "run", "--tls", "-w", "hold", "-n", "300", "--rate", "3000", "-d", "200ms", "--procs", "2", "-o", out, "-q")
	if code != exitOK {
		t.Fatalf("hold: exit %d: %s", code, stderr)
	}
	if doc, err = results.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	r = doc.Runs[0]
	if h := r.Hold; h == nil || h.Opened != 300 || h.Held != 300 || r.FailuresTotal != 0 || r.TLS.Handshakes != 300 || h.TimeWaitLeft != 0 {
		t.Fatalf("hold over 2 processes: %+v, failures %v, TLS %+v", h, r.Failures, r.TLS)
	}
}
