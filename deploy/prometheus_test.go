package deploy

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

func TestPromtoolAcceptsRulesAndConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "tokenwatch-rules.yml"},
		{"test", "rules", "tokenwatch-rules.test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		if out, err := runTool(t, "prometheus", nil, promtool, args...); err != nil || !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// externalMetrics are the only names the rules may use that tokenwatch does
// not export itself, each from the tool that does.
var externalMetrics = map[string]string{
	"up":                         "Prometheus, for each scrape target",
	"push_time_seconds":          "the Pushgateway, for each pushed group",
	"push_failure_time_seconds":  "the Pushgateway, for each pushed group",
	"node_textfile_scrape_error": "node_exporter's textfile collector",
}

// Every metric named in the alert rules and in the dashboard is one that
// tokenwatch exports, read from real expositions: the one `tokenwatch demo`
// prints after two passes (the second knows the first's success and
// outputs), and serve's /metrics for the daemon's own series.
func TestQueriedMetricsAreExported(t *testing.T) {
	exported := exportedMetrics(t)
	if len(exported) < 10 {
		t.Fatalf("only %d metrics in the exposition", len(exported))
	}
	used := map[string][]string{} // metric -> where
	for where, expr := range ruleExprs(t) {
		for _, name := range metricNames(expr) {
			used[name] = append(used[name], where)
		}
	}
	dashboardNames := 0
	for where, expr := range dashboardExprs(t) {
		for _, name := range metricNames(expr) {
			used[name] = append(used[name], where)
			dashboardNames++
		}
	}
	if dashboardNames < 10 {
		t.Fatalf("found only %d metric references in the dashboard", dashboardNames)
	}
	for name, where := range used {
		if exported[name] {
			continue
		}
		if _, ok := externalMetrics[name]; ok && !strings.HasPrefix(strings.Join(where, ""), "dashboard") {
			continue
		}
		t.Errorf("%s (used in %s) is not exported by tokenwatch", name, strings.Join(where, ", "))
	}
}

func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out, err := runTool(t, ".", nil, binary, "demo", "--passes", "2")
	if err != nil {
		t.Fatalf("tokenwatch demo: %v\n%s", err, out)
	}
	i := strings.Index(out, "# HELP ")
	if i < 0 {
		t.Fatalf("the demo printed no metrics:\n%s", out)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(out[i:]))
	if err != nil {
		t.Fatalf("parse the demo's exposition: %v", err)
	}
	names := map[string]bool{}
	for name := range families {
		names[name] = true
	}
	for name := range serveMetrics(t) {
		names[name] = true
	}
	return names
}

// serveMetrics scrapes a `tokenwatch serve` once it is ready.
func serveMetrics(t *testing.T) map[string]bool {
	t.Helper()
	addr := freeAddr(t)
	srv := newServer(t, addr, tokenwatchConfig{courier: fakeCourier(t, "ok")})
	defer srv.proc.stop()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape serve: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse serve's exposition: %v", err)
	}
	names := map[string]bool{}
	for name := range families {
		names[name] = true
	}
	return names
}

func ruleExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("prometheus/tokenwatch-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["rule "+r.Alert] = r.Expr
		}
	}
	return out
}

func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("grafana/tokenwatch-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	out := map[string]string{}
	for _, p := range dash.Panels {
		for i, target := range p.Targets {
			out["dashboard panel "+p.Title+"#"+string(rune('A'+i))] = target.Expr
		}
	}
	labelValues := regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range dash.Templating.List {
		raw, _ := json.Marshal(v.Query)
		if m := labelValues.FindStringSubmatch(string(raw)); m != nil {
			out["dashboard variable "+v.Name] = m[1]
		}
	}
	return out
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlNumbers   = regexp.MustCompile(`\b[0-9][0-9a-zA-Z_.]*`) // 600, 1e9, 5m
	promqlGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promqlModifiers = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true, "atan2": true}
)

// metricNames lists the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges, numbers, grouping
// clauses, function calls and keywords are taken out. promtool has checked
// the syntax; this only finds the names.
func metricNames(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, `""`)
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlNumbers.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, m := range promqlIdent.FindAllString(s, -1) {
		if strings.HasSuffix(m, "(") || promqlModifiers[strings.ToLower(m)] {
			continue // a function call or a keyword
		}
		names = append(names, m)
	}
	sort.Strings(names)
	return names
}

func TestMetricNames(t *testing.T) {
	tests := map[string]string{
		`max by (check, type) (tokenwatch_check_outcome{outcome="invalid"}) == 1`:                                      "tokenwatch_check_outcome",
		`(time() - max(tokenwatch_run_last_timestamp_seconds) > 600) or absent(tokenwatch_run_last_timestamp_seconds)`: "tokenwatch_run_last_timestamp_seconds tokenwatch_run_last_timestamp_seconds",
		`sum by (kind, result) (increase(tokenwatch_notifications_total[$__rate_interval]))`:                           "tokenwatch_notifications_total",
		`node_textfile_mtime_seconds{file=~".*tokenwatch.*\\.prom"} > 900`:                                             "node_textfile_mtime_seconds",
		`a_total / on (check) group_left (type) b_info offset 5m`:                                                      "a_total b_info",
	}
	for expr, want := range tests {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
