package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// Format 1, as the first release wrote it: one outbox (Slack's), one Slack
// thread per record, and records keyed by a checksum of the check's name,
// type, endpoint and alert settings. These types are frozen: they describe
// files already on disk.
type (
	fileV1 struct {
		Version     int                     `json:"version"`
		Checks      map[string]*recordV1    `json:"checks"`
		Outbox      []Pending               `json:"outbox,omitempty"`
		LastSuccess time.Time               `json:"last_success,omitzero"`
		Totals      []Total                 `json:"totals,omitempty"`
		Outputs     map[string]OutputStatus `json:"outputs,omitempty"`
	}
	recordV1 struct {
		Key string `json:"key"`
		alert.Track
		Thread *Thread `json:"thread,omitempty"`
	}
)

// notifierV1 is the only notifier format 1 knew.
const notifierV1 = "slack"

// decodeV1 reads a format-1 file, or says why it is corrupt.
func decodeV1(data []byte) (*fileV1, string) {
	var f fileV1
	if reason := strict(data, &f); reason != "" {
		return nil, reason
	}
	for name, rec := range f.Checks {
		switch {
		case rec == nil:
			return nil, "checks." + name + ": null record"
		case rec.Key == "":
			return nil, "checks." + name + ".key: missing"
		case rec.Thread != nil && (rec.Thread.Channel == "" || rec.Thread.TS == ""):
			return nil, "checks." + name + ".thread: channel or ts missing"
		}
	}
	return &f, ""
}

// migrateV1 turns a format-1 file into the current format, keeping every
// alert, thread and undelivered message: the next pass adopts each record
// for the check whose V1Key it holds (see Prune), so nothing is re-alerted.
func migrateV1(old *fileV1) *File {
	f := New()
	f.LastSuccess, f.Totals, f.Outputs = old.LastSuccess, old.Totals, old.Outputs
	for name, rec := range old.Checks {
		r := &Record{V1Key: rec.Key, Track: rec.Track}
		if rec.Thread != nil {
			r.SetThread(notifierV1, *rec.Thread)
		}
		f.Checks[name] = r
	}
	f.SetOutbox(notifierV1, old.Outbox)
	return f
}

// V1Key is the key format 1 gave the record of a check with these name,
// type, endpoint and alert settings: a checksum of them, formatted as the
// first release formatted its alert settings type.
func V1Key(name, typ, endpoint string, s alert.Settings) string {
	// Field names and order of the first release's config.Alert: %+v
	// prints them, so they are part of the key.
	type v1Alert struct {
		AfterFailures int
		AfterOutages  int
		ResolveAfter  int
		RepeatEvery   time.Duration
		SendResolved  bool
	}
	a := v1Alert{s.AfterFailures, s.AfterOutages, s.ResolveAfter, s.RepeatEvery, s.SendResolved}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%+v", name, typ, endpoint, a))
	return hex.EncodeToString(sum[:6])
}
