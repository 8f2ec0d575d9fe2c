package runner

import (
	"fmt"
	"strings"

	"github.com/connbench/connbench/explain"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results/view"
)

// HostChecklist reads what decides connection setup on this host (this
// network namespace), under procRoot ("" or "/proc"), and says what it
// means: the sysctls (explain.Checklist), the open-file limit and the TCP
// sockets there are now by state.
func HostChecklist(procRoot string) []explain.Item {
	items := explain.Checklist(kernel.ReadSysctls(procRoot, append(kernel.DefaultSysctls, "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_abort_on_overflow")))
	soft, hard, err := kernel.OpenFileLimit()
	if err == nil {
		items = append(items, explain.Item{
			Title:   "open files",
			Setting: fmt.Sprintf("RLIMIT_NOFILE %s (hard %s)", view.Count(int64(soft)), view.Count(int64(hard))),
			Meaning: fmt.Sprintf("one connbench process holds at most ~%s connections (each is a descriptor; TIME_WAIT sockets are not); with the built-in listener in the same process, half that. A server here meets the same wall.", view.Count(int64(max(soft, 64)-64))),
			Warn:    hard < 65536,
		})
	}
	if s, err := kernel.NewSampler(); err == nil {
		smp, err := s.Sample(kernel.Filter{})
		s.Close()
		if err == nil {
			var parts []string
			for st := kernel.State(1); st < kernel.NumStates; st++ {
				if n := smp.States[st]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s %s", st, view.Count(int64(n))))
				}
			}
			if len(parts) == 0 {
				parts = []string{"none"}
			}
			items = append(items, explain.Item{Title: "sockets now", Setting: "all TCP sockets in this network namespace", Meaning: strings.Join(parts, ", ")})
		}
	}
	return items
}
