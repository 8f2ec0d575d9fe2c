package main

import (
	"strings"
	"testing"
)

// TestCheckExplainsFixture runs check on a fixture /proc whose settings
// are all worth a warning, and on this host.
func TestCheckExplainsFixture(t *testing.T) {
	code, stdout, stderr := connbench(t, "check", "--proc", "testdata/proc")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"[!!] ephemeral ports: net.ipv4.ip_local_port_range = 40000 40999",
		"1,000 local ports",
		"sustains 16 new connections/s", // 1000 / 60
		"[!!] TIME_WAIT reuse: net.ipv4.tcp_tw_reuse = 0",
		"[!!] accept queue: net.core.somaxconn = 128",
		"[!!] SYN cookies: net.ipv4.tcp_syncookies = 0",
		"client disabled (bit 0x1), server enabled (bit 0x2)",
		"tcp_fastopen=3",
		"after about 15 s",    // 1+2+4+8 with 3 retries
		"4,369 connections/s", // 262144 / 60
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = connbench(t, "check")
	if code != exitOK || !strings.Contains(stdout, "ephemeral ports") || !strings.Contains(stdout, "sockets now") {
		t.Errorf("check on this host: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := connbench(t, "check", "extra"); code != exitUsage || !strings.Contains(stderr, "no arguments") {
		t.Errorf("check extra: exit %d, %q", code, stderr)
	}
}
