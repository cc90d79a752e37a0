package login_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/login"
)

// stubApp is a Handler on the stub client, whose error handler keeps what
// it gets.
type stubApp struct {
	h    *login.Handler
	errs []error
}

func newStubApp(t *testing.T, callback string) *stubApp {
	t.Helper()
	a := &stubApp{}
	var err error
	a.h, err = login.New(newStore(t), newStubClient(), callback, quiet,
		login.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
			a.errs = append(a.errs, err)
			w.WriteHeader(http.StatusBadRequest)
		}))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// callback delivers CentralAuth's redirect for state, with cookie.
func (a *stubApp) callback(cookie *http.Cookie, state string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "https://app.example.com/auth/callback?code=code-"+state+"&state="+state, nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	a.h.Callback(rec, req)
	return rec
}

// removes reports whether the answer expires the cookie named name.
func removes(rec *httptest.ResponseRecorder, name string) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// A login must finish within 10 minutes of its start.
func TestStateExpires(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"at once", 0, true},
		{"a second before 10 minutes", 10*time.Minute - time.Second, true},
		{"at 10 minutes", 10 * time.Minute, false},
		{"after an hour", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newStubApp(t, "https://app.example.com/auth/callback")
				cookie, state := startStub(t, a.h, "https://app.example.com/login?return_to=/done")
				time.Sleep(tc.after)
				rec := a.callback(cookie, state)
				if tc.ok {
					if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/done" || len(a.errs) != 0 {
						t.Errorf("callback after %v = %d to %q, errors %v; want 303 to /done", tc.after, rec.Code, rec.Header().Get("Location"), a.errs)
					}
					return
				}
				if len(a.errs) != 1 || !errors.Is(a.errs[0], login.ErrState) {
					t.Errorf("callback after %v: errors %v, want ErrState", tc.after, a.errs)
				}
				if !removes(rec, cookie.Name) {
					t.Errorf("the expired state cookie was not removed: %q", rec.Header()["Set-Cookie"])
				}
			})
		})
	}
}

// A state cookie that is not exactly what Login writes is refused, and
// removed, even when its state matches.
func TestMalformedStateCookie(t *testing.T) {
	a := newStubApp(t, "http://127.0.0.1:8080/auth/callback")
	cookie, state := startStub(t, a.h, "http://127.0.0.1:8080/login")
	_, verifier, returnTo, started, err := login.DecodeStateCookie(cookie.Value)
	if err != nil {
		t.Fatal(err)
	}
	at := strconv.FormatInt(started, 10)
	valid := cookie.Value
	for _, tc := range []struct{ name, value string }{
		{"version 2", "2" + strings.TrimPrefix(valid, "1")},
		{"no version", strings.TrimPrefix(valid, "1.")},
		{"a field too many", valid + ".x"},
		{"a start with a plus", strings.Replace(valid, "."+at+".", ".+"+at+".", 1)},
		{"a start with a leading zero", strings.Replace(valid, "."+at+".", ".0"+at+".", 1)},
		{"a start of zero", login.EncodeStateCookie(state, verifier, returnTo, 0)},
		{"a start 2 minutes ahead", login.EncodeStateCookie(state, verifier, returnTo, started+120)},
		{"a verifier too short", login.EncodeStateCookie(state, verifier[1:], returnTo, started)},
		{"a verifier too long", login.EncodeStateCookie(state, verifier+"A", returnTo, started)},
		{"a verifier not base64url", login.EncodeStateCookie(state, verifier[1:]+"~", returnTo, started)},
		{"an empty return_to", strings.TrimSuffix(valid, valid[strings.LastIndexByte(valid, '.')+1:])},
		{"a return_to padded", valid + "="},
		{"a return_to not base64url", valid[:strings.LastIndexByte(valid, '.')+1] + "L3g+"},
		{"a return_to over 2048 bytes", login.EncodeStateCookie(state, verifier, "/"+strings.Repeat("a", 2048), started)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.errs = nil
			rec := a.callback(&http.Cookie{Name: cookie.Name, Value: tc.value}, state)
			if len(a.errs) != 1 || !errors.Is(a.errs[0], login.ErrState) {
				t.Errorf("cookie %q: callback = %d, errors %v; want ErrState", tc.value, rec.Code, a.errs)
			}
			if !removes(rec, cookie.Name) {
				t.Errorf("the malformed state cookie was not removed: %q", rec.Header()["Set-Cookie"])
			}
		})
	}
	t.Run("the valid one", func(t *testing.T) {
		a.errs = nil
		if rec := a.callback(cookie, state); rec.Code != http.StatusSeeOther || len(a.errs) != 0 {
			t.Errorf("callback = %d, errors %v; want 303", rec.Code, a.errs)
		}
	})
}
