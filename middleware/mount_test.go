package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/session"
)

// appHandler stands for the app's own routes.
var appHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-App", "yes")
	_, _ = io.WriteString(w, "app:"+r.URL.Path)
})

func TestMounting(t *testing.T) {
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	newHandler := func(opts ...middleware.Option) *middleware.LogoutHandler {
		h, err := middleware.NewLogoutHandler(store, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	chiHandle := chi.NewRouter()
	chiHandle.Handle("/logout", newHandler())
	chiHandle.Get("/*", appHandler)

	chiUse := chi.NewRouter()
	chiUse.Use(newHandler(middleware.WithPath("/auth/logout")).Middleware)
	chiUse.Get("/*", appHandler)

	mux := http.NewServeMux()
	mux.Handle("/logout", newHandler())
	mux.Handle("/", appHandler)

	wrapped := newHandler().Middleware(appHandler)

	tests := []struct {
		name       string
		h          http.Handler
		method     string
		path       string
		wantStatus int
		wantApp    bool
	}{
		{"chi Handle: logout", chiHandle, "POST", "/logout", 303, false},
		{"chi Handle: other route", chiHandle, "GET", "/home", 200, true},
		{"chi Use: logout at custom path", chiUse, "POST", "/auth/logout", 303, false},
		{"chi Use: GET logout path confirms", chiUse, "GET", "/auth/logout", 200, false},
		{"chi Use: default path is the app's", chiUse, "GET", "/logout", 200, true},
		{"ServeMux: logout", mux, "POST", "/logout", 303, false},
		{"ServeMux: other route", mux, "GET", "/x", 200, true},
		{"Middleware: logout", wrapped, "POST", "/logout", 303, false},
		{"Middleware: sub-path is not logout", wrapped, "POST", "/logout/x", 200, true},
		{"Middleware: other route untouched", wrapped, "GET", "/", 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus || (rec.Header().Get("X-App") == "yes") != tt.wantApp {
				t.Fatalf("status %d, app %q; want %d, app %v", rec.Code, rec.Header().Get("X-App"), tt.wantStatus, tt.wantApp)
			}
			if tt.wantApp && rec.Body.String() != "app:"+tt.path {
				t.Fatalf("app saw %q", rec.Body.String())
			}
		})
	}
}
