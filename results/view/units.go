package view

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Dur formats nanoseconds with three significant digits and a unit
// (ns, µs, ms, s), rounding before the unit is chosen (999,999 ns is
// "1.00 ms", not "1000 µs").
func Dur(ns int64) string {
	if ns < 1000 && ns > -1000 {
		return fmt.Sprintf("%d ns", ns)
	}
	v := float64(ns) / 1e3
	for _, unit := range []string{"µs", "ms"} {
		if r := round3(v); math.Abs(r) < 1000 {
			return sig3(r) + " " + unit
		}
		v /= 1e3
	}
	return sig3(round3(v)) + " s"
}

// round3 rounds v to three significant digits.
func round3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}

func signedDur(ns int64) string {
	if ns < 0 {
		return "−" + Dur(-ns)
	}
	return Dur(ns)
}

func sig3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Count formats an integer with thousands separators.
func Count(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Seconds formats a duration for prose ("5s", "1m30s").
func Seconds(d time.Duration) string { return d.Round(time.Millisecond).String() }
