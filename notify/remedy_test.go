package notify

import (
	"reflect"
	"testing"

	"github.com/tokenwatch/tokenwatch/checks"
)

// A kind's remedy keeps its structure in the content: prose, strong, code
// and links stay spans for each renderer to mark up.
func TestRemedyKeepsItsSpans(t *testing.T) {
	got := fromRemedy(checks.Remedy{Lines: []checks.Line{
		{checks.Prose("Log in as "), checks.Strong("admin"), checks.Prose(", run "), checks.Code("curl <x>")},
		{checks.Link("https://a.example/", "the link"), checks.Prose(": "), checks.CodeURL("https://a.example/")},
	}})
	want := []Line{
		{Prose("Log in as "), {Text: "admin", Style: Strong}, Prose(", run "), {Text: "curl <x>", Style: Code}},
		{{Text: "the link", URL: "https://a.example/"}, Prose(": "), {URL: "https://a.example/", Style: Code}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("What to do:\n%+v\nwant\n%+v", got, want)
	}
	if text := PlainLine(got[1]); text != "the link: https://a.example/" {
		t.Errorf("plain link line %q", text)
	}
}
