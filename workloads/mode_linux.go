package workloads

// mode is where a workload's connections depart from the common state
// machine (conn_linux.go), at the few points where one does; a nil hook
// keeps the common behaviour. A workload that needs hooks gets a file of
// its own (hold_linux.go) and an entry in modes.
//
// Run copies the run's mode into the engine once, so on the hot path a
// hook costs a nil check, as a flag would, and allocates nothing.
type mode struct {
	// setup adjusts the engine after the common setup, before the loops
	// are made.
	setup func(e *engine)
	// until returns the run's end, ns since base (0: not known yet), for a
	// run whose end is decided while it goes rather than set up front.
	// Such a run ends at once on Ctrl-C (nothing in flight must finish),
	// and its elapsed time runs to its end.
	until func(e *engine) int64
	// connected takes over slot s once its handshake, completed at t, is
	// recorded.
	connected func(l *loop, s int32, t int64)
	// finish takes over slot s whose transaction completed at t.
	finish func(l *loop, s int32, t int64)
	// failed takes over slot s whose connection or transaction failed
	// with err.
	failed func(l *loop, s int32, err error)
	// collect adds loop l's own figures to res after the run.
	collect func(e *engine, l *loop, res *Result)
}

// modes lists, by Registry name, the workloads that need hooks; the others
// run the common state machine alone.
var modes = map[string]mode{
	"hold": holdMode,
}
