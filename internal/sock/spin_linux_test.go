package sock

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The spin window opens only after a sleep that events ended within Max,
// catches what arrives while it spins, and closes after spins that find
// nothing.
func TestSpinWindowAdapts(t *testing.T) {
	p, err := NewPoller(8)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := p.Add(fds[0], unix.EPOLLIN, 7, 0); err != nil {
		t.Fatal(err)
	}
	s := Spin{Max: 50 * time.Microsecond}
	drain := func() {
		var b [64]byte
		unix.Read(fds[0], b[:])
	}

	// Nothing ready: a closed window sleeps the whole wait, no spin.
	evs, _, spun, _, err := s.Wait(p, time.Millisecond, true)
	if err != nil || len(evs) != 0 || spun != 0 || s.win != 0 {
		t.Fatalf("idle wait: %d events, spun %v, window %v, err %v; want a plain sleep", len(evs), spun, s.win, err)
	}
	// Ready at once: the sleep ends within Max with an event, so a spin
	// would have caught it: the window opens.
	unix.Write(fds[1], []byte{1})
	evs, _, spun, _, _ = s.Wait(p, time.Second, true)
	if len(evs) != 1 || evs[0].Fd != 7 || spun != 0 || s.win != spinStart {
		t.Fatalf("ready wait: %d events, spun %v, window %v; want 1, 0, %v", len(evs), spun, s.win, spinStart)
	}
	// With the window open, an event already there is found by the spin.
	evs, _, spun, hit, _ := s.Wait(p, time.Second, true)
	if len(evs) != 1 || !hit || spun <= 0 {
		t.Fatalf("spin: %d events, hit %v, spun %v; want the event found spinning", len(evs), hit, spun)
	}
	drain()
	// Spins that find nothing halve the window until it closes; each
	// spin ends with a sleep (here cut short by the wait's 200 µs).
	for i := 0; s.win > 0; i++ {
		if i > 10 {
			t.Fatalf("window still %v after %d empty spins", s.win, i)
		}
		before := s.win
		_, _, spun, hit, _ = s.Wait(p, 200*time.Microsecond, true)
		if hit || spun < before {
			t.Fatalf("empty spin: hit %v, spun %v; want no hit after at least the %v window", hit, spun, before)
		}
	}
	// Not active (nothing in flight): never spins, whatever the window.
	s.win = s.Max
	if _, _, spun, _, _ = s.Wait(p, 100*time.Microsecond, false); spun != 0 {
		t.Errorf("inactive wait spun %v", spun)
	}
}
