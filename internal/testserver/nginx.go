// Package testserver starts the real servers tests run against: any
// server process, stopped by its PID at cleanup (Run), and nginx from a
// configuration written in a temporary directory on a free loopback port
// (Nginx). It is used only by tests (protocol, workloads); nothing in
// connbench imports it.
package testserver

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Options describes the nginx to start.
type Options struct {
	// Root is the directory served; empty serves a fresh "www" directory
	// in the temporary directory.
	Root string
	// Files are written into Root before nginx starts: name (relative,
	// no directories) to contents.
	Files map[string]string
	// LogFormat is the access log's format string (log_format cb '...').
	LogFormat string
	// KeepaliveRequests is nginx's keepalive_requests.
	KeepaliveRequests int
	// TLS, when set, makes the server listen with ssl.
	TLS *TLS
}

// TLS is the server's TLS: certificate and key as PEM files.
type TLS struct {
	Cert, Key      string
	Protocols      string // ssl_protocols, e.g. "TLSv1.2 TLSv1.3"
	SessionTickets bool   // ssl_session_tickets
}

// NginxBin finds the nginx binary or skips the test.
func NginxBin(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(d, "nginx")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skip("nginx is not installed (CI installs it in .ci/run; locally: apt-get install nginx)")
	return ""
}

// Nginx starts nginx as o says on a free loopback port, waits until it
// accepts connections, and stops it (SIGTERM to its PID, Kill after 10 s)
// at cleanup. It returns the address and the access log's path. The
// readiness probe is a plain connection with no request: nginx logs nothing
// for it.
func Nginx(t testing.TB, o Options) (netip.AddrPort, string) {
	t.Helper()
	bin := NginxBin(t)
	if o.LogFormat == "" || strings.Contains(o.LogFormat, "'") {
		t.Fatalf("testserver: log format %q: want a non-empty format without quotes", o.LogFormat)
	}
	if o.KeepaliveRequests <= 0 {
		t.Fatalf("testserver: keepalive_requests %d: want > 0", o.KeepaliveRequests)
	}
	dir := t.TempDir()
	root := o.Root
	if root == "" {
		root = filepath.Join(dir, "www")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range o.Files {
		if name != filepath.Base(name) || name == "." || name == ".." {
			t.Fatalf("testserver: file name %q: want a plain name", name)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must read the temporary directory
	}
	accessLog := filepath.Join(dir, "access.log")
	ssl, listen := "", ""
	if o.TLS != nil {
		tickets := "off"
		if o.TLS.SessionTickets {
			tickets = "on"
		}
		ssl = fmt.Sprintf("    ssl_certificate %s;\n    ssl_certificate_key %s;\n    ssl_protocols %s;\n    ssl_session_tickets %s;\n",
			o.TLS.Cert, o.TLS.Key, o.TLS.Protocols, tickets)
		listen = " ssl"
	}
	conf := fmt.Sprintf(`%[1]s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 1024; }
http {
    log_format cb '%[3]s';
    access_log %[4]s cb;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    keepalive_requests %[5]d;
%[6]s    server {
        listen 127.0.0.1:%[7]d%[8]s;
        root %[9]s;
    }
}
`, user, dir, o.LogFormat, accessLog, o.KeepaliveRequests, ssl, port, listen, root)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	outLog := filepath.Join(dir, "out.log")
	exited := Run(t, bin, []string{"-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"}, outLog)
	logs := func() string {
		o, _ := os.ReadFile(outLog)
		e, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return fmt.Sprintf("output: %s; error log: %s", o, e)
	}
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			t.Fatalf("nginx exited before accepting connections: %s", logs())
		default:
		}
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err == nil {
			c.Close()
			return addr, accessLog
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not accept on %s: %v; %s", addr, err, logs())
		}
		select {
		case <-exited:
		case <-tick.C:
		}
	}
}
