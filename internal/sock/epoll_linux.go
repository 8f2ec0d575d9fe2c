package sock

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller is one event loop's epoll set plus an eventfd that other goroutines
// use to wake it (to stop it). A Poller belongs to one loop: only Wake may be
// called from another goroutine.
type Poller struct {
	fd     int
	wakeFD int
	events []unix.EpollEvent
}

// wakeTag marks the wake eventfd's events; real registrations never use it.
const wakeTag = -1

// NewPoller creates an epoll set that returns up to batch events per Wait.
func NewPoller(batch int) (*Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sock: epoll_create1: %w", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeTag}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		unix.Close(fd)
		unix.Close(wfd)
		return nil, fmt.Errorf("sock: epoll_ctl eventfd: %w", err)
	}
	return &Poller{fd: fd, wakeFD: wfd, events: make([]unix.EpollEvent, batch)}, nil
}

// Add registers fd for events; tag and gen come back in the event's Fd and
// Pad fields, so a loop can find its connection without a map lookup.
func (p *Poller) Add(fd int, events uint32, tag int32, gen int32) error {
	ev := unix.EpollEvent{Events: events, Fd: tag, Pad: gen}
	return EpollCtl(p.fd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// Mod changes the events fd is registered for.
func (p *Poller) Mod(fd int, events uint32, tag int32, gen int32) error {
	ev := unix.EpollEvent{Events: events, Fd: tag, Pad: gen}
	return EpollCtl(p.fd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// Del removes fd from the set (closing fd does that too).
func (p *Poller) Del(fd int) error {
	return EpollCtl(p.fd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Wait blocks up to timeout (negative: forever, zero: poll) and returns the
// ready events, excluding wake-ups, and whether a wake-up arrived. The slice
// is reused by the next call. EINTR is reported as no events. Timeouts have
// nanosecond resolution (epoll_pwait2, Linux >= 5.11); on older kernels they
// are rounded up to the millisecond.
func (p *Poller) Wait(timeout time.Duration) (evs []unix.EpollEvent, woken bool, err error) {
	var n int
	switch {
	case timeout == 0:
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.fd), uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		n, err = int(r), errno(e)
	case !noPwait2.Load():
		var ts *unix.Timespec
		if timeout > 0 {
			t := unix.NsecToTimespec(int64(timeout))
			ts = &t
		}
		r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(p.fd), uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), uintptr(unsafe.Pointer(ts)), 0, 0)
		if e == unix.ENOSYS {
			noPwait2.Store(true)
			return p.Wait(timeout)
		}
		n, err = int(r), errno(e)
	default:
		ms := -1
		if timeout > 0 {
			// Round up so a timer due in 300µs does not spin with 0 ms waits.
			ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
		}
		n, err = unix.EpollWait(p.fd, p.events, ms)
	}
	if err != nil {
		if err == unix.EINTR {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("sock: epoll_wait: %w", err)
	}
	evs = p.events[:n]
	for i := 0; i < len(evs); i++ {
		if evs[i].Fd == wakeTag {
			woken = true
			var buf [8]byte
			Read(p.wakeFD, buf[:])
			evs[i] = evs[len(evs)-1]
			evs = evs[:len(evs)-1]
			i--
		}
	}
	return evs, woken, nil
}

// noPwait2 is set once the kernel has said it has no epoll_pwait2.
var noPwait2 atomic.Bool

// Wake makes the loop's current or next Wait return. Safe from any goroutine.
func (p *Poller) Wake() {
	one := [8]byte{1}
	unix.Write(p.wakeFD, one[:])
}

// Close releases the epoll set and the eventfd.
func (p *Poller) Close() error {
	unix.Close(p.wakeFD)
	return unix.Close(p.fd)
}
