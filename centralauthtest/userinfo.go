package centralauthtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// userInfo is CentralAuth's documented user object, as userinfo answers it.
type userInfo struct {
	ID             string  `json:"id"`
	Email          string  `json:"email"`
	Gravatar       string  `json:"gravatar"`
	Verified       bool    `json:"verified"`
	Blocked        bool    `json:"blocked"`
	OrganizationID *string `json:"organizationId"`
	Created        string  `json:"created"`
	Updated        string  `json:"updated"`
	LastLogin      *string `json:"lastLogin"`
}

// userOf is the user object of sess: its email as signed in, and an ID
// derived from it, so that a test can predict both.
func userOf(sess Session) userInfo {
	sum := sha256.Sum256([]byte(sess.Email))
	org := "org_demo"
	created := sess.CreatedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	return userInfo{
		ID:             "usr_" + hex.EncodeToString(sum[:8]),
		Email:          sess.Email,
		Gravatar:       "https://www.gravatar.com/avatar/" + hex.EncodeToString(sum[:]),
		Verified:       true,
		OrganizationID: &org,
		Created:        created,
		Updated:        created,
		LastLogin:      &created,
	}
}

// handleUserInfo is POST /api/v1/userinfo?domain=<the app's origin>, as for
// logout: the app's Basic credentials and a token as a text/plain body. It
// answers 200 and the user object while the session is active, 401
// sessionInactive once it ended and 401 tokenInvalid for a token it never
// issued. Faults apply.
func (s *Server) handleUserInfo(w *recorder, r *http.Request) {
	if s.applyFault(w, r) {
		return
	}
	if !s.apiCall(w, r, "text/plain") {
		return
	}
	if !s.domainAllowed(r.URL.Query().Get("domain")) {
		w.refuse(http.StatusForbidden, codeDomainInvalid, "the domain parameter is not the origin of an app of the organization")
		return
	}
	token, ok := readToken(w, r)
	if !ok {
		return
	}
	sess, found := s.session(token)
	if !found {
		w.fail(http.StatusUnauthorized, codeTokenInvalid, "the token is not valid")
		return
	}
	w.carried(sess.ID, tokenKind(sess, token))
	if !sess.Active {
		w.fail(http.StatusUnauthorized, codeSessionInactive, "the session has ended")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(userOf(sess))
}

// domainAllowed checks userinfo's domain: an http(s) origin, and one of
// WithAppDomains when that was given.
func (s *Server) domainAllowed(domain string) bool {
	if !isOrigin(domain) {
		return false
	}
	u, _ := url.Parse(domain)
	return len(s.domains) == 0 || slices.Contains(s.domains, u.Scheme+"://"+u.Host)
}

// isOrigin reports whether raw is an http(s) origin: a scheme and a host,
// with an optional port and nothing after but an optional "/".
func isOrigin(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == ""
}
