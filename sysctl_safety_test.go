package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestVarySysctlHostileName: a sysctl name that would leave /proc/sys is a
// one-line usage error before anything runs or changes, in an isolated
// compare (built-in listener) and against an external target alike.
func TestVarySysctlHostileName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "-d", "100ms", "--vary", "sysctl:net/../../../tmp/x=1,2"}, "element .. is not allowed"},
		{[]string{"compare", "-d", "100ms", "--vary", "sysctl:../etc/passwd=1"}, "element .. is not allowed"},
		{[]string{"compare", "-d", "100ms", "--vary", "sysctl:net..ipv4=1"}, "empty element"},
		{[]string{"compare", "-d", "100ms", "--vary", "sysctl:net.ipv4.tcp_fin_timeout=1,\"2\x1b[2J\""}, "not allowed"},
		{[]string{"compare", "127.0.0.1:9", "-d", "100ms", "--allow-host-sysctl", "--vary", "sysctl:/proc/sys/x=1"}, "empty element"},
	} {
		code, _, stderr := connbench(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and one line saying %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// TestRestoreRefusesUntrustedState: restore writes nothing from a state file
// that is a link, a FIFO, a device, someone else's, writable by others, too
// large, or names a sysctl outside /proc/sys; the file a hostile name points
// at is unchanged.
func TestRestoreRefusesUntrustedState(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	good, _ := json.Marshal(stateDoc{Sysctls: map[string]string{"net.ipv4.tcp_fin_timeout": "60"}})
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	hostile, _ := json.Marshal(stateDoc{Sysctls: map[string]string{
		"net.ipv4.tcp_fin_timeout":            "60",
		"net/../../../../../../" + victim[1:]: "pwned",
	}})
	badValue, _ := json.Marshal(stateDoc{Sysctls: map[string]string{"net.ipv4.tcp_fin_timeout": "60\n61"}})
	link := filepath.Join(dir, "link.json")
	os.Symlink(write("target.json", good, 0o600), link)
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{write("hostile.json", hostile, 0o600), "element .. is not allowed; nothing restored"},
		{write("badvalue.json", badValue, 0o600), "not allowed"},
		{write("open.json", good, 0o666), "writable by others"},
		{write("huge.json", make([]byte, 1<<20+10), 0o600), "larger than"},
		{write("junk.json", []byte("{"), 0o600), "not a connbench state file"},
		{link, "symbolic link"},
		{fifo, "not a regular file"},
		{"/dev/zero", "not a regular file"},
	}
	if os.Geteuid() == 0 {
		other := write("other.json", good, 0o600)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ path, want string }{other, "owned by uid 65534"})
	}
	for _, tc := range cases {
		code, _, stderr := connbench(t, "restore", "--state-file", tc.path)
		if code == exitOK || !strings.Contains(stderr, tc.want) {
			t.Errorf("restore --state-file %s: exit %d, stderr %q; want a failure saying %q", filepath.Base(tc.path), code, stderr, tc.want)
		}
		if _, err := os.Lstat(tc.path); err != nil {
			t.Errorf("restore removed the refused %s", tc.path)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("restore changed a file outside /proc/sys: %q", b)
	}
}

// stateDoc is the state file's shape, as compare writes it.
type stateDoc struct {
	Sysctls map[string]string `json:"sysctls"`
}
