package sock

import (
	"time"

	"golang.org/x/sys/unix"
)

// Spin window bounds: a window that shrinks below spinMin closes, and one
// that reopens starts at spinStart.
const (
	spinMin   = 2 * time.Microsecond
	spinStart = 10 * time.Microsecond
)

// Spin polls an epoll set for a short while before sleeping on it. On one
// side of a loopback exchange the answer often comes within microseconds,
// and a loop that is asleep then must be woken by the sender: a wake-up
// the sender (the other side) pays for and, in a virtual machine, an exit
// to the hypervisor for each. The window adapts the way the kernel's guest
// halt-polling does: a spin that finds nothing halves it (closed below
// 2 µs); a sleep that ended, with events, within Max reopens or doubles it
// (to at most Max). So a loop spins only while spinning pays, and a slow
// peer costs next to no CPU. One Spin per loop; not safe for concurrent use.
type Spin struct {
	Max time.Duration // the longest window; 0: never spin
	win time.Duration
}

// epoch is the origin of the spin's monotonic clock readings.
var epoch = time.Now()

// Wait is p.Wait(d), spinning first when active (the caller has work in
// flight) and the window is open. It also returns the time it spun (0:
// none) and whether the spin found events.
func (s *Spin) Wait(p *Poller, d time.Duration, active bool) (evs []unix.EpollEvent, woken bool, spun time.Duration, hit bool, err error) {
	if s.Max <= 0 || !active || d == 0 {
		evs, woken, err = p.Wait(d)
		return evs, woken, 0, false, err
	}
	t0 := time.Since(epoch)
	if s.win > 0 {
		end := t0 + s.win
		if d > 0 {
			end = min(end, t0+d)
		}
		for {
			evs, woken, err = p.Wait(0)
			now := time.Since(epoch)
			if err != nil || len(evs) > 0 || woken {
				return evs, woken, now - t0, len(evs) > 0, err
			}
			if now >= end {
				spun = now - t0
				break
			}
		}
		if d > 0 {
			if d -= spun; d <= 0 {
				return nil, false, spun, false, nil
			}
		}
		if s.win /= 2; s.win < spinMin {
			s.win = 0
		}
	}
	evs, woken, err = p.Wait(d)
	if len(evs) > 0 && time.Since(epoch)-t0 <= s.Max {
		// Events within the longest window: a spin would have caught them.
		s.win = min(s.Max, max(2*s.win, spinStart))
	}
	return evs, woken, spun, false, err
}
