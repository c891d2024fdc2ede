package oauthlogintest

import (
	"encoding/json"
	"net/http"
)

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "oauthlogintest: encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// writeError answers with an OAuth 2.0 error body (RFC 6749 §5.2).
func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{
		"error":             code,
		"error_description": description,
	})
}

// oauthError is an OAuth 2.0 error response waiting to be written.
type oauthError struct {
	status      int
	code        string
	description string
}

// write sends e; a 401 also carries the Basic challenge RFC 6749 §5.2 asks for.
func (e *oauthError) write(w http.ResponseWriter) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauthlogintest"`)
	}
	writeError(w, e.status, e.code, e.description)
}

// invalidGrant is the error for a code or refresh token the server refuses.
func invalidGrant(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", description}
}

// errorCodeFor names the OAuth error that best fits a scripted HTTP status.
func errorCodeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_client"
	case status == http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request"
	}
}
