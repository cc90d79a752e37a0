package demo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/centralauth-go/logout/session"
)

// Bounds on the calls a page load or a login makes to CentralAuth.
const (
	verifyTimeout = 5 * time.Second
	stateLifetime = 10 * time.Minute // how long a login may take
)

// login starts a login, the same with the embedded CentralAuth and with a
// real organization: a random state (128 bits) and a PKCE verifier (256
// bits, 43 characters), kept with the validated return_to in a short-lived
// HttpOnly cookie scoped to the callback, and the browser sent to
// CentralAuth's login page with the S256 challenge.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state := base64.RawURLEncoding.EncodeToString(randomBytes(16))
	verifier := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	returnTo := "/"
	if raw := r.URL.Query().Get("return_to"); raw != "" {
		if loc, err := a.returnTo.Check(raw); err == nil {
			returnTo = loc
		}
	}
	value := state + "." + verifier + "." + base64.RawURLEncoding.EncodeToString([]byte(returnTo))
	http.SetCookie(w, a.stateCookieWith(value, int(stateLifetime/time.Second)))
	sum := sha256.Sum256([]byte(verifier))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.provider.loginURL(a.callbackURL(), state, base64.RawURLEncoding.EncodeToString(sum[:])), http.StatusSeeOther)
}

// callbackURL is the redirect_uri of the login and of the code exchange:
// the same string in both, without any query CentralAuth sends back.
func (a *app) callbackURL() string { return a.cfg.PublicURL + callbackPath }

// callback finishes a login. The state must match the cookie, in constant
// time, and works once: the cookie is removed whatever happens, so that no
// other site can log the browser in to an account of its choosing. An
// error from CentralAuth gets a page that says so. The code is exchanged,
// with the verifier, for the tokens, which are saved in the app's signed
// session cookie with a fresh session ID (no fixation), until the sooner of
// expires_in and expires_at. The browser goes on to the return_to the
// login was started with, validated again.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	c, cerr := r.Cookie(a.stateCookie)
	http.SetCookie(w, a.stateCookieWith("", -1)) // one login, one state
	q := r.URL.Query()
	var want, verifier, returnTo string
	if cerr == nil {
		parts := strings.SplitN(c.Value, ".", 3)
		if len(parts) == 3 {
			if b, err := base64.RawURLEncoding.DecodeString(parts[2]); err == nil {
				want, verifier, returnTo = parts[0], parts[1], string(b)
			}
		}
	}
	got := q.Get("state")
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		a.errorPage(w, http.StatusBadRequest, "Login failed",
			"The login's state does not match this browser's, or was used already. Start again from the Log in button.")
		return
	}
	if e := q.Get("error"); e != "" {
		a.log.InfoContext(r.Context(), "login: CentralAuth refused", "error", prefixOf(e, 64))
		a.errorPage(w, http.StatusBadRequest, "Login failed",
			"CentralAuth did not log you in: "+prefixOf(q.Get("error_description"), 200)+" ("+prefixOf(e, 64)+")")
		return
	}
	code := q.Get("code")
	if code == "" {
		a.errorPage(w, http.StatusBadRequest, "Login failed", "CentralAuth sent no code.")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), verifyTimeout)
	defer cancel()
	tok, err := a.provider.exchange(ctx, code, a.callbackURL(), verifier)
	if err != nil {
		a.log.WarnContext(r.Context(), "login: code exchange failed", "error", err)
		a.errorPage(w, http.StatusBadGateway, "Login failed", "CentralAuth did not accept the login code. Start again.")
		return
	}
	sess := &session.Session{AccessToken: tok.AccessToken, IDToken: tok.IDToken, Expires: tok.expires(time.Now())}
	// Save gives the session a fresh random ID: a login never reuses an
	// ID that the browser brought along (no session fixation).
	if err := a.store.Save(w, sess); err != nil {
		a.log.ErrorContext(r.Context(), "login: could not save the session", "error", err)
		a.errorPage(w, http.StatusInternalServerError, "Login failed", "The session could not be saved.")
		return
	}
	a.log.InfoContext(r.Context(), "login", "session_id", sess.ID)
	loc, err := a.returnTo.Check(returnTo)
	if err != nil {
		loc = "/"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// prefixOf bounds text from CentralAuth's redirect for a page or a log.
func prefixOf(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
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
