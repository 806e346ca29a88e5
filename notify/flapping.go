package notify

import (
	"fmt"
	"strings"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// composeFlapping says a check keeps changing its outcome, between which
// outcomes, and that its alerts wait until it settles.
func composeFlapping(d alert.Decision) Content {
	between := make([]string, len(d.Outcomes))
	for i, o := range d.Outcomes {
		between[i] = string(o)
	}
	what := fmt.Sprintf("%s, %d changes in %s", strings.Join(between, " ↔ "), d.Changes, Duration(d.FlapWindow))
	return Content{
		Tone:     Warning,
		Headline: fmt.Sprintf("%s is flapping: %s", d.Check, what),
		Summary:  Line{Prose("[FLAPPING] "), Quote(d.Check), Prose(" is flapping: " + what)},
		Facts: withOwner(d, []Fact{
			{"Type", Line{Value(d.Type)}},
			{"Endpoint", Line{Value(d.Endpoint)}},
			{"Moved between", Line{Prose(strings.Join(between, ", "))}},
			{"Now", Line{Prose(string(d.Outcome))}},
			{"First change", Line{Prose(fmt.Sprintf("%s (%s)", Timestamp(d.Since), Duration(d.At.Sub(d.Since))))}},
			{"Fingerprint", Line{Quote(d.Fingerprint)}},
		}),
		Sections: []Section{
			{Heading: "Latest result", Quote: Line{quoteOr(d.Detail)}},
			{Heading: "What to do", Lines: []Line{{Prose(fmt.Sprintf("Alerts for it wait until it holds one outcome for %s; then one message says where it settled. "+
				"Look at the endpoint's stability: ", Duration(d.FlapWindow))), Value(d.Endpoint),
				Prose(" answers differently from one run to the next (a flaky node behind a load balancer, a secret rotated on some nodes only, rate limits).")}}},
		},
	}
}
