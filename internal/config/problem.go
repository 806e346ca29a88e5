package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration file, at the line and
// column of the node that is wrong.
type Problem struct {
	File    string
	Line    int
	Col     int
	Warning bool // a warning does not stop tokenwatch from running
	Message string
}

// String formats the problem as FILE:LINE:COL: message, the form editors
// and CI logs turn into links.
func (p Problem) String() string {
	level := ""
	if p.Warning {
		level = "warning: "
	}
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s%s", p.File, level, p.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", p.File, p.Line, p.Col, level, p.Message)
}

// Problems is every problem found in one file, in file order.
type Problems []Problem

// HasErrors reports whether any problem is an error rather than a warning.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// Err returns the errors as one error, or nil when there are none.
func (ps Problems) Err() error {
	if !ps.HasErrors() {
		return nil
	}
	var lines []string
	for _, p := range ps {
		if !p.Warning {
			lines = append(lines, p.String())
		}
	}
	return &Error{Problems: ps, text: strings.Join(lines, "\n")}
}

// Error is a configuration that cannot be used.
type Error struct {
	Problems Problems
	text     string
}

// Error lists every error, one per line.
func (e *Error) Error() string { return "invalid configuration:\n" + e.text }
