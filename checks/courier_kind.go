package checks

import (
	"net/url"
	"strings"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// CourierKind is the courier check's registration: a Yandex Courier
// (Track & Trace) OAuth token.
type CourierKind struct{}

var _ Kind = CourierKind{}

// Type implements Kind.
func (CourierKind) Type() string { return TypeCourier }

// Decode implements Kind: base_url (default the Yandex API), token or
// token_file, and client_id, optional, for a ready re-issue link.
func (CourierKind) Decode(f Fields) Spec {
	s := CourierSpec{
		BaseURL:  f.URL("base_url", DefaultCourierBaseURL),
		Token:    f.Secret("token"),
		ClientID: f.String("client_id", ""),
	}
	if strings.IndexFunc(s.Token.Reveal(), func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		at := "token"
		if !f.Has(at) {
			at = "token_file"
		}
		// It goes into an HTTP header: say so now, not as an outage later.
		f.Errorf(at, "the token contains white space or control characters (does the file hold something else?)")
	}
	return s
}

// Remedy implements Kind: the re-issue steps of the Yandex document for a
// rejected token, the administrator role for a forbidden one.
func (CourierKind) Remedy(o Outcome, s Site) Remedy {
	switch o {
	case Invalid:
		return courierReissue(s)
	case Forbidden:
		return Remedy{Lines: []Line{
			{Prose("The token is accepted but not allowed: the Yandex account it was issued to is not an administrator of the company, " +
				"or the company key is unknown or banned. Do not re-issue the token first: it may be fine.")},
			{Prose("1. In the Courier (Track & Trace) company settings, give that account the administrator role.")},
			{Prose("2. If it already is an administrator, ask Yandex support whether the company key is blocked.")},
			{Prose("3. The next check says whether it worked.")},
		}}
	}
	return Remedy{}
}

// courierReissue is the re-issue procedure of the Yandex Courier document.
func courierReissue(s Site) Remedy {
	return Remedy{Lines: append([]Line{
		{Prose("The token is revoked or invalid: it was revoked, the account's password changed, 2FA was switched, " +
			"someone pressed \"log out of all devices\", or it was unused for a long time. A new token is needed.")}},
		courierSteps(s)...)}
}

// courierSteps are the Yandex document's steps to issue a token, from the
// login to the check that confirms the new one.
func courierSteps(s Site) []Line {
	// Without a client_id the link is a template: shown as code, not a
	// link, since a <placeholder> cannot be a link target.
	open := Line{Prose("2. Open "), Code("https://oauth.yandex.com/authorize?response_type=token&client_id=<ClientID-of-your-app>"),
		Prose(", with the ClientID from your app's page in OAuth for Yandex ID (set "), Code("client_id"),
		Prose(" on this check to get a ready link).")}
	if s.ClientID != "" {
		link := "https://oauth.yandex.com/authorize?response_type=token&client_id=" + url.QueryEscape(s.ClientID)
		open = Line{Prose("2. Open "), Link(link, "the authorize link for ClientID "+s.ClientID), Prose(": "), CodeURL(link), Prose(".")}
	}
	return []Line{
		{Prose("1. Log in to Yandex with the account the token belongs to: it must be an "), Strong("administrator in the company"), Prose(".")},
		open,
		{Prose("3. Make sure it asks to log in as the right user, click "), Strong("Log in as …"), Prose(", and copy the token shown.")},
		{Prose("4. Test it: "), Code(`curl -H "Authorization: OAuth <new-token>" -X GET ` + s.Endpoint + "/api/v1/test"),
			Prose(" must answer "), Code(`{"message":"OK"}`), Prose(".")},
		{Prose("5. Put the new token where this check reads it (its "), Code("token_file"),
			Prose(" or variable); the fingerprint will change and the next check confirms.")},
	}
}

// CourierSpec is a configured courier check.
type CourierSpec struct {
	BaseURL string
	Token   secret.Value
	// ClientID is the OAuth app's ClientID, for the re-issue link; may be empty.
	ClientID string
}

var _ Spec = CourierSpec{}

// Endpoint implements Spec.
func (s CourierSpec) Endpoint() string { return s.BaseURL }

// Credential implements Spec.
func (s CourierSpec) Credential() secret.Value { return s.Token }

// Secrets implements Spec.
func (s CourierSpec) Secrets() []secret.Value { return credentials(s.Token) }

// Build implements Spec.
func (s CourierSpec) Build(t Target) Check {
	return &Courier{Target: t, BaseURL: s.BaseURL, Token: s.Token, ClientID: s.ClientID}
}
