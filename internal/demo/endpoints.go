// Package demo runs tokenwatch end to end on loopback, with no credentials
// and no network: fake courier and partner endpoints and a fake Slack, all
// started inside the process on 127.0.0.1, and the real checks, alert policy,
// Slack notifier and metrics pointed at them.
package demo

import (
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
)

// The demo's credentials: made up, valid only against the fake endpoints.
const (
	GoodToken      = "y0_demo-good-courier-token"
	RevokedToken   = "y0_demo-revoked-courier-token"
	PartnerID      = "demo-shop"
	PartnerSecret  = "demo-partner-secret-0001"
	RejectedSecret = "demo-partner-secret-old"
)

// Endpoints are the fake APIs the demo's checks talk to.
type Endpoints struct {
	Courier        *httptest.Server // Yandex Courier over https: knows GoodToken, rejects everything else
	PartnerReject  *httptest.Server // a partner that issues tokens for PartnerSecret and rejects any other
	PartnerDownURL string           // a partner whose server is down: nothing listens there
}

// StartEndpoints starts the fake APIs on 127.0.0.1.
func StartEndpoints() (*Endpoints, error) {
	// The courier speaks https, as the real one does: its certificate
	// (httptest's own, trusted through ca_file) shows in the TLS metrics.
	courier := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/test" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "OAuth "+GoodToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"not authorized"}`))
			return
		}
		_, _ = w.Write([]byte(`{"message":"OK"}`))
	}))
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/security/oauth/token" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		if r.PostForm.Get("client_id") == PartnerID && r.PostForm.Get("client_secret") == PartnerSecret {
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "demo-issued-token", "expires_in": 300})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode([]map[string]any{{"code": 400, "description": "client_secret is not valid for client_id " + r.PostForm.Get("client_id") + ": it was re-issued on 2026-11-20"}})
	}))
	// Reserve a port, then free it: connections to it are refused, as to a
	// partner whose server is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		courier.Close()
		partner.Close()
		return nil, err
	}
	down := "http://" + l.Addr().String()
	_ = l.Close()
	return &Endpoints{Courier: courier, PartnerReject: partner, PartnerDownURL: down}, nil
}

// Close stops the fake APIs.
func (e *Endpoints) Close() {
	e.Courier.Close()
	e.PartnerReject.Close()
}

// WriteCourierCA writes the certificate the fake courier shows, as PEM, to
// path: the demo's courier checks trust it through ca_file.
func (e *Endpoints) WriteCourierCA(path string) error {
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.Courier.Certificate().Raw})
	return os.WriteFile(path, block, 0o600)
}
