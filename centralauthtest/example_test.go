package centralauthtest_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

// A test of an app: the user logs in through package login, the app's
// pages are vouched for by package sessioncheck, and when another app of
// the organization logs the user out everywhere, this app notices. In a
// test, centralauthtest.Start(t, …) replaces NewServer and Close, and also
// fails the test if the app broke CentralAuth's contract.
func Example() {
	ca, err := centralauthtest.NewServer("my-app", "my-secret")
	check(err)
	defer ca.Close()

	// The app under test, configured for the fake as for CentralAuth.
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	store, err := session.NewStore(bytes.Repeat([]byte("k"), 32), session.WithInsecure())
	check(err)
	rc, err := remote.NewClient("my-app", "my-secret", remote.WithBaseURL(ca.URL()), remote.WithAppOrigin(appURL))
	check(err)
	quiet := slog.New(slog.DiscardHandler)
	signIn, err := login.New(store, rc, appURL+"/auth/callback", login.WithLogger(quiet))
	check(err)
	vouch, err := sessioncheck.New(store, rc, sessioncheck.WithInterval(0), sessioncheck.WithLogger(quiet))
	check(err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", signIn.Login)
	mux.HandleFunc("GET /auth/callback", signIn.Callback)
	mux.Handle("GET /{$}", vouch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := sessioncheck.From(r.Context()); ok {
			fmt.Fprintln(w, "signed in as", s.User.Email)
			return
		}
		fmt.Fprintln(w, "signed out")
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	// The browser: a client with a cookie jar. The app sends it to the
	// fake's sign-in page; it posts the page's form, which is the login's
	// parameters and an email. The fake sends it back to the app's
	// callback, which logs it in and sends it home.
	jar, err := cookiejar.New(nil)
	check(err)
	browser := &http.Client{Jar: jar}
	page, err := browser.Get(appURL + "/login")
	check(err)
	page.Body.Close()
	form := page.Request.URL.Query()
	form.Set("email", "ada@example.com")
	home, err := browser.PostForm(ca.URL()+"/login", form)
	check(err)
	fmt.Print(read(home))

	// Another app logs ada out everywhere: CentralAuth ends her session.
	for s := range ca.Sessions() {
		ca.EndSession(s.AccessToken)
		break
	}
	home, err = browser.Get(appURL + "/")
	check(err)
	fmt.Print(read(home))

	fmt.Println("contract violations:", len(ca.Violations()))
	// Output:
	// signed in as ada@example.com
	// signed out
	// contract violations: 0
}

func read(resp *http.Response) string {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(err)
	return string(b)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
