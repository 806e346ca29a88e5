package checks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errNotObject is returned for a body that is not exactly one JSON object.
var errNotObject = errors.New("not a JSON object")

// duplicateKeyError names a key that appears twice in one JSON object.
type duplicateKeyError struct{ Key string }

func (e *duplicateKeyError) Error() string { return fmt.Sprintf("the key %q appears twice", e.Key) }

// parseObject returns the members of the JSON object body by their exact
// names. encoding/json alone matches struct fields case-insensitively and
// lets the last of two equal keys win, so {"MESSAGE":"OK"} or
// {"message":"Error","message":"OK"} would read as a working token: an
// answer that decides a verdict must say one thing only. A well-formed
// object with a repeated key gives a *duplicateKeyError; anything else
// that is not one JSON object gives errNotObject.
func parseObject(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	members := map[string]json.RawMessage{}
	var dup *duplicateKeyError
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			return nil, errNotObject
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, errNotObject
		}
		if _, seen := members[key]; seen && dup == nil {
			dup = &duplicateKeyError{Key: key}
		}
		members[key] = value
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject // something after the object
	}
	if dup != nil {
		return nil, dup
	}
	return members, nil
}

// isNull reports whether a member is JSON null.
func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// stringMember is the string value of a member; ok is false when the member
// is absent, null or not a string.
func stringMember(obj map[string]json.RawMessage, key string) (value string, ok bool) {
	raw, found := obj[key]
	if !found || isNull(raw) {
		return "", false
	}
	if json.Unmarshal(raw, &value) != nil {
		return "", false
	}
	return value, true
}

// notAnObject says, for a detail, why a body is not the JSON object expected.
func notAnObject(err error, a Answer, scrub func(string) string) string {
	var dup *duplicateKeyError
	if errors.As(err, &dup) {
		return "the body has the key " + quote(dup.Key, scrub) + " twice"
	}
	return "the body is not a JSON object: " + describeBody(a, scrub)
}
