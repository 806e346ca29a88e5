package config

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/notify/alertmanager"
)

// Alertmanager says where alerts go besides Slack: every replica of one
// Alertmanager cluster, as Prometheus sends them.
type Alertmanager struct {
	URLs []string
	// Labels are added to every alert; none replaces one tokenwatch sets.
	Labels map[string]string
	// ResendWindow is how long an alert stands, in run, without the next
	// run sending it again (serve uses three schedule intervals).
	ResendWindow time.Duration
}

// DefaultResendWindow is alertmanager.resend_window's default.
const DefaultResendWindow = alertmanager.DefaultResendWindow

// labelName is a Prometheus label name.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// alertmanager reads the alertmanager section.
func (p *parser) alertmanager(n *yaml.Node) *Alertmanager {
	am := &Alertmanager{ResendWindow: DefaultResendWindow}
	seen := p.fields(n, "alertmanager", map[string]func(*yaml.Node){
		"urls":          func(v *yaml.Node) { am.URLs = p.alertmanagerURLs(v) },
		"labels":        func(v *yaml.Node) { am.Labels = p.alertLabels(v) },
		"resend_window": func(v *yaml.Node) { p.duration(v, "alertmanager.resend_window", false, &am.ResendWindow) },
	})
	if seen["urls"] == nil && (resolve(n).Kind == yaml.MappingNode || resolve(n).Tag == "!!null") {
		p.errorf(n, "alertmanager: set urls, the base URL of every Alertmanager replica (for example [http://alertmanager:9093])")
	}
	return am
}

// alertmanagerURLs reads the list of base URLs: absolute http(s), without
// credentials, each once, not the API path itself.
func (p *parser) alertmanagerURLs(n *yaml.Node) []string {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "alertmanager.urls must be a list of at least one URL, one per replica")
		return nil
	}
	var out []string
	for _, item := range n.Content {
		raw, ok := p.str(item, "alertmanager.urls")
		if !ok {
			continue
		}
		if p.httpURL(item, "alertmanager.urls", raw, false) == nil {
			continue
		}
		base := strings.TrimSuffix(raw, "/")
		switch {
		case strings.HasSuffix(base, "/api/v2/alerts") || strings.HasSuffix(base, "/api/v1/alerts"):
			p.errorf(item, "alertmanager.urls: give the Alertmanager's base URL (http://alertmanager:9093), not its API path")
		case slices.Contains(out, base):
			p.errorf(item, "alertmanager.urls: %s is listed twice", shown(item, raw))
		default:
			out = append(out, base)
		}
	}
	return out
}

// alertLabels reads the labels added to every alert.
func (p *parser) alertLabels(n *yaml.Node) map[string]string {
	entries, ok := p.entries(n, "alertmanager.labels")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, e := range entries {
		k := e.key.Value
		v, ok := p.str(e.value, "alertmanager.labels."+k)
		switch {
		case !ok:
		case !labelName.MatchString(k) || strings.HasPrefix(k, "__"):
			p.errorf(e.key, "alertmanager.labels: %q is not a label name (letters, digits and _, not starting with a digit or __)", k)
		case slices.Contains(alertmanager.ReservedLabels, k):
			p.errorf(e.key, "alertmanager.labels: %s is set by tokenwatch on every alert (%s); choose another name", k, strings.Join(alertmanager.ReservedLabels, ", "))
		case v == "":
			p.errorf(e.value, "alertmanager.labels.%s is empty (an empty label is no label)", k)
		default:
			out[k] = v
		}
	}
	return out
}
