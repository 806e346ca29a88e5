// Package store is where tokenwatch keeps what it remembers between
// passes, behind one interface with two implementations: the state file
// (File, the embedded default: one machine, one lock) and PostgreSQL
// (package store/postgres: several serve replicas, or a CronJob without a
// volume).
//
// The interface follows a pass: a Session is opened while the checks run;
// Decide evaluates every result and queues the messages in one short
// transaction, with no network call inside it; each notifier's messages
// are then claimed per check, oldest first, under a lease, sent, and
// acknowledged one by one (Ack, Nack); Update records the rest (outputs,
// last success, silences). Everything is read and written as the types of
// package state, so the alert policy and the job see the same state.File
// whichever store keeps it.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// Store is where the state lives.
type Store interface {
	// Open starts a session: the state file is locked (waiting as long as
	// the store was told, then ErrLocked) and read, as today; PostgreSQL
	// checks the connection and that the schema is one this binary can
	// use. A session may be kept across passes (serve) or closed after one.
	// The file store may return a session along with an error: the file
	// could be read but will not be saved (see File.Open); the pass decides
	// and alerts from it, and reports the error.
	Open(ctx context.Context) (Session, error)
	// Snapshot is the whole state, read only: it never waits for a lock
	// and never writes (status, metrics on every replica, dry runs).
	// PostgreSQL reads it in one consistent transaction.
	Snapshot(ctx context.Context) (*state.File, error)
	// ClaimSlot reports whether this caller won the check's schedule slot
	// (see EverySlot, CronSlot): exactly one caller wins each slot, however
	// many replicas ask. owner names the caller, for people reading the
	// database. The file store has one process and always wins.
	ClaimSlot(ctx context.Context, check string, slot time.Time, owner string) (bool, error)
	// Import copies a whole state in: records, outboxes in order, and
	// every file-level field. It refuses with ErrNotEmpty when the store
	// already holds a record of any of the configured checks.
	Import(ctx context.Context, f *state.File, configured []string) error
	// Close releases what the store holds (PostgreSQL's connections).
	Close() error
}

// Session is a hold on the state for one pass or more. Its methods may be
// called from several goroutines at once.
type Session interface {
	// Info says what opening found (file store: a corrupt or migrated
	// file; zero for PostgreSQL).
	Info() Info
	// Decide runs fn on the state of the scope's checks in one short
	// transaction: fn sees their records, every file-level field, and
	// every notifier's undelivered messages about them (Outboxes, oldest
	// first), and may change them all; what it changed is written when it
	// returns nil, and nothing is when it returns an error or the
	// transaction fails. fn must not make a network call. Decisions are
	// serialized across replicas and processes: two runs never decide from
	// the same state.
	Decide(ctx context.Context, scope Scope, fn func(*state.File) error) error
	// Update runs fn on the file-level fields (outputs, last success,
	// totals, silences, ...) in one short transaction; fn sees no records
	// and no outboxes, and changes to them are not kept.
	Update(ctx context.Context, fn func(*state.File) error) error
	// Claim leases notifier's next message of every check for lease: the
	// oldest undelivered message of each check, unless it is leased to
	// someone else already (then nothing of that check is claimed: order
	// per check is kept). A message whose lease ran out (its claimer died)
	// is claimed again. Nothing to claim is an empty slice.
	Claim(ctx context.Context, notifier, owner string, lease time.Duration) ([]Message, error)
	// Ack records that m was delivered: it leaves the outbox, the thread
	// it was posted in (when not nil and complete) becomes its check's
	// thread at this notifier, and fn records the rest on the file-level
	// fields (totals, notifier health), all in one transaction.
	Ack(ctx context.Context, m Message, thread *state.Thread, fn func(*state.File)) error
	// Nack records that m was not delivered: its attempts grow by one, the
	// reason is kept, its lease ends (the next Claim takes it again), and
	// fn records the rest, in one transaction.
	Nack(ctx context.Context, m Message, reason string, fn func(*state.File)) error
	// Close ends the session (the file store releases its lock).
	Close() error
}

// Scope is which checks a decision reads and may change.
type Scope struct {
	// Checks are the names of the checks the pass ran.
	Checks []string
	// All reads every record and message, configured or not (to prune
	// what is no longer configured): one pass of every check, and start-up.
	All bool
}

// Info is what opening a session found.
type Info struct {
	// Corruption is set when the state file was corrupt and started afresh.
	Corruption *state.Corruption
	// MigratedFrom is the format the file was migrated from (0: none),
	// and Backup where the original was kept.
	MigratedFrom int
	Backup       string
}

// Message is an undelivered message, claimed.
type Message struct {
	// ID identifies the message in its store; within one notifier and one
	// check, a later message has a larger ID.
	ID       int64
	Notifier string
	state.Pending
	// Thread is the check's thread at the notifier when it was claimed
	// (nil: none yet): a message about an incident is posted in it, and an
	// alert delivered by another replica since the decision may have
	// opened it.
	Thread *state.Thread
}

// CorruptError is the file store's Snapshot error for a file that is not
// a state: what was found, for the notice that says so.
type CorruptError struct {
	Path       string
	Corruption *state.Corruption
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("read state %s: corrupt: %s", e.Path, e.Corruption.Reason)
}

var (
	// ErrNotEmpty is returned by Import when the store already holds
	// state for a configured check.
	ErrNotEmpty = errors.New("the store already holds state for a configured check")
	// ErrLocked is returned when another run holds the state for longer
	// than the store waits.
	ErrLocked = state.ErrLocked
	// ErrUnsaved is returned by a file session whose change was made in
	// memory but could not be written: the session goes on from it (its
	// next calls see the change), and the pass reports the state unsaved.
	ErrUnsaved = errors.New("state not saved")
	// ErrUnavailable is wrapped by an error of a store that could not
	// reach its database (the connection broke, or it did not answer in
	// time): the state was not written, and trying again later may work.
	ErrUnavailable = errors.New("the state's database cannot be reached")
)
