package sessioncheck_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

// Protect pages of an app behind a proxy, and count the outcomes.
func Example() {
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // in production, load fixed keys from your secret store
	rand.Read(encKey)

	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey))
	if err != nil {
		log.Fatal(err)
	}
	centralauth, err := remote.NewClient("my-client-id", "my-client-secret",
		remote.WithAppOrigin("https://www.example.com")) // this app, as CentralAuth knows it
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	outcomes := map[sessioncheck.Outcome]int{} // or a metrics counter
	check, err := sessioncheck.New(store, centralauth,
		// The load balancer's addresses: CentralAuth then gets the
		// browser's IP, not the balancer's.
		sessioncheck.WithTrustedProxies("10.0.0.0/8"),
		sessioncheck.WithUnauthorized(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		})),
		sessioncheck.WithOnCheck(func(_ *http.Request, ev sessioncheck.Event) {
			mu.Lock()
			defer mu.Unlock()
			outcomes[ev.Outcome]++
		}),
	)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/account", check.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessioncheck.From(r.Context())
		fmt.Fprintln(w, "signed in as", s.User.Email)
	})))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/account", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /login?return_to=%2Faccount
}
