// Package metrics exports what tokenwatch sees as Prometheus metrics: on
// /metrics (serve), in a node_exporter textfile and to a Pushgateway (run).
// All three are written from one registry, so they carry the same series.
package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

// Metrics is tokenwatch's registry and the metrics in it. It is a
// job.Output: each pass's report updates it.
type Metrics struct {
	Registry *prometheus.Registry

	checks                  *checkSeries
	lifecycle               *lifecycleSeries
	notifications           *totals
	notifiers               *notifierHealth
	outputs                 *outputs
	runLast, runDuration    prometheus.Gauge
	runLastSuccess, pending *optionalGauge
	skipped                 *prometheus.CounterVec // serve only
	skippedNames            []string               // the checks skipped counts exist for
	reloadOK, reloadLast    prometheus.Gauge       // serve only
}

var _ job.Output = (*Metrics)(nil)

// New creates the registry with every series of every check present from
// the first exposition: a check that has not run yet reads up 0 and all
// outcomes 0, never a missing series.
func New(list []config.Check) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), checks: newCheckSeries(), lifecycle: newLifecycleSeries()}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		m.Registry.MustRegister(g)
		return g
	}
	single := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		m.Registry.MustRegister(g)
		return g
	}
	m.Registry.MustRegister(m.checks, m.lifecycle)
	m.notifications = newTotals()
	m.notifiers = newNotifierHealth()
	m.outputs = newOutputs()
	m.Registry.MustRegister(m.notifications, m.notifiers, m.outputs)
	m.runLast = single("tokenwatch_run_last_timestamp_seconds", "When the last pass started (Unix time).")
	m.runDuration = single("tokenwatch_run_duration_seconds", "Duration of the last pass.")
	m.runLastSuccess = &optionalGauge{desc: prometheus.NewDesc("tokenwatch_run_last_success_timestamp_seconds",
		"When a pass last delivered everything it had to (Unix time). Absent until known.", nil, nil)}
	m.pending = &optionalGauge{desc: prometheus.NewDesc("tokenwatch_notifications_pending",
		"Messages not delivered yet, kept for the next run. Absent until known.", nil, nil)}
	m.Registry.MustRegister(m.runLastSuccess, m.pending)
	build := gauge("tokenwatch_build_info", "1, labelled with the build's version and Go version.", "version", "goversion")
	build.WithLabelValues(version.Version, version.GoVersion()).Set(1)
	m.SetChecks(list)
	return m
}

// NewServe is New plus the metrics only the daemon has: skipped runs and
// configuration reloads.
func NewServe(list []config.Check) *Metrics {
	m := New(nil)
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenwatch_check_skipped_total",
		Help: "Scheduled runs skipped because the check's previous run was still going."}, []string{"check"})
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tokenwatch_config_last_reload_successful",
		Help: "1 when the last configuration (re)load succeeded, else 0."})
	m.reloadLast = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tokenwatch_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration was last loaded successfully (Unix time)."})
	m.Registry.MustRegister(m.skipped, m.reloadOK, m.reloadLast)
	m.SetChecks(list)
	return m
}

// SetChecks makes the series match the configured checks: new checks get
// their zero series, removed checks lose theirs (serve, after a reload).
func (m *Metrics) SetChecks(list []config.Check) {
	m.checks.set(list)
	m.lifecycle.set(list)
	if m.skipped == nil {
		return
	}
	keep := make(map[string]bool, len(list))
	for _, c := range list {
		keep[c.Name] = true
		m.skipped.WithLabelValues(c.Name)
	}
	for _, name := range m.skippedNames {
		if !keep[name] {
			m.skipped.DeleteLabelValues(name)
		}
	}
	m.skippedNames = m.skippedNames[:0]
	for _, c := range list {
		m.skippedNames = append(m.skippedNames, c.Name)
	}
}

// SetNotifiers makes each notifier's common message counts exist from the
// first exposition, so a rate over them starts at 0, not at the first failure.
func (m *Metrics) SetNotifiers(names []string) {
	m.notifications.declare(names)
	m.notifiers.declare(names)
}

// Name implements job.Output.
func (m *Metrics) Name() string { return "metrics" }

// Report implements job.Output: it records one pass.
func (m *Metrics) Report(_ context.Context, rep *job.Report) error {
	m.Shared(rep)
	m.runLast.Set(unix(rep.Started))
	m.runDuration.Set(rep.Duration.Seconds())
	return nil
}

// optionalGauge is a gauge that is absent until set. A one-shot run that
// cannot know the last success must push nothing rather than 0: with the
// Pushgateway's POST, an absent series keeps the value pushed before.
type optionalGauge struct {
	desc  *prometheus.Desc
	mu    sync.Mutex
	v     float64
	known bool
}

func (g *optionalGauge) set(v float64) { g.mu.Lock(); g.v, g.known = v, true; g.mu.Unlock() }

// Describe implements prometheus.Collector.
func (g *optionalGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *optionalGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.known {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.v)
	}
}

// Skipped counts a scheduled run skipped because the last one still runs
// (metrics made by NewServe).
func (m *Metrics) Skipped(check string) { m.skipped.WithLabelValues(check).Inc() }

// Reloaded records the result of a configuration (re)load (metrics made by NewServe).
func (m *Metrics) Reloaded(ok bool, at time.Time) {
	if ok {
		m.reloadOK.Set(1)
		m.reloadLast.Set(unix(at))
		return
	}
	m.reloadOK.Set(0)
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// totals exports tokenwatch_notifications_total from the report's Totals,
// which the state keeps across runs: each run's textfile or push carries
// the whole count, so increase() and resets() read a real counter instead
// of one that restarts at 0 in every process.
type totals struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	v    map[[3]string]float64 // notifier, kind, result
}

func newTotals() *totals {
	return &totals{desc: prometheus.NewDesc("tokenwatch_notifications_total",
		"Notifications by notifier, kind and result (sent, failed), cumulative since the state began.",
		[]string{"notifier", "kind", "result"}, nil), v: map[[3]string]float64{}}
}

// notificationKinds are every kind of message the contract lists, for
// which each notifier's series exist from the start.
var notificationKinds = []alert.Kind{alert.KindAlert, alert.KindReminder, alert.KindResolved, alert.KindFlapping,
	alert.KindEgress, alert.KindRotate, alert.KindTLSExpiry, alert.KindNotice}

// declare makes each notifier's series of every kind exist at 0 until
// counted: increase() over a series that appears at its first failure
// sees no increase.
func (t *totals) declare(notifiers []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range notifiers {
		for _, kind := range notificationKinds {
			for _, result := range []string{"sent", "failed"} {
				key := [3]string{n, string(kind), result}
				if _, ok := t.v[key]; !ok {
					t.v[key] = 0
				}
			}
		}
	}
}

// set takes the cumulative values of one pass. A series the state no
// longer has keeps its last value: a counter never goes back.
func (t *totals) set(list []job.Total) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, each := range list {
		t.v[[3]string{each.Notifier, each.Kind, each.Result}] = each.Value
	}
}

// Describe implements prometheus.Collector.
func (t *totals) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }

// Collect implements prometheus.Collector.
func (t *totals) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.v {
		ch <- prometheus.MustNewConstMetric(t.desc, prometheus.CounterValue, v, k[0], k[1], k[2])
	}
}

// outputs exports when each output (textfile, pushgateway, heartbeat,
// state) last succeeded and last failed, as the pass knew it when it
// began. An output cannot report its own result, so a failed push shows
// in the next run's textfile and push: the rule TokenwatchRunsNotDelivering
// names the output from these.
type outputs struct {
	success, failure *prometheus.Desc
	mu               sync.Mutex
	v                map[string]job.OutputStatus
}

func newOutputs() *outputs {
	return &outputs{
		success: prometheus.NewDesc("tokenwatch_output_last_success_timestamp_seconds",
			"When the output last succeeded (Unix time; 0: never), as known when the last pass began.", []string{"output"}, nil),
		failure: prometheus.NewDesc("tokenwatch_output_last_failure_timestamp_seconds",
			"When the output last failed (Unix time; 0: never), as known when the last pass began.", []string{"output"}, nil),
	}
}

// set takes one pass's statuses. A pass that could not read the state
// knows none (nil) and exports none, so a Pushgateway POST keeps the ones
// pushed before.
func (o *outputs) set(v map[string]job.OutputStatus) {
	if v == nil {
		return
	}
	o.mu.Lock()
	o.v = v
	o.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (o *outputs) Describe(ch chan<- *prometheus.Desc) { ch <- o.success; ch <- o.failure }

// Collect implements prometheus.Collector.
func (o *outputs) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name, st := range o.v {
		ch <- prometheus.MustNewConstMetric(o.success, prometheus.GaugeValue, unix(st.LastSuccess), name)
		ch <- prometheus.MustNewConstMetric(o.failure, prometheus.GaugeValue, unix(st.LastFailure), name)
	}
}
