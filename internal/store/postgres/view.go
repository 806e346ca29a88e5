package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// view is the part of the state one transaction read, as a state.File,
// with what it was when read, to write back only what changed.
type view struct {
	file *state.File
	// fileOnly views hold the file-level fields only: records and
	// messages are neither read nor written.
	fileOnly bool
	// recRaw is the stored JSON of each record that holds fields this
	// binary does not know, kvRaw of every file-level row; before is this
	// binary's JSON of each as read, to tell what changed.
	recRaw, recBefore map[string][]byte
	kvRaw, kvBefore   map[string][]byte
	boxBefore         map[string][]store.Keyed
}

var (
	recordType = reflect.TypeFor[state.Record]()
	// fileTypes is the type of every file-level field, by its JSON name.
	fileTypes = fields(reflect.TypeFor[state.File]())
)

// load reads the scope's records, every file-level row, and the scope's
// messages. It takes no lock: a writer holds the file-level advisory lock
// (every writer of records does), or reads one consistent snapshot. A
// view read only (readOnly) is not written back: it keeps nothing to tell
// what changed, which halves what a snapshot of 10,000 checks costs.
func load(ctx context.Context, tx pgx.Tx, scope store.Scope, readOnly bool) (*view, error) {
	v, err := loadFileLevel(ctx, tx)
	if err != nil {
		return nil, err
	}
	v.fileOnly = false
	where, args := "", []any{}
	if !scope.All {
		where, args = " WHERE name = ANY($1)", []any{scope.Checks}
	}
	rows, err := tx.Query(ctx, "SELECT name, record::text FROM tokenwatch_records"+where+" ORDER BY name", args...)
	if err != nil {
		return nil, err
	}
	v.recRaw, v.recBefore = map[string][]byte{}, map[string][]byte{}
	for rows.Next() {
		var name string
		var raw []byte
		if err := rows.Scan(&name, &raw); err != nil {
			return nil, err
		}
		rec, newer, err := decodeRecord(raw, readOnly)
		if err != nil {
			return nil, fmt.Errorf("%w: checks.%s: %v", errInvalid, name, err)
		}
		v.file.Checks[name] = rec
		if readOnly {
			continue
		}
		if newer {
			v.recRaw[name] = raw // to keep what this binary does not know
		}
		if v.recBefore[name], err = json.Marshal(rec); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := v.loadOutbox(ctx, tx, scope, readOnly); err != nil {
		return nil, err
	}
	if p := v.file.Problem(); p != "" {
		return nil, fmt.Errorf("%w: %s", errInvalid, p)
	}
	return v, nil
}

// decodeRecord decodes a stored record, and reports whether it holds a
// field this binary does not know (a newer release's): only such a record
// needs preserve when it is written back, and most have none. A record
// read only is not asked.
func decodeRecord(raw []byte, readOnly bool) (rec *state.Record, newer bool, err error) {
	rec = &state.Record{}
	if readOnly {
		return rec, false, json.Unmarshal(raw, rec)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(rec) == nil {
		return rec, false, nil
	}
	rec = &state.Record{}
	return rec, true, json.Unmarshal(raw, rec)
}

// loadOutbox reads the scope's messages, oldest first.
func (v *view) loadOutbox(ctx context.Context, tx pgx.Tx, scope store.Scope, readOnly bool) error {
	where, args := "", []any{}
	if !scope.All {
		where, args = " WHERE check_name = ANY($1)", []any{scope.Checks}
	}
	rows, err := tx.Query(ctx, "SELECT id, notifier, message::text FROM tokenwatch_outbox"+where+" ORDER BY id", args...)
	if err != nil {
		return err
	}
	v.boxBefore = map[string][]store.Keyed{}
	v.file.Outboxes = map[string][]state.Pending{}
	for rows.Next() {
		var id int64
		var notifier string
		var raw []byte
		if err := rows.Scan(&id, &notifier, &raw); err != nil {
			return err
		}
		var p state.Pending
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("%w: outbox message %d: %v", errInvalid, id, err)
		}
		v.file.Outboxes[notifier] = append(v.file.Outboxes[notifier], p)
		if readOnly {
			continue
		}
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		v.boxBefore[notifier] = append(v.boxBefore[notifier], store.Keyed{ID: id, JSON: data})
	}
	return rows.Err()
}

// loadFileLevel reads the file-level rows into a state.File with no
// records and no messages. A row this binary does not know (a newer
// release's field) is left alone, now and when the view is written.
func loadFileLevel(ctx context.Context, tx pgx.Tx) (*view, error) {
	rows, err := tx.Query(ctx, "SELECT key, value::text FROM tokenwatch_file")
	if err != nil {
		return nil, err
	}
	v := &view{fileOnly: true, kvRaw: map[string][]byte{}}
	doc := map[string]json.RawMessage{}
	for rows.Next() {
		var key, raw string
		if err := rows.Scan(&key, &raw); err != nil {
			return nil, err
		}
		v.kvRaw[key] = []byte(raw)
		if _, known := fileTypes[key]; known {
			doc[key] = json.RawMessage(raw)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	f := state.New()
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	f.Version, f.Checks = state.FormatVersion, map[string]*state.Record{}
	if p := f.Problem(); p != "" {
		return nil, fmt.Errorf("%w: %s", errInvalid, p)
	}
	v.file = f
	if v.kvBefore, err = fileLevel(f); err != nil {
		return nil, err
	}
	return v, nil
}

// fileLevel is the JSON of each file-level field of f that is set, by
// its JSON name: every field of File but its version, records and
// messages, so a field a later release adds is kept with no change here.
func fileLevel(f *state.File) (map[string][]byte, error) {
	c := *f
	c.Checks, c.Outboxes = nil, nil
	data, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode the state: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for k, raw := range doc {
		if k != "version" && k != "checks" && k != "outboxes" {
			out[k] = raw
		}
	}
	return out, nil
}

// write writes what changed since the view was read.
func (v *view) write(ctx context.Context, tx pgx.Tx) error {
	if err := v.writeFileLevel(ctx, tx); err != nil {
		return err
	}
	if v.fileOnly {
		return nil
	}
	if err := v.writeRecords(ctx, tx); err != nil {
		return err
	}
	return v.writeOutbox(ctx, tx)
}

func (v *view) writeFileLevel(ctx context.Context, tx pgx.Tx) error {
	after, err := fileLevel(v.file)
	if err != nil {
		return err
	}
	var keys, values, gone []string
	for k, fresh := range after {
		if bytes.Equal(v.kvBefore[k], fresh) {
			continue
		}
		keys = append(keys, k)
		values = append(values, string(preserve(v.kvRaw[k], fresh, fileTypes[k])))
	}
	for k := range v.kvBefore {
		if _, ok := after[k]; !ok {
			gone = append(gone, k)
		}
	}
	return upsertFileLevel(ctx, tx, keys, values, gone)
}

// upsertFileLevel writes file-level rows and deletes those in gone.
func upsertFileLevel(ctx context.Context, tx pgx.Tx, keys, values, gone []string) error {
	if len(keys) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO tokenwatch_file (key, value)
			SELECT k, v::jsonb FROM unnest($1::text[], $2::text[]) AS u(k, v)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, keys, values); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM tokenwatch_file WHERE key = ANY($1)", gone); err != nil {
			return err
		}
	}
	return nil
}

func (v *view) writeRecords(ctx context.Context, tx pgx.Tx) error {
	var names, types, endpoints, records, gone []string
	for _, name := range slices.Sorted(maps.Keys(v.file.Checks)) {
		rec := v.file.Checks[name]
		fresh, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode the record of %s: %w", name, err)
		}
		if before, ok := v.recBefore[name]; ok && bytes.Equal(before, fresh) {
			continue
		}
		names, types, endpoints = append(names, name), append(types, rec.Type), append(endpoints, rec.Endpoint)
		if raw, newer := v.recRaw[name]; newer {
			fresh = preserve(raw, fresh, recordType)
		}
		records = append(records, string(fresh))
	}
	for name := range v.recBefore {
		if _, ok := v.file.Checks[name]; !ok {
			gone = append(gone, name)
		}
	}
	return writeRecords(ctx, tx, names, types, endpoints, records, gone)
}

// writeRecords upserts records, in one statement, and deletes those in gone.
func writeRecords(ctx context.Context, tx pgx.Tx, names, types, endpoints, records, gone []string) error {
	if len(names) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO tokenwatch_records (name, type, endpoint, record)
			SELECT n, t, e, r::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(n, t, e, r)
			ON CONFLICT (name) DO UPDATE SET type = excluded.type, endpoint = excluded.endpoint, record = excluded.record`,
			names, types, endpoints, records); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM tokenwatch_records WHERE name = ANY($1)", gone); err != nil {
			return err
		}
	}
	return nil
}

// writeOutbox deletes the messages a decision removed or changed, and
// inserts the new ones in order (see store.Match).
func (v *view) writeOutbox(ctx context.Context, tx pgx.Tx) error {
	var gone []int64
	var notifiers, checks, messages []string
	for _, n := range slices.Sorted(maps.Keys(v.boxBefore)) {
		if _, ok := v.file.Outboxes[n]; !ok {
			for _, k := range v.boxBefore[n] {
				gone = append(gone, k.ID)
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(v.file.Outboxes)) {
		after := v.file.Outboxes[n]
		m, err := store.Match(v.boxBefore[n], after)
		if err != nil {
			return err
		}
		gone = append(gone, m.Gone...)
		for i, id := range m.Kept {
			if id == 0 {
				notifiers, checks, messages = append(notifiers, n), append(checks, after[i].Check), append(messages, string(m.JSON[i]))
			}
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM tokenwatch_outbox WHERE id = ANY($1)", gone); err != nil {
			return err
		}
	}
	return insertMessages(ctx, tx, notifiers, checks, messages)
}

// insertMessages appends messages, in the order given: the IDs they get
// follow it, and every writer holds the decision lock, so IDs grow in the
// order messages are committed.
func insertMessages(ctx context.Context, tx pgx.Tx, notifiers, checks, messages []string) error {
	if len(messages) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO tokenwatch_outbox (notifier, check_name, message)
		SELECT n, c, m::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(n, c, m, i)
		ORDER BY i`, notifiers, checks, messages)
	return err
}

// importFile writes every record and message of f, and merges its
// file-level fields into the database's (see mergeFileLevel).
func importFile(ctx context.Context, tx pgx.Tx, f *state.File) error {
	var names, types, endpoints, records []string
	for _, name := range slices.Sorted(maps.Keys(f.Checks)) {
		rec := f.Checks[name]
		data, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode the record of %s: %w", name, err)
		}
		names, types, endpoints, records = append(names, name), append(types, rec.Type), append(endpoints, rec.Endpoint), append(records, string(data))
	}
	if err := writeRecords(ctx, tx, names, types, endpoints, records, nil); err != nil {
		return err
	}
	var notifiers, checks, messages []string
	for _, n := range slices.Sorted(maps.Keys(f.Outboxes)) {
		for _, p := range f.Outboxes[n] {
			data, err := json.Marshal(p)
			if err != nil {
				return fmt.Errorf("encode a message for %s: %w", p.Check, err)
			}
			notifiers, checks, messages = append(notifiers, n), append(checks, p.Check), append(messages, string(data))
		}
	}
	if err := insertMessages(ctx, tx, notifiers, checks, messages); err != nil {
		return err
	}
	v, err := loadFileLevel(ctx, tx)
	if err != nil {
		return err
	}
	mergeFileLevel(v.file, f)
	return v.write(ctx, tx)
}
