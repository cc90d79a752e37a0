package session_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/centralauth-go/logout/session"
)

// Save a session after login, load it on later requests, clear it on logout.
func ExampleStore() {
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // in production, load fixed keys from your secret store
	rand.Read(encKey)

	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey))
	if err != nil {
		log.Fatal(err)
	}

	// After CentralAuth's login callback:
	login := httptest.NewRecorder()
	sess := &session.Session{AccessToken: "token-from-centralauth"}
	if err := store.Save(login, sess); err != nil {
		log.Fatal(err)
	}
	fmt.Println("new session ID has", len(sess.ID), "hex digits")

	// On a later request that carries the cookie:
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range login.Result().Cookies() {
		r.AddCookie(c)
	}
	loaded, err := store.Load(r)
	fmt.Println(loaded.AccessToken, err)

	// A request without the cookie, or with a forged one:
	_, err = store.Load(httptest.NewRequest("GET", "/", nil))
	fmt.Println(errors.Is(err, session.ErrNoSession))
	// Output:
	// new session ID has 32 hex digits
	// token-from-centralauth <nil>
	// true
}

// Read the raw token cookie that CentralAuth's Node library sets.
func ExampleNewTokenCookie() {
	tokens, err := session.NewTokenCookie(session.WithCookieName("id_token"))
	if err != nil {
		log.Fatal(err)
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "id_token", Value: "eyJhbGciOiJkaXIifQ..iv.cipher.tag"})
	s, err := tokens.Load(r)
	fmt.Println(s.IDToken, err)
	// Output: eyJhbGciOiJkaXIifQ..iv.cipher.tag <nil>
}

// Save the session in the login callback, once CentralAuth has given the
// app its token.
func ExampleStore_Save() {
	loginCallback := func(w http.ResponseWriter, r *http.Request, store *session.Store, tokenFromCentralAuth string) {
		sess := &session.Session{AccessToken: tokenFromCentralAuth}
		if err := store.Save(w, sess); err != nil { // sets sess.ID to a random 128-bit ID
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	_ = loginCallback
}

// Load the session on a protected page. A missing, forged, expired or
// logged-out cookie means "not signed in"; a revocation list that cannot
// be asked (Redis down, say) means "try again later", never "signed in".
func ExampleStore_Load() {
	protected := func(store *session.Store) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess, err := store.Load(r)
			switch {
			case errors.Is(err, session.ErrNoSession), errors.Is(err, session.ErrInvalidSession):
				http.Redirect(w, r, "/login", http.StatusSeeOther) // ErrRevoked included
				return
			case err != nil: // session.ErrRevocationUnavailable
				http.Error(w, "try again in a moment", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "signed in as session", sess.ID)
		})
	}
	_ = protected
}
