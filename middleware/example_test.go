package middleware_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
	"github.com/centralauth-go/logout/token"
)

// The whole round on chi: log in through CentralAuth (package login), have
// every protected request checked (package sessioncheck), and log out of
// this app or of every app of the organization.
func Example_chi() {
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // in production, load fixed keys from your secret store
	rand.Read(encKey)

	// Signed and encrypted, since the cookie holds CentralAuth's tokens.
	// A logout revokes the session, so a copy of the cookie stops working.
	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey))
	if err != nil {
		log.Fatal(err)
	}
	centralauth, err := remote.NewClient("my-client-id", "my-client-secret",
		remote.WithAppOrigin("https://www.example.com")) // this app, as CentralAuth knows it
	if err != nil {
		log.Fatal(err)
	}
	// Login with PKCE S256 and a checked state; the callback saves a fresh
	// session and goes back to a return_to that is safe.
	signIn, err := login.New(store, centralauth, "https://www.example.com/auth/callback",
		login.WithAllowedHosts("www.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	// Asks CentralAuth, at most every 30 s per session, whether the session
	// still stands: a "log out everywhere" in another app reaches this one
	// within that interval.
	check, err := sessioncheck.New(store, centralauth,
		sessioncheck.WithUnauthorized(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		})),
	)
	if err != nil {
		log.Fatal(err)
	}
	// Log out of this app, or, through CentralAuth, of every app.
	logout, err := middleware.NewLogoutHandler(store, middleware.WithAllowedHosts("www.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	everywhere, err := middleware.NewLogoutHandler(store, middleware.WithAllowedHosts("www.example.com"),
		middleware.WithRemote(centralauth), middleware.WithSessionWide(true))
	if err != nil {
		log.Fatal(err)
	}

	r := chi.NewRouter()
	r.Get("/login", signIn.Login)
	r.Get("/auth/callback", signIn.Callback)
	r.Handle("/logout", logout) // POST logs out; GET asks first
	r.Handle("/logout/everywhere", everywhere)
	r.With(check.Require).Get("/account", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessioncheck.From(r.Context())
		fmt.Fprintln(w, "signed in as", s.User.Email)
	})

	// An open-redirect attempt ends on the default page.
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("POST", "/logout?return_to=https://evil.example/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Without a session, /account sends the browser to log in, and the
	// login sends it on to CentralAuth.
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/account", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/login?return_to=%2Faccount", nil))
	to, _ := url.Parse(rec.Header().Get("Location"))
	fmt.Println(rec.Code, to.Host+to.Path, to.Query().Get("code_challenge_method"))
	// Output:
	// 303 /
	// 303 /login?return_to=%2Faccount
	// 303 centralauth.com/login S256
}

// Mount the handler on a plain net/http ServeMux.
func Example_serveMux() {
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // in production, load fixed keys from your secret store
	rand.Read(encKey)

	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey))
	if err != nil {
		log.Fatal(err)
	}
	logout, err := middleware.NewLogoutHandler(store)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/logout", logout)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "home")
	})

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/logout?return_to=/goodbye", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /goodbye
}

// Wrap an existing handler tree: the logout path is served, every other
// request passes through untouched.
func ExampleLogoutHandler_Middleware() {
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // in production, load fixed keys from your secret store
	rand.Read(encKey)

	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey))
	if err != nil {
		log.Fatal(err)
	}
	logout, err := middleware.NewLogoutHandler(store,
		middleware.WithPath("/auth/logout"),
	)
	if err != nil {
		log.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "app")
	})
	handler := logout.Middleware(app)

	for _, path := range []string{"/auth/logout", "/dashboard"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /auth/logout 303
	// /dashboard 200
}

// Serve a confirmation page of your own, in your app's words and language:
// GET goes to your page, whose form POSTs to the handler.
func Example_ownConfirmationPage() {
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // in production, load fixed keys from your secret store
	rand.Read(encKey)

	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey))
	if err != nil {
		log.Fatal(err)
	}
	logout, err := middleware.NewLogoutHandler(store)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /logout", logout)
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'") // a logout button must not be framed
		fmt.Fprint(w, `<form method="post" action="/logout"><button>Se déconnecter</button></form>`)
	})

	for _, method := range []string{"GET", "POST"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, "/logout", nil))
		fmt.Println(method, rec.Code)
	}
	// Output:
	// GET 200
	// POST 303
}

// Log out everywhere in milliseconds: the apps of an organization share a
// list of ended CentralAuth sessions in Redis, and read each session's
// CentralAuth session from its token, which every app can decrypt with the
// organization's client secret. A "log out everywhere" in one app then ends
// the session in the others on their next request, without a call to
// CentralAuth. Every app runs this, with its own cookie and the same list.
func Example_endedSessions() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	// One prefix for the whole organization: every app reads and writes it.
	ended, err := redisstore.NewRevocations(rdb, "my-org:ended:", redisstore.WithLocalCache(100_000))
	if err != nil {
		log.Fatal(err)
	}
	defer ended.Close()
	tokens, err := token.NewDecrypter("the-organization-client-secret!!") // 32 bytes
	if err != nil {
		log.Fatal(err)
	}
	hashKey := make([]byte, 32)
	rand.Read(hashKey) // in production, a fixed key from your secret store
	store, err := session.NewStore(hashKey, session.WithCookieName("__Host-app-b"))
	if err != nil {
		log.Fatal(err)
	}
	centralauth, err := remote.NewClient("my-client-id", "the-organization-client-secret!!",
		remote.WithAppOrigin("https://b.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	// Reads the list on every request, before any cached answer.
	check, err := sessioncheck.New(store, centralauth, sessioncheck.WithEndedSessions(tokens, ended))
	if err != nil {
		log.Fatal(err)
	}
	// Adds to it once CentralAuth has ended the session.
	everywhere, err := middleware.NewLogoutHandler(store, middleware.WithRemote(centralauth),
		middleware.WithSessionWide(true), middleware.WithEndedSessions(tokens, ended))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/logout/everywhere", everywhere)
	mux.Handle("/account", check.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessioncheck.From(r.Context())
		fmt.Fprintln(w, "signed in as", s.User.Email)
	})))
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
