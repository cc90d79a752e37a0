package centralauthtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// tokenLifetime is the expires_in and expires_at that verify answers by
// default. The fake's sessions end only by logout.
const tokenLifetime = 24 * time.Hour

// SetTokenExpiry sets the lifetimes that verify answers from now on:
// expires_in, and expires_at as that long after now. A zero lifetime is
// answered as null, as CentralAuth may. Default: 24h for both.
func (s *Server) SetTokenExpiry(expiresIn, expiresAt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn, s.expiresAt = expiresIn, expiresAt
}

// handleVerify is POST /api/v1/verify: the app's Basic credentials, and a
// form of code, redirect_uri (the login's, exactly) and code_verifier (43
// to 128 RFC 7636 characters whose S256 is the login's code_challenge). A
// code works once, whatever the outcome, for codeLifetime, and only while
// its session is active. The answer is the session's tokens, as JSON.
func (s *Server) handleVerify(w *recorder, r *http.Request) {
	if !s.apiCall(w, r, "application/x-www-form-urlencoded") {
		return
	}
	if err := r.ParseForm(); err != nil {
		w.refuse(http.StatusBadRequest, codeGenericError, "the form is unreadable")
		return
	}
	code, redirectURI, verifier := r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier")
	if code == "" || redirectURI == "" || verifier == "" {
		w.refuse(http.StatusBadRequest, codeMissingFields, "code, redirect_uri and code_verifier are required")
		return
	}
	now := s.now()
	s.mu.Lock()
	ac, known := s.codes[code]
	delete(s.codes, code) // used up, whatever the outcome
	var sess Session
	if known {
		sess = *s.byToken[ac.token]
	}
	s.mu.Unlock()
	if known {
		w.carried(sess.ID, "")
	}
	sum := sha256.Sum256([]byte(verifier))
	// The messages never quote the code or the verifier: a client might
	// log them.
	switch {
	case !known:
		// A code is exchanged once, by the app it was sent to: a second
		// exchange is a replay, and a code the fake never sent a forgery.
		// (A code kept past its minute may have been dropped, and read as
		// unknown: no app waits that long.)
		w.refuse(http.StatusBadRequest, codeTokenInvalid, "the code is unknown or was used already")
	case redirectURI != ac.redirectURI:
		w.refuse(http.StatusBadRequest, codeGenericError, "redirect_uri differs from the login's")
	case len(verifier) < 43 || len(verifier) > 128 || !isPKCEChars(verifier):
		w.refuse(http.StatusBadRequest, codeGenericError, "code_verifier must be 43 to 128 unreserved characters")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge:
		w.refuse(http.StatusBadRequest, codeGenericError, "code_verifier does not match the code_challenge")
	case !now.Before(ac.expires):
		w.fail(http.StatusBadRequest, codeSessionExpired, "the code expired")
	case !sess.Active:
		w.fail(http.StatusBadRequest, codeSessionInactive, "the session of the code has ended")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		s.mu.Lock()
		in, at := s.expiresIn, s.expiresAt
		s.mu.Unlock()
		answer := map[string]any{"access_token": sess.AccessToken, "id_token": sess.IDToken, "expires_in": nil, "expires_at": nil}
		if in > 0 {
			answer["expires_in"] = int(in / time.Second)
		}
		if at > 0 {
			answer["expires_at"] = now.Add(at).UTC().Format(time.RFC3339)
		}
		_ = json.NewEncoder(w).Encode(answer)
	}
}
