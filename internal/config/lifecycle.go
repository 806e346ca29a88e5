package config

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// The credential lifecycle keys of a check: issued_at, rotate_after and
// tls_warn_before (the last also in defaults).

// DefaultTLSWarnBefore is how long before its expiry an endpoint's
// certificate is announced, where the configuration says nothing.
const DefaultTLSWarnBefore = alert.DefaultTLSWarnBefore

// maxIssuedSkew is how far in the future issued_at may be: a date is
// midnight UTC, which is still "tomorrow" for a day in time zones east of
// UTC, and a clock may be a little ahead.
const maxIssuedSkew = 24 * time.Hour

// WithNow reads issued_at (and a maintenance window's next times) against
// the clock now instead of time.Now: for tests.
func WithNow(now func() time.Time) Option {
	return func(p *parser) { p.now = now }
}

// clock is the time the configuration is read at (see WithNow).
func (p *parser) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// Lifecycle is the check's settings for the lifecycle policy.
func (c Check) Lifecycle() alert.LifecycleSettings {
	return alert.LifecycleSettings{IssuedAt: c.IssuedAt, RotateAfter: c.RotateAfter, RepeatEvery: c.Alert.RepeatEvery, TLSWarnBefore: c.TLSWarnBefore}
}

// lifecycleKeys reads a check's issued_at, rotate_after and tls_warn_before.
func (p *parser) lifecycleKeys(c *Check, values map[string]*yaml.Node, where string, d checkDefaults) {
	c.TLSWarnBefore = d.tlsWarnBefore
	if v := values["tls_warn_before"]; v != nil {
		p.duration(v, "tls_warn_before", false, &c.TLSWarnBefore)
	}
	if v := values["rotate_after"]; v != nil {
		p.duration(v, "rotate_after", false, &c.RotateAfter)
	}
	if v := values["issued_at"]; v != nil {
		c.IssuedAt = p.issuedAt(v, where)
	}
}

// issuedAt reads a date (2026-09-01, midnight UTC) or an RFC 3339 time
// that is not in the future nor before 1970; zero when it has a problem.
// An empty value (issued_at: "", ~, a variable that is empty) is one: the
// policy would read it as "unknown" while the file seems to say a date.
func (p *parser) issuedAt(n *yaml.Node, where string) time.Time {
	s, ok := p.str(n, "issued_at")
	if !ok {
		return time.Time{}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		p.errorf(n, "%s: issued_at: empty; leave the key out when unknown", where)
		return time.Time{}
	}
	at, err := time.Parse(time.DateOnly, s)
	if err != nil {
		at, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		p.errorf(n, "%s: issued_at: %s is not a date (write it like 2026-09-01, or 2026-09-01T10:00:00Z)", where, shown(n, s))
		return time.Time{}
	}
	if at.Before(time.Unix(0, 0)) {
		// 0001-01-01 is Go's zero time: the policy would read it as no
		// issued_at at all, and no secret was issued before 1970.
		p.errorf(n, "%s: issued_at: %s is before 1970, not when a secret was issued; leave the key out when unknown", where, shown(n, s))
		return time.Time{}
	}
	if at.After(p.clock().Add(maxIssuedSkew)) {
		p.errorf(n, "%s: issued_at: %s is in the future: it is when the current secret was issued", where, shown(n, s))
		return time.Time{}
	}
	return at.UTC()
}
