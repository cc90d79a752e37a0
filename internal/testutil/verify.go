package testutil

import (
	"encoding/json"
	"net/http"
	"time"
)

// More of CentralAuth's errorCode values, answered by the login endpoints.
const (
	CodeMissingFields   = "missingFields"
	CodeSessionExpired  = "sessionExpired"
	CodeSessionInactive = "sessionInactive"
)

// TokenLifetime is the expires_in that VerifyPath answers: how long the app
// may keep the tokens. The fake's sessions end only by logout; apps use it
// to bound their own cookie.
const TokenLifetime = 24 * time.Hour

// Tokens is what VerifyPath answers for a valid code.
type Tokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	ExpiresIn   int    `json:"expires_in"` // seconds
}

// handleVerify is POST /api/v1/verify: Basic client credentials as for a
// logout, and the login code as a text/plain body. A code works once, for
// CodeLifetime by the fake's clock, and only while its session is active.
// The answer is the session's tokens, as JSON.
func (ca *CentralAuth) handleVerify(w http.ResponseWriter, r *http.Request) {
	code, ok := ca.plainTextAPICall(w, r)
	if !ok {
		return
	}
	if code == "" {
		writeError(w, http.StatusBadRequest, CodeMissingFields, "the request body must contain the code")
		return
	}
	now := ca.clock.Now()
	ca.mu.Lock()
	ac, known := ca.codes[code]
	delete(ca.codes, code) // used up, whatever the outcome
	var s Session
	if known {
		s = *ca.byToken[ac.token]
	}
	ca.mu.Unlock()
	// The messages never quote the code: a client might log them.
	switch {
	case !known:
		writeError(w, http.StatusBadRequest, CodeTokenInvalid, "the code is unknown or was already used")
	case !now.Before(ac.expires):
		writeError(w, http.StatusBadRequest, CodeSessionExpired, "the code expired")
	case !s.Active:
		writeError(w, http.StatusBadRequest, CodeSessionInactive, "the session of the code has ended")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(Tokens{
			AccessToken: s.AccessToken,
			IDToken:     s.IDToken,
			ExpiresIn:   int(TokenLifetime / time.Second),
		})
	}
}
