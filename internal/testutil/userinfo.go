package testutil

import (
	"encoding/json"
	"net/http"
	"strings"
)

// UserInfo is what UserInfoPath answers for a token of an active session.
type UserInfo struct {
	User      string `json:"user"`
	SessionID string `json:"session_id"`
}

// handleUserInfo is GET /api/v1/userinfo with "Authorization: Bearer
// <token>", either of a session's tokens. It answers 200 and a UserInfo
// while the session is active, and 401 with errorCode sessionInactive once
// it was logged out, tokenInvalid for a token it never issued and
// tokenMissing without one. This is how an app learns that a session-wide
// logout in another app ended its user's session.
func (ca *CentralAuth) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, CodeGenericError, "method not allowed; use GET")
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		unauthorized(w, CodeTokenMissing, "send the token as Authorization: Bearer <token>")
		return
	}
	s, ok := ca.SessionByToken(token)
	switch {
	case !ok:
		unauthorized(w, CodeTokenInvalid, "the token is not valid")
	case !s.Active:
		unauthorized(w, CodeSessionInactive, "the session has ended")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(UserInfo{User: s.User, SessionID: s.ID})
	}
}

// unauthorized answers 401 with the challenge RFC 6750 asks for.
func unauthorized(w http.ResponseWriter, code, message string) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeError(w, http.StatusUnauthorized, code, message)
}
