package testutil

import (
	"crypto/subtle"
	"io"
	"mime"
	"net/http"
	"strings"
)

// handleLogout is POST /api/v1/logout: the Basic credentials must be
// exactly base64("id:secret") (no URL-escaping), the body the raw token as
// text/plain. Either of a session's tokens ends the whole session;
// logging out an ended session again succeeds.
func (ca *CentralAuth) handleLogout(w http.ResponseWriter, r *http.Request) {
	if ca.applyFault(w, r) {
		return
	}
	token, ok := ca.plainTextAPICall(w, r)
	if !ok {
		return
	}
	// The error messages never quote the token: a client might log them.
	if token == "" {
		writeError(w, http.StatusBadRequest, CodeTokenMissing, "the request body must contain the token")
		return
	}
	if !ca.EndSession(token) {
		writeError(w, http.StatusBadRequest, CodeTokenInvalid, "the token is not valid")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// authorized checks the Basic credentials. The scheme name is
// case-insensitive (RFC 9110); the credentials must match byte for byte.
func (ca *CentralAuth) authorized(r *http.Request) bool {
	scheme, creds, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Basic") &&
		subtle.ConstantTimeCompare([]byte(creds), []byte(ca.wantCreds)) == 1
}

// plainTextAPICall checks what CentralAuth's server-to-server endpoints
// share: POST, the app's Basic credentials, a text/plain body. It answers
// the request itself when one is wrong, and otherwise returns the body.
func (ca *CentralAuth) plainTextAPICall(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, CodeGenericError, "method not allowed; use POST")
		return "", false
	}
	if !ca.authorized(r) {
		writeError(w, http.StatusUnauthorized, CodeNoPermission, "invalid or missing client credentials")
		return "", false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		writeError(w, http.StatusBadRequest, CodeGenericError, "Content-Type must be text/plain")
		return "", false
	}
	body, _ := io.ReadAll(r.Body) // already read and bounded by serveHTTP
	return string(body), true
}
