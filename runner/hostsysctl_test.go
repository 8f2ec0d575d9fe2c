package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connbench/connbench/kernel"
)

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
	if filepath.Dir(DefaultStateFile) != stateDir || strings.HasPrefix(DefaultStateFile, os.TempDir()) {
		t.Fatalf("default state file %s is not under %s", DefaultStateFile, stateDir)
	}
	if os.Geteuid() != 0 {
		t.Skip("making /run/connbench needs root")
	}
	if err := prepareStateDir(DefaultStateFile); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(stateDir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s: %v %v; want a directory only its owner can use", stateDir, fi.Mode(), err)
	}
}

// TestChildRequestHostileSysctl: a child refuses a sysctl name that would
// leave /proc/sys, or a value with a newline, before it writes anything
// (the request of a parent is outside input too).
func TestChildRequestHostileSysctl(t *testing.T) {
	for _, req := range []*ChildRequest{
		{Spec: &Spec{}, Sysctls: map[string]string{"net/../../x": "1"}, Check: true},
		{Spec: &Spec{}, Base: map[string]string{"../x": "1"}, Check: true},
		{Spec: &Spec{}, Sysctls: map[string]string{"net.ipv4.tcp_fin_timeout": "1\n2"}, Check: true},
	} {
		_, err := RunChild(context.Background(), req, Discard)
		if !IsUsage(err) || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("%v %v: %v, want a usage error saying what is not allowed", req.Base, req.Sysctls, err)
		}
	}
}

// FuzzStateFile: whatever a state file holds, restore's reader either
// refuses it or returns only sysctl names and values that passed the
// kernel package's checks (so nothing it returns can name a path outside
// /proc/sys), and never panics.
func FuzzStateFile(f *testing.F) {
	for _, s := range []string{
		`{"note":"x","pid":1,"started":"2026-12-07T00:00:00Z","sysctls":{"net.ipv4.tcp_fin_timeout":"60"}}`,
		`{"sysctls":{"net/ipv4/conf/eth0.100/rp_filter":"1","net.ipv4.ip_local_port_range":"32768\t60999"}}`,
		`{"sysctls":{"net/../../etc/passwd":"x"}}`,
		`{"sysctls":{"net.ipv4.tcp_fin_timeout":"60\n61"}}`,
		`{"sysctls":{}}`, `{"sysctls":null}`, `{}`, `[]`, `null`, ``, `{"sysctls":{"":""}}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "state.json")
		os.Remove(path)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := readStateFile(path)
		if err != nil {
			return
		}
		for name, value := range st.Sysctls {
			if kernel.CheckSysctlName(name) != nil || kernel.CheckSysctlValue(value) != nil {
				t.Fatalf("accepted %q = %q", name, value)
			}
			if p, err := kernel.SysctlPath("/proc", name); err != nil || !strings.HasPrefix(p, "/proc/sys/") {
				t.Fatalf("accepted %q, which is %q (%v)", name, p, err)
			}
		}
	})
}

// TestChildRefusesHostNamespace: a child request that says its namespace
// was made for it, run in PID 1's namespace (by hand, or by a bug), writes
// no sysctl.
func TestChildRefusesHostNamespace(t *testing.T) {
	if kernel.CheckOwnNetNS() == nil {
		t.Skip("this test process already runs in a network namespace of its own")
	}
	before, err := kernel.ReadSysctl("", "net.ipv4.tcp_fin_timeout")
	if err != nil {
		t.Fatal(err)
	}
	req := &ChildRequest{Spec: &Spec{}, Namespace: true, Check: true,
		Base: map[string]string{"net.ipv4.tcp_fin_timeout": "33"}, Sysctls: map[string]string{"net.ipv4.tcp_fin_timeout": "34"}}
	if _, err := RunChild(context.Background(), req, Discard); err == nil || !strings.Contains(err.Error(), "the parent's network namespace") {
		t.Errorf("RunChild in the host namespace: %v, want it refused", err)
	}
	if after, _ := kernel.ReadSysctl("", "net.ipv4.tcp_fin_timeout"); after != before {
		t.Errorf("tcp_fin_timeout %s -> %s", before, after)
	}
	req = &ChildRequest{Spec: &Spec{}, Check: true, Base: map[string]string{"fs.nr_open": "1"}}
	if _, err := RunChild(context.Background(), req, Discard); !IsUsage(err) || !strings.Contains(err.Error(), "only net.*") {
		t.Errorf("a base sysctl outside net.*: %v, want a usage error", err)
	}
}
