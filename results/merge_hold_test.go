package results

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// holdPart is one process's share of a hold of 20,000/s split three ways.
func holdPart(i int, opened int64, openNs int64) *Document {
	start := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	cfg := fmt.Sprintf(`{"workload":"hold","concurrency":%d,"requests":%d,"rate":%v,"max_inflight":%d,"socket":{"close":"rst"},"interval_ns":1000000000}`,
		[]int{6, 5, 5}[i], opened, 20000.0/3, []int{334, 333, 333}[i])
	return &Document{
		Host: Host{Hostname: "vm"},
		Runs: []Run{{
			Label: "hold", Workload: "hold", Target: "127.0.0.1:9", BuiltinListener: true,
			Config: json.RawMessage(cfg), StartedAt: start.Add(time.Duration(i) * time.Millisecond), DurationNs: int64(12 * time.Second),
			Counts:   Counts{Connections: opened},
			Rates:    Rates{ConnsPerSec: float64(opened) / 12},
			Schedule: &Schedule{RatePerSec: 20000.0 / 3},
			Hold: &Hold{Asked: opened, Opened: opened, Held: opened, OpenNs: openNs,
				UserBytesPerConn: 200, Close: "rst", TimeWaitLeft: 0, Sources: 15},
		}},
	}
}

// TestMergeHoldWholeRate: the merged hold records the whole run's rate,
// connections and in-flight bound in its config (not process 1's share),
// counts new connections per second over the time to open (not the
// hold), and does not call the processes' shares a differing
// configuration.
func TestMergeHoldWholeRate(t *testing.T) {
	m, err := Merge([]Source{
		{"process 1", holdPart(0, 66667, int64(10*time.Second))},
		{"process 2", holdPart(1, 66667, int64(9500*time.Millisecond))},
		{"process 3", holdPart(2, 66666, int64(9800*time.Millisecond))},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Runs[0]
	var cfg struct {
		Rate        float64 `json:"rate"`
		Requests    int64   `json:"requests"`
		Concurrency int     `json:"concurrency"`
		MaxInflight int     `json:"max_inflight"`
		Socket      struct {
			Close string `json:"close"`
		} `json:"socket"`
	}
	if err := json.Unmarshal(r.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Rate != 20000 || cfg.Requests != 200000 || cfg.Concurrency != 16 || cfg.MaxInflight != 1000 {
		t.Errorf("merged config: rate %v, requests %d, concurrency %d, max_inflight %d; want the whole run's 20000, 200000, 16, 1000",
			cfg.Rate, cfg.Requests, cfg.Concurrency, cfg.MaxInflight)
	}
	if cfg.Socket.Close != "rst" {
		t.Errorf("merged config lost the rest of the first's: %s", r.Config)
	}
	if want := 200000 / 10.0; r.Rates.ConnsPerSec != want {
		t.Errorf("new connections/s %v, want %v: over the time to open (10 s), not the run (12 s)", r.Rates.ConnsPerSec, want)
	}
	if r.Hold.Close != "rst" || r.Hold.TimeWaitLeft != 0 || r.Hold.Held != 200000 {
		t.Errorf("merged hold %+v", r.Hold)
	}
	for _, n := range r.Notes {
		if strings.Contains(n, "differs") {
			t.Errorf("the processes' shares called a different configuration: %q", n)
		}
	}
}

// TestMergeHoldDiffers: a hold whose generators differ in more than their
// shares (here the close) is still said to differ.
func TestMergeHoldDiffers(t *testing.T) {
	b := holdPart(1, 66667, int64(9*time.Second))
	b.Runs[0].Config = json.RawMessage(strings.Replace(string(b.Runs[0].Config), `"rst"`, `"fin"`, 1))
	m, err := Merge([]Source{{"a", holdPart(0, 66667, int64(9*time.Second))}, {"b", b}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range m.Runs[0].Notes {
		found = found || strings.Contains(n, "configuration of b differs")
	}
	if !found {
		t.Errorf("no note that b's configuration differs: %q", m.Runs[0].Notes)
	}
}
