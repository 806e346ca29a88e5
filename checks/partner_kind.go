package checks

import (
	"net"
	"net/url"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// PartnerKind is the partner check's registration: a partner's OAuth
// client credentials, as the Yango Deli pull method uses them.
type PartnerKind struct{}

var _ Kind = PartnerKind{}

// Type implements Kind.
func (PartnerKind) Type() string { return TypePartner }

// Decode implements Kind: host, client_id, client_secret or
// client_secret_file, scope, auth_style and verify.
func (PartnerKind) Decode(f Fields) Spec {
	s := PartnerSpec{
		Host:         f.URL("host", ""),
		ClientID:     f.Required("client_id", ""),
		ClientSecret: f.Secret("client_secret"),
		Scope:        f.String("scope", DefaultScope),
		AuthStyle: AuthStyle(f.Enum("auth_style", string(AuthForm),
			"form (credentials in the body, the default) or basic (HTTP Basic header)", string(AuthForm), string(AuthBasic))),
		Verify: decodeVerify(f),
	}
	if !f.Has("host") {
		f.Missing("host", "the partner's base URL, like https://partner.example.com")
	} else if u, err := url.Parse(s.Host); s.Host != "" && err == nil && net.ParseIP(u.Hostname()) != nil && !IsLoopback(u.Hostname()) {
		f.Warnf("host", "host is an IP address; the Yango Deli pull method accepts domain names only")
	}
	return s
}

// Remedy implements Kind: only the partner can re-issue or allow the
// client, so every step goes through the partner.
func (PartnerKind) Remedy(o Outcome, _ Site) Remedy {
	switch o {
	case Invalid:
		return Remedy{Lines: []Line{
			{Prose("The partner's token endpoint rejects our client_id/client_secret. The partner's own words are above.")},
			{Prose("1. Ask the partner (through the Yango Deli manager) to confirm the client_id and client_secret they expect, or to re-issue them.")},
			{Prose("2. Put the new secret where this check reads it (its "), Code("client_secret_file"), Prose(" or variable); its fingerprint will change.")},
			{Prose("3. The next check says whether it worked.")},
		}}
	case Forbidden:
		return Remedy{Lines: []Line{{
			Prose("The partner knows the client but does not allow it the "), Code("client_credentials"),
			Prose(" grant or the "), Code("read write"),
			Prose(" scope (or refuses it with HTTP 403). Ask the partner to allow them for our client_id; the secret itself may be fine."),
		}}}
	}
	return Remedy{}
}

// PartnerSpec is a configured partner check.
type PartnerSpec struct {
	Host         string
	ClientID     string
	ClientSecret secret.Value
	Scope        string
	AuthStyle    AuthStyle
	// Verify is the deep check; nil for none.
	Verify *Verify
}

var _ Spec = PartnerSpec{}

// Endpoint implements Spec.
func (s PartnerSpec) Endpoint() string { return s.Host }

// Credential implements Spec.
func (s PartnerSpec) Credential() secret.Value { return s.ClientSecret }

// Secrets implements Spec.
func (s PartnerSpec) Secrets() []secret.Value { return credentials(s.ClientSecret) }

// Build implements Spec.
func (s PartnerSpec) Build(t Target) Check {
	return &Partner{Target: t, Host: s.Host, ClientID: s.ClientID, ClientSecret: s.ClientSecret, Scope: s.Scope, AuthStyle: s.AuthStyle, Verify: s.Verify}
}
