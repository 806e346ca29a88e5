package postgres

import (
	"maps"
	"slices"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// mergeFileLevel adds the file-level fields of an imported file to what
// the database holds, losing none of the database's own (it may hold
// other checks' silences and counts): silences by ID, totals and error
// counts added up, the later last success, the database's health of a
// notifier or output where it has one and the file's for the others, and
// the database's egress notice while one is open.
func mergeFileLevel(db, in *state.File) {
	if in.LastSuccess.After(db.LastSuccess) {
		db.LastSuccess = in.LastSuccess
	}
	db.Silences = mergeSilences(db.Silences, in.Silences)
	db.Totals = mergeTotals(db.Totals, in.Totals)
	db.Errors = mergeErrors(db.Errors, in.Errors)
	db.Outputs = addMissing(db.Outputs, in.Outputs)
	db.Notifiers = addMissing(db.Notifiers, in.Notifiers)
	if db.Egress == nil {
		db.Egress = in.Egress
	}
}

// mergeSilences is db's silences, then those of in whose ID db lacks.
func mergeSilences(db, in []state.Silence) []state.Silence {
	have := map[string]bool{}
	for _, s := range db {
		have[s.ID] = true
	}
	for _, s := range in {
		if !have[s.ID] {
			db = append(db, s)
		}
	}
	return db
}

// mergeTotals adds the counts of in to those of db, so that a counter
// never goes backwards.
func mergeTotals(db, in []state.Total) []state.Total {
	for _, t := range in {
		i := slices.IndexFunc(db, func(d state.Total) bool {
			return d.Notifier == t.Notifier && d.Kind == t.Kind && d.Result == t.Result
		})
		if i < 0 {
			db = append(db, t)
			continue
		}
		db[i].Value += t.Value
	}
	return db
}

// mergeErrors adds the error counts of in to those of db.
func mergeErrors(db, in []state.ErrorTotal) []state.ErrorTotal {
	for _, e := range in {
		i := slices.IndexFunc(db, func(d state.ErrorTotal) bool { return d.Notifier == e.Notifier && d.Reason == e.Reason })
		if i < 0 {
			db = append(db, e)
			continue
		}
		db[i].Value += e.Value
	}
	return db
}

// addMissing is db with the entries of in whose key db lacks.
func addMissing[V any](db, in map[string]V) map[string]V {
	if len(in) == 0 {
		return db
	}
	out := maps.Clone(db)
	if out == nil {
		out = map[string]V{}
	}
	for k, v := range in {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}
