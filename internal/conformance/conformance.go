// Package conformance tells a partner-integration engineer whether an
// endpoint follows its document before it goes live: a partner's token
// endpoint against the Yango Deli pull method (form body, JSON media type,
// the 400 error array, a domain name over https, a valid certificate, an
// API that accepts the tokens it issues), a courier token against the
// Yandex Courier API.
//
// Each check gets a list of items, each pass, warn or fail with its
// evidence (status, media type, a scrubbed body excerpt). Each probe is
// sent once; no secret, issued tokens included, is ever part of a report.
// The report is a plain value: render.go writes it as text, JSON or JUnit.
package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

// Result is an item's verdict.
type Result string

// The three verdicts: a fail breaks the document (the command exits 1), a
// warn departs from it in a way Yango Deli may tolerate.
const (
	Pass Result = "pass"
	Warn Result = "warn"
	Fail Result = "fail"
)

// rank orders the verdicts from best to worst.
var rank = map[Result]int{Pass: 0, Warn: 1, Fail: 2}

// worst is the worse of two verdicts.
func worst(a, b Result) Result {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Item is one point of the document and what the endpoint did about it.
type Item struct {
	// Name is the item's stable name (token_request, wrong_secret, ...).
	Name   string `json:"name"`
	Result Result `json:"result"`
	// Detail says why, then the evidence; secrets scrubbed.
	Detail string `json:"detail"`
}

// Check is the report on one check.
type Check struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Endpoint is the scheme and host probed, for the text report.
	Endpoint string `json:"-"`
	Items    []Item `json:"items"`
}

// Report is the whole report, checks in the order they were asked for.
type Report struct {
	Checks []Check `json:"checks"`
}

// Failed reports whether any item failed: the command's exit 1.
func (r Report) Failed() bool {
	for _, c := range r.Checks {
		for _, it := range c.Items {
			if it.Result == Fail {
				return true
			}
		}
	}
	return false
}

// DefaultWarnBefore is how close to its expiry a certificate gets a warn,
// as tls_warn_before defaults to.
const DefaultWarnBefore = 336 * time.Hour

// Options are what every check's probes share.
type Options struct {
	// Now judges certificates; nil means time.Now.
	Now func() time.Time
	// WarnBefore is each check's tls_warn_before, by check name: a
	// certificate with less left is a warn; a check missing here (or at
	// zero) has DefaultWarnBefore.
	WarnBefore map[string]time.Duration
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o Options) warnBefore(check string) time.Duration {
	if d := o.WarnBefore[check]; d > 0 {
		return d
	}
	return DefaultWarnBefore
}

// supported reports whether the report has items for a check's kind.
func supported(c checks.Check) bool {
	switch c.(type) {
	case *checks.Partner, *checks.Courier:
		return true
	}
	return false
}

// Run probes each check in turn (so that each endpoint sees one probe at
// a time) and returns the report in the order of list. A check of a kind
// without items is an error: nothing is probed.
func Run(ctx context.Context, list []checks.Check, o Options) (Report, error) {
	for _, c := range list {
		if !supported(c) {
			return Report{}, fmt.Errorf("check %s: the conformance report knows partner_oauth and courier checks, not %s", c.Name(), c.Type())
		}
	}
	var r Report
	for _, c := range list {
		var items []Item
		switch c := c.(type) {
		case *checks.Partner:
			items = partnerItems(ctx, c, o)
		case *checks.Courier:
			items = courierItems(ctx, c)
		}
		r.Checks = append(r.Checks, Check{Name: c.Name(), Type: c.Type(), Endpoint: c.Endpoint(), Items: items})
	}
	return r, nil
}
