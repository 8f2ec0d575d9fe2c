package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSysctlPath(t *testing.T) {
	for _, tc := range []struct{ root, name, want string }{
		{"", "net.core.somaxconn", "/proc/sys/net/core/somaxconn"},
		{"/x", "net.ipv4.tcp_tw_reuse", "/x/sys/net/ipv4/tcp_tw_reuse"},
		{"/proc", "net/ipv4/conf/eth0.100/rp_filter", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"},
	} {
		if got := SysctlPath(tc.root, tc.name); got != tc.want {
			t.Errorf("SysctlPath(%q, %q) = %q, want %q", tc.root, tc.name, got, tc.want)
		}
	}
}

func TestReadSysctlFixture(t *testing.T) {
	const root = "testdata/linux618"
	v, err := ReadSysctl(root, "net.ipv4.ip_local_port_range")
	if err != nil || v != "32768 60999" {
		t.Errorf("ReadSysctl(port range) = %q, %v; want \"32768 60999\"", v, err)
	}
	lo, hi, err := PortRange(root)
	if err != nil || lo != 32768 || hi != 60999 {
		t.Errorf("PortRange = %d, %d, %v; want 32768, 60999", lo, hi, err)
	}
	m := ReadSysctls(root, append(append([]string{}, DefaultSysctls...), "net.ipv4.no_such_sysctl"))
	want := map[string]string{
		"net.ipv4.tcp_tw_reuse":        "2",
		"net.ipv4.tcp_tw_reuse_delay":  "1000",
		"net.ipv4.tcp_fastopen":        "1",
		"net.ipv4.ip_local_port_range": "32768 60999",
		"net.core.somaxconn":           "4096",
		"net.ipv4.tcp_max_syn_backlog": "2048",
		"net.ipv4.tcp_syncookies":      "1",
		"net.ipv4.tcp_fin_timeout":     "60",
		"net.ipv4.tcp_max_tw_buckets":  "131072",
		"net.ipv4.tcp_syn_retries":     "6",
		"net.ipv4.tcp_timestamps":      "1",
	}
	if len(m) != len(want) {
		t.Errorf("ReadSysctls gave %d values, want %d: %v", len(m), len(want), m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if len(DefaultSysctls) != 11 || DefaultSysctls[0] != "net.ipv4.tcp_tw_reuse" || DefaultSysctls[10] != "net.ipv4.tcp_timestamps" {
		t.Errorf("DefaultSysctls = %v", DefaultSysctls)
	}
}

func TestReadSysctlAbsent(t *testing.T) {
	_, err := ReadSysctl("testdata/linux618", "net.ipv4.no_such_sysctl")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
	if _, _, err := PortRange(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PortRange on empty root: err = %v, want os.ErrNotExist", err)
	}
	if m := ReadSysctls(t.TempDir(), DefaultSysctls); m == nil || len(m) != 0 {
		t.Errorf("ReadSysctls on empty root = %#v, want empty map", m)
	}
}

func TestPortRangeMalformed(t *testing.T) {
	root := t.TempDir()
	p := SysctlPath(root, "net.ipv4.ip_local_port_range")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", "1", "1 2 3", "a b"} {
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := PortRange(root); !errors.Is(err, ErrMalformed) {
			t.Errorf("PortRange(%q): err = %v, want ErrMalformed", v, err)
		}
	}
}

func TestReadSysctlLive(t *testing.T) {
	for _, name := range []string{"net.ipv4.tcp_syncookies", "net.core.somaxconn"} {
		if v, err := ReadSysctl("", name); err != nil || v == "" {
			t.Errorf("ReadSysctl(%s) = %q, %v", name, v, err)
		}
	}
	lo, hi, err := PortRange("")
	if err != nil || lo <= 0 || hi < lo || hi > 65535 {
		t.Errorf("PortRange = %d, %d, %v", lo, hi, err)
	}
}

func TestWriteSysctlFixture(t *testing.T) {
	root := t.TempDir()
	p := SysctlPath(root, "net.ipv4.tcp_fin_timeout")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSysctl(root, "net.ipv4.tcp_fin_timeout", "7"); err != nil {
		t.Fatal(err)
	}
	if v, err := ReadSysctl(root, "net.ipv4.tcp_fin_timeout"); err != nil || v != "7" {
		t.Errorf("read back %q, %v; want \"7\"", v, err)
	}
	if err := WriteSysctl(root, "net.ipv4.no_such_sysctl", "1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("write of an absent sysctl: err = %v, want os.ErrNotExist", err)
	}
}
