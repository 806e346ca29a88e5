package job

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
)

// Job is everything one pass needs. Build it once; Run it once per pass.
type Job struct {
	Config *config.Config
	Checks []checks.Check
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Options change one pass.
type Options struct {
	// Only restricts the pass to these check names; empty means all.
	Only []string
	// DryRun checks and decides, but sends, pushes and writes nothing.
	DryRun bool
}

// Report is what one pass did.
type Report struct {
	Results []checks.Result
	Started time.Time
	// Duration is the wall time of the whole pass.
	Duration time.Duration
	// Notifications lists every message of the pass, delivered or not.
	Notifications []Notification
	// Failures says what could not be delivered or saved; non-empty means exit 3.
	Failures []string
}

// Notification is one message the pass sent or meant to send.
type Notification struct {
	Check     string
	Kind      string // alert, reminder, resolved
	Notifier  string
	Delivered bool
	Late      bool   // decided by an earlier run that could not deliver it
	Error     string // why it was not delivered; empty in a dry run
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// Run performs one pass.
func (j *Job) Run(ctx context.Context, opts Options) Report {
	rep := Report{Started: j.now()}
	selected := j.selected(opts.Only)
	rep.Results = checks.RunAll(ctx, selected, j.Config.Concurrency)
	for _, r := range rep.Results {
		j.Logger.Info("check done", "check", r.Check, "type", r.Type, "outcome", string(r.Outcome),
			"http_status", r.HTTPStatus, "duration", r.Duration.Round(time.Millisecond).String(),
			"fingerprint", r.Fingerprint, "detail", r.Detail)
	}
	rep.Duration = j.now().Sub(rep.Started)
	return rep
}

func (j *Job) selected(only []string) []checks.Check {
	if len(only) == 0 {
		return j.Checks
	}
	want := map[string]bool{}
	for _, name := range only {
		want[name] = true
	}
	var out []checks.Check
	for _, c := range j.Checks {
		if want[c.Name()] {
			out = append(out, c)
		}
	}
	return out
}
