package notify

import (
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// EgressType is the Type of the egress message and of its resolution:
// they are about tokenwatch's own network, not about a check of any type,
// and a resolution is told apart from a check's by it.
const EgressType = "egress"

// AboutEgress reports whether d is the egress message or its resolution.
func AboutEgress(d alert.Decision) bool {
	return d.Type == EgressType && (d.Kind == alert.KindEgress || d.Kind == alert.KindResolved)
}

// composeEgress says the egress message or its resolution.
func composeEgress(d alert.Decision) Content {
	if d.Kind == alert.KindResolved {
		return composeEgressResolved(d)
	}
	return composeEgressDown(d)
}

// composeEgressDown says that every endpoint is unreachable at once: what
// failed, how many, since when, and what to check on our side.
func composeEgressDown(d alert.Decision) Content {
	var c Content
	c.Tone = Critical // every verdict is missing while it lasts
	c.Headline = "tokenwatch: every endpoint is unreachable — suspect our own network, DNS or proxy"
	c.Summary = Line{Prose(fmt.Sprintf("[EGRESS] every endpoint is unreachable (%d checks, since %s): suspect our own network, DNS or proxy: ",
		d.Checks, Timestamp(d.Since))), quoteOr(d.Detail)}
	c.Facts = []Fact{
		{"Checks unreachable", Line{Prose(fmt.Sprint(d.Checks))}},
		{"Since", Line{Prose(fmt.Sprintf("%s (%s)", Timestamp(d.Since), Duration(d.At.Sub(d.Since))))}},
		{"Errors", Line{quoteOr(d.Detail)}},
	}
	c.Sections = []Section{
		{Heading: "What happened", Quote: Line{quoteOr(d.Detail)}},
		{Heading: "What to check on our side", Lines: []Line{
			{strong("DNS resolver:"), Prose(" can the node resolve the endpoints' names (the cluster's DNS, its upstream)?")},
			{strong("Egress proxy or NAT gateway:"), Prose(" is it up, and does it still let tokenwatch out (HTTPS_PROXY, NO_PROXY)?")},
			{strong("Firewall and network policy:"), Prose(" did a rule or a NetworkPolicy change that blocks outbound HTTPS?")},
			{strong("The node's network:"), Prose(" interface, routes, and whether other workloads on the node reach the internet.")},
		}},
		{Lines: []Line{{Prose("Per-check outage alerts are held while this lasts; resolutions are still sent. " +
			"One message says when an endpoint answers again.")}}},
	}
	return c
}

// composeEgressResolved says that an endpoint answers again.
func composeEgressResolved(d alert.Decision) Content {
	var c Content
	c.Tone = Recovered
	c.Headline = "Resolved: tokenwatch: endpoints answer again"
	c.Summary = Line{Prose(fmt.Sprintf("[RESOLVED] tokenwatch: endpoints answer again after %s unreachable: ", Duration(d.At.Sub(d.Since)))), quoteOr(d.Detail)}
	c.Facts = []Fact{
		{"Was", Line{Prose(fmt.Sprintf("every endpoint unreachable (%d checks)", d.Checks))}},
		{"For", Line{Prose(Duration(d.At.Sub(d.Since)))}},
		{"Since", Line{Prose(Timestamp(d.Since))}},
		{"Recovered", Line{Prose(Timestamp(d.At))}},
	}
	c.Sections = []Section{
		{Heading: "Now", Quote: Line{quoteOr(d.Detail)}},
		{Lines: []Line{{Prose("Checks that still fail alert on their own from now on.")}}},
	}
	return c
}

func strong(s string) Span { return Span{Text: s, Style: Strong} }
