package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// session is the store itself: it holds no connection and no lock
// between calls.
type session struct{ s *Store }

func (ss *session) Info() store.Info { return store.Info{} }
func (ss *session) Close() error     { return nil }

// Decide runs fn in a transaction that holds the decision lock (so runs
// and replicas decide one at a time) and the file-level lock (so no
// delivery writes a thread or a total meanwhile).
func (ss *session) Decide(ctx context.Context, scope store.Scope, fn func(*state.File) error) error {
	s := ss.s
	return s.tx(ctx, "decide", func(ctx context.Context, tx pgx.Tx) error {
		if err := s.lock(ctx, tx, lockDecide, lockFileLevel); err != nil {
			return err
		}
		v, err := load(ctx, tx, scope, false)
		if err != nil {
			return err
		}
		if err := fn(v.file); err != nil {
			return &callerError{err}
		}
		return v.write(ctx, tx)
	})
}

// Update runs fn on the file-level fields, under their lock.
func (ss *session) Update(ctx context.Context, fn func(*state.File) error) error {
	s := ss.s
	return s.tx(ctx, "update the state", func(ctx context.Context, tx pgx.Tx) error {
		return s.fileLevel(ctx, tx, fn)
	})
}

// fileLevel runs fn on the file-level fields and writes what changed; the
// caller's transaction holds no advisory lock yet.
func (s *Store) fileLevel(ctx context.Context, tx pgx.Tx, fn func(*state.File) error) error {
	if err := s.lock(ctx, tx, lockFileLevel); err != nil {
		return err
	}
	v, err := loadFileLevel(ctx, tx)
	if err != nil {
		return err
	}
	if err := fn(v.file); err != nil {
		return &callerError{err}
	}
	return v.write(ctx, tx)
}

// Claim leases the oldest message of each check at notifier, unless that
// one is leased already. The heads come from one snapshot; each is then
// locked, skipping rows another transaction holds (a claimer, a decision
// replacing it: it is claimed next time), and taken only if its lease is
// still free on the row as it is now. So two claimers never both take a
// message, and a claim never waits for a lock, so it cannot deadlock with
// a decision.
func (ss *session) Claim(ctx context.Context, notifier, owner string, lease time.Duration) ([]store.Message, error) {
	s := ss.s
	now := s.now()
	var out []store.Message
	err := s.tx(ctx, "claim messages", func(ctx context.Context, tx pgx.Tx) error {
		// heads walks the (notifier, check_name, id) index one check at a
		// time: a seek per check, however many messages wait behind each.
		rows, err := tx.Query(ctx, `WITH RECURSIVE heads AS (
				(SELECT check_name, id FROM tokenwatch_outbox WHERE notifier = $1 ORDER BY check_name, id LIMIT 1)
				UNION ALL
				SELECT next.check_name, next.id FROM heads, LATERAL (
					SELECT check_name, id FROM tokenwatch_outbox
					WHERE notifier = $1 AND check_name > heads.check_name
					ORDER BY check_name, id LIMIT 1) next),
			free AS (
				SELECT o.id FROM tokenwatch_outbox o JOIN heads ON o.id = heads.id
				WHERE o.lease_until IS NULL OR o.lease_until <= $3
				FOR UPDATE OF o SKIP LOCKED)
			UPDATE tokenwatch_outbox o SET lease_owner = $2, lease_until = $4, claims = claims + 1
			FROM free WHERE o.id = free.id
			RETURNING o.id, o.message::text,
				(SELECT r.record->'threads'->>$1 FROM tokenwatch_records r WHERE r.name = o.check_name)`, notifier, owner, now, now.Add(lease))
		if err != nil {
			return err
		}
		out = out[:0]
		for rows.Next() {
			m := store.Message{Notifier: notifier}
			var raw string
			var thread *string
			if err := rows.Scan(&m.ID, &raw, &thread); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(raw), &m.Pending); err != nil {
				return err
			}
			if thread != nil {
				// The check's thread, for the message to be posted in.
				m.Thread = &state.Thread{}
				if err := json.Unmarshal([]byte(*thread), m.Thread); err != nil {
					return err
				}
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Ack deletes the message, keeps its thread on its check's record (only
// the thread: whatever else the record holds is left as it is), and runs
// fn on the file-level fields. The message is deleted whoever holds its
// lease now: if this claimer outlived its lease and another took the
// message, that one sends a duplicate, but nobody sends it a third time.
func (ss *session) Ack(ctx context.Context, m store.Message, thread *state.Thread, fn func(*state.File)) error {
	s := ss.s
	return s.tx(ctx, "record a delivery", func(ctx context.Context, tx pgx.Tx) error {
		if err := s.fileLevel(ctx, tx, func(f *state.File) error { fn(f); return nil }); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM tokenwatch_outbox WHERE id = $1", m.ID); err != nil {
			return err
		}
		if thread == nil || thread.Channel == "" || thread.TS == "" {
			return nil
		}
		data, err := json.Marshal(thread)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tokenwatch_records
			SET record = jsonb_set(record, '{threads}', COALESCE(record->'threads', '{}'::jsonb) || jsonb_build_object($2::text, $3::jsonb))
			WHERE name = $1`, m.Check, m.Notifier, string(data))
		return err
	})
}

// Nack counts the attempt in the message's own JSON (leaving the rest of
// it as stored), ends its lease, and runs fn on the file-level fields.
func (ss *session) Nack(ctx context.Context, m store.Message, reason string, fn func(*state.File)) error {
	s := ss.s
	return s.tx(ctx, "record a failed delivery", func(ctx context.Context, tx pgx.Tx) error {
		if err := s.fileLevel(ctx, tx, func(f *state.File) error { fn(f); return nil }); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE tokenwatch_outbox SET lease_owner = NULL, lease_until = NULL,
			message = message || jsonb_build_object('attempts', COALESCE((message->>'attempts')::int, 0) + 1, 'last_error', $2::text)
			WHERE id = $1`, m.ID, reason)
		return err
	})
}
