// Package version says which tokenwatch this is.
package version

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"time"
)

// Version is set at build time with -ldflags "-X github.com/tokenwatch/tokenwatch/internal/version.Version=v1.2.3".
var Version = "dev"

// Commit is the VCS revision the binary was built from, when Go recorded it.
func Commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	commit, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		commit += "-dirty"
	}
	return commit
}

// GoVersion is the Go release the binary was built with.
func GoVersion() string { return runtime.Version() }

// UserAgent is sent with every request tokenwatch makes.
func UserAgent() string { return "tokenwatch/" + Version }

// Transport sets User-Agent: tokenwatch/<version> on every request it
// carries (Slack, the Pushgateway, the heartbeat), as the checks do.
type Transport struct {
	// Base carries the request; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", UserAgent())
	return base.RoundTrip(r)
}

// Client is an HTTP client with a timeout that identifies tokenwatch and
// never follows a redirect: Slack, the heartbeat and the Pushgateway are
// reached through URLs that are secrets (or carry them), and following a
// redirect would re-send the request, with a Referer quoting that URL, to
// a host nobody configured. The caller gets the 3xx answer itself and
// treats it as a failed delivery.
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: Transport{}, CheckRedirect: refuseRedirect}
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
