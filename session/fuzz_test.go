package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/centralauth-go/logout/session"
)

// FuzzStoreLoad feeds arbitrary cookie values to Load: it must never panic,
// and anything but a genuine cookie must be ErrNoSession or
// ErrInvalidSession.
func FuzzStoreLoad(f *testing.F) {
	s, err := session.NewStore(hashKey, session.WithEncryptionKey(blockKey))
	if err != nil {
		f.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := s.Save(rec, &session.Session{AccessToken: "at", IDToken: "it"}); err != nil {
		f.Fatal(err)
	}
	genuine, _ := http.ParseSetCookie(rec.Header().Get("Set-Cookie"))
	f.Add(genuine.Value)
	f.Add(genuine.Value[:len(genuine.Value)/2])
	f.Add("")
	f.Add(`"quoted"`)
	f.Add("MTcwMDAwMDAwMHxhYmN8ZGVm")
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = []string{"__Host-centralauth_session=" + value}
		sess, err := s.Load(r)
		switch {
		case err == nil:
			// Only a cookie this store signed can load. (Each fuzz
			// worker signs its own, so compare content, not bytes.)
			if sess.AccessToken != "at" || sess.IDToken != "it" {
				t.Fatalf("Load accepted a forged cookie %q: %+v", value, sess)
			}
		case !errors.Is(err, session.ErrNoSession) && !errors.Is(err, session.ErrInvalidSession):
			t.Fatalf("Load error %v matches neither ErrNoSession nor ErrInvalidSession", err)
		}
	})
}
