package checks

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

func TestRegistry(t *testing.T) {
	if got := Kinds.Choices(); got != "courier or partner_oauth" {
		t.Errorf("Choices() = %q", got)
	}
	for _, typ := range []string{TypeCourier, TypePartner} {
		if k, ok := Kinds.Lookup(typ); !ok || k.Type() != typ {
			t.Errorf("Lookup(%q) = %v, %v", typ, k, ok)
		}
	}
	if _, ok := Kinds.Lookup("carrier"); ok {
		t.Error("an unknown type was found")
	}
	types := Kinds.Types()
	if len(slices.Compact(slices.Clone(types))) != len(types) {
		t.Errorf("a type is registered twice: %v", types)
	}
	more := Kinds.With(fakeKind("zeta")).With(fakeKind("alpha"))
	if got := more.Choices(); got != "alpha, courier, partner_oauth or zeta" {
		t.Errorf("Choices() = %q", got)
	}
	if len(Kinds) != 2 {
		t.Errorf("With changed Kinds: %v", Kinds.Types())
	}
	if !Kinds.Remedy("gone", Invalid, Site{}).Empty() {
		t.Error("a type no kind has got a remedy")
	}
}

// fakeKind is a kind with a name only, for the registry's own tests.
type fakeKind string

func (k fakeKind) Type() string              { return string(k) }
func (fakeKind) Decode(Fields) Spec          { return CourierSpec{} }
func (fakeKind) Remedy(Outcome, Site) Remedy { return Remedy{} }

// Each kind says what to do about a rejected or a forbidden credential;
// outages keep the notifier's generic words.
func TestEveryKindHasARunbookForCredentialFailures(t *testing.T) {
	for _, k := range Kinds {
		for _, o := range Outcomes {
			got := k.Remedy(o, Site{Endpoint: "https://api.example", ClientID: "app-1"})
			if got.Empty() != !o.IsCredentialFailure() {
				t.Errorf("%s, %s: remedy %+v", k.Type(), o, got)
			}
		}
	}
}

func TestCourierRunbookLinksTheClientID(t *testing.T) {
	text := func(r Remedy) string {
		var b strings.Builder
		for _, l := range r.Lines {
			for _, s := range l {
				b.WriteString(s.Text + s.URL)
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	with := text(CourierKind{}.Remedy(Invalid, Site{Endpoint: "https://courier.example", ClientID: "app 1"}))
	if !strings.Contains(with, "client_id=app+1") || !strings.Contains(with, "-X GET https://courier.example/api/v1/test") {
		t.Errorf("runbook with a client_id:\n%s", with)
	}
	without := text(CourierKind{}.Remedy(Invalid, Site{Endpoint: "https://courier.example"}))
	if !strings.Contains(without, "client_id=<ClientID-of-your-app>") {
		t.Errorf("runbook without a client_id:\n%s", without)
	}
}

// A result carries what its kind's runbook needs of the check (the site),
// so that the registry gives the decision made of it its runbook: the
// courier's re-issue link for its OAuth client.
func TestResultsCarryTheirSite(t *testing.T) {
	srv, _ := serve(t, reply(http.StatusUnauthorized, "", ""))
	c := newCourier(t, srv.URL)
	c.ClientID = "app-1"
	r := c.Run(context.Background())
	got := Kinds.Remedy(r.Type, r.Outcome, Site{Endpoint: r.Endpoint, ClientID: r.ClientID})
	want := CourierKind{}.Remedy(Invalid, Site{Endpoint: c.Endpoint(), ClientID: "app-1"})
	if r.Outcome != Invalid || r.ClientID != "app-1" || !slices.EqualFunc(got.Lines, want.Lines, slices.Equal) {
		t.Errorf("courier result %s (client %q), remedy %+v", r.Outcome, r.ClientID, got)
	}
	srv, _ = serve(t, reply(http.StatusForbidden, "application/json", `{"error":"forbidden"}`))
	r = newPartner(t, srv.URL).Run(context.Background())
	if got := Kinds.Remedy(r.Type, r.Outcome, Site{Endpoint: r.Endpoint}); r.Outcome != Forbidden || got.Empty() {
		t.Errorf("partner result %s, remedy %+v", r.Outcome, got)
	}
	srv, _ = serve(t, reply(http.StatusServiceUnavailable, "", ""))
	r = newPartner(t, srv.URL).Run(context.Background())
	if got := Kinds.Remedy(r.Type, r.Outcome, Site{Endpoint: r.Endpoint}); !got.Empty() {
		t.Errorf("an outage got a kind's remedy: %+v", got)
	}
}

// A Spec lists every secret it holds, and none that is unset.
func TestSpecsListTheirSecrets(t *testing.T) {
	courier := CourierSpec{BaseURL: "https://c.example", Token: secret.New("tok")}
	partner := PartnerSpec{Host: "https://p.example", ClientSecret: secret.New("sec")}
	if got := courier.Secrets(); len(got) != 1 || got[0] != courier.Credential() {
		t.Errorf("courier secrets %v", got)
	}
	if got := partner.Secrets(); len(got) != 1 || got[0] != partner.Credential() {
		t.Errorf("partner secrets %v", got)
	}
	if got := (PartnerSpec{}).Secrets(); len(got) != 0 {
		t.Errorf("an unset secret is listed: %d", len(got))
	}
	if _, ok := courier.Build(Target{Name: "c"}).(*Courier); !ok || courier.Endpoint() != "https://c.example" {
		t.Error("courier spec builds no courier check")
	}
}

// TestRotationRunbooks: a courier rotate message gives the Yandex
// re-issue steps with the ready link, a partner's asks the partner for a
// new secret, and a kind without steps of its own gets the generic words.
func TestRotationRunbooks(t *testing.T) {
	text := func(r Remedy) string {
		var b strings.Builder
		for _, l := range r.Lines {
			for _, s := range l {
				b.WriteString(s.Text + s.URL)
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	courier := text(Kinds.Rotation(TypeCourier, OK, Site{Endpoint: "https://courier.example", ClientID: "app-1"}))
	for _, want := range []string{"older than this check's rotate_after", "client_id=app-1", "curl -H \"Authorization: OAuth <new-token>\" -X GET https://courier.example/api/v1/test", "token_file"} {
		if !strings.Contains(courier, want) {
			t.Errorf("courier rotation lacks %q:\n%s", want, courier)
		}
	}
	if strings.Contains(courier, "revoked or invalid") {
		t.Errorf("a rotation is not a revoked token:\n%s", courier)
	}
	partner := text(Kinds.Rotation(TypePartner, OK, Site{Endpoint: "https://partner.example"}))
	if !strings.Contains(partner, "Ask the partner") || !strings.Contains(partner, "new client secret") {
		t.Errorf("partner rotation:\n%s", partner)
	}
	if got := Kinds.With(fakeKind("fake")).Rotation("fake", OK, Site{}); !reflect.DeepEqual(got, GenericRotation(OK)) {
		t.Errorf("a kind without a Rotation: %+v", got)
	}
	if got := Kinds.Rotation("gone", OK, Site{}); !reflect.DeepEqual(got, GenericRotation(OK)) {
		t.Errorf("a type no kind has: %+v", got)
	}
}
