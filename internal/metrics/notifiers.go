package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/notify"
)

// notifierHealth exports tokenwatch_notifier_up{notifier} (1 after a good
// delivery, 0 after a failed one; absent until a delivery was tried) and
// tokenwatch_notifier_errors_total{notifier,reason}, cumulative across
// runs like the notification counts: a broken notifier is visible on a
// dashboard and to a rule before anyone misses a message.
type notifierHealth struct {
	up, errors *prometheus.Desc

	mu     sync.Mutex
	state  map[string]bool
	counts map[[2]string]float64 // notifier, reason
}

func newNotifierHealth() *notifierHealth {
	return &notifierHealth{
		up: prometheus.NewDesc("tokenwatch_notifier_up",
			"1 when the notifier's last delivery succeeded, 0 when it failed; absent until one was tried.", []string{"notifier"}, nil),
		errors: prometheus.NewDesc("tokenwatch_notifier_errors_total",
			"Failed deliveries by notifier and reason (permanent: a person must fix the configuration; rate_limited; transient), cumulative since the state began.",
			[]string{"notifier", "reason"}, nil),
		state:  map[string]bool{},
		counts: map[[2]string]float64{},
	}
}

// declare makes each notifier's error counts exist at 0 until counted.
func (h *notifierHealth) declare(notifiers []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range notifiers {
		for _, reason := range []notify.Class{notify.Permanent, notify.RateLimited, notify.Transient} {
			key := [2]string{n, string(reason)}
			if _, ok := h.counts[key]; !ok {
				h.counts[key] = 0
			}
		}
	}
}

// set takes one pass's view. A count the state no longer has keeps its
// last value: a counter never goes back.
func (h *notifierHealth) set(up map[string]bool, errs []job.NotifierError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, ok := range up {
		h.state[name] = ok
	}
	for _, e := range errs {
		h.counts[[2]string{e.Notifier, e.Reason}] = e.Value
	}
}

// Describe implements prometheus.Collector.
func (h *notifierHealth) Describe(ch chan<- *prometheus.Desc) { ch <- h.up; ch <- h.errors }

// Collect implements prometheus.Collector.
func (h *notifierHealth) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, ok := range h.state {
		ch <- prometheus.MustNewConstMetric(h.up, prometheus.GaugeValue, boolean(ok), name)
	}
	for k, v := range h.counts {
		ch <- prometheus.MustNewConstMetric(h.errors, prometheus.CounterValue, v, k[0], k[1])
	}
}
