package checks

// What other reports (tokenwatch conformance) read of an answer, with the
// same care as a verdict: server text scrubbed, tokens redacted.

// TokenError is the error a token endpoint sent, in either shape it may
// take: RFC 6749's {"error", "error_description"} or Yango's array
// [{"code", "description"}].
type TokenError struct {
	// Code is the RFC 6749 error code; "" for the Yango array or no error body.
	Code string
	// Yango is set when the body is the Yango error array.
	Yango bool
}

// ParseTokenError reads an error body as ClassifyPartner does: keys match
// exactly and once.
func ParseTokenError(body []byte) TokenError {
	e := parseError(body)
	return TokenError{Code: e.Code, Yango: e.Yango}
}

// Excerpt describes an answer's body for a reader: an empty body, an HTML
// page by its title, a body over ReadCap by its size, anything else by its
// first characters, quoted on one line. Token values are redacted and scrub
// removes the known secrets.
func (a Answer) Excerpt(scrub func(string) string) string {
	return describeBody(a, scrub)
}

// IsJSON reports whether a Content-Type names JSON: application/json or
// any +json type, parameters allowed.
func IsJSON(contentType string) bool { return isJSON(contentType) }

// IssuedTokens is every token value a body carries (access_token,
// refresh_token, id_token), found even in a body that does not parse, as
// written and as decoded: secrets from the moment they were sent.
func IssuedTokens(body []byte) []string { return issuedTokens(body) }
