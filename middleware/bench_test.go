package middleware_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/session"
)

// discardWriter is a ResponseWriter that keeps nothing, reset between
// iterations, so the benchmarks measure the handlers and not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) reset()                      { clear(d.h); d.code = 0 }

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header, 4)} }

// BenchmarkPassThrough is target 1: a request that is not for the logout
// path, through Middleware, against the bare handler.
func BenchmarkPassThrough(b *testing.B) {
	store, err := session.NewStore(hashKey)
	if err != nil {
		b.Fatal(err)
	}
	h, err := middleware.NewLogoutHandler(store)
	if err != nil {
		b.Fatal(err)
	}
	// "empty" is a handler that does nothing, to show the absolute cost
	// of the wrapper; "page" writes a small response as a real handler
	// would, and is the baseline of the target.
	body := []byte("<p>hello</p>")
	empty := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = contentTypeHTML
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	r := httptest.NewRequest(http.MethodGet, "/dashboard/settings", nil)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"handler=empty/impl=bare", empty},
		{"handler=empty/impl=middleware", h.Middleware(empty)},
		{"handler=page/impl=bare", page},
		{"handler=page/impl=middleware", h.Middleware(page)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, r)
			}
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

var contentTypeHTML = []string{"text/html; charset=utf-8"}

// floorSession is what a hand-written handler would keep in its cookie.
type floorSession struct {
	ID, AccessToken, IDToken string
	Expires                  time.Time
}

// BenchmarkLocalLogout is target 2: a POST logout with a valid signed cookie
// against the hand-written floor: securecookie with its default gob
// serializer, http.SetCookie and http.Redirect, nothing else.
func BenchmarkLocalLogout(b *testing.B) {
	token := string(bytes.Repeat([]byte("t"), 900)) // a CentralAuth JWE is about this long
	sess := session.Session{ID: "0123456789abcdef0123456789abcdef", AccessToken: token, Expires: time.Now().Add(time.Hour)}

	sc := securecookie.New(hashKey, nil)
	floorValue, err := sc.Encode("floor_session", floorSession{sess.ID, sess.AccessToken, sess.IDToken, sess.Expires})
	if err != nil {
		b.Fatal(err)
	}
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s floorSession
		if c, err := r.Cookie("floor_session"); err == nil {
			_ = sc.Decode("floor_session", c.Value, &s)
		}
		http.SetCookie(w, &http.Cookie{Name: "floor_session", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	store, err := session.NewStore(hashKey)
	if err != nil {
		b.Fatal(err)
	}
	ours, err := middleware.NewLogoutHandler(store)
	if err != nil {
		b.Fatal(err)
	}
	// Every logout ends a session of its own, so that each one revokes:
	// replaying one cookie would measure the already-logged-out path.
	freshCookies := func(n int) []string {
		cookies := make([]string, n)
		for i := range cookies {
			rec := httptest.NewRecorder()
			s := sess
			s.ID = ""
			if err := store.Save(rec, &s); err != nil {
				b.Fatal(err)
			}
			c := rec.Result().Cookies()[0]
			cookies[i] = c.Name + "=" + c.Value
		}
		return cookies
	}
	sameCookie := func(n int) []string {
		cookies := make([]string, n)
		for i := range cookies {
			cookies[i] = "floor_session=" + floorValue
		}
		return cookies
	}

	for _, bc := range []struct {
		name    string
		h       http.Handler
		cookies func(n int) []string
	}{
		{"impl=floor", floor, sameCookie},
		{"impl=logout", ours, freshCookies},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cookies := bc.cookies(b.N)
			r := httptest.NewRequest(http.MethodPost, "/logout", nil)
			w := newDiscardWriter()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r.Header.Set("Cookie", cookies[i])
				w.reset()
				bc.h.ServeHTTP(w, r)
			}
			if w.code != http.StatusSeeOther || len(w.h["Set-Cookie"]) != 1 {
				b.Fatalf("status %d, headers %v", w.code, w.h)
			}
		})
	}
}
