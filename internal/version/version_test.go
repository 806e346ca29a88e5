package version

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The client every notifier, the heartbeat and the Pushgateway share must
// hand a redirect back to its caller: following it would re-post a message
// (and a Referer holding the secret URL) to a host nobody configured.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer other.Close()
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua = r.Header.Get("User-Agent")
		http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	resp, err := Client(5*time.Second).Post(srv.URL+"/services/secret", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status %d: want the 307 itself, handed to the caller", resp.StatusCode)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
	if !strings.HasPrefix(ua, "tokenwatch/") {
		t.Errorf("User-Agent %q", ua)
	}
}
