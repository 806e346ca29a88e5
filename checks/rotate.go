package checks

// Rotator is a Kind that knows how its secret is re-issued before it is
// rejected: the runbook of a rotate message (the secret is older than the
// check's rotate_after). A kind without one gets GenericRotation.
type Rotator interface {
	Rotation(s Site) Remedy
}

var (
	_ Rotator = CourierKind{}
	_ Rotator = PartnerKind{}
)

// Rotation is the runbook of a rotate message about a check of type typ.
func (r Registry) Rotation(typ string, s Site) Remedy {
	if k, ok := r.Lookup(typ); ok {
		if rot, ok := k.(Rotator); ok {
			return rot.Rotation(s)
		}
	}
	return GenericRotation()
}

// GenericRotation is what to do about an old secret of a kind with no
// steps of its own.
func GenericRotation() Remedy {
	return Remedy{Lines: []Line{
		{Prose("Issue a new secret with whoever issued this one, put it where this check reads it, and revoke the old one once the next check confirms.")},
	}}
}

// Rotation implements Rotator: the Yandex document's steps, done while
// the old token still works, so nothing breaks meanwhile.
func (CourierKind) Rotation(s Site) Remedy {
	return Remedy{Lines: append([]Line{
		{Prose("The token still works, but it is older than this check's "), Code("rotate_after"),
			Prose(": Yandex advises re-issuing long-lived tokens regularly. Issue the new one now, while the old one works:")}},
		courierSteps(s)...)}
}

// Rotation implements Rotator: only the partner issues its client secret.
func (PartnerKind) Rotation(Site) Remedy {
	return Remedy{Lines: []Line{
		{Prose("The client secret still works, but it is older than this check's "), Code("rotate_after"), Prose(".")},
		{Prose("1. Ask the partner (through the Yango Deli manager) for a new client secret for our client_id, and when the old one stops working.")},
		{Prose("2. Put the new secret where this check reads it (its "), Code("client_secret_file"),
			Prose(" or variable); its fingerprint will change and the next check confirms it works.")},
		{Prose("3. Set "), Code("issued_at"), Prose(" on this check to the day the partner issued it, or remove it: tokenwatch then counts from the new secret's first sighting.")},
	}}
}
