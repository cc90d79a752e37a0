package centralauthtest

import (
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// The login is CentralAuth's in miniature, for tests and demos: an app
// sends the browser to /login; the fake signs the user in (or recognises
// them by its own cookie: autologin) and sends the browser back to the
// app's redirect_uri with a one-time code; the app exchanges the code for
// tokens at /api/v1/verify (verify.go).

// autologinCookie is the cookie that the sign-in page sets on the fake's
// own origin. It names the browser's CentralAuth session, so that a later
// login from another app of the organization is answered without asking
// again. Its value is a random secret, not the session ID, which apps may
// display.
const autologinCookie = "centralauth_fake_login"

// codeLifetime is how long a login code may be exchanged. A code works
// once.
const codeLifetime = time.Minute

// maxEmail bounds the email typed on the sign-in page, in bytes (RFC
// 5321's limit on a path).
const maxEmail = 254

// maxState bounds the state parameter, which the fake hands back as is.
const maxState = 512

// defaultEmail prefills the sign-in form when the login asks for no email.
const defaultEmail = "demo@example.test"

// authCode is a pending login code: what it exchanges for, where it may be
// sent, and until when.
type authCode struct {
	token       string // the access token of the session it logs into
	redirectURI string
	challenge   string // PKCE: base64url(SHA-256(verifier))
	expires     time.Time
}

// loginRequest is a validated login request: which app asks, and where to
// send the browser back.
type loginRequest struct {
	clientID    string
	redirectURI string
	redirect    *url.URL
	state       string
	challenge   string
}

// handleLogin is /login. GET shows the sign-in form, or with the autologin
// cookie of an active session sends the browser straight back with a code.
// POST, from the form, starts a session for the email typed, sets the
// cookie and sends the browser back with a code. The request is validated
// before anything else, and an invalid one is answered with 400 here,
// never redirected.
func (s *Server) handleLogin(w *recorder, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.loginPage(w, r)
	case http.MethodPost:
		s.loginSubmit(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		w.refuse(http.StatusMethodNotAllowed, codeGenericError, "method not allowed; use GET or POST")
	}
}

func (s *Server) loginPage(w *recorder, r *http.Request) {
	q := r.URL.Query()
	lr, ok := s.parseLoginRequest(w, q)
	if !ok {
		return
	}
	if s.failLogin(w, r, lr) {
		return
	}
	if token, ok := s.activeLogin(r); ok {
		s.redirectWithCode(w, r, lr, token)
		return
	}
	email := q.Get("email")
	if email == "" {
		email = defaultEmail
	}
	renderLoginForm(w, http.StatusOK, lr, email, false)
}

func (s *Server) loginSubmit(w *recorder, r *http.Request) {
	// The form is only ever posted from the fake's own page. Refusing
	// other origins keeps another site from signing the browser in to an
	// account of its choosing (login CSRF).
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		loginError(w, http.StatusForbidden, "cross-origin sign-in refused")
		return
	}
	if err := r.ParseForm(); err != nil {
		loginError(w, http.StatusBadRequest, "unreadable form")
		return
	}
	lr, ok := s.parseLoginRequest(w, r.PostForm)
	if !ok {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if email == "" || len(email) > maxEmail || strings.IndexFunc(email, unicode.IsControl) >= 0 {
		renderLoginForm(w, http.StatusBadRequest, lr, email, true)
		return
	}
	sess := s.SignIn(email)
	secret := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	s.mu.Lock()
	s.logins[secret] = sess.AccessToken
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name:     autologinCookie,
		Value:    secret,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		// Not Secure: the fake serves plain HTTP on loopback.
	})
	s.redirectWithCode(w, r, lr, sess.AccessToken)
}

// activeLogin returns a token of the session that the request's autologin
// cookie names, if that session is still active.
func (s *Server) activeLogin(r *http.Request) (string, bool) {
	c, err := r.Cookie(autologinCookie)
	if err != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	token, ok := s.logins[c.Value]
	if !ok {
		return "", false
	}
	sess, ok := s.byToken[token]
	return token, ok && sess.Active
}

// redirectWithCode sends the browser back to the app with a fresh code for
// token's session and the app's state.
func (s *Server) redirectWithCode(w http.ResponseWriter, r *http.Request, lr loginRequest, token string) {
	code := s.newCode(token, lr.redirectURI, lr.challenge)
	u := *lr.redirect
	q := u.Query()
	q.Set("code", code)
	q.Set("state", lr.state)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// newCode stores and returns a one-time code for token's session. Expired
// codes are dropped on the way, so that abandoned logins do not pile up.
func (s *Server) newCode(token, redirectURI, challenge string) string {
	code := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, ac := range s.codes {
		if !now.Before(ac.expires) {
			delete(s.codes, c)
		}
	}
	s.codes[code] = authCode{token: token, redirectURI: redirectURI, challenge: challenge, expires: now.Add(codeLifetime)}
	return code
}

// parseLoginRequest validates client_id, response_type, redirect_uri,
// state and the PKCE challenge, which must be S256: the plain method, and
// a missing challenge, are refused, as a real organization refuses them.
// A request that breaks the contract is answered here, and recorded as a
// violation.
func (s *Server) parseLoginRequest(w *recorder, v url.Values) (loginRequest, bool) {
	lr := loginRequest{
		clientID:    v.Get("client_id"),
		redirectURI: v.Get("redirect_uri"),
		state:       v.Get("state"),
		challenge:   v.Get("code_challenge"),
	}
	refuse := func(code, problem string) (loginRequest, bool) {
		w.violated(problem + " (" + code + ")")
		loginError(w, http.StatusBadRequest, problem+" ("+code+")")
		return lr, false
	}
	switch {
	case v.Get("response_type") != "code":
		return refuse(codeGenericError, "response_type must be code")
	case lr.challenge == "":
		return refuse(codeChallengeMissing, "code_challenge is missing")
	case v.Get("code_challenge_method") != "S256":
		return refuse(codeChallengeInvalid, "code_challenge_method must be S256")
	case len(lr.challenge) != 43 || !isPKCEChars(lr.challenge):
		return refuse(codeChallengeInvalid, "code_challenge must be a base64url SHA-256 (43 characters)")
	case lr.clientID != s.clientID:
		return refuse(codeNoPermission, "unknown client_id")
	case lr.redirectURI == "":
		return refuse(codeCallbackMissing, "redirect_uri is missing")
	}
	u, problem := checkRedirectURI(lr.redirectURI)
	if problem != "" {
		return refuse(codeCallbackInvalid, "redirect_uri "+problem)
	}
	lr.redirect = u
	switch {
	case lr.state == "":
		return refuse(codeStateMissing, "state is missing")
	case len(lr.state) > maxState:
		return refuse(codeStateInvalid, "state is longer than 512 bytes")
	}
	return lr, true
}

// checkRedirectURI accepts only an http(s) URL on a loopback host
// (127.0.0.0/8, ::1 or localhost) with a path, no user information and no
// fragment. The fake serves tests and demos on this machine; sending a code
// anywhere else is exactly the open redirect a provider must not have.
func checkRedirectURI(raw string) (*url.URL, string) {
	if len(raw) > 2048 {
		return nil, "is longer than 2048 bytes"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "must be an http or https URL"
	case u.User != nil || u.Fragment != "" || u.Opaque != "":
		return nil, "must have no user information and no fragment"
	case !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//"):
		return nil, "must have a path"
	case !isLoopbackHost(u.Hostname()):
		return nil, "must be on a loopback host (127.0.0.1, [::1] or localhost)"
	}
	if p := u.Port(); p == "" && strings.HasSuffix(u.Host, ":") {
		return nil, "has an empty port"
	}
	return u, ""
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loginForm is the fake's sign-in page: plain HTML that works without
// JavaScript. There is no password: the fake trusts the email typed.
var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · CentralAuth (fake)</title>
<style>
body{font-family:system-ui,sans-serif;background:#f3f4f6;color:#111827;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;border-radius:.75rem;padding:2rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin:0 0 .25rem}p{color:#4b5563}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=email]{width:100%;box-sizing:border-box;font-size:1rem;padding:.5rem;border:1px solid #d1d5db;border-radius:.375rem}
button{margin-top:1rem;width:100%;font-size:1rem;padding:.6rem;border:0;border-radius:.375rem;background:#4f46e5;color:#fff}
.err{color:#b91c1c}
</style>
</head>
<body>
<main>
<h1>CentralAuth <small>(fake)</small></h1>
<p>Sign in to continue to <strong>{{.App}}</strong>.</p>
<form method="post" action="/login">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="S256">
<label for="email">Email</label>
<input type="email" id="email" name="email" value="{{.Email}}" maxlength="254" required>
{{- if .Invalid}}
<p class="err">Type an email of 1 to 254 characters, without control characters.</p>
{{- end}}
<button type="submit" id="sign-in">Sign in</button>
</form>
<p>This is the fake CentralAuth of package centralauthtest: there is no password.</p>
</main>
</body>
</html>
`))

// renderLoginForm shows the form, with a hint when the email typed was
// refused.
func renderLoginForm(w http.ResponseWriter, status int, lr loginRequest, email string, invalid bool) {
	setPageHeaders(w)
	w.WriteHeader(status)
	_ = loginForm.Execute(w, struct {
		App, ClientID, RedirectURI, State, Challenge, Email string
		Invalid                                             bool
	}{
		App:         lr.redirect.Scheme + "://" + lr.redirect.Host,
		ClientID:    lr.clientID,
		RedirectURI: lr.redirectURI,
		State:       lr.state,
		Challenge:   lr.challenge,
		Email:       email,
		Invalid:     invalid,
	})
}

// loginError answers a bad login request in plain text: the browser stays
// on the fake, whatever the request asked for.
func loginError(w http.ResponseWriter, status int, problem string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "CentralAuth (fake): login refused: "+problem, status)
}

// setPageHeaders keeps the page out of caches and frames, and allows no
// script at all.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: a POST under no-referrer carries
	// "Origin: null", which a cross-origin check without Fetch Metadata
	// would refuse.
	h.Set("Referrer-Policy", "same-origin")
}

// isPKCEChars reports whether s uses only RFC 7636's unreserved
// characters, which are those of a verifier and of a base64url challenge.
func isPKCEChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

// FailNextLogin makes the next visit of the login page send the browser
// back to the app with error and error_description (and the state) instead
// of a code, as CentralAuth does when the user cancels, such as
// FailNextLogin("access_denied", "the user cancelled").
func (s *Server) FailNextLogin(errorCode, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loginFailure = &[2]string{errorCode, description}
}

// failLogin sends the browser back with an injected error, once.
func (s *Server) failLogin(w http.ResponseWriter, r *http.Request, lr loginRequest) bool {
	s.mu.Lock()
	f := s.loginFailure
	s.loginFailure = nil
	s.mu.Unlock()
	if f == nil {
		return false
	}
	u := *lr.redirect
	q := u.Query()
	q.Set("error", f[0])
	q.Set("error_description", f[1])
	q.Set("state", lr.state)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return true
}
