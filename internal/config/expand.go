package config

import (
	"fmt"
	"strings"
)

// Expand replaces ${VAR} in s with the variable's value, once: a "$" inside
// a value is not expanded again. "$$" is a literal "$"; any other "$" is
// literal too. An unset or empty variable is an error, never a silent empty
// string. Errors name the variable, never its value.
func Expand(s string, env Env) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ (write $$ for a literal $)")
			}
			name := s[i+2 : i+2+end]
			if !validVarName(name) {
				return "", fmt.Errorf("${%s} is not a valid environment variable name", name)
			}
			v, ok := env(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			if v == "" {
				return "", fmt.Errorf("environment variable %s is empty", name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
