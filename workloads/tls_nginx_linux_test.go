package workloads

// The TLS path against nginx serving TLS with a certificate the test
// generates: per-request and keep-alive, full and resumed handshakes,
// checked against nginx's access log ($ssl_protocol, $ssl_session_reused).

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/internal/testserver"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/tlsconf"
)

// startNginxTLS starts nginx on a free loopback port serving TLS with a
// generated certificate (for localhost), its access log at the returned
// path; it is stopped by its PID at cleanup. It returns the address, the
// log and the trusted roots.
func startNginxTLS(t *testing.T) (netip.AddrPort, string, *x509.CertPool) {
	t.Helper()
	testserver.NginxBin(t) // skip before generating a certificate
	dir := t.TempDir()
	cert, err := tlsconf.Generate("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	addr, accessLog := testserver.Nginx(t, testserver.Options{
		LogFormat:         "$connection $connection_requests $status $ssl_protocol $ssl_session_reused",
		KeepaliveRequests: 100,
		Files:             map[string]string{"small.txt": strings.Repeat("connbench\n", 30)},
		TLS:               &testserver.TLS{Cert: cf, Key: kf, Protocols: "TLSv1.2 TLSv1.3", SessionTickets: true},
	})
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return addr, accessLog, roots
}

func TestTLSNginx(t *testing.T) {
	addr, accessLog, roots := startNginxTLS(t)
	logged := 0
	for _, c := range []struct {
		w, version, resume string
		n                  int64
	}{
		{"per-request", "1.3", "off", 200},
		{"per-request", "1.3", "tickets", 200},
		{"per-request", "1.2", "tickets", 200},
		{"pooled", "1.3", "off", 300},
		{"pooled", "1.2", "tickets", 600},
	} {
		name := c.w + " " + c.version + " " + c.resume
		cl := tlsconf.Client{On: true, Version: c.version, Resume: c.resume, SNI: "localhost"}
		cfg, err := cl.ClientConfig(roots)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := protocol.New("http", protocol.Options{Path: "/small.txt", Target: addr})
		res := run(t, Config{Workload: c.w, Target: addr, Protocol: p, Concurrency: 3, Requests: c.n, TLS: &TLSConfig{Client: cl, Config: cfg}})
		if res.Transactions != c.n || res.Statuses["2xx"] != c.n || res.FailuresTotal() != 0 {
			t.Fatalf("%s: %d transactions, statuses %v, failures %v", name, res.Transactions, res.Statuses, res.Failures)
		}
		var lines []string
		waitFor(t, "nginx's access log", func() bool {
			b, _ := os.ReadFile(accessLog)
			lines = strings.Split(strings.TrimSpace(string(b)), "\n")
			return len(lines)-logged >= int(c.n)
		})
		mine := lines[logged:]
		logged = len(lines)
		conns := map[string]bool{}
		var reused int64
		for _, l := range mine {
			f := strings.Fields(l)
			if len(f) != 5 || f[2] != "200" || f[3] != "TLSv"+c.version {
				t.Fatalf("%s: access log line %q", name, l)
			}
			if !conns[f[0]] && f[4] == "r" {
				reused++
			}
			conns[f[0]] = true
		}
		st := res.TLS
		t.Logf("%s: %d transactions on %d connections, %d handshakes (%d resumed); nginx: %d requests on %d connections, %d resumed; TLS handshake p50 %v",
			name, res.Transactions, res.Connections, st.Handshakes, st.Resumed, len(mine), len(conns), reused,
			time.Duration(res.Phases[PhaseTLSHandshake].ValueAt(50)))
		if int64(len(conns)) != res.Connections || st.Handshakes != res.Connections || reused != st.Resumed {
			t.Errorf("%s: nginx saw %d connections (%d resumed); connbench %d connections, %d handshakes (%d resumed)",
				name, len(conns), reused, res.Connections, st.Handshakes, st.Resumed)
		}
		if c.resume == "off" && st.Resumed != 0 {
			t.Errorf("%s: %d resumed with resumption off", name, st.Resumed)
		}
		// With tickets, only each connection slot's first handshake is full.
		if c.resume == "tickets" && (st.Resumed < st.Handshakes-3 || st.Resumed == 0) {
			t.Errorf("%s: only %d of %d handshakes resumed", name, st.Resumed, st.Handshakes)
		}
		if c.w == "pooled" && res.Connections < c.n/100 {
			t.Errorf("%s: %d connections: keepalive_requests 100 should force reconnects", name, res.Connections)
		}
		if c.w == "per-request" && res.Connections != c.n {
			t.Errorf("%s: %d connections, want %d", name, res.Connections, c.n)
		}
	}
}

// TestTLSRedis: redis framing inside TLS, against redis-server's own TLS
// port (skipped when redis-server is missing or built without TLS).
func TestTLSRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	dir := t.TempDir()
	cert, err := tlsconf.Generate("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	port := testserver.FreePort(t)
	exited := testserver.Run(t, bin, []string{"--port", "0", "--tls-port", fmt.Sprint(port), "--tls-cert-file", cf, "--tls-key-file", kf,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", dir}, filepath.Join(dir, "out.log"))
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	waitFor(t, "redis-server to accept", func() bool {
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "out.log"))
			t.Skipf("redis-server exited (built without TLS?): %.200s", b)
		default:
		}
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	cl := tlsconf.Client{On: true, Resume: "tickets"}
	cfg, err := cl.ClientConfig(roots)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := protocol.New("redis", protocol.Options{Command: "SET k v", Target: addr})
	for _, w := range []string{"pooled", "per-request"} {
		res := run(t, Config{Workload: w, Target: addr, Protocol: p, Concurrency: 2, Requests: 200, TLS: &TLSConfig{Client: cl, Config: cfg}})
		if res.Transactions != 200 || res.Statuses["ok"] != 200 || res.FailuresTotal() != 0 || res.TLS.Handshakes != res.Connections {
			t.Errorf("%s: %d transactions, statuses %v, failures %v, %d handshakes on %d connections", w, res.Transactions, res.Statuses, res.Failures, res.TLS.Handshakes, res.Connections)
		}
	}
}
