package protocol_test

// Tests against the real servers: nginx, redis-server and memcached, each
// started on a free loopback port with its own configuration in a
// temporary directory, loaded pooled and per-request through
// workloads.Run, and checked against the server's own counters. They skip
// when a server is not installed; CI (.ci/run) installs all three.

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/internal/testserver"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/workloads"
)

// need finds a server binary or skips the test.
func need(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		if p := filepath.Join(d, name); isExec(p) {
			return p
		}
	}
	t.Skipf("%s is not installed (CI installs it in .ci/run; locally: apt-get install %s)", name, map[string]string{
		"nginx": "nginx", "redis-server": "redis-server", "memcached": "memcached"}[name])
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startServer runs bin with args, its output to log, waits until it
// accepts connections on port, and stops it (by its PID) at cleanup. It
// returns the connection that found it ready, for the caller to use as its
// admin connection or close: a second probe connection could be counted
// by the server after the test's first look at its counters.
func startServer(t *testing.T, bin string, args []string, log string, port int) (netip.AddrPort, *admin) {
	t.Helper()
	exited := testserver.Run(t, bin, args, log)
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(log)
			t.Fatalf("%s exited before accepting connections: %s", filepath.Base(bin), b)
		default:
		}
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return addr, &admin{c: c, r: bufio.NewReader(c)}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log)
			t.Fatalf("%s does not accept on %s: %v; log: %s", filepath.Base(bin), addr, err, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// load runs one workload against addr and checks that every response
// parsed and completed with the wanted status.
func load(t *testing.T, addr netip.AddrPort, p protocol.Protocol, w string, c int, n int64, status string) *workloads.Result {
	t.Helper()
	res := run(t, workloads.Config{Workload: w, Target: addr, Protocol: p, Concurrency: c, Requests: n})
	checkClean(t, res, n, status)
	return res
}

func TestNginx(t *testing.T) {
	small := strings.Repeat("connbench\n", 30)
	large := strings.Repeat("0123456789abcdef", 12<<10) // 192 KiB: several reads
	// keepalive_requests 100: nginx closes each keep-alive connection after
	// 100 requests ("Connection: close"), and the pooled client reconnects.
	addr, accessLog := testserver.Nginx(t, testserver.Options{
		LogFormat:         "$connection $connection_requests $status $body_bytes_sent",
		KeepaliveRequests: 100,
		Files:             map[string]string{"small.txt": small, "large.txt": large},
	})

	logged := 0 // access-log lines read so far
	for _, c := range []struct {
		w, path string
		n       int64
		size    int
	}{
		{"pooled", "/small.txt", 3000, len(small)},
		{"per-request", "/small.txt", 1000, len(small)},
		{"pooled", "/large.txt", 300, len(large)},
		{"per-request", "/missing", 300, -1},
	} {
		p := newProto(t, "http", protocol.Options{Path: c.path, Target: addr})
		status := "2xx"
		if c.size < 0 {
			status = "4xx"
		}
		res := load(t, addr, p, c.w, 4, c.n, status)
		// nginx logs a request after its response: poll for the lines.
		var lines []string
		waitFor(t, "nginx's access log", func() bool {
			lines = readLines(t, accessLog)
			return len(lines)-logged >= int(c.n)
		})
		mine := lines[logged:]
		logged = len(lines)
		conns := map[string]bool{}
		for _, l := range mine {
			f := strings.Fields(l)
			conns[f[0]] = true
			if want := map[bool]string{true: "200", false: "404"}[c.size >= 0]; f[2] != want {
				t.Fatalf("%s %s: access log line %q, want status %s", c.w, c.path, l, want)
			}
		}
		t.Logf("%s %s: %d transactions on %d connections; nginx logged %d requests on %d connections",
			c.w, c.path, res.Transactions, res.Connections, len(mine), len(conns))
		if int64(len(mine)) != res.Transactions || int64(len(conns)) != res.Connections {
			t.Errorf("%s %s: nginx logged %d requests on %d connections; connbench counted %d transactions on %d connections",
				c.w, c.path, len(mine), len(conns), res.Transactions, res.Connections)
		}
		if c.w == "pooled" && res.Connections < c.n/100 {
			t.Errorf("%s: %d connections for %d requests: nginx's keepalive_requests 100 should force reconnects", c.w, res.Connections, c.n)
		}
		if c.w == "per-request" && res.Connections != c.n {
			t.Errorf("%s: %d connections, want one per request (%d)", c.w, res.Connections, c.n)
		}
	}
}

func readLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(string(b), "\n") {
		// A line being written: leave it for the next read.
		lines := strings.Split(s, "\n")
		return lines[:len(lines)-1]
	}
	return strings.Split(s, "\n")
}

// checkConns: the server counted the connections connbench opened: one
// per request (per-request), or up to -c (pooled: with -n, a loop may use
// up the requests before another loop's connections are needed).
func checkConns(t *testing.T, w string, c int, n, opened, counted int64) {
	t.Helper()
	if counted != opened {
		t.Errorf("%s: the server counted %d connections, connbench opened %d", w, counted, opened)
	}
	if w == "per-request" && opened != n {
		t.Errorf("%s: %d connections for %d requests, want one each", w, opened, n)
	}
	if w == "pooled" && (opened < 1 || opened > int64(c)) {
		t.Errorf("%s: %d connections, want 1 to -c %d", w, opened, c)
	}
}

// admin is a plain connection for a server's statistics.
type admin struct {
	c net.Conn
	r *bufio.Reader
}

// redis sends a RESP command and returns the "name:value" fields of
// its bulk reply (INFO) or nothing (other replies).
func (a *admin) redis(t *testing.T, words ...string) map[string]int64 {
	t.Helper()
	a.c.SetDeadline(time.Now().Add(5 * time.Second))
	req := "*" + strconv.Itoa(len(words)) + "\r\n"
	for _, w := range words {
		req += "$" + strconv.Itoa(len(w)) + "\r\n" + w + "\r\n"
	}
	if _, err := a.c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, err := a.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	if line[0] != '$' {
		return out
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	body := make([]byte, n+2)
	if _, err := io.ReadFull(a.r, body); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			if x, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = x
			}
		}
	}
	return out
}

// memcached sends "stats" and returns the STAT values.
func (a *admin) memcached(t *testing.T) map[string]int64 {
	t.Helper()
	a.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.c.Write([]byte("stats\r\n")); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for {
		line, err := a.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSpace(line)
		if line == "END" {
			return out
		}
		f := strings.Fields(line)
		if len(f) == 3 {
			if x, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				out[f[1]] = x
			}
		}
	}
}

func TestRedis(t *testing.T) {
	bin := need(t, "redis-server")
	dir := t.TempDir()
	port := testserver.FreePort(t)
	addr, a := startServer(t, bin, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}, filepath.Join(dir, "out.log"), port)
	a.redis(t, "RPUSH", "list", "a", "bb", "ccc")
	a.redis(t, "HSET", "h", "f1", "v1", "f2", "v2")
	for _, c := range []struct {
		w, command string
		n          int64
		status     string
	}{
		{"per-request", "", 1000, "ok"}, // PING
		{"pooled", `SET key "a value"`, 3000, "ok"},
		{"pooled", "GET key", 3000, "ok"},
		{"pooled", "GET missing", 1000, "ok"},        // null bulk
		{"pooled", "LRANGE list 0 -1", 2000, "ok"},   // array
		{"pooled", "HGETALL h", 1000, "ok"},          // array of bulks
		{"per-request", "INCR counter", 500, "ok"},   // integer
		{"pooled", "NOSUCHCOMMAND x", 1000, "error"}, // error reply
	} {
		p := newProto(t, "redis", protocol.Options{Command: c.command})
		before := a.redis(t, "INFO", "stats")
		res := load(t, addr, p, c.w, 4, c.n, c.status)
		after := a.redis(t, "INFO", "stats")
		conns := after["total_connections_received"] - before["total_connections_received"]
		t.Logf("%s %q: %d transactions on %d connections, statuses %v; redis received %d connections",
			c.w, c.command, res.Transactions, res.Connections, res.Statuses, conns)
		checkConns(t, c.w, 4, c.n, res.Connections, conns)
		// The first INFO is processed by the second; an unknown command is
		// rejected without being processed.
		cmds := after["total_commands_processed"] - before["total_commands_processed"] - 1
		if c.status == "error" {
			cmds = after["total_error_replies"] - before["total_error_replies"]
		}
		if cmds != c.n {
			t.Errorf("%s %q: redis counted %d commands (or error replies), want %d", c.w, c.command, cmds, c.n)
		}
	}
	if v := a.redis(t, "INFO", "keyspace"); v == nil {
		t.Fatal("no INFO reply")
	}
}

func TestMemcached(t *testing.T) {
	bin := need(t, "memcached")
	dir := t.TempDir()
	port := testserver.FreePort(t)
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-c", "1024"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root without -u
	}
	addr, a := startServer(t, bin, args, filepath.Join(dir, "out.log"), port)
	for _, c := range []struct {
		w, command string
		n          int64
		status     string
		stat       string // a counter that must grow by n
	}{
		{"per-request", "", 1000, "ok", ""}, // version
		{"pooled", `set k 0 0 5\nhello`, 3000, "ok", "cmd_set"},
		{"pooled", "get k", 3000, "ok", "get_hits"},
		{"per-request", "get nope", 500, "ok", "get_misses"},
		{"pooled", "gets k nope k", 1000, "ok", "cmd_get"},
		{"pooled", "stats", 300, "ok", ""}, // STAT lines up to END
		{"pooled", "bogus", 1000, "error", ""},
	} {
		p := newProto(t, "memcached", protocol.Options{Command: c.command})
		before := a.memcached(t)
		res := load(t, addr, p, c.w, 4, c.n, c.status)
		after := a.memcached(t)
		conns := after["total_connections"] - before["total_connections"]
		t.Logf("%s %q: %d transactions on %d connections, statuses %v; memcached counted %d connections",
			c.w, c.command, res.Transactions, res.Connections, res.Statuses, conns)
		checkConns(t, c.w, 4, c.n, res.Connections, conns)
		if c.stat != "" {
			mult := int64(1)
			if c.stat == "cmd_get" {
				mult = 3 // three keys per gets
			}
			if d := after[c.stat] - before[c.stat]; d != mult*c.n {
				t.Errorf("%s %q: %s grew by %d, want %d", c.w, c.command, c.stat, d, mult*c.n)
			}
		}
	}
}
