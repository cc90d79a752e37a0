package sessioncheck

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// tokenStore is a Store whose session is the request's X-Token
// header, with an ID made from the token as session.TokenCookie makes it:
// every junk token is a session of its own.
type tokenStore struct{}

func (tokenStore) Load(r *http.Request) (*session.Session, error) {
	tok := r.Header.Get("X-Token")
	if tok == "" {
		return nil, session.ErrNoSession
	}
	return &session.Session{ID: "tok-" + tok, AccessToken: tok}, nil
}

func (tokenStore) Logout(context.Context, http.ResponseWriter, *http.Request) ([]*session.Session, error) {
	return nil, nil
}

// countingRemote answers userinfo with answer and counts the calls.
type countingRemote struct {
	calls  atomic.Int64
	answer func(token string) (remote.User, error)
}

func (f *countingRemote) UserInfo(_ context.Context, token string, _ remote.EndUser) (remote.User, error) {
	if token == "" {
		return remote.User{}, remote.ErrNoToken
	}
	f.calls.Add(1)
	return f.answer(token)
}

var (
	errOutage  = &remote.Error{StatusCode: http.StatusServiceUnavailable}
	errInvalid = &remote.Error{StatusCode: http.StatusUnauthorized, Code: "tokenInvalid"}
)

func newTokenCheck(t *testing.T, rc Users) *Check {
	t.Helper()
	c, err := New(tokenStore{}, rc, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tokenRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	r.Header.Set("X-Token", token)
	return r
}

// visitWith makes one request with token through c.
func visitWith(c *Check, token string) (Session, bool) {
	var cs Session
	var ok bool
	c.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		cs, ok = From(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), tokenRequest(token))
	return cs, ok
}

// TestJunkSessionsCannotPushOutRealOnes is audit finding 3: with
// session.TokenCookie every random cookie is a session, and during an
// outage each left an entry; 300,000 of them evicted 189 of 200 real
// users' last good answers, logging them out mid-outage. Here the bounds
// are small: the cache holds exactly the real users.
func TestJunkSessionsCannotPushOutRealOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const users, firstBound, junk = 200, 16, 5_000
		var down atomic.Bool
		rc := &countingRemote{answer: func(token string) (remote.User, error) {
			switch {
			case down.Load():
				return remote.User{}, errOutage
			case strings.HasPrefix(token, "user-"):
				return remote.User{ID: token}, nil
			}
			return remote.User{}, errInvalid
		}}
		c := newTokenCheck(t, rc)
		c.maxEntries, c.maxFirst = users, firstBound
		for i := range users {
			if _, ok := visitWith(c, fmt.Sprint("user-", i)); !ok {
				t.Fatalf("user %d not live", i)
			}
		}
		down.Store(true)
		time.Sleep(time.Minute) // every answer due, none past the maximum staleness
		for i := range junk {
			if _, ok := visitWith(c, fmt.Sprint("junk-", i)); ok {
				t.Fatalf("junk session %d is live", i)
			}
		}
		lost := 0
		for i := range users {
			if cs, ok := visitWith(c, fmt.Sprint("user-", i)); !ok || !cs.Stale || cs.User.ID != fmt.Sprint("user-", i) {
				lost++
			}
		}
		if lost > 0 {
			t.Fatalf("%d of %d users logged out mid-outage by %d junk sessions", lost, users, junk)
		}
	})
}

// TestFirstChecksInFlightAreBounded: junk sessions whose calls hang take
// at most the bound of first checks; the others are not asked, and a real
// user's check is not held up by them.
func TestFirstChecksInFlightAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const firstBound = 16
		hang := make(chan struct{})
		release := sync.OnceFunc(func() { close(hang) })
		defer release() // also when the test fails, so that the bubble ends
		rc := &countingRemote{answer: func(token string) (remote.User, error) {
			if token == "user" {
				return remote.User{ID: "usr_1"}, nil
			}
			<-hang
			return remote.User{}, errInvalid
		}}
		c := newTokenCheck(t, rc)
		c.maxFirst = firstBound
		if _, ok := visitWith(c, "user"); !ok {
			t.Fatal("user not live")
		}
		time.Sleep(time.Minute) // the user's answer is due
		var wg sync.WaitGroup
		for i := range 4 * firstBound {
			wg.Go(func() { visitWith(c, fmt.Sprint("junk-", i)) })
		}
		synctest.Wait()
		if got := rc.calls.Load() - 1; got != firstBound {
			t.Fatalf("%d junk calls in flight, want %d", got, firstBound)
		}
		if cs, ok := visitWith(c, "user"); !ok || cs.Stale || rc.calls.Load() != firstBound+2 {
			t.Fatalf("the user amid the junk: %+v, live %v, %d calls", cs, ok, rc.calls.Load())
		}
		release()
		wg.Wait()
	})
}

// TestOneCallPerIntervalWhateverTheScheduling is audit finding 5: a
// request found its session's answer due, then lost the CPU while another
// request's call was made and answered; it must not make a second call
// within the interval. ask is what check calls on finding the answer due.
func TestOneCallPerIntervalWhateverTheScheduling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := &countingRemote{answer: func(string) (remote.User, error) { return remote.User{ID: "usr_1"}, nil }}
		c := newTokenCheck(t, rc)
		r := tokenRequest("user")
		sess, err := c.store.Load(r) // request A: no answer yet, due
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := visitWith(c, "user"); !ok { // request B: asks, answered
			t.Fatal("request B not live")
		}
		cs := c.ask(httptest.NewRecorder(), r, sess, hashToken(sess.AccessToken), "") // request A goes on
		if cs.Session == nil || rc.calls.Load() != 1 {
			t.Fatalf("request A: %+v, %d calls; want live, 1 call", cs, rc.calls.Load())
		}
	})
}
