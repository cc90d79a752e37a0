package demo

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/centralauth-go/logout/session"
)

// Bounds on the calls a page load or a login makes to CentralAuth.
const (
	verifyTimeout = 5 * time.Second
	stateLifetime = 10 * time.Minute // how long a login may take
)

// login starts a demo login: it remembers a random state in a short-lived
// cookie and sends the browser to CentralAuth's login page, which comes
// back to the callback with a code and the same state.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Demo == nil {
		a.errorPage(w, http.StatusNotFound, "Demo login is off",
			"This app talks to the CentralAuth at "+envBaseURL+"; sign in there through your own login flow.")
		return
	}
	state := hex.EncodeToString(randomBytes(16))
	http.SetCookie(w, a.stateCookieWith(state, int(stateLifetime/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.provider.loginURL(a.cfg.PublicURL+callbackPath, state), http.StatusSeeOther)
}

// callback finishes a login: the state must match the cookie (so that no
// other site can log the browser in to an account of its choosing), the
// code is exchanged for tokens with a POST to CentralAuth, and the tokens
// are saved in the app's signed session cookie with session.Store.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Demo == nil {
		a.errorPage(w, http.StatusNotFound, "Demo login is off", "")
		return
	}
	want, err := r.Cookie(a.stateCookie)
	http.SetCookie(w, a.stateCookieWith("", -1)) // one login, one state
	q := r.URL.Query()
	got := q.Get("state")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want.Value)) != 1 {
		a.errorPage(w, http.StatusBadRequest, "Login failed",
			"The login's state does not match this browser's. Start again from the Log in button.")
		return
	}
	code := q.Get("code")
	if code == "" {
		a.errorPage(w, http.StatusBadRequest, "Login failed", "CentralAuth sent no code.")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), verifyTimeout)
	defer cancel()
	tok, err := a.provider.exchange(ctx, code)
	if err != nil {
		a.log.WarnContext(r.Context(), "login: code exchange failed", "error", err)
		a.errorPage(w, http.StatusBadGateway, "Login failed", "CentralAuth did not accept the login code. Start again.")
		return
	}
	sess := &session.Session{AccessToken: tok.AccessToken, IDToken: tok.IDToken}
	if tok.ExpiresIn > 0 {
		sess.Expires = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	// Save gives the session a fresh random ID: a login never reuses an
	// ID that the browser brought along (no session fixation).
	if err := a.store.Save(w, sess); err != nil {
		a.log.ErrorContext(r.Context(), "login: could not save the session", "error", err)
		a.errorPage(w, http.StatusInternalServerError, "Login failed", "The session could not be saved.")
		return
	}
	a.log.InfoContext(r.Context(), "login", "session_id", sess.ID)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// stateCookieWith builds the login-state cookie, scoped to the callback.
// A maxAge of -1 removes it.
func (a *app) stateCookieWith(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     a.stateCookie,
		Value:    value,
		Path:     callbackPath,
		MaxAge:   maxAge,
		HttpOnly: true,
		// Lax: the cookie must come along on the top-level redirect back
		// from CentralAuth, which is another site in production.
		SameSite: http.SameSiteLaxMode,
		// Not Secure, like the session cookie: plain HTTP on loopback.
	}
}
