package results

// Flood is the synflood workload's record of the spoofed SYNs it sent.
type Flood struct {
	RatePerSec float64 `json:"rate_per_sec"`
	Sent       int64   `json:"sent"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// Sources is the prefix the spoofed source addresses came from.
	Sources string `json:"sources"`
}

// mergeFlood sums the parts' spoofed SYNs; nil when none flooded.
func mergeFlood(parts []part) *Flood {
	var out *Flood
	for _, p := range parts {
		f := p.run.Flood
		if f == nil {
			continue
		}
		if out == nil {
			out = &Flood{Sources: f.Sources, FirstError: f.FirstError}
		}
		out.Add(f)
	}
	return out
}
