package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/token"
)

// jweSecret is a client secret that the fake's tokens are JWEs under
// (dir, A256GCM).
const jweSecret = "0123456789abcdef0123456789abcdef"

func TestSessionWideLogoutListsTheEndedSession(t *testing.T) {
	tests := []struct {
		name       string
		fault      *centralauthtest.Fault
		otherKey   bool // the handler's Decrypter has another secret
		bearer     bool // sent as a Bearer header, not in the cookie
		failing    bool // the list cannot be written
		wantRemote middleware.RemoteOutcome
		wantListed bool
	}{
		{name: "CentralAuth ended it", wantRemote: middleware.RemoteDelivered, wantListed: true},
		{name: "the outbox took it", fault: &centralauthtest.Fault{Status: 503, Times: 2},
			wantRemote: middleware.RemoteQueued, wantListed: true},
		{name: "it failed for good: not listed, since CentralAuth keeps the session",
			fault: &centralauthtest.Fault{Status: 401}, wantRemote: middleware.RemoteFailed},
		{name: "a Bearer token", bearer: true, wantRemote: middleware.RemoteDelivered, wantListed: true},
		{name: "a token that does not decrypt: sent, not listed", otherKey: true,
			wantRemote: middleware.RemoteDelivered},
		{name: "the list fails: reported, logout done", failing: true,
			wantRemote: middleware.RemoteDelivered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRigWithSecret(t, jweSecret, true)
			rc, err := remote.NewClient(clientID, jweSecret, remote.WithBaseURL(rg.ca.URL()), remote.WithRetries(1))
			if err != nil {
				t.Fatal(err)
			}
			q, err := outbox.NewMemoryQueue(10)
			if err != nil {
				t.Fatal(err)
			}
			retries, err := outbox.New(rc, q)
			if err != nil {
				t.Fatal(err)
			}
			key := jweSecret
			if tt.otherKey {
				key = strings.ToUpper(jweSecret)
			}
			dec, err := token.NewDecrypter(key)
			if err != nil {
				t.Fatal(err)
			}
			memory, err := session.NewMemoryRevocations(10)
			if err != nil {
				t.Fatal(err)
			}
			var list session.RevocationList = memory
			if tt.failing {
				list = downList{}
			}
			var ev middleware.Event
			rg.h, err = middleware.NewLogoutHandler(rg.store, middleware.WithRemote(rc),
				middleware.WithSessionWide(true), middleware.WithOutbox(retries), middleware.WithBearerToken(true),
				middleware.WithEndedSessions(dec, list), middleware.WithLogger(rg.log),
				middleware.WithOnLogout(func(_ *http.Request, e middleware.Event) { ev = e }))
			if err != nil {
				t.Fatal(err)
			}
			s := rg.ca.SignIn("ann@example.com")
			if tt.fault != nil {
				rg.ca.InjectFault(*tt.fault)
			}
			r := req{cookie: rg.cookieFor(t, &session.Session{AccessToken: s.AccessToken, Expires: time.Now().Add(time.Hour)})}
			if tt.bearer {
				r = req{headers: map[string]string{"Authorization": "Bearer " + s.AccessToken}}
			}
			if resp := rg.do(r); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", resp.StatusCode)
			}
			if ev.Remote != tt.wantRemote {
				t.Fatalf("remote outcome %v (%v), want %v", ev.Remote, ev.RemoteErr, tt.wantRemote)
			}
			listed, err := memory.Revoked(t.Context(), s.ID)
			if err != nil || listed != tt.wantListed {
				t.Fatalf("CentralAuth session listed as ended: %v (%v), want %v", listed, err, tt.wantListed)
			}
			if tt.failing {
				if !errors.Is(ev.RevokeErr, errListDown) || !strings.Contains(rg.logs.String(), "level=ERROR") {
					t.Fatalf("RevokeErr %v, logs:\n%s; want the list's error reported and logged at Error", ev.RevokeErr, rg.logs.String())
				}
			} else if ev.RevokeErr != nil {
				t.Fatalf("RevokeErr %v, want nil", ev.RevokeErr)
			}
			if logs := rg.logs.String(); strings.Contains(logs, s.AccessToken) || strings.Contains(logs, jweSecret) {
				t.Fatalf("a token or the secret leaked into the log:\n%s", logs)
			}
		})
	}
}

// TestListedEntryOutlivesTheToken checks how long an entry lasts: at least
// a day, and past the expiry of the token that wrote it.
func TestListedEntryOutlivesTheToken(t *testing.T) {
	tests := []struct {
		name      string
		expires   time.Duration // the session's, from now; 0 for unknown
		wantUntil time.Duration // at least
	}{
		{"unknown expiry", 0, 24 * time.Hour},
		{"a token of an hour", time.Hour, 24 * time.Hour},
		{"a token of a week", 7 * 24 * time.Hour, 7*24*time.Hour + time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRigWithSecret(t, jweSecret, true)
			rc, err := remote.NewClient(clientID, jweSecret, remote.WithBaseURL(rg.ca.URL()))
			if err != nil {
				t.Fatal(err)
			}
			dec, err := token.NewDecrypter(jweSecret)
			if err != nil {
				t.Fatal(err)
			}
			list := &recordingList{}
			if rg.h, err = middleware.NewLogoutHandler(rg.store, middleware.WithRemote(rc), middleware.WithSessionWide(true),
				middleware.WithEndedSessions(dec, list)); err != nil {
				t.Fatal(err)
			}
			s := rg.ca.SignIn("ann@example.com")
			sess := &session.Session{AccessToken: s.AccessToken}
			if tt.expires > 0 {
				sess.Expires = time.Now().Add(tt.expires)
			}
			// The cookie keeps the expiry in whole seconds.
			atLeast := time.Now().Add(tt.wantUntil).Truncate(time.Second)
			rg.do(req{cookie: rg.cookieFor(t, sess)})
			if list.id != s.ID || list.until.Before(atLeast) {
				t.Fatalf("listed %q until %v, want %q until at least %v", list.id, list.until, s.ID, atLeast)
			}
		})
	}
}

// recordingList keeps the last Revoke.
type recordingList struct {
	id    string
	until time.Time
}

func (l *recordingList) Revoke(_ context.Context, id string, until time.Time) error {
	l.id, l.until = id, until
	return nil
}

func (l *recordingList) Revoked(context.Context, string) (bool, error) { return false, nil }

func TestWithEndedSessionsConfig(t *testing.T) {
	dec, err := token.NewDecrypter(jweSecret)
	if err != nil {
		t.Fatal(err)
	}
	list, err := session.NewMemoryRevocations(10)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := remote.NewClient(clientID, jweSecret)
	if err != nil {
		t.Fatal(err)
	}
	var nilList *session.MemoryRevocations
	tests := []struct {
		name string
		opts []middleware.Option
		want string
	}{
		{"nil decrypter", []middleware.Option{middleware.WithRemote(rc), middleware.WithSessionWide(true), middleware.WithEndedSessions(nil, list)}, "token.Decrypter"},
		{"nil list", []middleware.Option{middleware.WithRemote(rc), middleware.WithSessionWide(true), middleware.WithEndedSessions(dec, nil)}, "list of ended sessions"},
		{"typed nil list", []middleware.Option{middleware.WithRemote(rc), middleware.WithSessionWide(true), middleware.WithEndedSessions(dec, nilList)}, "list of ended sessions"},
		{"not session-wide", []middleware.Option{middleware.WithRemote(rc), middleware.WithEndedSessions(dec, list)}, "WithSessionWide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := session.NewStore(hashKey)
			if err != nil {
				t.Fatal(err)
			}
			_, err = middleware.NewLogoutHandler(store, tt.opts...)
			if !errors.Is(err, middleware.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrInvalidConfig naming %q", err, tt.want)
			}
		})
	}
}
