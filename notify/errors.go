package notify

import "fmt"

// Class says what an undelivered message needs. Its values are the reason
// label of the notifier error metrics, the same for every notifier.
type Class string

const (
	// Permanent: the configuration is broken (a removed webhook, a revoked
	// token, an archived channel). A person must act; retrying in this run
	// would only repeat the refusal.
	Permanent Class = "permanent"
	// RateLimited: the receiver asked to wait (HTTP 429); retried after
	// Retry-After when that fits in the run.
	RateLimited Class = "rate_limited"
	// Transient: the receiver or the network failed (5xx, timeouts,
	// resets); retried with backoff.
	Transient Class = "transient"
)

// DeliveryError is a message that could not be delivered. The next run
// tries it again, whatever its class.
type DeliveryError struct {
	Notifier string // the notifier's Name
	Class    Class
	// Reason says why in words for on-call: the receiver's own error
	// string, sanitized, and for a permanent error what a person must do.
	// It never holds a secret (a webhook URL, a token).
	Reason   string
	Attempts int
	// Stopped is the context's error when the run was stopped before the
	// message was accepted; nil otherwise.
	Stopped error
}

// Error says why, without any secret.
func (e *DeliveryError) Error() string {
	switch e.Attempts {
	case 0:
		return e.Notifier + ": " + e.Reason
	case 1:
		return fmt.Sprintf("%s: %s (after 1 attempt)", e.Notifier, e.Reason)
	}
	return fmt.Sprintf("%s: %s (after %d attempts)", e.Notifier, e.Reason, e.Attempts)
}

// Unwrap is the context's error when the run was stopped, so the caller
// can tell a stop from a failure with errors.Is(err, context.Canceled).
func (e *DeliveryError) Unwrap() error { return e.Stopped }
