package login_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// Sign browsers in with net/http: /login starts a login, CentralAuth sends
// the browser back to /auth/callback, and /account is for signed-in users
// only.
func Example() {
	// In production, load a fixed key of 64 random bytes from your secret
	// store, so that sessions outlive a restart.
	store, err := session.NewStore([]byte(os.Getenv("SESSION_HASH_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	client, err := remote.NewClient(os.Getenv("CENTRALAUTH_CLIENT_ID"), os.Getenv("CENTRALAUTH_CLIENT_SECRET"),
		remote.WithBaseURL("https://centralauth.com"))
	if err != nil {
		log.Fatal(err)
	}
	// The callback URL, exactly as registered with CentralAuth.
	auth, err := login.New(store, client, "https://app.example.com/auth/callback")
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/login", auth.Login)
	mux.HandleFunc("/auth/callback", auth.Callback)
	mux.HandleFunc("/account", func(w http.ResponseWriter, r *http.Request) {
		sess, err := store.Load(r)
		switch {
		case errors.Is(err, session.ErrRevocationUnavailable):
			http.Error(w, "try again", http.StatusServiceUnavailable) // not "logged out"
			return
		case err != nil:
			http.Redirect(w, r, "/login?return_to=/account", http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, "Signed in (session %s).\n", sess.ID)
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Sign browsers in with chi, on an app whose return_to may also lead to
// its sibling at www.example.com.
func Example_chi() {
	store, err := session.NewStore([]byte(os.Getenv("SESSION_HASH_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	client, err := remote.NewClient(os.Getenv("CENTRALAUTH_CLIENT_ID"), os.Getenv("CENTRALAUTH_CLIENT_SECRET"),
		remote.WithBaseURL("https://centralauth.com"))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := login.New(store, client, "https://app.example.com/auth/callback",
		login.WithAllowedHosts("www.example.com"),
		login.WithDefaultReturnTo("/account"),
		login.WithOnLogin(func(r *http.Request, sess *session.Session) {
			log.Printf("login: new session %s", sess.ID) // the ID only: the tokens are secrets
		}))
	if err != nil {
		log.Fatal(err)
	}

	r := chi.NewRouter()
	r.Get("/login", auth.Login)
	r.Post("/login", auth.Login)
	r.Get("/auth/callback", auth.Callback)
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				_, err := store.Load(req)
				switch {
				case errors.Is(err, session.ErrRevocationUnavailable):
					http.Error(w, "try again", http.StatusServiceUnavailable)
					return
				case err != nil:
					back := url.Values{"return_to": {req.URL.RequestURI()}}
					http.Redirect(w, req, "/login?"+back.Encode(), http.StatusSeeOther)
					return
				}
				next.ServeHTTP(w, req)
			})
		})
		r.Get("/account", func(w http.ResponseWriter, req *http.Request) {
			fmt.Fprintln(w, "Signed in.")
		})
	})
	log.Fatal(http.ListenAndServe(":8080", r))
}
