package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Inputs        []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int         `json:"id"`
		Type       string      `json:"type"`
		Title      string      `json:"title"`
		Datasource *datasource `json:"datasource"`
		GridPos    struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			RefID      string      `json:"refId"`
			Expr       string      `json:"expr"`
			Datasource *datasource `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

var metricName = regexp.MustCompile(`\bconnbench_[a-z0-9_]+\b`)

// TestDashboard: deploy/grafana-connbench.json parses as a Grafana
// dashboard, takes its Prometheus from the ${DS_PROMETHEUS} variable
// everywhere, and every PromQL expression (panels and variables) names only
// metrics the endpoint serves, with balanced brackets; the panels the
// issue asks for are there.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana-connbench.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("not a dashboard: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 || len(d.Panels) == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d, %d panels", d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v: want the one DS_PROMETHEUS Prometheus input", d.Inputs)
	}
	served := Names()
	var exprs []string
	hasDS := false
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			hasDS = hasDS || (v.Name == "DS_PROMETHEUS" && string(v.Query) == `"prometheus"`)
		case "query":
			if v.Datasource == nil || v.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("variable %s: datasource %+v", v.Name, v.Datasource)
			}
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil || q.Query == "" {
				t.Errorf("variable %s: query %s", v.Name, v.Query)
			}
			exprs = append(exprs, q.Query)
		}
	}
	if !hasDS {
		t.Error("no DS_PROMETHEUS datasource variable of type prometheus")
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: datasource %+v", p.Title, p.Datasource)
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != "${DS_PROMETHEUS}" || tg.RefID == "" {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, e := range exprs {
		names := metricName.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("expression names no connbench metric: %s", e)
		}
		for _, n := range names {
			if !slices.Contains(served, n) {
				t.Errorf("expression names %s, which the endpoint does not serve: %s", n, e)
			}
		}
		if !balanced(e) {
			t.Errorf("unbalanced brackets or quotes: %s", e)
		}
	}
	// What the issue asks the dashboard to show.
	for _, want := range []string{"rate(connbench_transactions_total", "histogram_quantile(0.99", "by (class)", `state="time_wait"`} {
		if !strings.Contains(all, want) {
			t.Errorf("no expression with %q", want)
		}
	}
}

// balanced reports whether e's brackets nest and its double quotes pair.
func balanced(e string) bool {
	var stack []rune
	pair := map[rune]rune{')': '(', ']': '[', '}': '{'}
	quoted := false
	for _, r := range e {
		if r == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		switch r {
		case '(', '[', '{':
			stack = append(stack, r)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pair[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !quoted
}
