package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
		{[]string{isolatedCmd, "--sysctl", "net/../../x=1", "--check"}, "element .. is not allowed"},
		{[]string{isolatedCmd, "--base", "../x=1", "--check"}, "element .. is not allowed"},
		{[]string{isolatedCmd, "--sysctl", "net.ipv4.tcp_fin_timeout=1\n2", "--check"}, "not allowed"},
	} {
		code, _, stderr := cli(t, tc.args...)
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
	good, _ := json.Marshal(stateFile{Sysctls: map[string]string{"net.ipv4.tcp_fin_timeout": "60"}})
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	hostile, _ := json.Marshal(stateFile{Sysctls: map[string]string{
		"net.ipv4.tcp_fin_timeout":            "60",
		"net/../../../../../../" + victim[1:]: "pwned",
	}})
	badValue, _ := json.Marshal(stateFile{Sysctls: map[string]string{"net.ipv4.tcp_fin_timeout": "60\n61"}})
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
		{write("huge.json", make([]byte, maxStateFile+10), 0o600), "larger than"},
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
		code, _, stderr := cli(t, "restore", "--state-file", tc.path)
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

// TestStateFileNeverFollowsALink: the save side writes its state file only
// where nothing is: a planted link (or file) at the path stops the run
// before any sysctl changes, and the link's target is untouched.
func TestStateFileNeverFollowsALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	state := filepath.Join(dir, "state.json")
	os.Symlink(victim, state)
	h := newHostSysctls(state, []string{"net.ipv4.tcp_fin_timeout"})
	if err := h.begin(); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("begin over a planted link: %v, want an error saying it exists", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the link's target changed: %q", b)
	}
	// The temporary file is never a predictable name next to the target.
	os.Remove(state)
	os.Symlink(victim, state+".tmp")
	if err := writeStateFile(state, []byte("{}")); err != nil {
		t.Fatalf("writeStateFile: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("a link at STATE.tmp was followed: %q", b)
	}
	if fi, err := os.Lstat(state); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("state file not a regular file: %v %v", fi, err)
	}
	if err := writeStateFile(state, []byte("{}")); err == nil {
		t.Error("writeStateFile replaced an existing file")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") && e.Name() != "state.json.tmp" {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestDefaultStateDir: the default state file lives in a root-only
// directory that prepareStateDir makes 0700; a directory others can write
// is refused.
func TestDefaultStateDir(t *testing.T) {
	if filepath.Dir(defaultStateFile) != stateDir || strings.HasPrefix(defaultStateFile, os.TempDir()) {
		t.Fatalf("default state file %s is not under %s", defaultStateFile, stateDir)
	}
	if os.Geteuid() != 0 {
		t.Skip("making /run/connbench needs root")
	}
	if err := prepareStateDir(defaultStateFile); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(stateDir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s: %v %v; want a directory only its owner can use", stateDir, fi.Mode(), err)
	}
}

// TestRestoreRemovesLeftovers: connbench restore also removes the temporary
// directory of a run that was killed, and says so.
func TestRestoreRemovesLeftovers(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if pidAlive(dead.Process.Pid) {
		t.Skipf("PID %d was reused at once; cannot stand for a dead run", dead.Process.Pid)
	}
	stale := filepath.Join(tmp, fmt.Sprintf("%s%d-ns-7", tempPrefix, dead.Process.Pid))
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "restore", "--state-file", filepath.Join(tmp, "none.json"))
	if code != exitOK || !strings.Contains(stdout, "removed "+stale) || !strings.Contains(stdout, "no sysctls to restore") {
		t.Errorf("restore: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("restore left %s (%v)", stale, err)
	}
}
