package demo

import (
	"cmp"
	"errors"
	"net/http"
	"time"

	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

// status is what the home page says about the visitor's login.
type status struct {
	LoggedIn bool
	// Of a login: the user's email (from userinfo), the embedded
	// CentralAuth's session ID (demo mode only: the real userinfo does not
	// say), the app's own session ID, and a prefix of the access token.
	User, CentralAuthSession, AppSession, TokenPrefix string
	// Notice explains a logout that the visitor did not click here.
	Notice string
	// Warning says that CentralAuth could not be asked.
	Warning string
}

// home shows the visitor's login, the buttons, and in demo mode the
// embedded CentralAuth's sessions. It runs behind the session check, which
// has asked CentralAuth whether the session still stands.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	st := a.status(r)
	a.render(w, http.StatusOK, homePage, a.homeData(st))
}

// status reads what the session check learnt of the request's session.
func (a *app) status(r *http.Request) status {
	if cs, ok := sessioncheck.From(r.Context()); ok {
		token := cmp.Or(cs.Session.AccessToken, cs.Session.IDToken)
		st := status{LoggedIn: true, User: cs.User.Email, AppSession: cs.Session.ID, TokenPrefix: tokenPrefix(token)}
		if a.cfg.Demo != nil {
			st.CentralAuthSession = demoSessionOf(a.cfg.Demo, token)
		}
		if cs.Stale {
			st.Warning = "CentralAuth could not be asked just now; showing its answer from " +
				cs.Checked.Local().Format(time.TimeOnly) + " (stale)."
		}
		return st
	}
	// No live session. Tell why, when there was a cookie.
	_, err := a.store.Load(r)
	switch {
	case errors.Is(err, session.ErrRevoked):
		return status{Notice: "Your session ended: CentralAuth says it was logged out (a logout everywhere, perhaps from another app), so this app dropped its cookie."}
	case err == nil:
		return status{Warning: "CentralAuth could not be asked whether your session still stands, for too long; you are logged out until it answers. Your cookie is kept."}
	case !errors.Is(err, session.ErrNoSession) && !errors.Is(err, session.ErrInvalidSession):
		return status{Warning: "The session store failed; try again."}
	}
	return status{}
}

// tokenPrefix shows enough of a token to tell that there is one, and never
// the whole: the first 8 characters and an ellipsis.
func tokenPrefix(token string) string {
	const n = 8
	if len(token) <= 2*n {
		return "…" // too short to show any of it safely
	}
	return token[:n] + "…"
}

// maxListedSessions bounds the demo's list of CentralAuth sessions.
const maxListedSessions = 20

// maxSearchedSessions bounds how many of the embedded CentralAuth's
// sessions, newest first, a page looks through for the visitor's own: under
// load there are thousands, and the visitor's is among the newest.
const maxSearchedSessions = 1000

// demoSessionOf returns the ID of the embedded CentralAuth's session of
// token, or "" if it is not among the newest maxSearchedSessions.
func demoSessionOf(demo sessionLister, token string) string {
	n := 0
	for s := range demo.Sessions() {
		if s.AccessToken == token || s.IDToken == token {
			return s.ID
		}
		if n++; n == maxSearchedSessions {
			break
		}
	}
	return ""
}

// sessionRow is one line of the demo's list of CentralAuth sessions.
type sessionRow struct {
	ID, Email, TokenPrefix string
	Active                 bool
	Created, Ended         string
	Mine                   bool // the session this browser is logged in with
}

// homeData is everything the home page shows.
func (a *app) homeData(st status) any {
	var rows []sessionRow
	var more bool
	if a.cfg.Demo != nil {
		// Newest first, and only the newest few: under load there are
		// thousands, and the one just made is the one to look at.
		for s := range a.cfg.Demo.Sessions() {
			if len(rows) == maxListedSessions {
				more = true
				break
			}
			row := sessionRow{
				ID:          s.ID,
				Email:       s.Email,
				TokenPrefix: tokenPrefix(s.AccessToken),
				Active:      s.Active,
				Created:     s.CreatedAt.Local().Format(time.TimeOnly),
				Mine:        st.CentralAuthSession != "" && s.ID == st.CentralAuthSession,
			}
			if !s.Active {
				row.Ended = s.EndedAt.Local().Format(time.TimeOnly)
			}
			rows = append(rows, row)
		}
	}
	return struct {
		App, Mount, OtherName, OtherURL string
		CookieName, CookiePath          string
		LogoutPath, EverywherePath      string
		LoginPath, EvilPath             string
		CentralAuthURL                  string
		CheckInterval                   string
		SharedEnded                     bool
		Demo                            bool
		Status                          status
		Sessions                        []sessionRow
		MoreSessions                    bool
	}{
		App: a.cfg.Name, Mount: a.cfg.Mount.String(), OtherName: a.cfg.OtherName, OtherURL: a.cfg.OtherURL,
		CookieName: a.cfg.CookieName, CookiePath: cookiePath,
		LogoutPath: logoutPath, EverywherePath: everywherePath,
		LoginPath: loginPath, EvilPath: logoutPath + "?return_to=https://evil.example/",
		CentralAuthURL: a.caOrigin,
		CheckInterval:  a.cfg.CheckInterval.String(),
		SharedEnded:    a.cfg.Tokens != nil,
		Demo:           a.cfg.Demo != nil,
		Status:         st,
		Sessions:       rows, MoreSessions: more,
	}
}
