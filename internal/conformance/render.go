package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"text/tabwriter"
)

// counts is how many items had each verdict.
type counts struct{ pass, warn, fail int }

// count counts the items of every check of r.
func (r Report) count() counts {
	var n counts
	for _, c := range r.Checks {
		for _, it := range c.Items {
			switch it.Result {
			case Pass:
				n.pass++
			case Warn:
				n.warn++
			case Fail:
				n.fail++
			}
		}
	}
	return n
}

// WriteText writes the report for a terminal: each check, then one
// aligned line per item (number, verdict, name, detail), then the totals.
func WriteText(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, c := range r.Checks {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s (%s, %s)\n", c.Name, c.Type, c.Endpoint)
		for n, it := range c.Items {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", n+1, it.Result, it.Name, it.Detail)
		}
	}
	n := r.count()
	fmt.Fprintf(tw, "\n%d failed, %d warned, %d passed\n", n.fail, n.warn, n.pass)
	return tw.Flush()
}

// WriteJSON writes the contract's shape:
// {"checks": [{"name", "type", "items": [{"name", "result", "detail"}]}]}.
func WriteJSON(w io.Writer, r Report) error {
	if r.Checks == nil {
		r.Checks = []Check{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// The JUnit XML that CI servers read (Jenkins, GitLab, GitHub actions):
// one testsuite per check, one testcase per item; a fail is a <failure>,
// a warn passes with its words in <system-out>, so that it shows in the
// CI's test report without failing the build.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML.
func WriteJUnit(w io.Writer, r Report) error {
	out := junitSuites{Name: "tokenwatch conformance"}
	for _, c := range r.Checks {
		s := junitSuite{Name: c.Name, Tests: len(c.Items)}
		for n, it := range c.Items {
			tc := junitCase{Name: fmt.Sprintf("%d %s", n+1, it.Name), ClassName: "tokenwatch.conformance." + c.Name}
			switch it.Result {
			case Fail:
				tc.Failure = &junitFailure{Message: it.Detail, Text: it.Detail}
				s.Failures++
			case Warn:
				tc.SystemOut = "warn: " + it.Detail
			}
			s.Cases = append(s.Cases, tc)
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
