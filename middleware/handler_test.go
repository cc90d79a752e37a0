package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

func TestMethods(t *testing.T) {
	tests := []struct {
		name       string
		opts       []middleware.Option
		method     string
		wantStatus int
		wantLogout bool
		wantAllow  string
	}{
		{"POST logs out", nil, http.MethodPost, http.StatusSeeOther, true, ""},
		{"GET shows the confirmation page", nil, http.MethodGet, http.StatusOK, false, ""},
		{"HEAD answers like GET without logging out", nil, http.MethodHead, http.StatusOK, false, ""},
		{"GET logs out when opted in", []middleware.Option{middleware.WithGETLogout(true)}, http.MethodGet, http.StatusFound, true, ""},
		{"HEAD never logs out", []middleware.Option{middleware.WithGETLogout(true)}, http.MethodHead, http.StatusOK, false, ""},
		{"PUT is refused", nil, http.MethodPut, http.StatusMethodNotAllowed, false, "GET, HEAD, POST"},
		{"DELETE is refused", nil, http.MethodDelete, http.StatusMethodNotAllowed, false, "GET, HEAD, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, false, tt.opts...)
			cookie := rg.cookieFor(t, &session.Session{AccessToken: "at"})
			resp := rg.do(req{method: tt.method, cookie: cookie})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if cleared(resp) != tt.wantLogout || (rg.eventCount() == 1) != tt.wantLogout {
				t.Fatalf("cookie cleared %v, events %d; want logout %v", cleared(resp), rg.eventCount(), tt.wantLogout)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Fatalf("Allow %q, want %q", got, tt.wantAllow)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", got)
			}
		})
	}
}

func TestConfirmationPage(t *testing.T) {
	tests := []struct {
		name        string
		target      string
		opts        []middleware.Option
		wantInPage  []string
		wantNotPage []string
	}{
		{"plain", "/logout", nil, []string{`<form method="post" action="">`, "Log out</button>"}, []string{"hidden"}},
		{"carries return_to, escaped", `/logout?return_to=%2Fa%22%3E%3Cscript%3Ex`,
			nil, []string{`name="return_to" value="/a&#34;&gt;&lt;script&gt;x"`}, []string{"<script>"}},
		{"carries even an unsafe return_to for the POST to judge", "/logout?return_to=https%3A%2F%2Fevil.example%2F",
			nil, []string{`value="https://evil.example/"`}, nil},
		{"session-wide wording", "/logout", []middleware.Option{middleware.WithSessionWide(true)},
			[]string{"Log out everywhere</button>"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, true, tt.opts...)
			resp := rg.do(req{method: http.MethodGet, target: tt.target})
			body, _ := io.ReadAll(resp.Body)
			page := string(body)
			for _, want := range tt.wantInPage {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q:\n%s", want, page)
				}
			}
			for _, not := range tt.wantNotPage {
				if strings.Contains(page, not) {
					t.Errorf("page has %q:\n%s", not, page)
				}
			}
			for k, want := range map[string]string{
				"Content-Type":    "text/html; charset=utf-8",
				"X-Frame-Options": "DENY",
				"Cache-Control":   "no-store",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("CSP %q allows framing", resp.Header.Get("Content-Security-Policy"))
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("GET set cookies: %v", resp.Cookies())
			}
		})
	}
}

func TestCrossOriginPOSTIsRefused(t *testing.T) {
	tests := []struct {
		name       string
		headers    map[string]string
		opts       []middleware.Option
		wantStatus int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, nil, 403},
		{"same-site but other origin", map[string]string{"Sec-Fetch-Site": "same-site"}, nil, 403},
		{"foreign Origin without fetch metadata", map[string]string{"Origin": "https://evil.example"}, nil, 403},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, nil, 303},
		{"matching Origin", map[string]string{"Origin": "https://app.example"}, nil, 303},
		{"user-initiated navigation", map[string]string{"Sec-Fetch-Site": "none"}, nil, 303},
		{"no browser headers (curl, server to server)", nil, nil, 303},
		{"trusted origin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://portal.example"},
			[]middleware.Option{middleware.WithTrustedOrigins("https://portal.example")}, 303},
		{"untrusted origin next to a trusted one", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			[]middleware.Option{middleware.WithTrustedOrigins("https://portal.example")}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, true, append(tt.opts, middleware.WithSessionWide(true))...)
			s := rg.ca.SignIn("ann@example.com")
			cookie := rg.cookieFor(t, &session.Session{AccessToken: s.AccessToken})
			resp := rg.do(req{cookie: cookie, headers: tt.headers})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			refused := tt.wantStatus == 403
			if cleared(resp) == refused || rg.ca.Active(s.AccessToken) != refused {
				t.Fatalf("cleared %v, still active at CentralAuth %v; refused %v", cleared(resp), rg.ca.Active(s.AccessToken), refused)
			}
		})
	}
}

func TestErrorHandler(t *testing.T) {
	var got error
	rg := newRig(t, false, middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}))
	tests := []struct {
		name   string
		r      req
		want   error
		status int
	}{
		{"cross-origin", req{headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, middleware.ErrCrossOrigin, 403},
		{"method", req{method: http.MethodPatch}, nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rg.do(tt.r)
			var re *middleware.RequestError
			if (tt.want != nil && !errors.Is(got, tt.want)) || !errors.As(got, &re) || re.Status != tt.status {
				t.Fatalf("error handler got %v, want %v with status %d", got, tt.want, tt.status)
			}
			if resp.StatusCode != http.StatusTeapot {
				t.Fatalf("status %d: the custom handler's answer was not used", resp.StatusCode)
			}
		})
	}
}

func TestReturnTo(t *testing.T) {
	tests := []struct {
		name   string
		opts   []middleware.Option
		target string
		form   string
		want   string
	}{
		{"default", nil, "/logout", "", "/"},
		{"custom default", []middleware.Option{middleware.WithDefaultReturnTo("/bye")}, "/logout", "", "/bye"},
		{"path from the query", nil, "/logout?return_to=%2Faccount", "", "/account"},
		{"path from the form", nil, "/logout", "return_to=%2Fform", "/form"},
		{"form wins over query", nil, "/logout?return_to=%2Fquery", "return_to=%2Fform", "/form"},
		{"open redirect", nil, "/logout?return_to=https%3A%2F%2Fevil.example%2F", "", "/"},
		{"protocol-relative", nil, "/logout?return_to=%2F%2Fevil.example", "", "/"},
		{"javascript", nil, "/logout?return_to=javascript%3Aalert(1)", "", "/"},
		{"tab trick", nil, "/logout?return_to=%2F%09%2Fevil.example", "", "/"},
		{"too long", nil, "/logout?return_to=%2F" + strings.Repeat("a", 2048), "", "/"},
		{"allowed host", []middleware.Option{middleware.WithAllowedHosts("shop.example")},
			"/logout?return_to=https%3A%2F%2Fshop.example%2Fcart", "", "https://shop.example/cart"},
		{"allowed wildcard", []middleware.Option{middleware.WithAllowedHosts("*.tenants.example")},
			"/logout?return_to=https%3A%2F%2Facme.tenants.example%2F", "", "https://acme.tenants.example/"},
		{"host not on the list", []middleware.Option{middleware.WithAllowedHosts("shop.example")},
			"/logout?return_to=https%3A%2F%2Fshop.example.evil%2F", "", "/"},
		{"absolute default on an allowed host", []middleware.Option{middleware.WithAllowedHosts("www.example"), middleware.WithDefaultReturnTo("https://www.example/")},
			"/logout?return_to=%2F%2Fevil", "", "https://www.example/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, false, tt.opts...)
			var body io.Reader
			if tt.form != "" {
				body = strings.NewReader(tt.form)
			}
			r := httptest.NewRequest(http.MethodPost, "https://app.example"+tt.target, body)
			if tt.form != "" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			rg.h.ServeHTTP(rec, r)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", rec.Code)
			}
			if got := rec.Header().Get("Location"); got != tt.want {
				t.Fatalf("Location %q, want %q", got, tt.want)
			}
			if ev := rg.lastEvent(t); ev.ReturnTo != tt.want {
				t.Fatalf("Event.ReturnTo %q, want %q", ev.ReturnTo, tt.want)
			}
		})
	}
}

func TestRejectedReturnToIsLoggedAtDebug(t *testing.T) {
	rg := newRig(t, false)
	rg.do(req{target: "/logout?return_to=https%3A%2F%2Fevil.example%2F"})
	if logs := rg.logs.String(); !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "host not allowed") {
		t.Fatalf("no debug line for the rejected return_to:\n%s", logs)
	}
}

func TestLocalLogoutAlwaysClears(t *testing.T) {
	rg := newRig(t, false)
	valid := rg.cookieFor(t, &session.Session{ID: "sess-1", AccessToken: "at"})
	tests := []struct {
		name, cookie, wantID string
	}{
		{"valid session", valid, "sess-1"},
		{"no cookie", "", ""},
		{"tampered cookie", valid + "x", ""},
		{"garbage cookie", "__Host-centralauth_session=%%%", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rg.do(req{cookie: tt.cookie})
			if resp.StatusCode != http.StatusSeeOther || !cleared(resp) {
				t.Fatalf("status %d, cleared %v; want 303 and a cleared cookie", resp.StatusCode, cleared(resp))
			}
			if ev := rg.lastEvent(t); strings.Join(ev.SessionIDs, ",") != tt.wantID || ev.SessionWide || ev.RemoteErr != nil {
				t.Fatalf("event %+v, want session %q, local only", ev, tt.wantID)
			}
		})
	}
}

func TestClearMatchesSaveAttributes(t *testing.T) {
	store, err := session.NewStore(hashKey, session.WithCookieName("app_a_session"), session.WithCookiePath("/app"),
		session.WithDomain("example.com"), session.WithSameSite(http.SameSiteStrictMode))
	if err != nil {
		t.Fatal(err)
	}
	h, err := middleware.NewLogoutHandler(store)
	if err != nil {
		t.Fatal(err)
	}
	saved := httptest.NewRecorder()
	if err := store.Save(saved, &session.Session{AccessToken: "at"}); err != nil {
		t.Fatal(err)
	}
	set := saved.Result().Cookies()[0]
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/app/logout", nil)
	r.AddCookie(set)
	h.ServeHTTP(rec, r)
	got := rec.Result().Cookies()[0]
	if got.Name != set.Name || got.Path != set.Path || got.Domain != set.Domain || got.Secure != set.Secure ||
		got.HttpOnly != set.HttpOnly || got.SameSite != set.SameSite || got.MaxAge >= 0 || got.Expires.Year() != 1970 {
		t.Fatalf("clearing cookie %+v does not match the saved one %+v", got, set)
	}
}

func TestHookRunsBeforeTheResponse(t *testing.T) {
	store, _ := session.NewStore(hashKey)
	var rec *httptest.ResponseRecorder
	var wroteBeforeHook bool
	h, err := middleware.NewLogoutHandler(store,
		middleware.WithOnLogout(func(r *http.Request, ev middleware.Event) {
			wroteBeforeHook = rec.Flushed || rec.Header().Get("Location") != ""
		}))
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/logout", nil))
	if wroteBeforeHook || rec.Code != http.StatusSeeOther {
		t.Fatalf("response begun before the hook ran (%v), or status %d", wroteBeforeHook, rec.Code)
	}
}

func TestNewLogoutHandlerRejectsBadConfig(t *testing.T) {
	store, _ := session.NewStore(hashKey)
	tests := []struct {
		name  string
		store middleware.SessionStore
		opts  []middleware.Option
	}{
		{"nil store", nil, nil},
		{"typed nil store", (*session.Store)(nil), nil},
		{"typed nil remote", store, []middleware.Option{middleware.WithRemote((*remote.Client)(nil))}},
		{"typed nil outbox", store, []middleware.Option{middleware.WithOutbox((*outbox.Outbox)(nil))}},
		{"session-wide without remote", store, []middleware.Option{middleware.WithSessionWide(true)}},
		{"nil remote", store, []middleware.Option{middleware.WithRemote(nil)}},
		{"unsafe default return_to", store, []middleware.Option{middleware.WithDefaultReturnTo("https://evil.example/")}},
		{"protocol-relative default", store, []middleware.Option{middleware.WithDefaultReturnTo("//evil.example")}},
		{"empty default", store, []middleware.Option{middleware.WithDefaultReturnTo("")}},
		{"wildcard on a TLD", store, []middleware.Option{middleware.WithAllowedHosts("*.com")}},
		{"URL as host pattern", store, []middleware.Option{middleware.WithAllowedHosts("https://a.example")}},
		{"bad trusted origin", store, []middleware.Option{middleware.WithTrustedOrigins("not an origin")}},
		{"relative path", store, []middleware.Option{middleware.WithPath("logout")}},
		{"zero remote timeout", store, []middleware.Option{middleware.WithRemoteTimeout(0)}},
		{"nil logger", store, []middleware.Option{middleware.WithLogger(nil)}},
		{"nil hook", store, []middleware.Option{middleware.WithOnLogout(nil)}},
		{"nil error handler", store, []middleware.Option{middleware.WithErrorHandler(nil)}},
		{"nil option", store, []middleware.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := middleware.NewLogoutHandler(tt.store, tt.opts...)
			if !errors.Is(err, middleware.ErrInvalidConfig) || h != nil {
				t.Fatalf("NewLogoutHandler = %v, %v; want nil, ErrInvalidConfig", h, err)
			}
		})
	}
}
