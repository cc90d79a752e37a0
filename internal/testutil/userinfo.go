package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// UserInfo is what UserInfoPath answers for a token of an active session:
// CentralAuth's documented user object.
type UserInfo struct {
	ID              string  `json:"id"`
	Email           string  `json:"email"`
	Gravatar        string  `json:"gravatar"`
	Verified        bool    `json:"verified"`
	Blocked         bool    `json:"blocked"`
	OrganizationID  *string `json:"organizationId"`
	Created         string  `json:"created"`
	Updated         string  `json:"updated"`
	LastLogin       *string `json:"lastLogin"`
	AffirmationDate string  `json:"affirmationDate,omitempty"`
}

// UserOf is the user object the fake answers for a session of user: its
// email is user@example.test, and the rest derives from the name, so that
// tests can predict it.
func (s Session) UserOf() UserInfo {
	sum := sha256.Sum256([]byte(s.User))
	email := s.User + "@example.test"
	mail := sha256.Sum256([]byte(email))
	org := "org_demo"
	created := s.CreatedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	return UserInfo{
		ID:             "usr_" + hex.EncodeToString(sum[:8]),
		Email:          email,
		Gravatar:       "https://www.gravatar.com/avatar/" + hex.EncodeToString(mail[:]),
		Verified:       true,
		OrganizationID: &org,
		Created:        created,
		Updated:        created,
		LastLogin:      &created,
	}
}

// handleUserInfo is POST /api/v1/userinfo?domain=<the app's origin>, as
// for logout: the app's Basic credentials and the token, either of a
// session's, as a text/plain body. It records the end user's user-agent
// and auth-ip headers with the call. It answers 200 and the user object
// while the session is active; 401 sessionInactive once it was logged out,
// tokenInvalid for a token it never issued, and 400 tokenMissing without
// one; 403 domainInvalid for a domain that is not an http(s) origin or,
// with WithAppDomains, not one of those. Injected faults apply. This is how
// an app learns that a session-wide logout in another app ended its user's
// session.
func (ca *CentralAuth) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if ca.applyFault(w, r) {
		return
	}
	token, ok := ca.plainTextAPICall(w, r)
	if !ok {
		return
	}
	if !ca.domainAllowed(r.URL.Query().Get("domain")) {
		writeError(w, http.StatusForbidden, CodeDomainInvalid, "the domain is not whitelisted for this app")
		return
	}
	if token == "" {
		writeError(w, http.StatusBadRequest, CodeTokenMissing, "the request body must contain the token")
		return
	}
	s, found := ca.SessionByToken(token)
	switch {
	case !found:
		writeError(w, http.StatusUnauthorized, CodeTokenInvalid, "the token is not valid")
	case !s.Active:
		writeError(w, http.StatusUnauthorized, CodeSessionInactive, "the session has ended")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.UserOf())
	}
}

// domainAllowed checks userinfo's domain: an http(s) origin, and one of
// WithAppDomains when that was given.
func (ca *CentralAuth) domainAllowed(domain string) bool {
	u, err := url.Parse(domain)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return false
	}
	return len(ca.domains) == 0 || slices.Contains(ca.domains, u.Scheme+"://"+u.Host)
}
