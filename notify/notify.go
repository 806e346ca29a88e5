// Package notify is how on-call hears about tokenwatch's decisions. A
// notifier delivers one Message at a time (or one summary of many); what a
// message says is built once, with no medium's markup (Compose, Content),
// and rendered by each notifier in its own: Block Kit and mrkdwn in
// notify/slack, plain text here (Text) for a terminal and for media
// without markup. A notifier is one package under notify/ implementing
// Notifier, built from its configuration section in job.BuildNotifiers.
package notify

import (
	"context"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// Message is one decision on its way to on-call.
type Message struct {
	alert.Decision
	// Late is set when an earlier run decided this and could not deliver it.
	Late bool
	// Thread is where the incident's first message lives (bot mode); nil
	// when there is none or the medium has no threads.
	Thread *Thread
}

// Thread locates a posted message, so replies and updates can follow it.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Notifier delivers messages. Implementations retry what is worth retrying
// within one call; an error means the message was not delivered and will
// be tried again by the next run.
type Notifier interface {
	// Name is the notifier's name in reports, errors and metrics ("slack").
	Name() string
	// Send delivers one message. For an alert that opens an incident it
	// returns where the message went, so later messages can thread under it.
	Send(ctx context.Context, m Message) (*Thread, error)
	// SendSummary delivers many messages as one, when a run has too many.
	SendSummary(ctx context.Context, ms []Message) error
}

// Limited is a Notifier that takes at most MaxPerRun messages one by one in
// a run (or a serve tick); past that, the run sends one summary instead.
type Limited interface {
	MaxPerRun() int
}

// MaxPerRun is n's limit of messages per run; 0 means none.
func MaxPerRun(n Notifier) int {
	if l, ok := n.(Limited); ok {
		return l.MaxPerRun()
	}
	return 0
}

// Syncer is a Notifier that also wants, on every pass, every alert that is
// active now (Alertmanager: an alert it does not hear again lapses). Sync
// gets the whole set each time; the messages of the outbox (alerts,
// reminders, resolutions) still come through Send.
type Syncer interface {
	Sync(ctx context.Context, active []Active) error
}

// Active is an alert on-call was told about and that is not over, as the
// state knows it now.
type Active struct {
	alert.Decision
	// ValidFor is how long the alert stands without being sent again: a
	// receiver that expires alerts ends it this long after now, unless the
	// next pass sends it first.
	ValidFor time.Duration
}
