package protocol_test

// The pool's reuse limits against real servers: the server's own count of
// connections equals ceil(transactions / N) within the in-flight slack
// (-c), and nginx's keepalive_requests closing connections is counted as
// the server's close.

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/internal/testserver"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/workloads"
)

// recycle runs n pooled transactions over c connections recycled every
// perConn against addr, and checks that every one completed cleanly.
func recycle(t *testing.T, addr netip.AddrPort, p protocol.Protocol, c int, n, perConn int64, status string) *workloads.Result {
	t.Helper()
	res := run(t, workloads.Config{Workload: "pooled", Target: addr, Protocol: p, Concurrency: c, Requests: n,
		RequestsPerConn: perConn, Socket: dialer.Options{Close: dialer.CloseRST}})
	checkClean(t, res, n, status)
	return res
}

// checkRecycled checks a server's connection count against ceil(n/N)
// within -c - 1 (a last, partly used connection per slot), and against
// what connbench opened.
func checkRecycled(t *testing.T, server string, c int, n, perConn, counted int64, res *workloads.Result) {
	t.Helper()
	lo := (n + perConn - 1) / perConn
	t.Logf("%s: %d transactions at %d per connection: %d connections (%d recycled); the server counted %d; want %d to %d",
		server, res.Transactions, perConn, res.Connections, res.Recycled, counted, lo, lo+int64(c)-1)
	if counted < lo || counted > lo+int64(c)-1 || counted != res.Connections {
		t.Errorf("%s: counted %d connections, connbench opened %d; want %d to %d", server, counted, res.Connections, lo, lo+int64(c)-1)
	}
}

func TestRequestsPerConnRedis(t *testing.T) {
	bin := need(t, "redis-server")
	dir := t.TempDir()
	port := testserver.FreePort(t)
	addr, a := startServer(t, bin, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}, filepath.Join(dir, "out.log"), port)
	const c, n, perConn = 4, 700, 7
	before := a.redis(t, "INFO", "stats")
	res := recycle(t, addr, newProto(t, "redis", protocol.Options{}), c, n, perConn, "ok")
	after := a.redis(t, "INFO", "stats")
	checkRecycled(t, "redis", c, n, perConn, after["total_connections_received"]-before["total_connections_received"], res)
}

func TestRequestsPerConnMemcached(t *testing.T) {
	bin := need(t, "memcached")
	port := testserver.FreePort(t)
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-c", "1024"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	addr, a := startServer(t, bin, args, filepath.Join(t.TempDir(), "out.log"), port)
	const c, n, perConn = 4, 500, 10
	before := a.memcached(t)
	res := recycle(t, addr, newProto(t, "memcached", protocol.Options{}), c, n, perConn, "ok")
	after := a.memcached(t)
	checkRecycled(t, "memcached", c, n, perConn, after["total_connections"]-before["total_connections"], res)
}

// TestRequestsPerConnNginx: recycled every 7 requests, nginx logs no
// connection with more than 7 requests and as many connections as
// connbench opened; with no limit of the client's, nginx's
// keepalive_requests 10 closes the connections ("Connection: close"), and
// the client counts those closes as the server's.
func TestRequestsPerConnNginx(t *testing.T) {
	addr, accessLog := testserver.Nginx(t, testserver.Options{
		LogFormat:         "$connection $connection_requests $status",
		KeepaliveRequests: 10,
		Files:             map[string]string{"index.html": "connbench\n"},
	})
	p := newProto(t, "http", protocol.Options{Path: "/index.html", Target: addr})
	const c = 4
	logged := 0
	for _, tc := range []struct {
		n, perConn int64
	}{{700, 7}, {500, 0}} {
		res := recycle(t, addr, p, c, tc.n, tc.perConn, "2xx")
		var lines []string
		waitFor(t, "nginx's access log", func() bool {
			lines = readLines(t, accessLog)
			return len(lines)-logged >= int(tc.n)
		})
		mine := lines[logged:]
		logged = len(lines)
		conns, most := map[string]bool{}, int64(0)
		for _, l := range mine {
			f := strings.Fields(l)
			conns[f[0]] = true
			k, _ := strconv.ParseInt(f[1], 10, 64)
			most = max(most, k)
		}
		limit := int64(tc.perConn)
		if limit == 0 {
			limit = 10 // nginx's keepalive_requests
		}
		checkRecycled(t, fmt.Sprintf("nginx, requests-per-conn %d", tc.perConn), c, tc.n, limit, int64(len(conns)), res)
		if most > limit {
			t.Errorf("nginx served %d requests on one connection; the limit was %d", most, limit)
		}
		if tc.perConn == 0 {
			// Every connection nginx ended after its 10th request was
			// seen closed by the server; a slot's last may have fewer.
			if res.ServerClosed < res.Connections-c || res.ServerClosed > res.Connections || res.Recycled != 0 {
				t.Errorf("keepalive_requests 10: %d connections, %d closed by the server, %d recycled; want %d to %d closed by the server, none recycled",
					res.Connections, res.ServerClosed, res.Recycled, res.Connections-c, res.Connections)
			}
		}
	}
}
