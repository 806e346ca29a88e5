package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"testing"
)

// sample is a report of every kind of item, as plain values.
var sample = Report{Checks: []Check{
	{Name: "partner-acme", Type: "partner_oauth", Endpoint: "https://partner.example.com", Items: []Item{
		{Name: "token_request", Result: Pass, Detail: `token issued, expires_in 300 s (HTTP 200, application/json, body "{\"access_token\":\"[redacted]\",\"expires_in\":300}")`},
		{Name: "media_type", Result: Pass, Detail: "the answer is application/json"},
		{Name: "wrong_secret", Result: Warn, Detail: `a wrong secret got RFC 6749 invalid_client <instead> & more`},
		{Name: "missing_grant_type", Result: Fail, Detail: `a request without grant_type was answered with a success: the endpoint does not check grant_type`},
	}},
	{Name: "courier-main", Type: "courier", Endpoint: "https://courier.yandex.ru", Items: []Item{
		{Name: "token", Result: Pass, Detail: `the token gets 200 {"message":"OK"}`},
		{Name: "wrong_token", Result: Pass, Detail: "a wrong token gets 401"},
	}},
}}

func TestTextReportGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sample); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", b.String())
}

// The JSON is exactly the contract's shape, nothing more.
func TestJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sample); err != nil {
		t.Fatal(err)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["checks"]) != 2 {
		t.Fatalf("top level %v", got)
	}
	c := got["checks"][0]
	if len(c) != 3 || c["name"] != "partner-acme" || c["type"] != "partner_oauth" {
		t.Errorf("check keys %v", c)
	}
	items := c["items"].([]any)
	first := items[0].(map[string]any)
	if len(first) != 3 || first["name"] != "token_request" || first["result"] != "pass" || first["detail"] == "" {
		t.Errorf("item %v", first)
	}
	b.Reset()
	if err := WriteJSON(&b, Report{}); err != nil || b.String() != "{\n  \"checks\": []\n}\n" {
		t.Errorf("empty report %q, %v", b.String(), err)
	}
}

// JUnit as a CI server reads it: parsed back with encoding/xml.
func TestJUnitParsesBack(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sample); err != nil {
		t.Fatal(err)
	}
	got := parseJUnit(t, b.Bytes())
	want := readJUnit{Tests: 6, Failures: 1, Suites: []readSuite{
		{Name: "partner-acme", Tests: 4, Failures: 1, Cases: []readCase{
			{Name: "1 token_request", ClassName: "tokenwatch.conformance.partner-acme"},
			{Name: "2 media_type", ClassName: "tokenwatch.conformance.partner-acme"},
			{Name: "3 wrong_secret", ClassName: "tokenwatch.conformance.partner-acme", SystemOut: "warn: a wrong secret got RFC 6749 invalid_client <instead> & more"},
			{Name: "4 missing_grant_type", ClassName: "tokenwatch.conformance.partner-acme", Failure: &readFailure{
				Message: "a request without grant_type was answered with a success: the endpoint does not check grant_type",
				Text:    "a request without grant_type was answered with a success: the endpoint does not check grant_type"}},
		}},
		{Name: "courier-main", Tests: 2, Cases: []readCase{
			{Name: "1 token", ClassName: "tokenwatch.conformance.courier-main"},
			{Name: "2 wrong_token", ClassName: "tokenwatch.conformance.courier-main"},
		}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v\nfrom\n%s", got, want, b.String())
	}
	golden(t, "report.junit.xml", b.String())
}

// readJUnit and its parts are the XML a CI server reads, declared apart from the
// writer's types so that the test proves what a reader sees.
type readJUnit struct {
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Suites   []readSuite `xml:"testsuite"`
}

type readSuite struct {
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Cases    []readCase `xml:"testcase"`
}

type readCase struct {
	Name      string       `xml:"name,attr"`
	ClassName string       `xml:"classname,attr"`
	Failure   *readFailure `xml:"failure"`
	SystemOut string       `xml:"system-out"`
}

type readFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// parseJUnit reads a JUnit report as a CI server would.
func parseJUnit(t testing.TB, data []byte) readJUnit {
	t.Helper()
	var j readJUnit
	if err := xml.Unmarshal(data, &j); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	return j
}
