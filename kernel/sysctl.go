package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultSysctls lists the TCP sysctls recorded in every result document, in
// the order they are reported. Names are dotted, as sysctl(8) prints them.
var DefaultSysctls = []string{
	"net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_tw_reuse_delay",
	"net.ipv4.tcp_fastopen",
	"net.ipv4.ip_local_port_range",
	"net.core.somaxconn",
	"net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_max_tw_buckets",
	"net.ipv4.tcp_syn_retries",
	"net.ipv4.tcp_timestamps",
}

// SysctlPath returns the file under procRoot ("" means DefaultProcRoot) that
// holds the sysctl name. A dotted name ("net.core.somaxconn") has its dots
// turned into slashes; a name that already contains a slash
// ("net/ipv4/conf/eth0.100/rp_filter") is used as it is, which is how names
// whose components contain dots are given.
func SysctlPath(procRoot, name string) string {
	rel := name
	if !strings.Contains(name, "/") {
		rel = strings.ReplaceAll(name, ".", "/")
	}
	return filepath.Join(rootOr(procRoot), "sys", rel)
}

// ReadSysctl returns the value of the sysctl name (dotted, see SysctlPath)
// under procRoot ("" means DefaultProcRoot), with runs of white space
// replaced by one space and no leading or trailing space: "32768\t60999\n"
// is returned as "32768 60999". A sysctl this kernel does not have gives an
// error that wraps os.ErrNotExist.
func ReadSysctl(procRoot, name string) (string, error) {
	path := SysctlPath(procRoot, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("kernel: read %s: %w", path, err)
	}
	return strings.Join(strings.Fields(string(b)), " "), nil
}

// ReadSysctls reads each of names with ReadSysctl and returns the values by
// name. Sysctls that are absent or cannot be read are left out of the map
// (never given as ""); a nil or empty names gives an empty, non-nil map.
func ReadSysctls(procRoot string, names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		if v, err := ReadSysctl(procRoot, n); err == nil {
			m[n] = v
		}
	}
	return m
}

// WriteSysctl sets the sysctl name (dotted, see SysctlPath) under procRoot
// ("" means DefaultProcRoot) to value, written in one write as sysctl -w
// does. Writing needs root (CAP_NET_ADMIN in the owning user namespace for
// net.*); /proc/sys/net is that of the calling thread's network namespace.
// The error wraps what the kernel returned, so errors.Is(err, unix.EINVAL)
// tells a rejected value and errors.Is(err, os.ErrPermission) a missing
// privilege.
func WriteSysctl(procRoot, name, value string) error {
	path := SysctlPath(procRoot, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("kernel: write %s: %w", path, err)
	}
	_, err = f.Write([]byte(value))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kernel: write %s: %w", path, err)
	}
	return nil
}

// PortRange returns net.ipv4.ip_local_port_range under procRoot ("" means
// DefaultProcRoot): the lowest and highest ephemeral port, both inclusive,
// which also applies to IPv6.
func PortRange(procRoot string) (lo, hi int, err error) {
	const name = "net.ipv4.ip_local_port_range"
	v, err := ReadSysctl(procRoot, name)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(v)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("kernel: parse %s: %q: %w", name, v, ErrMalformed)
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("kernel: parse %s: %q: %w", name, v, ErrMalformed)
	}
	return lo, hi, nil
}
