package kernel

import (
	"testing"
)

func TestStateNames(t *testing.T) {
	want := []struct {
		s         State
		name, key string
	}{
		{StateEstablished, "ESTABLISHED", "established"},
		{StateSynSent, "SYN_SENT", "syn_sent"},
		{StateSynRecv, "SYN_RECV", "syn_recv"},
		{StateFinWait1, "FIN_WAIT1", "fin_wait1"},
		{StateFinWait2, "FIN_WAIT2", "fin_wait2"},
		{StateTimeWait, "TIME_WAIT", "time_wait"},
		{StateClose, "CLOSE", "close"},
		{StateCloseWait, "CLOSE_WAIT", "close_wait"},
		{StateLastAck, "LAST_ACK", "last_ack"},
		{StateListen, "LISTEN", "listen"},
		{StateClosing, "CLOSING", "closing"},
		{0, "State(0)", "state_0"},
		{12, "State(12)", "state_12"},
	}
	for i, w := range want {
		if i < 11 && int(w.s) != i+1 {
			t.Errorf("%s = %d, want %d", w.name, w.s, i+1)
		}
		if w.s.String() != w.name || w.s.Key() != w.key {
			t.Errorf("State(%d) = %q/%q, want %q/%q", w.s, w.s.String(), w.s.Key(), w.name, w.key)
		}
	}
}

func TestStateCounts(t *testing.T) {
	var c StateCounts
	if c.Total() != 0 || len(c.Map()) != 0 || c.Map() == nil {
		t.Errorf("zero StateCounts: total %d, map %#v", c.Total(), c.Map())
	}
	c[StateTimeWait] = 3
	c[StateEstablished] = 2
	if c.Total() != 5 {
		t.Errorf("Total = %d, want 5", c.Total())
	}
	m := c.Map()
	if len(m) != 2 || m["time_wait"] != 3 || m["established"] != 2 {
		t.Errorf("Map = %v", m)
	}
}

func TestStateMask(t *testing.T) {
	m := MaskOf(StateTimeWait, StateEstablished, 40)
	if !m.Has(StateTimeWait) || !m.Has(StateEstablished) || m.Has(StateListen) || m.Has(40) {
		t.Errorf("MaskOf = %#x", m)
	}
	for s := State(1); s < NumStates; s++ {
		if !AllStates.Has(s) {
			t.Errorf("AllStates lacks %v", s)
		}
	}
	if AllStates.Has(0) || AllStates.Has(NumStates) {
		t.Errorf("AllStates = %#x has non-states", AllStates)
	}
}
