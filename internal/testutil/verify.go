package testutil

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
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
	ExpiresAt   string `json:"expires_at"` // RFC 3339
}

// SetTokenExpiry sets the lifetimes that VerifyPath answers from now on:
// expires_in, and expires_at as that long after the fake's now. A zero
// lifetime is answered as null. Default: TokenLifetime for both.
func (ca *CentralAuth) SetTokenExpiry(expiresIn, expiresAt time.Duration) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.expiresIn, ca.expiresAt = expiresIn, expiresAt
}

// handleVerify is POST /api/v1/verify, as a real organization takes it:
// Basic client credentials as for a logout, and a form of code,
// redirect_uri (the login's, exactly) and code_verifier (43 to 128 RFC 7636
// characters whose S256 is the login's code_challenge). A code works once,
// whatever the outcome, for CodeLifetime by the fake's clock, and only
// while its session is active. The answer is the session's tokens, as
// JSON.
func (ca *CentralAuth) handleVerify(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, CodeGenericError, "method not allowed; use POST")
		return
	}
	if !ca.authorized(r) {
		writeError(w, http.StatusUnauthorized, CodeNoPermission, "invalid or missing client credentials")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusBadRequest, CodeGenericError, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, CodeGenericError, "unreadable form")
		return
	}
	code, redirectURI, verifier := r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier")
	if code == "" || redirectURI == "" || verifier == "" {
		writeError(w, http.StatusBadRequest, CodeMissingFields, "code, redirect_uri and code_verifier are required")
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
	sum := sha256.Sum256([]byte(verifier))
	// The messages never quote the code or the verifier: a client might
	// log them.
	switch {
	case !known:
		writeError(w, http.StatusBadRequest, CodeTokenInvalid, "the code is unknown or was already used")
	case redirectURI != ac.redirectURI:
		writeError(w, http.StatusBadRequest, CodeGenericError, "redirect_uri differs from the login's")
	case len(verifier) < 43 || len(verifier) > 128 || !isPKCEChars(verifier):
		writeError(w, http.StatusBadRequest, CodeGenericError, "code_verifier must be 43 to 128 unreserved characters")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge:
		writeError(w, http.StatusBadRequest, CodeGenericError, "code_verifier does not match the code_challenge")
	case !now.Before(ac.expires):
		writeError(w, http.StatusBadRequest, CodeSessionExpired, "the code expired")
	case !s.Active:
		writeError(w, http.StatusBadRequest, CodeSessionInactive, "the session of the code has ended")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		ca.mu.Lock()
		in, at := ca.expiresIn, ca.expiresAt
		ca.mu.Unlock()
		answer := map[string]any{"access_token": s.AccessToken, "id_token": s.IDToken, "expires_in": nil, "expires_at": nil}
		if in > 0 {
			answer["expires_in"] = int(in / time.Second)
		}
		if at > 0 {
			answer["expires_at"] = now.Add(at).UTC().Format(time.RFC3339)
		}
		_ = json.NewEncoder(w).Encode(answer)
	}
}
