package runner

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/netpath"
	"github.com/connbench/connbench/results"
)

// pathFlagNames are the emulated path's flags: any of them given puts the
// run on an emulated path.
var pathFlagNames = []string{"rtt", "jitter", "loss", "drop-syn", "rate-limit", "path-realtime"}

// pathOn reports whether any path flag was given.
func (s *Spec) pathOn() bool {
	for _, n := range pathFlagNames {
		if s.changed(n) {
			return true
		}
	}
	return false
}

// pathConfig checks the path flags and builds the path's configuration;
// the errors name the flag.
func (s *Spec) pathConfig() (netpath.Config, error) {
	c := netpath.Config{RTT: s.RTT, Jitter: s.Jitter, Realtime: s.PathRealtime}
	if err := checkDur("rtt", s.RTT, 0, time.Minute); err != nil {
		return c, err
	}
	if err := checkDur("jitter", s.Jitter, 0, time.Minute); err != nil {
		return c, err
	}
	if s.Loss != "" {
		v, err := parseShare(s.Loss)
		if err != nil || v >= 1 {
			return c, Usagef("--loss %q: want a share, e.g. 1%% or 0.01 (allowed: 0 <= loss < 100%%)", s.Loss)
		}
		c.Loss = v
	}
	if s.DropSYN != "" {
		if strings.HasSuffix(s.DropSYN, "%") {
			v, err := parseShare(s.DropSYN)
			if err != nil {
				return c, Usagef("--drop-syn %q: want a count (1, 2, ...) or a share (allowed: 0%% <= share <= 100%%)", s.DropSYN)
			}
			c.DropSYNShare = v
		} else {
			n, err := strconv.Atoi(s.DropSYN)
			if err != nil || n < 0 || n > 10 {
				return c, Usagef("--drop-syn %q: want a count or a share such as 20%% (allowed: 0 <= count <= 10)", s.DropSYN)
			}
			c.DropSYN = n
		}
	}
	if s.RateLimit != "" {
		v, err := parseBitRate(s.RateLimit)
		if err != nil {
			return c, Usagef("--rate-limit %q: %v", s.RateLimit, err)
		}
		c.Rate = v
	}
	return c, nil
}

// parseShare parses "1%" (0.01) or "0.01"; the result is in 0..1 (NaN and
// infinities are refused).
func parseShare(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, err
	}
	if pct {
		v /= 100
	}
	if !(v >= 0 && v <= 1) {
		return 0, errors.New("out of range")
	}
	return v, nil
}

// parseBitRate parses "100mbit", "1gbit", "500kbit", "64000" (bits/s);
// the result is 8000 to 1e12 (8kbit to 1000gbit).
func parseBitRate(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "/s"))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ps"), "bit")
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "g"):
		mult, t = 1e9, strings.TrimSuffix(t, "g")
	}
	v, err := strconv.ParseFloat(t, 64)
	// Written so that NaN fails too: it compares false with everything.
	if err != nil || !(v*mult >= 8000 && v*mult <= 1e12) {
		return 0, errors.New("want a bit rate from 8kbit to 1000gbit, e.g. 100mbit")
	}
	return int64(math.Round(v * mult)), nil
}

// emulated is a run's emulated path: the namespaces, the listener inside
// the server's, and what to give the workload.
type emulated struct {
	path *netpath.Path
}

// startPath builds the path, gives both namespaces the sysctls in force
// here (a fresh namespace starts from the kernel's defaults, not the
// host's), applies what Fast Open needs on each side, and starts the
// built-in listener inside the server's namespace.
func startPath(cfg netpath.Config, sysctls map[string]string, lc listener.Config, fastopen bool, obs Observer) (*emulated, *listener.Listener, error) {
	if os.Geteuid() != 0 {
		return nil, nil, errors.New("the emulated path (--rtt, --jitter, --loss, --drop-syn, --rate-limit) needs root: it creates two network namespaces and TUN devices")
	}
	p, err := netpath.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("emulated path: %w", err)
	}
	em := &emulated{path: p}
	var names []string
	for k := range sysctls {
		if strings.HasPrefix(k, "net.ipv4.") || k == "net.core.somaxconn" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var notes []string
	for _, ns := range []*netpath.NS{p.Client, p.Server} {
		err := ns.Do(func() error {
			for _, k := range names {
				v := sysctls[k]
				if k == "net.ipv4.tcp_fastopen" && fastopen {
					// Our own namespaces: give each side its bit.
					bit := 1
					if ns == p.Server {
						bit = 2
					}
					n, _ := strconv.ParseInt(v, 0, 64)
					if n&int64(bit) == 0 {
						v = strconv.FormatInt(n|int64(bit), 10)
						notes = append(notes, fmt.Sprintf("%s namespace: net.ipv4.tcp_fastopen=%s (Fast Open needs bit 0x%d there)", ns.Name(), v, bit))
					}
				}
				if cur, err := kernel.ReadSysctl("", k); err == nil && cur == v {
					continue
				}
				if err := kernel.WriteSysctl("", k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			p.Close()
			return nil, nil, fmt.Errorf("emulated path: %s namespace: %w", ns.Name(), err)
		}
	}
	for _, n := range notes {
		obs.Say("%s", n)
	}
	lc.Addr = netip.AddrPortFrom(p.ServerAddr, 0)
	var ln *listener.Listener
	err = p.Server.Do(func() error {
		var err error
		ln, err = listener.Start(lc)
		return err
	})
	if err != nil {
		p.Close()
		return nil, nil, fmt.Errorf("emulated path: %w", err)
	}
	return em, ln, nil
}

// spawn starts f on a thread inside the client's namespace.
func (em *emulated) spawn(f func()) error { return em.path.Client.Go(f) }

// close tears the path down (the listener is closed by its owner first).
func (em *emulated) close() { em.path.Close() }

// record describes the path and what crossed it, for the result.
func (em *emulated) record() *results.Path {
	st := em.path.Stats()
	c := st.Config
	r := &results.Path{
		Mechanism: st.Mechanism, NetemAvailable: st.NetemAvailable,
		RTTNs: int64(c.RTT), JitterNs: int64(c.Jitter), Loss: c.Loss, DropSYN: c.DropSYN, DropSYNShare: c.DropSYNShare, RateBps: c.Rate,
		PacketsToServer: st.ClientToServer.ForwardedPackets, PacketsToClient: st.ServerToClient.ForwardedPackets,
		ForwarderCPUNs: int64(st.CPU),
	}
	for _, d := range []netpath.DirStats{st.ClientToServer, st.ServerToClient} {
		r.DroppedLoss += d.DroppedLoss
		r.DroppedSYN += d.DroppedSYN
		r.DroppedQueue += d.DroppedQueue
		r.KernelDropped += d.KernelDropped
		r.Errors += d.Errors
	}
	if ad := st.AddedDelay(); ad != nil && ad.Count() > 0 {
		if ph, err := results.NewPhase(ad); err == nil {
			r.AddedDelay = &ph
		}
	}
	return r
}

// fastOpenBits checks net.ipv4.tcp_fastopen for what a Fast Open run needs:
// the client bit 0x1 always, the server bit 0x2 when the built-in listener
// is the server. It returns an error when the client bit is missing (every
// sendto would fail with EOPNOTSUPP) and a warning when the server bit is.
func fastOpenBits(sysctls map[string]string, builtin bool) (warning string, err error) {
	v, ok := sysctls["net.ipv4.tcp_fastopen"]
	if !ok {
		return "", errors.New("--fastopen: this kernel has no net.ipv4.tcp_fastopen")
	}
	n, perr := strconv.ParseInt(v, 0, 64)
	if perr != nil {
		return "", fmt.Errorf("--fastopen: net.ipv4.tcp_fastopen=%q is not a number", v)
	}
	if n&1 == 0 {
		return "", fmt.Errorf("--fastopen: net.ipv4.tcp_fastopen=%s lacks the client bit 0x1; set it (sysctl -w net.ipv4.tcp_fastopen=%d), or run it in its own namespace with compare --vary sysctl:net.ipv4.tcp_fastopen=3", v, n|1|map[bool]int64{true: 2}[builtin])
	}
	if builtin && n&2 == 0 {
		return fmt.Sprintf("net.ipv4.tcp_fastopen=%s lacks the server bit 0x2: the built-in listener will not take data in the SYN (sysctl -w net.ipv4.tcp_fastopen=%d, or add --rtt 0 to run in namespaces connbench sets up itself)", v, n|3), nil
	}
	return "", nil
}
