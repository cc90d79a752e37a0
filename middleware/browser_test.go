package middleware_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/centralauth-go/logout/internal/testenv"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/session"
)

// TestConfirmationButtonWorksOnAPlainHTTPHost is security finding 6, in a
// real Chromium: on a plain-http origin other than loopback the browser
// sends no Sec-Fetch-Site, so the cross-origin check falls back to Origin.
// With "Referrer-Policy: no-referrer" the confirmation page's own button
// POSTed "Origin: null" and got 403.
func TestConfirmationButtonWorksOnAPlainHTTPHost(t *testing.T) {
	store, err := session.NewStore(hashKey, session.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	h, err := middleware.NewLogoutHandler(store)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // method, Origin and status of each logout request
	mux := http.NewServeMux()
	mux.Handle("/logout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		mu.Lock()
		seen = append(seen, r.Method+" origin="+r.Header.Get("Origin")+" status="+http.StatusText(rec.status))
		mu.Unlock()
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>home</title><p id="status">logged out</p>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// app.test is a plain-http host that is not loopback to the browser,
	// though Chromium resolves it to 127.0.0.1.
	tab := testenv.Browser(t, 60*time.Second, map[string]any{"host-resolver-rules": "MAP app.test 127.0.0.1"})
	err = chromedp.Do(tab, chromedp.Navigate("http://app.test:"+port+"/logout"))
	if err == nil {
		_, err = chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS("button")))
	}
	var status string
	if err == nil {
		// The home page has loaded by now, or the click led elsewhere.
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		status, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
		cancel()
	}
	mu.Lock()
	defer mu.Unlock()
	if err != nil || status != "logged out" {
		t.Fatalf("the page's own button did not log out: %v, status %q; requests %q", err, status, seen)
	}
	want := "POST origin=http://app.test:" + port + " status=See Other"
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "GET") || seen[1] != want {
		t.Fatalf("requests %q, want the GET of the page, then %q", seen, want)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
