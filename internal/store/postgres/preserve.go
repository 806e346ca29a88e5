package postgres

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"
)

// preserve is fresh (this binary's JSON of a value of type t) with the
// fields of stored that this binary does not know put back: on a rolling
// upgrade, an older replica that rewrites a record must not drop what a
// newer one added to it. It goes into nested structs, and into maps of
// structs key by key; a list is this binary's as a whole. A key this
// binary knows and left out of fresh (omitempty: cleared) stays out.
func preserve(stored, fresh []byte, t reflect.Type) []byte {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s, f map[string]json.RawMessage
	if len(stored) == 0 || json.Unmarshal(stored, &s) != nil || json.Unmarshal(fresh, &f) != nil || f == nil {
		return fresh
	}
	switch {
	case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]():
		known := fields(t)
		for k, v := range s {
			ft, ok := known[k]
			switch _, inFresh := f[k]; {
			case !ok:
				f[k] = v // a newer release's field
			case inFresh:
				f[k] = preserve(v, f[k], ft)
			}
		}
	case t.Kind() == reflect.Map:
		for k, v := range f {
			if old, ok := s[k]; ok {
				f[k] = preserve(old, v, t.Elem())
			}
		}
	default:
		return fresh
	}
	out, err := json.Marshal(f)
	if err != nil {
		return fresh
	}
	return out
}

// fieldsOf caches fields by type: preserve asks for the same few types
// for every record it writes.
var fieldsOf sync.Map // reflect.Type -> map[string]reflect.Type

// fields is the JSON name and type of every field of struct type t, those
// of embedded structs included, as encoding/json names them.
func fields(t reflect.Type) map[string]reflect.Type {
	if known, ok := fieldsOf.Load(t); ok {
		return known.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for k, v := range fields(f.Type) {
				out[k] = v
			}
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	fieldsOf.Store(t, out)
	return out
}
