package config

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// checkDefaults is the defaults section: what every check inherits.
type checkDefaults struct {
	schedule string
	timeout  time.Duration
	alert    alertOverride
	// slack is the top-level slack section's mode: what a check's own
	// slack key may say.
	slack slackMode
	// tlsWarnBefore is how long before expiry certificates are announced.
	tlsWarnBefore time.Duration
}

// alertOverride holds the alert keys a section sets; nil means "inherit".
type alertOverride struct {
	afterFailures, afterOutages, resolveAfter *int
	repeatEvery                               *time.Duration
	sendResolved                              *bool
	flapChanges                               *int // 0 is a value: flapping off
	flapWindow                                *time.Duration
}

func (p *parser) defaults(n *yaml.Node, d *checkDefaults) {
	p.fields(n, "defaults", map[string]func(*yaml.Node){
		"schedule": func(v *yaml.Node) { p.schedule(v, &d.schedule) },
		"timeout":  func(v *yaml.Node) { p.duration(v, "timeout", false, &d.timeout) },
		"alert":    func(v *yaml.Node) { d.alert = p.alert(v) },
		"tls_warn_before": func(v *yaml.Node) {
			p.duration(v, "defaults.tls_warn_before", false, &d.tlsWarnBefore)
		},
	})
}

func (p *parser) schedule(n *yaml.Node, dst *string) {
	spec, ok := p.str(n, "schedule")
	if !ok {
		return
	}
	if err := validSchedule(spec); err != nil {
		p.errorf(n, "schedule: %s is not a cron spec (5 fields like \"*/5 * * * *\", or \"@every 5m\")%s", shown(n, spec), because(n, spec, err))
		return
	}
	*dst = spec
}

func (p *parser) alert(n *yaml.Node) alertOverride {
	var a alertOverride
	intField := func(dst **int, key string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			i := 0
			p.positive(v, "alert."+key, &i)
			if i > 0 {
				*dst = &i
			}
		}
	}
	p.fields(n, "alert", map[string]func(*yaml.Node){
		"after_failures": intField(&a.afterFailures, "after_failures"),
		"after_outages":  intField(&a.afterOutages, "after_outages"),
		"resolve_after":  intField(&a.resolveAfter, "resolve_after"),
		"repeat_every": func(v *yaml.Node) {
			d := time.Duration(-1)
			p.duration(v, "alert.repeat_every", true, &d)
			if d >= 0 {
				a.repeatEvery = &d
			}
		},
		"flap_changes": func(v *yaml.Node) {
			if i, ok := p.nonNegative(v, "alert.flap_changes"); ok {
				a.flapChanges = &i
			}
		},
		"flap_window": func(v *yaml.Node) {
			d := time.Duration(0)
			p.duration(v, "alert.flap_window", false, &d)
			if d > 0 {
				a.flapWindow = &d
			}
		},
		"send_resolved": func(v *yaml.Node) {
			var b bool
			before := len(p.problems)
			p.boolean(v, "alert.send_resolved", &b)
			if len(p.problems) == before {
				a.sendResolved = &b
			}
		},
	})
	return a
}

// nonNegative reads a whole number that may be 0; ok is false, and the
// problem reported at n, when it is not one.
func (p *parser) nonNegative(n *yaml.Node, key string) (int, bool) {
	s, ok := p.str(n, key)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		p.errorf(n, "%s: %s is not a whole number", key, shown(n, s))
		return 0, false
	case i < 0:
		p.errorf(n, "%s must be 0 (off) or more, got %d", key, i)
		return 0, false
	}
	return i, true
}

// apply merges the keys o sets over base.
func (o alertOverride) apply(base Alert) Alert {
	if o.afterFailures != nil {
		base.AfterFailures = *o.afterFailures
	}
	if o.afterOutages != nil {
		base.AfterOutages = *o.afterOutages
	}
	if o.resolveAfter != nil {
		base.ResolveAfter = *o.resolveAfter
	}
	if o.repeatEvery != nil {
		base.RepeatEvery = *o.repeatEvery
	}
	if o.sendResolved != nil {
		base.SendResolved = *o.sendResolved
	}
	if o.flapChanges != nil {
		base.FlapChanges = *o.flapChanges
	}
	if o.flapWindow != nil {
		base.FlapWindow = *o.flapWindow
	}
	return base
}
