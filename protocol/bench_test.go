package protocol

import (
	"strings"
	"testing"
)

// nginxResponse is what nginx 1.22 sends for a 612-byte static file.
var nginxResponse = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 24 Nov 2026 16:55:25 GMT\r\n" +
	"Content-Type: text/html\r\nContent-Length: 612\r\nLast-Modified: Tue, 24 Nov 2026 16:42:28 GMT\r\n" +
	"Connection: keep-alive\r\nETag: \"6b05be74-264\"\r\nAccept-Ranges: bytes\r\n\r\n" + strings.Repeat("x", 612))

func benchFeed(b *testing.B, f Framer, resp []byte) {
	b.SetBytes(int64(len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		f.Reset()
		if _, done, err := f.Feed(resp); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

func BenchmarkHTTPFeed(b *testing.B) { benchFeed(b, newHTTPFramer(), nginxResponse) }

func BenchmarkHTTPFeedChunked(b *testing.B) {
	benchFeed(b, newHTTPFramer(), []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n"+strings.Repeat("x", 256)+"\r\n0\r\n\r\n"))
}

func BenchmarkRedisFeed(b *testing.B) {
	benchFeed(b, newRedisFramer(), []byte("*3\r\n$3\r\nfoo\r\n:42\r\n$5\r\nhello\r\n"))
}

func BenchmarkMemcachedFeed(b *testing.B) {
	benchFeed(b, newMemcachedFramer(), []byte("VALUE k 0 5\r\nhello\r\nEND\r\n"))
}
