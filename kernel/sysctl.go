package kernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// Limits on a sysctl name, checked by CheckSysctlName. The kernel's longest
// names are well under 100 bytes and 8 elements deep.
const (
	maxSysctlName     = 256
	maxSysctlElements = 16
	maxSysctlValue    = 4096 // bytes read or written; the kernel's own page-sized limit
)

// ErrBadSysctlName is wrapped by the error CheckSysctlName returns.
var ErrBadSysctlName = errors.New("not a sysctl name")

// CheckSysctlName reports whether name is a sysctl name that stays under
// /proc/sys: dotted ("net.core.somaxconn") or slashed
// ("net/ipv4/conf/eth0.100/rp_filter", how names whose elements contain dots
// are given), at most 256 bytes and 16 elements, each element non-empty, not
// "." or "..", and made of letters, digits, '_' and '-' (and, in slashed
// form, '.', '@' and '+', which interface names use). Everything that turns
// a sysctl name into a path (ReadSysctl, WriteSysctl, SysctlPath) checks it
// first, so a name from a flag or a file can never leave /proc/sys. The
// error wraps ErrBadSysctlName and says what was wrong.
func CheckSysctlName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q: %w: %s", name, ErrBadSysctlName, why)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > maxSysctlName {
		return bad(fmt.Sprintf("longer than %d bytes", maxSysctlName))
	}
	sep, extra := ".", ""
	if strings.Contains(name, "/") {
		sep, extra = "/", ".@+"
	}
	elems := strings.Split(name, sep)
	if len(elems) > maxSysctlElements {
		return bad(fmt.Sprintf("more than %d elements", maxSysctlElements))
	}
	for _, e := range elems {
		switch e {
		case "":
			return bad("empty element (leading, trailing or doubled " + sep + ")")
		case ".", "..":
			return bad("element " + e + " is not allowed")
		}
		for _, c := range e {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '_' || c == '-' || strings.ContainsRune(extra, c)
			if !ok {
				return bad(fmt.Sprintf("character %q is not allowed (letters, digits, _ and -%s)", c, map[bool]string{true: "; slashed names also . @ +"}[extra != ""]))
			}
		}
	}
	return nil
}

// CheckSysctlValue reports whether value can be written to a sysctl: at most
// 4096 bytes of printable ASCII, spaces and tabs (multi-value sysctls such
// as ip_local_port_range separate values with them). The kernel checks the
// rest; this keeps newlines, control bytes and unbounded data out.
func CheckSysctlValue(value string) error {
	if len(value) > maxSysctlValue {
		return fmt.Errorf("sysctl value longer than %d bytes", maxSysctlValue)
	}
	for _, c := range []byte(value) {
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			return fmt.Errorf("sysctl value %q: byte 0x%02x is not allowed (printable ASCII, spaces and tabs)", value, c)
		}
	}
	return nil
}

// SysctlPath returns the file under procRoot ("" means DefaultProcRoot) that
// holds the sysctl name. A dotted name ("net.core.somaxconn") has its dots
// turned into slashes; a name that already contains a slash
// ("net/ipv4/conf/eth0.100/rp_filter") is used as it is. A name that fails
// CheckSysctlName gives that error, and the path is checked once more to lie
// under procRoot/sys.
func SysctlPath(procRoot, name string) (string, error) {
	if err := CheckSysctlName(name); err != nil {
		return "", fmt.Errorf("kernel: sysctl %w", err)
	}
	rel := name
	if !strings.Contains(name, "/") {
		rel = strings.ReplaceAll(name, ".", "/")
	}
	base := filepath.Join(rootOr(procRoot), "sys")
	p := filepath.Join(base, rel)
	if !strings.HasPrefix(p, base+string(filepath.Separator)) {
		return "", fmt.Errorf("kernel: sysctl %q: %w: resolves outside %s", name, ErrBadSysctlName, base)
	}
	return p, nil
}

// ReadSysctl returns the value of the sysctl name (dotted, see SysctlPath)
// under procRoot ("" means DefaultProcRoot), with runs of white space
// replaced by one space and no leading or trailing space: "32768\t60999\n"
// is returned as "32768 60999". A sysctl this kernel does not have gives an
// error that wraps os.ErrNotExist; a bad name one that wraps
// ErrBadSysctlName. At most 4096 bytes are read.
func ReadSysctl(procRoot, name string) (string, error) {
	path, err := SysctlPath(procRoot, name)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", fmt.Errorf("kernel: read %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSysctlValue+1))
	if err != nil {
		return "", fmt.Errorf("kernel: read %s: %w", path, err)
	}
	if len(b) > maxSysctlValue {
		return "", fmt.Errorf("kernel: read %s: longer than %d bytes: %w", path, maxSysctlValue, ErrMalformed)
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
// privilege. A name that fails CheckSysctlName or a value that fails
// CheckSysctlValue is refused before anything is opened.
func WriteSysctl(procRoot, name, value string) error {
	path, err := SysctlPath(procRoot, name)
	if err != nil {
		return err
	}
	if err := CheckSysctlValue(value); err != nil {
		return fmt.Errorf("kernel: write %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0)
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
