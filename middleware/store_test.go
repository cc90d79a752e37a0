package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/session"
)

// appStore is how an app wraps the library's store in its own SessionStore,
// to log or count logouts. The handler must not lose revocation through it.
type appStore struct {
	*session.Store
	logouts int
}

func (s *appStore) Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]*session.Session, error) {
	s.logouts++
	return s.Store.Logout(ctx, w, r)
}

// downList is a revocation list whose backend is down.
type downList struct{}

var errListDown = errors.New("connection refused")

func (downList) Revoke(context.Context, string, time.Time) error { return errListDown }
func (downList) Revoked(context.Context, string) (bool, error)   { return false, errListDown }

func TestLogoutThroughTheSessionStoreContract(t *testing.T) {
	tests := []struct {
		name          string
		list          session.RevocationList // nil: NewStore's default
		wantRevokeErr error
		wantReplay    error // what Load says of the copied cookie afterwards
	}{
		{"a wrapped default store still revokes", nil, nil, session.ErrRevoked},
		{"a revocation list that is down still logs out", downList{}, errListDown, session.ErrRevocationUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []session.Option
			if tt.list != nil {
				opts = append(opts, session.WithRevocations(tt.list))
			}
			inner, err := session.NewStore(hashKey, opts...)
			if err != nil {
				t.Fatal(err)
			}
			store := &appStore{Store: inner}
			var ev middleware.Event
			h, err := middleware.NewLogoutHandler(store,
				middleware.WithOnLogout(func(_ *http.Request, e middleware.Event) { ev = e }))
			if err != nil {
				t.Fatal(err)
			}
			login := httptest.NewRecorder()
			sess := &session.Session{AccessToken: "at"}
			if err := inner.Save(login, sess); err != nil {
				t.Fatal(err)
			}
			copied := login.Result().Cookies()[0]

			r := httptest.NewRequest(http.MethodPost, "/logout", nil)
			r.AddCookie(copied)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusSeeOther || store.logouts != 1 || !cleared(rec.Result()) {
				t.Fatalf("status %d, %d logouts through the wrapper, cleared %v", rec.Code, store.logouts, cleared(rec.Result()))
			}
			if len(ev.SessionIDs) != 1 || ev.SessionIDs[0] != sess.ID || !errors.Is(ev.RevokeErr, tt.wantRevokeErr) || (tt.wantRevokeErr == nil) != (ev.RevokeErr == nil) {
				t.Fatalf("event sessions %q, revoke error %v; want [%q], %v", ev.SessionIDs, ev.RevokeErr, sess.ID, tt.wantRevokeErr)
			}
			replay := httptest.NewRequest(http.MethodGet, "/", nil)
			replay.AddCookie(copied)
			if _, err := inner.Load(replay); !errors.Is(err, tt.wantReplay) {
				t.Fatalf("the copied cookie after logout: Load error %v, want %v", err, tt.wantReplay)
			}
		})
	}
}
