package results

import (
	"reflect"
	"testing"
)

// Interval.Add sums what is a total and, for one kernel, keeps the larger
// of its figures; an empty map added leaves a nil map nil (omitted in the
// JSON, as before).
func TestIntervalAdd(t *testing.T) {
	a := Interval{Transactions: 3, Connections: 1, BytesSent: 10, FailuresTotal: 1, Inflight: 2, PortsInUse: 5,
		Failures: map[string]int64{"ECONNRESET": 1}, States: map[string]int{"time_wait": 4}, Counters: map[string]int64{"Tcp.ActiveOpens": 7}}
	b := Interval{Warmup: true, Transactions: 2, Connections: 2, BytesSent: 5, FailuresTotal: 2, Inflight: 1, PortsInUse: 3,
		Failures: map[string]int64{"ECONNRESET": 2}, States: map[string]int{"time_wait": 6}, Counters: map[string]int64{"Tcp.ActiveOpens": 2}}
	sum, one := a, a
	sum.Failures, one.Failures = map[string]int64{"ECONNRESET": 1}, map[string]int64{"ECONNRESET": 1}
	sum.States, one.States = map[string]int{"time_wait": 4}, map[string]int{"time_wait": 4}
	sum.Counters, one.Counters = map[string]int64{"Tcp.ActiveOpens": 7}, map[string]int64{"Tcp.ActiveOpens": 7}
	sum.Add(b, false)
	one.Add(b, true)
	want := Interval{Warmup: true, Transactions: 5, Connections: 3, BytesSent: 15, FailuresTotal: 3, Inflight: 3,
		Failures: map[string]int64{"ECONNRESET": 3}}
	wantSum, wantOne := want, want
	wantSum.PortsInUse, wantSum.States, wantSum.Counters = 8, map[string]int{"time_wait": 10}, map[string]int64{"Tcp.ActiveOpens": 9}
	wantOne.Failures = map[string]int64{"ECONNRESET": 3}
	wantOne.PortsInUse, wantOne.States, wantOne.Counters = 5, map[string]int{"time_wait": 6}, map[string]int64{"Tcp.ActiveOpens": 7}
	if !reflect.DeepEqual(sum, wantSum) {
		t.Errorf("Add(b, false) = %+v, want %+v", sum, wantSum)
	}
	if !reflect.DeepEqual(one, wantOne) {
		t.Errorf("Add(b, true) = %+v, want %+v", one, wantOne)
	}
	var empty Interval
	empty.Add(Interval{Failures: map[string]int64{}}, false)
	if empty.Failures != nil || empty.States != nil || empty.Counters != nil {
		t.Errorf("adding empty maps made %+v", empty)
	}
}

func TestRunAddAndCPUPer(t *testing.T) {
	r := Run{Failures: map[string]int64{}}
	r.Add(&Run{Counts: Counts{Connections: 2, Transactions: 4}, Failures: map[string]int64{"ETIMEDOUT": 1}, FailuresTotal: 1,
		CPU: CPU{UserNs: 100, SysNs: 10, UserNsPerConn: 99}})
	r.Add(&Run{Counts: Counts{Connections: 2, Transactions: 4, BytesSent: 8}, FailuresTotal: 0, CPU: CPU{UserNs: 60, ProcessSysNs: 3}})
	r.CPU.Per(r.Counts)
	want := Run{Counts: Counts{Connections: 4, Transactions: 8, BytesSent: 8}, Failures: map[string]int64{"ETIMEDOUT": 1}, FailuresTotal: 1,
		CPU: CPU{UserNs: 160, SysNs: 10, ProcessSysNs: 3, UserNsPerConn: 40, UserNsPerTransaction: 20}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v, want %+v", r, want)
	}
}
