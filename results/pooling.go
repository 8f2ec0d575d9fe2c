package results

// Pooling is what a pool did with its connections: the reuse limits it ran
// with and how many connections it replaced, and why.
type Pooling struct {
	// RequestsPerConn is --requests-per-conn (0: inf, never recycled) and
	// MaxConnAgeNs --max-conn-age (0: none).
	RequestsPerConn int64 `json:"requests_per_conn"`
	MaxConnAgeNs    int64 `json:"max_conn_age_ns"`
	// Recycled counts connections the client closed at a limit and
	// replaced; the replacements are among Counts.Connections.
	Recycled int64 `json:"recycled"`
	// ServerClosed counts pooled connections the server ended: with a
	// response that said so (HTTP "Connection: close", nginx's
	// keepalive_requests), while idle (a keep-alive timeout, seen in an
	// open-loop pool), or under a request that got nothing back.
	ServerClosed int64 `json:"server_closed"`
	// Retried counts the last kind: transactions whose request met a
	// pooled connection the server had closed, got not one response byte,
	// and were retried once on a new connection (the retry's handshake in
	// their latency) instead of counted as failures.
	Retried int64 `json:"retried"`
}

// Add sums o's counts into p; the limits are kept.
func (p *Pooling) Add(o *Pooling) {
	p.Recycled += o.Recycled
	p.ServerClosed += o.ServerClosed
	p.Retried += o.Retried
}

// mergePooling sums the parts' pooling records; nil when none has one.
func mergePooling(parts []part) *Pooling {
	var out *Pooling
	for _, p := range parts {
		if p.run.Pooling == nil {
			continue
		}
		if out == nil {
			c := *p.run.Pooling
			out = &c
			continue
		}
		out.Add(p.run.Pooling)
	}
	return out
}
