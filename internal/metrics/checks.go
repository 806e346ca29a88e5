package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
)

// checkSeries exports every per-check series from one plain record per
// check, turned into samples only when gathered. A pass updates records
// (no label hashing, nothing allocated per series), and a one-shot run
// that writes no textfile and pushes nowhere never builds the samples at
// all: at 10,000 checks, a registry of label-keyed gauges cost more CPU
// and memory than the checks themselves.
type checkSeries struct {
	up, outcome, httpStatus, duration, lastRun, lastOK, failures, expiresIn, tokenInfo, info, flapping, silenced *prometheus.Desc

	mu     sync.Mutex
	byName map[string]*checkRecord
	order  []*checkRecord // configuration order, for a stable exposition
}

// checkRecord is what the series of one check say.
type checkRecord struct {
	name, typ     string
	team, owner   string         // as configured; "" for none
	outcome       checks.Outcome // "" until known: all five outcome series read 0
	httpStatus    int
	duration      time.Duration
	lastRun       time.Time
	lastOK        time.Time
	failuresInRow int
	expiresIn     *int64
	fingerprint   string
	flapping      bool // its alerts wait until it settles
	silenced      bool // a silence or a maintenance window holds its alerts
}

func newCheckSeries() *checkSeries {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &checkSeries{
		up:         desc("tokenwatch_check_up", "1 when the check's last outcome is ok, else 0.", "check", "type"),
		outcome:    desc("tokenwatch_check_outcome", "1 for the check's last outcome, 0 for the other four.", "check", "type", "outcome"),
		httpStatus: desc("tokenwatch_check_http_status", "HTTP status of the check's last answer; 0 when there was none.", "check", "type"),
		duration:   desc("tokenwatch_check_duration_seconds", "Duration of the check's last run, re-checks included.", "check", "type"),
		lastRun:    desc("tokenwatch_check_last_run_timestamp_seconds", "When the check last ran (Unix time).", "check", "type"),
		lastOK:     desc("tokenwatch_check_last_ok_timestamp_seconds", "When the check last had outcome ok (Unix time); 0 if never.", "check", "type"),
		failures:   desc("tokenwatch_check_failures_in_row", "Consecutive results that were not ok.", "check", "type"),
		expiresIn:  desc("tokenwatch_partner_token_expires_in_seconds", "expires_in of the last token a partner issued.", "check"),
		tokenInfo:  desc("tokenwatch_token_info", "1, labelled with the fingerprint (first 8 hex digits of SHA-256) of the secret under test.", "check", "type", "fingerprint"),
		info:       desc("tokenwatch_check_info", "1 for every configured check, labelled with its team and owner (\"\" when unset): a join target for dashboards.", "check", "type", "team", "owner"),
		flapping:   desc("tokenwatch_check_flapping", "1 while the check is flapping (its outcome keeps changing; its alerts wait until it settles), else 0.", "check", "type"),
		silenced:   desc("tokenwatch_check_silenced", "1 while the check is silenced (by a silence or a maintenance window: checked, but its alerts and reminders wait), else 0.", "check", "type"),
		byName:     map[string]*checkRecord{},
	}
}

// set makes the records match the configured checks. A check whose type
// changed starts afresh; one that is gone loses its series.
func (s *checkSeries) set(list []config.Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byName := make(map[string]*checkRecord, len(list))
	order := make([]*checkRecord, 0, len(list))
	for _, c := range list {
		rec, ok := s.byName[c.Name]
		if !ok || rec.typ != c.Type {
			rec = &checkRecord{name: c.Name, typ: c.Type, fingerprint: c.Secret().Fingerprint()}
		}
		rec.team, rec.owner = c.Team, c.Owner
		byName[c.Name] = rec
		order = append(order, rec)
	}
	s.byName, s.order = byName, order
}

// report records one pass. Checks that did not run in it (--only, another
// schedule's pass) still show what the state remembers of them.
func (s *checkSeries) report(rep *job.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, tr := range rep.Tracks {
		if rec := s.byName[name]; rec != nil {
			rec.fromTrack(tr)
		}
	}
	if rep.Mutes != nil { // nil: unknown (no state), as it was
		for _, rec := range s.order {
			_, rec.silenced = rep.Mutes[rec.name]
		}
	}
	for _, r := range rep.Results {
		rec := s.byName[r.Check]
		if rec == nil || r.Interrupted {
			continue
		}
		rec.outcome, rec.httpStatus, rec.duration, rec.lastRun = r.Outcome, r.HTTPStatus, r.Duration, r.Started
		if r.Outcome == checks.OK {
			rec.lastOK = r.Started
		}
		if r.ExpiresIn != nil {
			rec.expiresIn = r.ExpiresIn
		}
		rec.fingerprint = r.Fingerprint
	}
}

func (rec *checkRecord) fromTrack(tr alert.Track) {
	if tr.Outcome != "" {
		rec.outcome = tr.Outcome
	}
	rec.failuresInRow, rec.lastOK, rec.flapping = tr.FailuresInRow, tr.LastOK, tr.Flapping()
	if !tr.LastRun.IsZero() {
		rec.lastRun, rec.httpStatus = tr.LastRun, tr.HTTPStatus
	}
}

// Describe implements prometheus.Collector.
func (s *checkSeries) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.up, s.outcome, s.httpStatus, s.duration, s.lastRun, s.lastOK, s.failures, s.expiresIn, s.tokenInfo, s.info, s.flapping, s.silenced} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *checkSeries) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, rec := range s.order {
		gauge(s.up, boolean(rec.outcome == checks.OK), rec.name, rec.typ)
		for _, o := range checks.Outcomes {
			gauge(s.outcome, boolean(rec.outcome == o), rec.name, rec.typ, string(o))
		}
		gauge(s.httpStatus, float64(rec.httpStatus), rec.name, rec.typ)
		gauge(s.duration, rec.duration.Seconds(), rec.name, rec.typ)
		gauge(s.lastRun, unix(rec.lastRun), rec.name, rec.typ)
		gauge(s.lastOK, unix(rec.lastOK), rec.name, rec.typ)
		gauge(s.failures, float64(rec.failuresInRow), rec.name, rec.typ)
		gauge(s.flapping, boolean(rec.flapping), rec.name, rec.typ)
		gauge(s.silenced, boolean(rec.silenced), rec.name, rec.typ)
		if rec.expiresIn != nil {
			gauge(s.expiresIn, float64(*rec.expiresIn), rec.name)
		}
		gauge(s.tokenInfo, 1, rec.name, rec.typ, rec.fingerprint)
		gauge(s.info, 1, rec.name, rec.typ, rec.team, rec.owner)
	}
}

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
