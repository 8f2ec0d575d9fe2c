package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSysctlPath(t *testing.T) {
	for _, tc := range []struct{ root, name, want string }{
		{"", "net.core.somaxconn", "/proc/sys/net/core/somaxconn"},
		{"/x", "net.ipv4.tcp_tw_reuse", "/x/sys/net/ipv4/tcp_tw_reuse"},
		{"/proc", "net/ipv4/conf/eth0.100/rp_filter", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"},
	} {
		if got, err := SysctlPath(tc.root, tc.name); got != tc.want || err != nil {
			t.Errorf("SysctlPath(%q, %q) = %q, %v; want %q", tc.root, tc.name, got, err, tc.want)
		}
	}
}

// TestSysctlNameHostile: names that would leave /proc/sys, or are not
// sysctl names at all, are refused by every function that makes a path of
// them, before anything is opened.
func TestSysctlNameHostile(t *testing.T) {
	root := t.TempDir()
	// A file outside root/sys that a "../" name would reach.
	victim := filepath.Join(root, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, why string }{
		{"", "empty"},
		{"../victim", "element .. is not allowed"},
		{"net/../../victim", "element .. is not allowed"},
		{"net/./ipv4", "element . is not allowed"},
		{"net..ipv4", "empty element"},
		{".net.ipv4", "empty element"},
		{"net.ipv4.", "empty element"},
		{"/etc/passwd", "empty element"},
		{"net//ipv4", "empty element"},
		{"net.ipv4.tcp_tw_reuse\x00", "character"},
		{"net.ipv4.tcp tw", "character"},
		{"net.ipv4.*", "character"},
		{"net.ipv4.tcp_tw_reuse\n", "character"},
		{strings.Repeat("a.", 20) + "a", "more than 16 elements"},
		{strings.Repeat("a", 300), "longer than 256 bytes"},
	} {
		err := CheckSysctlName(tc.name)
		if !errors.Is(err, ErrBadSysctlName) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("CheckSysctlName(%q) = %v; want ErrBadSysctlName saying %q", tc.name, err, tc.why)
		}
		if _, err := SysctlPath(root, tc.name); !errors.Is(err, ErrBadSysctlName) {
			t.Errorf("SysctlPath(%q) = %v; want ErrBadSysctlName", tc.name, err)
		}
		if _, err := ReadSysctl(root, tc.name); !errors.Is(err, ErrBadSysctlName) {
			t.Errorf("ReadSysctl(%q) = %v; want ErrBadSysctlName", tc.name, err)
		}
		if err := WriteSysctl(root, tc.name, "1"); !errors.Is(err, ErrBadSysctlName) {
			t.Errorf("WriteSysctl(%q) = %v; want ErrBadSysctlName", tc.name, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("a file outside root/sys changed: %q", b)
	}
	for _, ok := range []string{"net.core.somaxconn", "net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/br-lan@1/rp_filter", "fs.nr_open", "net.ipv6.conf.all.disable_ipv6"} {
		if err := CheckSysctlName(ok); err != nil {
			t.Errorf("CheckSysctlName(%q) = %v, want nil", ok, err)
		}
	}
}

func TestSysctlValueHostile(t *testing.T) {
	for _, v := range []string{"1\n2", "a\x00", "\x1b[2J", strings.Repeat("1", 5000), "\xff"} {
		if err := CheckSysctlValue(v); err == nil {
			t.Errorf("CheckSysctlValue(%q) = nil, want an error", v)
		}
	}
	for _, v := range []string{"1", "32768 60999", "4096\t87380\t6291456", "", "cubic"} {
		if err := CheckSysctlValue(v); err != nil {
			t.Errorf("CheckSysctlValue(%q) = %v, want nil", v, err)
		}
	}
	root := t.TempDir()
	p, _ := SysctlPath(root, "net.ipv4.tcp_fin_timeout")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("60\n"), 0o644)
	if err := WriteSysctl(root, "net.ipv4.tcp_fin_timeout", "7\n8"); err == nil {
		t.Error("WriteSysctl with a newline in the value: no error")
	}
	if v, _ := ReadSysctl(root, "net.ipv4.tcp_fin_timeout"); v != "60" {
		t.Errorf("refused write changed the value to %q", v)
	}
	// A sysctl file that is not a sysctl (an endless or huge file) is
	// read only up to the limit.
	os.WriteFile(p, []byte(strings.Repeat("9", 10000)), 0o644)
	if _, err := ReadSysctl(root, "net.ipv4.tcp_fin_timeout"); !errors.Is(err, ErrMalformed) {
		t.Errorf("ReadSysctl of a 10,000-byte file = %v, want ErrMalformed", err)
	}
}

// FuzzSysctlName: whatever the name, an accepted one resolves under
// root/sys, never to root/sys itself or above it.
func FuzzSysctlName(f *testing.F) {
	for _, s := range []string{"net.core.somaxconn", "net/ipv4/conf/eth0.100/rp_filter", "../x", "net/../..", "a..b", "/", "", "net.ipv4.tcp_tw_reuse"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := SysctlPath("/proc", name)
		if err != nil {
			if !errors.Is(err, ErrBadSysctlName) {
				t.Fatalf("SysctlPath(%q) error %v does not wrap ErrBadSysctlName", name, err)
			}
			return
		}
		if !strings.HasPrefix(p, "/proc/sys/") || strings.Contains(p, "/../") || filepath.Clean(p) != p {
			t.Fatalf("SysctlPath(%q) = %q: outside /proc/sys or not clean", name, p)
		}
	})
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
	p, _ := SysctlPath(root, "net.ipv4.ip_local_port_range")
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
	p, _ := SysctlPath(root, "net.ipv4.tcp_fin_timeout")
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
