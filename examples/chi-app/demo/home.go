package demo

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/centralauth-go/logout/session"
)

// status is what the home page says about the visitor's login.
type status struct {
	LoggedIn bool
	// Of a login: the user and CentralAuth's session ID (from userinfo),
	// the app's own session ID, and a prefix of the access token.
	User, CentralAuthSession, AppSession, TokenPrefix string
	// Notice explains a logout that the visitor did not click here.
	Notice string
	// Warning says that CentralAuth could not be asked.
	Warning string
}

// home shows the visitor's login, the buttons, and in demo mode the
// embedded CentralAuth's sessions.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	st := a.check(w, r)
	a.render(w, http.StatusOK, homePage, a.homeData(st))
}

// check loads the session cookie and asks CentralAuth whether the session
// still stands. When CentralAuth says it ended (a logout everywhere from
// another app), the app logs out too: it clears its cookie and revokes the
// session. When CentralAuth cannot be asked, the local session is shown
// with a warning: an outage is not a logout.
func (a *app) check(w http.ResponseWriter, r *http.Request) status {
	sess, err := a.store.Load(r)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return status{}
	case errors.Is(err, session.ErrInvalidSession):
		// Tampered, expired, signed with an old key or logged out:
		// expected input, dropped quietly.
		a.store.Clear(w)
		return status{}
	case err != nil:
		a.log.WarnContext(r.Context(), "home: session store failed", "error", err)
		return status{Warning: "The session store failed; try again."}
	}

	token := sess.AccessToken
	if token == "" {
		token = sess.IDToken
	}
	ctx, cancel := context.WithTimeout(r.Context(), userInfoTimeout)
	defer cancel()
	info, err := a.provider.userInfo(ctx, token)
	switch {
	case errors.Is(err, errSessionEnded):
		a.store.Clear(w)
		// Bounded on its own: the userinfo call may have used up ctx, and a
		// shared revocation list (Redis) can be slow.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(r.Context()), revokeTimeout)
		defer rcancel()
		if err := a.store.Revoke(rctx, sess); err != nil {
			a.log.WarnContext(r.Context(), "home: could not revoke the ended session", "session_id", sess.ID, "error", err)
		}
		a.log.InfoContext(r.Context(), "CentralAuth session ended; logged out here too", "session_id", sess.ID)
		return status{Notice: "CentralAuth says your session ended (a logout everywhere), so this app dropped its cookie."}
	case err != nil:
		a.log.WarnContext(r.Context(), "home: could not check the session at CentralAuth", "session_id", sess.ID, "error", err)
		return status{
			LoggedIn:    true,
			AppSession:  sess.ID,
			TokenPrefix: tokenPrefix(token),
			Warning:     "CentralAuth could not be asked whether this session still stands; showing the local session.",
		}
	}
	return status{
		LoggedIn:           true,
		User:               info.User,
		CentralAuthSession: info.SessionID,
		AppSession:         sess.ID,
		TokenPrefix:        tokenPrefix(token),
	}
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

// sessionRow is one line of the demo's list of CentralAuth sessions.
type sessionRow struct {
	ID, User, TokenPrefix string
	Active                bool
	Created, Ended        string
	Mine                  bool // the session this browser is logged in with
}

// homeData is everything the home page shows.
func (a *app) homeData(st status) any {
	var rows []sessionRow
	var more int
	if a.cfg.Demo != nil {
		// Newest first, and only the newest few: under load there are
		// thousands, and the one just made is the one to look at.
		recent, total := a.cfg.Demo.RecentSessions(maxListedSessions)
		more = total - len(recent)
		for _, s := range recent {
			row := sessionRow{
				ID:          s.ID,
				User:        s.User,
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
		Demo                            bool
		Status                          status
		Sessions                        []sessionRow
		MoreSessions                    int
	}{
		App: a.cfg.Name, Mount: a.cfg.Mount.String(), OtherName: a.cfg.OtherName, OtherURL: a.cfg.OtherURL,
		CookieName: a.cfg.CookieName, CookiePath: cookiePath,
		LogoutPath: logoutPath, EverywherePath: everywherePath,
		LoginPath: loginPath, EvilPath: logoutPath + "?return_to=https://evil.example/",
		CentralAuthURL: a.provider.origin(),
		Demo:           a.cfg.Demo != nil,
		Status:         st,
		Sessions:       rows, MoreSessions: more,
	}
}
