package runner

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/connbench/connbench/dialer"
)

// The typed flag values (pflag.Value): each parses and checks its text in
// Set, so a bad value is refused as pflag reads it, with an error naming
// the flag, and the value's String is what --help, errors and the JSON echo
// show.

// Rate is --rate: N transactions per second on a fixed schedule, or a ramp
// A:B from A to B over --duration. The zero value is no rate: a closed loop.
type Rate struct {
	Start float64 `json:"start"`          // per second; the whole run's without a ramp
	End   float64 `json:"end,omitempty"`  // per second at the end of a ramp
	Ramp  bool    `json:"ramp,omitempty"` // A:B was given
}

// Set parses N or A:B (see parseRate for the ranges); "" is no rate.
func (r *Rate) Set(s string) error {
	if s == "" {
		*r = Rate{}
		return nil
	}
	a, b, ramp, err := parseRate(s)
	if err != nil {
		return err
	}
	*r = Rate{Start: a, End: b, Ramp: ramp}
	return nil
}

// String writes the rate as Set reads it ("" for none).
func (r Rate) String() string {
	if !r.IsSet() {
		return ""
	}
	return formatRate(r.Start, r.End, r.Ramp)
}

// Type names the value in --help.
func (r *Rate) Type() string { return "rate" }

// IsSet reports whether a rate was given (an open loop).
func (r Rate) IsSet() bool { return r.Start != 0 || r.End != 0 }

// Sources is --source: the local addresses connections rotate over, from
// ADDR, ADDR-ADDR or a comma list.
type Sources struct {
	Text  string       `json:"text"`  // as given
	Addrs []netip.Addr `json:"addrs"` // what it names, at most 65,536
}

// Set parses the list; "" is none (the kernel picks the address).
func (v *Sources) Set(s string) error {
	if s == "" {
		*v = Sources{}
		return nil
	}
	addrs, err := dialer.ParseSources(s)
	if err != nil {
		return Usagef("--source %q: %v", s, strings.TrimPrefix(err.Error(), "dialer: "))
	}
	*v = Sources{Text: s, Addrs: addrs}
	return nil
}

// String is the list as given.
func (v Sources) String() string { return v.Text }

// Type names the value in --help.
func (v *Sources) Type() string { return "addrs" }

// sourceRange is the Sources of n addresses counted up from first.
func sourceRange(first netip.Addr, n int) Sources {
	v := Sources{Addrs: make([]netip.Addr, 0, n)}
	a := first
	for i := 0; i < n; i++ {
		v.Addrs = append(v.Addrs, a)
		a = a.Next()
	}
	v.Text = fmt.Sprintf("%s-%s", v.Addrs[0], v.Addrs[n-1])
	return v
}

// sourceList is the Sources of exactly addrs.
func sourceList(addrs []netip.Addr) Sources {
	var parts []string
	for _, a := range addrs {
		parts = append(parts, a.String())
	}
	return Sources{Text: strings.Join(parts, ","), Addrs: addrs}
}
