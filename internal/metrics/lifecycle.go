package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
)

// lifecycleSeries exports each check's credential lifecycle as absolute
// timestamps, as x509-certificate-exporter does for certificates: the
// value stays constant, and a rule computes the age or the time left with
// time(). A series is absent until known (a check not yet run, a plain
// http endpoint), never 0: 0 would read as 1970.
type lifecycleSeries struct {
	firstSeen, issued, rotateAfter, notAfter *prometheus.Desc

	mu     sync.Mutex
	order  []*lifecycleRecord
	byName map[string]*lifecycleRecord
}

// lifecycleRecord is what one check's lifecycle series say.
type lifecycleRecord struct {
	name, typ   string
	fingerprint string // the secret under test now
	rotateAfter float64
	known       bool
	lifecycle   alert.Lifecycle
}

func newLifecycleSeries() *lifecycleSeries {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"check", "type"}, nil)
	}
	return &lifecycleSeries{
		firstSeen: desc("tokenwatch_credential_first_seen_timestamp_seconds",
			"When tokenwatch first saw the check's current secret (Unix time)."),
		issued: desc("tokenwatch_credential_issued_timestamp_seconds",
			"When the check's current secret was issued (Unix time): issued_at when it was configured for this secret, else its first sighting."),
		rotateAfter: desc("tokenwatch_credential_rotate_after_seconds",
			"The check's rotate_after: the secret's maximum age. Absent when none is configured."),
		notAfter: desc("tokenwatch_tls_cert_not_after_timestamp_seconds",
			"The earliest expiry among the leaf certificates the check's https endpoint serves now, those seen within the last hour (Unix time). Absent for http."),
		byName: map[string]*lifecycleRecord{},
	}
}

// set makes the records match the configured checks.
func (s *lifecycleSeries) set(list []config.Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byName := make(map[string]*lifecycleRecord, len(list))
	order := make([]*lifecycleRecord, 0, len(list))
	for _, c := range list {
		rec, ok := s.byName[c.Name]
		if !ok || rec.typ != c.Type {
			rec = &lifecycleRecord{name: c.Name, typ: c.Type}
		}
		rec.fingerprint, rec.rotateAfter = c.Secret().Fingerprint(), c.RotateAfter.Seconds()
		byName[c.Name] = rec
		order = append(order, rec)
	}
	s.byName, s.order = byName, order
}

// report takes one pass's lifecycles. A pass that could not read the
// state has none, and the series keep what they said.
func (s *lifecycleSeries) report(rep *job.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, l := range rep.Lifecycles {
		if rec := s.byName[name]; rec != nil {
			rec.lifecycle, rec.known = l, true
		}
	}
	for _, r := range rep.Results {
		if rec := s.byName[r.Check]; rec != nil && !r.Interrupted && r.Fingerprint != "" {
			rec.fingerprint = r.Fingerprint
		}
	}
}

// Describe implements prometheus.Collector.
func (s *lifecycleSeries) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.firstSeen, s.issued, s.rotateAfter, s.notAfter} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *lifecycleSeries) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, rec *lifecycleRecord) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, rec.name, rec.typ)
	}
	for _, rec := range s.order {
		if rec.rotateAfter > 0 {
			gauge(s.rotateAfter, rec.rotateAfter, rec)
		}
		if !rec.known {
			continue
		}
		l := rec.lifecycle
		if first := l.FirstSeen(rec.fingerprint); !first.IsZero() {
			gauge(s.firstSeen, unix(first), rec)
		}
		if issued, _ := l.Issued(rec.fingerprint); !issued.IsZero() {
			gauge(s.issued, unix(issued), rec)
		}
		if w, ok := l.Served(); ok {
			gauge(s.notAfter, unix(w.NotAfter), rec)
		}
	}
}
