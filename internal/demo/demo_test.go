package demo

import (
	"slices"
	"testing"
)

// The command's scrubber learns the demo's secrets from its configuration,
// so a check added to the demo cannot be left out of it.
func TestSecretsListEveryCheckSecret(t *testing.T) {
	got, err := Secrets()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{GoodToken, RevokedToken, PartnerSecret, RejectedSecret, "demo-globex-secret"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets() lacks one of the demo's secrets (%d listed)", len(got))
		}
	}
}
