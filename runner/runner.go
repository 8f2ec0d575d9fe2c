// Package runner makes measured runs: a Spec (validated once, each error
// naming its flag) becomes a Plan, and Plan.Run sets up the path (emulated
// path, namespaces, the built-in listener, processes), executes the
// workload, collects kernel counters and socket states, and returns a
// results.Document. It never prints or exits: what a run has to say while
// it goes reaches the Observer its caller passes, and errors are returned.
//
// Words: a run is one measured execution of one workload, recorded as one
// results.Run; a Plan makes one or more runs (compare's variants and
// repeats); the run command asks for one. A child is a connbench process
// that makes a run (or a share of one) for its parent.
package runner

import (
	"errors"
	"fmt"

	"github.com/connbench/connbench/workloads"
)

// UsageError marks an error caused by bad input (a flag, a value, an
// argument): nothing was started.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// IsUsage reports whether err is (or wraps) a UsageError.
func IsUsage(err error) bool {
	var ue UsageError
	return errors.As(err, &ue)
}

// ChildError is a child connbench process that failed after saying why on
// its standard error: the caller need not print it again.
type ChildError struct {
	Status int // the child's exit status
}

func (e ChildError) Error() string { return fmt.Sprintf("exit status %d", e.Status) }

// Observer is told what a run is doing while it goes. The runner calls it;
// it decides what to show (a terminal line, nothing for --quiet).
type Observer interface {
	// Say is a status line: what is starting, waiting or was decided.
	Say(format string, a ...any)
	// Warn is a line the user must see even with --quiet.
	Warn(format string, a ...any)
	// Live follows one workload run while it goes: its intervals, and its
	// end (Done, which may come more than once).
	Live(cfg workloads.Config) Live
}

// Live follows one workload run.
type Live interface {
	Interval(iv workloads.Interval)
	Done()
}

// Discard is an Observer that shows nothing.
var Discard Observer = discard{}

type discard struct{}

func (discard) Say(string, ...any)          {}
func (discard) Warn(string, ...any)         {}
func (discard) Live(workloads.Config) Live  { return discard{} }
func (discard) Interval(workloads.Interval) {}
func (discard) Done()                       {}
