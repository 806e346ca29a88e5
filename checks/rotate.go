package checks

import "fmt"

// Rotator is a Kind that knows how its secret is re-issued: the runbook of
// a rotate message (the secret is older than the check's rotate_after),
// told by the check's outcome now: a secret that still works is replaced
// while it works; one that fails is the outcome alert's business too. A
// kind without one gets GenericRotation.
type Rotator interface {
	Rotation(now Outcome, s Site) Remedy
}

var (
	_ Rotator = CourierKind{}
	_ Rotator = PartnerKind{}
)

// Rotation is the runbook of a rotate message about a check of type typ
// whose outcome is now.
func (r Registry) Rotation(typ string, now Outcome, s Site) Remedy {
	if k, ok := r.Lookup(typ); ok {
		if rot, ok := k.(Rotator); ok {
			return rot.Rotation(now, s)
		}
	}
	return GenericRotation(now)
}

// GenericRotation is what to do about an old secret of a kind with no
// steps of its own.
func GenericRotation(now Outcome) Remedy {
	return Remedy{Lines: []Line{
		rotationState("secret", now, "."),
		{Prose("Issue a new secret with whoever issued this one, put it where this check reads it, and revoke the old one once the next check confirms.")},
	}}
}

// rotationState is the first line of a rotation runbook: the secret is old
// and, as the check says now, still works or fails (then the outcome
// alert tells why, and replacing it may be the fix for both). then ends
// the line.
func rotationState(secret string, now Outcome, then string) Line {
	if now == OK {
		return Line{Prose("The " + secret + " still works, but it is older than this check's "), Code("rotate_after"), Prose(then)}
	}
	return Line{Prose(fmt.Sprintf("The %s is older than this check's ", secret)), Code("rotate_after"),
		Prose(fmt.Sprintf(", and the check fails now (%s): the alert about that outcome says why and what it needs. Re-issuing the %s, as below, is the fix when it was revoked or expired", now, secret)),
		Prose(then)}
}

// Rotation implements Rotator: the Yandex document's steps, done while
// the old token still works, so nothing breaks meanwhile.
func (CourierKind) Rotation(now Outcome, s Site) Remedy {
	intro := rotationState("token", now, ":")
	if now == OK {
		intro = rotationState("token", now, ": Yandex advises re-issuing long-lived tokens regularly. Issue the new one now, while the old one works:")
	}
	lines := append([]Line{intro}, courierSteps(s)...)
	// Without it, an issued_at left from the old token makes every later
	// run warn that it looks stale.
	lines = append(lines, Line{Prose(fmt.Sprintf("%d. Set ", len(lines))), Code("issued_at"),
		Prose(" on this check to the day you issued the new token, or remove it: tokenwatch then counts from the new token's first sighting.")})
	return Remedy{Lines: lines}
}

// Rotation implements Rotator: only the partner issues its client secret.
func (PartnerKind) Rotation(now Outcome, _ Site) Remedy {
	return Remedy{Lines: []Line{
		rotationState("client secret", now, "."),
		{Prose("1. Ask the partner (through the Yango Deli manager) for a new client secret for our client_id, and when the old one stops working.")},
		{Prose("2. Put the new secret where this check reads it (its "), Code("client_secret_file"),
			Prose(" or variable); its fingerprint will change and the next check confirms it works.")},
		{Prose("3. Set "), Code("issued_at"), Prose(" on this check to the day the partner issued it, or remove it: tokenwatch then counts from the new secret's first sighting.")},
	}}
}
