// Package explain says why a run looked as it did: port exhaustion, the
// kernel's TIME_WAIT reuse rules, backlog overflow, Fast Open not used, the
// built-in listener sharing the CPUs, what a host's settings mean. Its
// functions are pure: they read a result (and the sysctls in force) and
// return sentences; they never read the system, print or run anything.
package explain

import (
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

// Context is what the notes need beyond the run record itself.
type Context struct {
	Config     workloads.Config      // the workload configuration the run used
	Sysctls    map[string]string     // the sysctls in force for the run
	Builtin    bool                  // the target was the built-in listener in this process
	Prediction *workloads.Prediction // the port-exhaustion prediction; nil when none was made
	CPUs       int                   // the host's CPUs (results.Host.CPUs); 0: unknown
}

// Notes returns every note for run r, in the order a reader needs them:
// what limited the rate, then the hold, Fast Open, emulated-path and
// experiment notes that apply.
func Notes(r *results.Run, c Context) []string {
	var out []string
	out = append(out, runNotes(r, c)...)
	out = append(out, holdNotes(r)...)
	out = append(out, poolingNotes(r)...)
	out = append(out, fastOpenNotes(r, c.Config.Socket.FastOpen)...)
	out = append(out, pathNotes(r, c)...)
	out = append(out, experimentNotes(r, c)...)
	out = append(out, tlsNotes(r, c)...)
	return out
}
