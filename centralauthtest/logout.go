package centralauthtest

import (
	"crypto/subtle"
	"io"
	"mime"
	"net/http"
	"strings"
)

// handleLogout is POST /api/v1/logout: the app's Basic credentials, and the
// token as a text/plain body. Either of a session's tokens ends the whole
// session; ending an ended session again succeeds. Faults apply.
func (s *Server) handleLogout(w *recorder, r *http.Request) {
	if s.applyFault(w, r) {
		return
	}
	if !s.apiCall(w, r, "text/plain") {
		return
	}
	token, ok := readToken(w, r)
	if !ok {
		return
	}
	sess, known := s.session(token)
	if !known {
		// Not a violation: a token may have expired, or come from another
		// CentralAuth, and the app cannot tell.
		w.fail(http.StatusBadRequest, codeTokenInvalid, "the token is not valid")
		return
	}
	w.carried(sess.ID, tokenKind(sess, token))
	s.EndSession(token)
	w.WriteHeader(http.StatusOK)
}

// readToken reads the body of a call that carries a token: one token,
// raw. It answers the request itself when there is none, and otherwise
// returns it. No message quotes the body: a client might log it.
func readToken(w *recorder, r *http.Request) (string, bool) {
	body, _ := io.ReadAll(r.Body) // already read and bounded by serveHTTP
	token := string(body)
	switch {
	case token == "":
		w.refuse(http.StatusBadRequest, codeTokenMissing, "the request body must contain the token")
		return "", false
	case !isTokenShaped(token):
		w.refuse(http.StatusBadRequest, codeTokenInvalid, "the request body must be the token alone, as raw text, not JSON or a form")
		return "", false
	}
	return token, true
}

// apiCall checks what every server-to-server call shares: POST, the app's
// Basic credentials and the content type.
func (s *Server) apiCall(w *recorder, r *http.Request, contentType string) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.refuse(http.StatusMethodNotAllowed, codeGenericError, "method not allowed; use POST")
		return false
	}
	if !s.authorized(r) {
		w.refuse(http.StatusUnauthorized, codeNoPermission, "the Authorization header is not Basic base64(client_id:client_secret)")
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != contentType {
		w.refuse(http.StatusBadRequest, codeGenericError, "the Content-Type must be "+contentType)
		return false
	}
	return true
}

// authorized checks the Basic credentials. The scheme name is
// case-insensitive (RFC 9110); the credentials must match byte for byte:
// CentralAuth's library does not URL-escape the ID or the secret.
func (s *Server) authorized(r *http.Request) bool {
	scheme, creds, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Basic") &&
		subtle.ConstantTimeCompare([]byte(creds), []byte(s.wantCreds)) == 1
}

// isTokenShaped accepts the characters of a compact JWE or JWT: base64url
// and dots. A token in JSON, a form or with a line break is not one.
func isTokenShaped(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '=') {
			return false
		}
	}
	return true
}
