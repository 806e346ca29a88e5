// Package checks tests credentials against the APIs that use them and says
// what each answer means.
//
// Every kind of check turns one HTTP exchange into one of five outcomes. The
// classification is a pure function of the answer (status, headers, body), so
// it can be read and table-tested on its own: ClassifyCourier and
// ClassifyPartner are the heart of tokenwatch.
package checks

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Outcome is the verdict on one credential at one moment.
type Outcome string

// The five outcomes of ../shared/CONTRACT.md. Every result has exactly one.
const (
	// OK: the credential works.
	OK Outcome = "ok"
	// Invalid: the credential is rejected; someone must re-issue it.
	Invalid Outcome = "invalid"
	// Forbidden: the credential is accepted but not allowed to do this.
	Forbidden Outcome = "forbidden"
	// Unavailable: the endpoint could not answer; nothing is known about the credential.
	Unavailable Outcome = "unavailable"
	// BadResponse: the endpoint answered outside its documented contract.
	BadResponse Outcome = "bad_response"
)

// Outcomes lists every outcome in a stable order (for metrics and docs).
var Outcomes = []Outcome{OK, Invalid, Forbidden, Unavailable, BadResponse}

// IsCredentialFailure reports whether the outcome is a verdict on the
// credential itself (as opposed to the endpoint being down or broken).
func (o Outcome) IsCredentialFailure() bool { return o == Invalid || o == Forbidden }

// Verdict is what an answer means: the outcome and one line for humans.
type Verdict struct {
	Outcome Outcome
	// Detail is one short line, secrets scrubbed, quoting the server's own
	// words where it gave any.
	Detail string
	// ExpiresIn is the lifetime of a token a partner issued, when it said.
	ExpiresIn *int64
}

// Answer is what an endpoint sent back, as much as tokenwatch reads of it.
type Answer struct {
	Status int
	Header http.Header
	// Body is at most ReadCap bytes of the body.
	Body []byte
	// Truncated is set when the body was longer than ReadCap.
	Truncated bool
	// TLS is the endpoint's leaf certificate, also when the exchange
	// failed after the server showed one (an expired certificate).
	TLS TLSCert
}

// Result is one check's verdict at one moment, ready for state, alerts and metrics.
type Result struct {
	Check       string        // the check's name
	Type        string        // the check's type: "courier", "partner_oauth"
	Endpoint    string        // scheme and host that were asked, for humans
	Fingerprint string        // of the secret that was tested
	Outcome     Outcome       //
	HTTPStatus  int           // of the last answer; 0 when there was none
	Detail      string        // one line, secrets scrubbed
	ExpiresIn   *int64        // partner_oauth: lifetime of the issued token
	ClientID    string        // the OAuth app's ClientID, when the kind's runbook links it (courier)
	Owner       string        // who answers for the check, as configured; "" for none
	Team        string        // the team label the check is routed by, as configured; "" for none
	TLS         TLSCert       // the https endpoint's leaf certificate; zero for http or when none was seen
	Started     time.Time     //
	Duration    time.Duration // wall time, re-checks included
	// Interrupted is set when the run was cancelled (SIGINT, SIGTERM) before
	// the check could finish, or the check itself failed (a panic): the
	// outcome says nothing about the credential and the result must not move
	// the alert state.
	Interrupted bool
}

// Check tests one credential. Implementations must return a classified
// Result whatever the endpoint does: never panic, never block past ctx.
type Check interface {
	// Name is the check's unique name from the configuration.
	Name() string
	// Type is the check's kind, as written in the configuration.
	Type() string
	// Endpoint is the scheme and host the check talks to.
	Endpoint() string
	// Fingerprint identifies the secret under test.
	Fingerprint() string
	// Run performs the check.
	Run(ctx context.Context) Result
}

// RunAll runs the checks with at most concurrency of them in flight and
// returns their results in the order of list. When ctx is cancelled, checks
// not yet started are returned as interrupted and those in flight end early.
func RunAll(ctx context.Context, list []Check, concurrency int) []Result {
	return RunAllIn(ctx, list, make(chan struct{}, max(1, concurrency)))
}

// RunAllIn is RunAll with a limit shared with others: each check holds one
// of slots while it runs, so passes that run at once (serve's schedules)
// have at most cap(slots) checks in flight between them.
func RunAllIn(ctx context.Context, list []Check, slots chan struct{}) []Result {
	results := make([]Result, len(list))
	var wg sync.WaitGroup
	for i, c := range list {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			results[i] = interrupted(c)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer func() {
				// A panic in one check is a tokenwatch bug; it must not take
				// down the other checks, the run or the daemon.
				if r := recover(); r != nil {
					results[i] = interrupted(c)
					// The panic value may hold the text being handled.
					results[i].Detail = oneLine(fmt.Sprintf("not checked: tokenwatch bug, the check panicked: %v", r), maxDetail)
				}
			}()
			results[i] = c.Run(ctx)
		}()
	}
	wg.Wait()
	return results
}

func interrupted(c Check) Result {
	return Result{
		Check:       c.Name(),
		Type:        c.Type(),
		Endpoint:    c.Endpoint(),
		Fingerprint: c.Fingerprint(),
		Outcome:     Unavailable,
		Detail:      "not checked: the run was interrupted",
		Started:     time.Now(),
		Interrupted: true,
	}
}
