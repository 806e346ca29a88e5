// Package alertmanager delivers tokenwatch's alerts to Prometheus
// Alertmanager, which routes, groups, silences and inhibits them with the
// rest of a team's pages.
//
// Alertmanager forgets an alert it does not hear about again: Prometheus
// re-sends every active alert on every evaluation. tokenwatch does the same
// on every pass (Sync), each alert valid until a little after the next
// pass should have sent it again, and ends an alert at once when its check
// is resolved (Send). Every configured URL gets every alert, as Prometheus
// sends to every replica of a cluster: the replicas share silences and
// de-duplicate notifications, not alerts.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/version"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Notifier posts alerts to every configured Alertmanager.
type Notifier struct {
	urls   []string
	labels map[string]string
	client *http.Client
	window time.Duration
	now    func() time.Time
}

var (
	_ notify.Notifier = (*Notifier)(nil)
	_ notify.Syncer   = (*Notifier)(nil)
)

// Options configure the notifier.
type Options struct {
	// URLs are the Alertmanagers' base URLs, one per replica
	// (http://alertmanager:9093, or with the path of --web.route-prefix).
	URLs []string
	// Labels are added to every alert. They must not name a label
	// tokenwatch sets (ReservedLabels): the configuration refuses those.
	Labels map[string]string
	// Client is the HTTP client; nil means version.Client with a 10s
	// timeout, which follows no redirect.
	Client *http.Client
	// ResendWindow is how long an alert sent by Send (or by Sync without
	// a ValidFor of its own) stays active without being sent again;
	// 0 means DefaultResendWindow.
	ResendWindow time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultResendWindow is alertmanager.resend_window's default: a run every
// 5 minutes can miss two before its alerts lapse.
const DefaultResendWindow = 15 * time.Minute

// maxAnswer bounds what is read of Alertmanager's answer: an empty body or
// a short error is all it sends.
const maxAnswer = 4 << 10

// New returns an Alertmanager notifier.
func New(o Options) *Notifier {
	if o.Client == nil {
		o.Client = version.Client(10 * time.Second)
	}
	if o.ResendWindow == 0 {
		o.ResendWindow = DefaultResendWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Notifier{urls: o.URLs, labels: o.Labels, client: o.Client, window: o.ResendWindow, now: o.Now}
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return name }

// name is the notifier's name in reports, errors, metrics and the state.
const name = "alertmanager"

// Send implements notify.Notifier: an alert or a reminder is posted
// active, a resolution ended now. A notice (about tokenwatch itself) has
// no alert name and is not for Alertmanager: it is dropped as delivered.
// Alertmanager has no threads.
func (n *Notifier) Send(ctx context.Context, m notify.Message) (*notify.Thread, error) {
	return nil, n.post(ctx, Alerts(m.Decision, n.labels, n.window, n.now()))
}

// SendSummary implements notify.Notifier: Alertmanager groups alerts
// itself, so a summary is every message's alerts in one request.
func (n *Notifier) SendSummary(ctx context.Context, ms []notify.Message) error {
	now := n.now()
	var all []Alert
	for _, m := range ms {
		all = append(all, Alerts(m.Decision, n.labels, n.window, now)...)
	}
	return n.post(ctx, all)
}

// Sync implements notify.Syncer: every active alert, each valid for its
// ValidFor (the resend window when 0), in one request.
func (n *Notifier) Sync(ctx context.Context, active []notify.Active) error {
	now := n.now()
	var all []Alert
	for _, a := range active {
		window := a.ValidFor
		if window <= 0 {
			window = n.window
		}
		d := a.Decision
		if d.Kind == alert.KindRotate || d.Kind == alert.KindTLSExpiry {
			// Its own name, and its band alone: the band before was ended
			// by the message that changed it.
			all = append(all, activeLifecycleAlert(d, n.labels, now.Add(window), now))
			continue
		}
		d.Kind = alert.KindAlert
		d.Previous = "" // an earlier outcome was ended when it changed
		all = append(all, Alerts(d, n.labels, window, now)...)
	}
	return n.post(ctx, all)
}

// post sends alerts to every Alertmanager, each once: the next pass sends
// again whatever is still true, so retrying within the pass would only
// delay the other notifiers. It succeeds when every Alertmanager accepted
// them; otherwise the message stays in the outbox and goes to all of them
// again, which is harmless (Alertmanager keeps one alert per label set).
func (n *Notifier) post(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return &notify.DeliveryError{Notifier: name, Class: notify.Permanent, Reason: "encode the alerts: " + err.Error()}
	}
	var failed []string
	class := notify.Class("")
	for _, u := range n.urls {
		f := n.postOnce(ctx, u, body)
		if f == nil {
			continue
		}
		if ctx.Err() != nil {
			return &notify.DeliveryError{Notifier: name, Class: notify.Transient, Reason: "stopped before every Alertmanager accepted the alerts", Attempts: 1, Stopped: ctx.Err()}
		}
		failed = append(failed, f.Error())
		class = worse(class, f.class)
	}
	if failed == nil {
		return nil
	}
	reason := strings.Join(failed, "; ")
	if len(n.urls) > 1 {
		reason = fmt.Sprintf("%d of %d Alertmanagers did not accept the alerts: %s", len(failed), len(n.urls), reason)
	}
	return &notify.DeliveryError{Notifier: name, Class: class, Reason: reason, Attempts: 1}
}

// worse is the class that says more about what must happen: a person must
// act (permanent) over wait (rate limited) over retry (transient).
func worse(a, b notify.Class) notify.Class {
	rank := map[notify.Class]int{"": 0, notify.Transient: 1, notify.RateLimited: 2, notify.Permanent: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// failure is one Alertmanager's refusal, classified; its reason names the
// Alertmanager by scheme and host only.
type failure struct {
	class  notify.Class
	reason string
}

func (f *failure) Error() string { return f.reason }

// postOnce posts body to one Alertmanager's /api/v2/alerts.
func (n *Notifier) postOnce(ctx context.Context, base string, body []byte) *failure {
	where, endpoint, err := alertsURL(base)
	if err != nil {
		return &failure{class: notify.Permanent, reason: "alertmanager.urls has an entry that is not a URL"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return &failure{class: notify.Permanent, reason: where + ": cannot build the request"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error quotes the whole URL
		}
		return &failure{class: notify.Transient, reason: fmt.Sprintf("%s: %v", where, err)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return classify(where, resp.StatusCode, answer)
}

// alertsURL is the alerts endpoint under a configured base URL, and the
// base as errors name it (scheme and host: no path, query or user).
func alertsURL(base string) (where, endpoint string, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", err
	}
	where = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v2/alerts"
	u.RawPath = ""
	return where, u.String(), nil
}

// classify reads one Alertmanager's answer: 200 is a delivery; a refusal
// says what a person must do (permanent), a 429 to wait, a 5xx to retry.
func classify(where string, status int, answer []byte) *failure {
	text := excerpt(answer)
	switch {
	case status == http.StatusOK:
		return nil
	case status == http.StatusBadRequest:
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("%s refused the alerts as invalid (HTTP 400 %s): a tokenwatch bug, please report it", where, text)}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("%s refused tokenwatch (HTTP %d): the Alertmanager, or a proxy before it, wants credentials tokenwatch does not send; allow tokenwatch through or give it another URL", where, status)}
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("%s has no /api/v2/alerts (HTTP %d): check that alertmanager.urls names an Alertmanager 0.16 or later, with the path of its --web.route-prefix if it has one", where, status)}
	case status == http.StatusTooManyRequests:
		return &failure{class: notify.RateLimited, reason: fmt.Sprintf("%s is rate limiting (HTTP 429)", where)}
	case status >= 300 && status < 400:
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("%s answered a redirect (HTTP %d); redirects are not followed: put the final URL in alertmanager.urls", where, status)}
	case status >= 500 || status == http.StatusRequestTimeout:
		return &failure{class: notify.Transient, reason: fmt.Sprintf("%s answered HTTP %d %s", where, status, text)}
	}
	return &failure{class: notify.Permanent, reason: fmt.Sprintf("%s answered HTTP %d %s", where, status, text)}
}

// excerpt is the start of an answer, fit for a log line and a metric's
// reason: printable, one line, at most 200 bytes, quoted.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(notify.Printable(string(b))), " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return fmt.Sprintf("%q", s)
}
