package checks

import (
	"net"
	"slices"
	"strings"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// Kind is one kind of check: how its configuration reads and what on-call
// does about its outcomes. A new kind is one file that implements Kind and
// Spec, plus one line in Kinds; a kind that lacks a part does not compile.
type Kind interface {
	// Type is the kind's name in the configuration's type key.
	Type() string
	// Decode reads the kind's own keys of one check through f, and through
	// f only: the configuration learns the kind's keys from the keys it
	// asks for, and reports any other key as unknown. Problems go to f, at
	// their key; Decode returns a Spec even when some were found.
	Decode(f Fields) Spec
	// Remedy is what on-call does about outcome o of a check of this kind.
	// It depends only on what a decision carries (the Site), so that a
	// message decided by an earlier run reads the same when sent later. A
	// zero Remedy leaves the generic words to the notifier (for outages).
	Remedy(o Outcome, s Site) Remedy
}

// Spec is one configured check of a kind: its own settings, decoded.
type Spec interface {
	// Endpoint is the URL the check talks to, as configured.
	Endpoint() string
	// Credential is the secret the check tests: its fingerprint names it.
	Credential() secret.Value
	// Secrets is every secret of the check, the credential included, for
	// the scrubbers of logs and messages.
	Secrets() []secret.Value
	// Build makes the runnable check.
	Build(t Target) Check
}

// Site is what a decision carries about the check it is about, and all a
// runbook may use: the endpoint (scheme and host) and the OAuth client the
// credential belongs to, when the kind has one.
type Site struct {
	Endpoint string
	ClientID string
}

// Fields is one check's mapping in the configuration, as a kind reads it.
// Every getter records its key as one of the kind's, reports its own
// problems at the key's position, and returns def (or the zero value) when
// the key is absent or its value has a problem.
type Fields interface {
	// Has reports whether the key is written.
	Has(key string) bool
	// String is the key's value, ${VAR} expanded; "" for a null value.
	String(key, def string) string
	// Required is String for a key the kind cannot do without: absent or
	// empty is an error; hint says what the value is, for the message.
	Required(key, hint string) string
	// URL is an absolute http(s) URL that carries the check's secret
	// (clear text to another host is warned about).
	URL(key, def string) string
	// Secret reads key, or key_file (a file beside the configuration, its
	// white space trimmed); exactly one of them must be set.
	Secret(key string) secret.Value
	// Enum is one of allowed; help explains the choices in the message.
	Enum(key, def, help string, allowed ...string) string
	// Missing reports that the check lacks what (a key or a secret), at the check.
	Missing(what, hint string)
	// Errorf and Warnf report a problem at key's value (at the check when
	// key is absent), prefixed with the check's name.
	Errorf(key, format string, args ...any)
	Warnf(key, format string, args ...any)
	// Section is the mapping under key, read through Fields of its own
	// (problems prefixed with the check's name and key). keys is every key
	// the mapping may hold: any other is reported at its line. ok is false
	// when key is absent, null or not a mapping (reported).
	Section(key string, keys ...string) (section Fields, ok bool)
}

// Registry is a set of kinds, looked up by type. Tests make their own
// with With; nothing changes Kinds.
type Registry []Kind

// Kinds is every kind tokenwatch knows: the one place a kind is registered.
var Kinds = Registry{CourierKind{}, PartnerKind{}}

// Lookup returns the kind of the given type.
func (r Registry) Lookup(typ string) (Kind, bool) {
	for _, k := range r {
		if k.Type() == typ {
			return k, true
		}
	}
	return nil, false
}

// With returns a registry that also holds k, leaving r as it is.
func (r Registry) With(k Kind) Registry {
	return append(slices.Clip(r), k)
}

// Types lists the registered types in order, for messages and docs.
func (r Registry) Types() []string {
	types := make([]string, 0, len(r))
	for _, k := range r {
		types = append(types, k.Type())
	}
	slices.Sort(types)
	return types
}

// Choices says the registered types as a message does: "a, b or c".
func (r Registry) Choices() string {
	types := r.Types()
	if len(types) < 2 {
		return strings.Join(types, "")
	}
	return strings.Join(types[:len(types)-1], ", ") + " or " + types[len(types)-1]
}

// Remedy is the runbook of a check of type typ for outcome o; zero for a
// type no kind has (a decision of a check since removed).
func (r Registry) Remedy(typ string, o Outcome, s Site) Remedy {
	if k, ok := r.Lookup(typ); ok {
		return k.Remedy(o, s)
	}
	return Remedy{}
}

// IsLoopback reports whether host is this machine: a secret sent there in
// clear text does not leave it.
func IsLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials drops the unset values, so that a Spec's Secrets can list
// every field it has without a scrubber learning "".
func credentials(vs ...secret.Value) []secret.Value {
	return slices.DeleteFunc(vs, secret.Value.Empty)
}
