package alert

import (
	"slices"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

// The credential lifecycle: a secret's age and the endpoint's TLS
// certificate. Both are tracks of their own beside the outcome track of
// Evaluate: they read the result whatever its outcome (a failing check's
// certificate still expires), and their messages never open, remind or
// resolve an outcome alert.
//
// Rotation: a secret's age counts from issued_at when issued_at belongs to
// the current fingerprint (it was configured while that secret was
// current), else from the current fingerprint's first sighting. Once it is
// older than rotate_after, one rotate message; again every repeat_every;
// a new fingerprint (or a rotate_after it no longer exceeds) ends it with
// one resolution.
//
// TLS: an endpoint may serve several certificates at once (load balancer
// backends, a partial renewal), so the check remembers the certificates
// seen within CertRecent and judges by the one that expires first. Below
// tls_warn_before, one tls_expiry message, and once more under
// TLSFinalWarning; a certificate served again while the notice is open is
// not announced again. One resolution says the certificate was renewed
// once no certificate seen within CertRecent is under tls_warn_before.

const (
	// KindRotate: the secret is older than rotate_after; re-issue it.
	KindRotate Kind = "rotate"
	// KindTLSExpiry: the endpoint's certificate expires within tls_warn_before.
	KindTLSExpiry Kind = "tls_expiry"
)

// MaxSightings is how many fingerprints' first sightings a check keeps:
// enough to see a rollback to a recent secret, bounded so that a secret
// changed on every run cannot grow the state.
const MaxSightings = 5

// TLSFinalWarning is how close to expiry a certificate already announced
// is announced once more.
const TLSFinalWarning = 72 * time.Hour

// MaxCerts is how many certificates a check remembers: enough for the
// backends of a load balancer caught mid-renewal, bounded so that an
// endpoint with a new certificate on every run cannot grow the state.
const MaxCerts = 4

// CertRecent is how long a certificate counts as served after it was last
// seen. An hour spans many results of a schedule of minutes (a load
// balancer alternating its backends is seen whole), and delays the
// "renewed" message by an hour at most. Under a schedule sparser than
// hourly each result is judged by its own certificate, and a warned
// certificate that comes back while its notice is open is still not
// announced again.
const CertRecent = time.Hour

// DefaultTLSWarnBefore is tls_warn_before where the configuration says nothing.
const DefaultTLSWarnBefore = 336 * time.Hour

// LifecycleSettings say when a check's secret is too old and its
// certificate too close to expiry.
type LifecycleSettings struct {
	// IssuedAt is when the current secret was issued, as configured; zero
	// when unknown (its first sighting counts).
	IssuedAt time.Time
	// RotateAfter is the secret's maximum age; 0: none.
	RotateAfter time.Duration
	// RepeatEvery is how often a rotate message is repeated; 0: never.
	RepeatEvery time.Duration
	// TLSWarnBefore is how long before its expiry a certificate is announced.
	TLSWarnBefore time.Duration
}

// Lifecycle is what the lifecycle policy remembers about one check
// between runs (a CronJob is a new process every run).
type Lifecycle struct {
	// Sightings are the first sightings of the latest fingerprints,
	// oldest first, at most MaxSightings; the current one is always kept.
	Sightings []Sighting `json:"sightings,omitempty"`
	// IssuedAt is the configured issued_at, and IssuedFingerprint the
	// fingerprint that was current when it was first configured: the
	// secret it speaks of.
	IssuedAt          time.Time `json:"issued_at,omitzero"`
	IssuedFingerprint string    `json:"issued_fingerprint,omitempty"`
	// Rotation is the open rotate notice; nil when the secret is young enough.
	Rotation *Rotation `json:"rotation,omitempty"`
	// Certs are the certificates seen lately and the warnings sent for
	// each, at most MaxCerts, in the order first seen.
	Certs []CertWatch `json:"certs,omitempty"`
	// TLSSince is when the open tls_expiry notice began; zero when none is
	// open.
	TLSSince time.Time `json:"tls_since,omitzero"`
}

// Sighting is when a fingerprint was first seen.
type Sighting struct {
	Fingerprint string    `json:"fingerprint"`
	FirstSeen   time.Time `json:"first_seen"`
}

// Rotation is a rotate notice that is open: for which secret, since when
// it is too old, when on-call last heard of it.
type Rotation struct {
	Fingerprint  string    `json:"fingerprint"`
	Since        time.Time `json:"since"`
	LastNotified time.Time `json:"last_notified"`
}

// CertWatch is a certificate seen and what was said about it.
type CertWatch struct {
	Host        string    `json:"host"`
	Fingerprint string    `json:"fingerprint"`
	NotAfter    time.Time `json:"not_after"`
	// Warned is how many tls_expiry messages this certificate had: 0, 1
	// (below tls_warn_before), 2 (below TLSFinalWarning too).
	Warned int `json:"warned,omitempty"`
	// WarnedAt is when the first of them was decided.
	WarnedAt time.Time `json:"warned_at,omitzero"`
	// LastSeen is when a result last showed it.
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// LifecycleFacts are what a rotate or tls_expiry message says, or the
// resolution of one (About names which).
type LifecycleFacts struct {
	// About is, on a resolution, the kind of message it ends.
	About Kind `json:"about,omitempty"`
	// IssuedAt is when the secret's age counts from; Configured says it
	// is the configured issued_at rather than the first sighting.
	IssuedAt    time.Time     `json:"issued_at,omitzero"`
	Configured  bool          `json:"configured,omitempty"`
	RotateAfter time.Duration `json:"rotate_after,omitempty"`
	// Repeat is set on a rotate message that repeats an earlier one.
	Repeat bool `json:"repeat,omitempty"`
	// Host, NotAfter and CertFingerprint are the certificate's.
	Host            string    `json:"host,omitempty"`
	NotAfter        time.Time `json:"not_after,omitzero"`
	CertFingerprint string    `json:"cert_fingerprint,omitempty"`
}

// FirstSeen is when fingerprint fp was first seen; zero when it is not
// among the sightings kept.
func (l Lifecycle) FirstSeen(fp string) time.Time {
	for _, s := range l.Sightings {
		if s.Fingerprint == fp {
			return s.FirstSeen
		}
	}
	return time.Time{}
}

// Issued is when the secret fp was issued as far as tokenwatch knows:
// issued_at when it belongs to fp, else fp's first sighting; configured
// says which.
func (l Lifecycle) Issued(fp string) (at time.Time, configured bool) {
	if !l.IssuedAt.IsZero() && l.IssuedFingerprint == fp {
		return l.IssuedAt, true
	}
	return l.FirstSeen(fp), false
}

// EvaluateLifecycle moves a check's lifecycle forward by one result and
// says what on-call must be told. stale is set when a configured issued_at
// belongs to an earlier secret: the run should say it looks stale. It
// never mutates l.
func EvaluateLifecycle(l Lifecycle, r checks.Result, s LifecycleSettings, now time.Time) (next Lifecycle, ds []Decision, stale bool) {
	next = Lifecycle{Sightings: sight(l.Sightings, r.Fingerprint, now), IssuedAt: l.IssuedAt, IssuedFingerprint: l.IssuedFingerprint}
	if l.Rotation != nil {
		rot := *l.Rotation
		next.Rotation = &rot
	}
	next.Certs, next.TLSSince = slices.Clone(l.Certs), l.TLSSince
	switch {
	case s.IssuedAt.IsZero():
		next.IssuedAt, next.IssuedFingerprint = time.Time{}, ""
	case !s.IssuedAt.Equal(next.IssuedAt):
		// A new issued_at speaks of the secret current when it is first read.
		next.IssuedAt, next.IssuedFingerprint = s.IssuedAt, r.Fingerprint
	}
	stale = !next.IssuedAt.IsZero() && next.IssuedFingerprint != r.Fingerprint
	ds = append(rotation(&next, r, s, now), certificate(&next, r, s, now)...)
	return next, ds, stale
}

// sight records fp's first sighting, keeping the latest MaxSightings.
func sight(list []Sighting, fp string, now time.Time) []Sighting {
	if fp == "" || slices.ContainsFunc(list, func(s Sighting) bool { return s.Fingerprint == fp }) {
		return slices.Clone(list)
	}
	out := append(slices.Clone(list), Sighting{Fingerprint: fp, FirstSeen: now})
	if len(out) > MaxSightings {
		out = out[len(out)-MaxSightings:] // the newest is fp: always kept
	}
	return out
}

// rotation is the rotate track: open, repeated or ended by this result.
func rotation(next *Lifecycle, r checks.Result, s LifecycleSettings, now time.Time) []Decision {
	issued, configured := next.Issued(r.Fingerprint)
	old := s.RotateAfter > 0 && !issued.IsZero() && now.Sub(issued) >= s.RotateAfter
	var out []Decision
	if rot := next.Rotation; rot != nil && (rot.Fingerprint != r.Fingerprint || !old) {
		if !old {
			d := lifecycleDecision(KindResolved, r, now)
			d.Since, d.RotatedFrom = rot.Since, rot.Fingerprint
			if rot.Fingerprint == r.Fingerprint {
				d.RotatedFrom = "" // not rotated: rotate_after was raised or removed
			}
			d.Lifecycle = &LifecycleFacts{About: KindRotate, IssuedAt: issued, Configured: configured, RotateAfter: s.RotateAfter}
			out = append(out, d)
		}
		next.Rotation = nil
	}
	if !old {
		return out
	}
	repeat := next.Rotation != nil
	switch {
	case !repeat:
		next.Rotation = &Rotation{Fingerprint: r.Fingerprint, Since: issued.Add(s.RotateAfter), LastNotified: now}
	case s.RepeatEvery > 0 && now.Sub(next.Rotation.LastNotified) >= s.RepeatEvery:
		next.Rotation.LastNotified = now
	default:
		return out
	}
	d := lifecycleDecision(KindRotate, r, now)
	d.Since = next.Rotation.Since
	d.Lifecycle = &LifecycleFacts{IssuedAt: issued, Configured: configured, RotateAfter: s.RotateAfter, Repeat: repeat}
	return append(out, d)
}

// certificate is the TLS track: the certificate that expires first among
// those served lately is announced below tls_warn_before and once more
// below TLSFinalWarning; the notice ends with a resolution once none of
// them is under tls_warn_before.
func certificate(next *Lifecycle, r checks.Result, s LifecycleSettings, now time.Time) []Decision {
	c := r.TLS
	if !c.Seen() {
		return nil // plain http, or no certificate this time: nothing new
	}
	next.Certs = rememberCert(next.Certs, c, now)
	served := servedIndexes(next.Certs)
	w := &next.Certs[served[0]]
	said := 0 // the stage on-call already heard of, if the notice is open
	for _, i := range served {
		if n := next.Certs[i]; n.NotAfter.Before(w.NotAfter) {
			w = &next.Certs[i]
		}
		said = max(said, next.Certs[i].Warned)
	}
	stage := warnStage(w.NotAfter.Sub(now), s.TLSWarnBefore)
	if stage == 0 {
		return renewed(next, r, now)
	}
	if !next.TLSSince.IsZero() && stage <= said {
		return nil
	}
	if next.TLSSince.IsZero() {
		next.TLSSince = now
	}
	if w.Warned == 0 {
		w.WarnedAt = now
	}
	w.Warned = max(w.Warned, stage)
	d := lifecycleDecision(KindTLSExpiry, r, now)
	d.Since = next.TLSSince
	d.Lifecycle = &LifecycleFacts{Host: w.Host, NotAfter: w.NotAfter, CertFingerprint: w.Fingerprint}
	return []Decision{d}
}

// renewed ends the open tls_expiry notice, if any, with one resolution
// naming the certificate served now.
func renewed(next *Lifecycle, r checks.Result, now time.Time) []Decision {
	if next.TLSSince.IsZero() {
		return nil
	}
	d := lifecycleDecision(KindResolved, r, now)
	d.Since = next.TLSSince
	d.Lifecycle = &LifecycleFacts{About: KindTLSExpiry, Host: r.TLS.Host, NotAfter: r.TLS.NotAfter, CertFingerprint: r.TLS.Fingerprint}
	next.TLSSince = time.Time{}
	return []Decision{d}
}

// rememberCert is certs with c seen now: updated in place when known, else
// added, forgetting the one seen longest ago beyond MaxCerts.
func rememberCert(certs []CertWatch, c checks.TLSCert, now time.Time) []CertWatch {
	out := slices.Clone(certs)
	i := slices.IndexFunc(out, func(w CertWatch) bool { return w.Fingerprint == c.Fingerprint && w.Host == c.Host })
	if i >= 0 {
		out[i].NotAfter, out[i].LastSeen = c.NotAfter, now
		return out
	}
	out = append(out, CertWatch{Host: c.Host, Fingerprint: c.Fingerprint, NotAfter: c.NotAfter, LastSeen: now})
	if len(out) > MaxCerts {
		oldest := 0
		for i, w := range out {
			if w.LastSeen.Before(out[oldest].LastSeen) {
				oldest = i
			}
		}
		out = slices.Delete(out, oldest, oldest+1) // never c: it is seen now
	}
	return out
}

// servedIndexes are the indexes of the certificates seen within CertRecent
// of the latest sighting: those the endpoint serves now. Never empty for a
// non-empty list.
func servedIndexes(certs []CertWatch) []int {
	var latest time.Time
	for _, w := range certs {
		if w.LastSeen.After(latest) {
			latest = w.LastSeen
		}
	}
	var out []int
	for i, w := range certs {
		if latest.Sub(w.LastSeen) < CertRecent {
			out = append(out, i)
		}
	}
	return out
}

// Served is the certificate that expires first among those the endpoint
// serves now (seen within CertRecent of the latest sighting); ok is false
// when no certificate was seen.
func (l Lifecycle) Served() (w CertWatch, ok bool) {
	certs := l.Certs
	for _, i := range servedIndexes(certs) {
		if !ok || certs[i].NotAfter.Before(w.NotAfter) {
			w, ok = certs[i], true
		}
	}
	return w, ok
}

// warnStage is how many warnings a certificate with left to live is due:
// 0 above tls_warn_before, 1 below it, 2 below TLSFinalWarning as well.
func warnStage(left, warnBefore time.Duration) int {
	switch {
	case left >= warnBefore:
		return 0
	case left < TLSFinalWarning:
		return 2
	}
	return 1
}

// lifecycleDecision is a message of kind k about r's check; the caller
// adds since when and its facts.
func lifecycleDecision(k Kind, r checks.Result, now time.Time) Decision {
	return Decision{Kind: k, Check: r.Check, Type: r.Type, Endpoint: r.Endpoint, Outcome: r.Outcome,
		HTTPStatus: r.HTTPStatus, Fingerprint: r.Fingerprint, At: now, ClientID: r.ClientID, Owner: r.Owner, Team: r.Team}
}

// FinalWarning reports whether a tls_expiry message is the one under
// TLSFinalWarning (or the only one, for a certificate first seen there).
func (f LifecycleFacts) FinalWarning(at time.Time) bool { return f.NotAfter.Sub(at) < TLSFinalWarning }
