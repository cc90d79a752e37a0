package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// TestLogoutOnASafeMethodNeverLogsOut is security finding 5: an app that
// mounted a "log out everywhere" on a route of its own without a method
// pattern, as in mux.Handle("/logout/everywhere", ...), let any cross-site
// GET log the user out everywhere.
func TestLogoutOnASafeMethodNeverLogsOut(t *testing.T) {
	tests := []struct {
		name       string
		opts       []middleware.Option
		method     string
		headers    map[string]string
		wantStatus int
		wantLogout bool
	}{
		{"cross-site GET gets the confirmation page", nil, http.MethodGet,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusOK, false},
		{"GET gets the confirmation page", nil, http.MethodGet, nil, http.StatusOK, false},
		{"HEAD never logs out", []middleware.Option{middleware.WithGETLogout(true)}, http.MethodHead, nil, http.StatusOK, false},
		{"OPTIONS is refused", nil, http.MethodOptions, nil, http.StatusMethodNotAllowed, false},
		{"TRACE is refused", nil, http.MethodTrace, nil, http.StatusMethodNotAllowed, false},
		{"GET logs out only when opted in", []middleware.Option{middleware.WithGETLogout(true)}, http.MethodGet, nil, http.StatusFound, true},
		{"POST logs out", nil, http.MethodPost, nil, http.StatusSeeOther, true},
		{"cross-site POST is refused", nil, http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, true, append([]middleware.Option{middleware.WithSessionWide(true)}, tt.opts...)...)
			mux := http.NewServeMux()
			mux.Handle("/logout/everywhere", rg.h)
			r := httptest.NewRequest(tt.method, "https://app.example/logout/everywhere", nil)
			r.Header.Set("Cookie", rg.cookieFor(t, &session.Session{ID: "s1"}))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			resp := rec.Result()
			if resp.StatusCode != tt.wantStatus || cleared(resp) != tt.wantLogout || (rg.eventCount() == 1) != tt.wantLogout {
				t.Fatalf("status %d, cleared %v, %d events; want %d and logout %v",
					resp.StatusCode, cleared(resp), rg.eventCount(), tt.wantStatus, tt.wantLogout)
			}
			if tt.wantStatus == http.StatusOK && tt.method == http.MethodGet &&
				!strings.Contains(rec.Body.String(), "every app") {
				t.Fatalf("the confirmation page does not say the logout is session-wide:\n%s", rec.Body)
			}
		})
	}
}

// TestConfirmationPageSendsItsOrigin is the header side of security finding
// 6 (TestConfirmationButtonWorksOnAPlainHTTPHost is the browser side): with
// no-referrer the page's own form POSTs "Origin: null".
func TestConfirmationPageSendsItsOrigin(t *testing.T) {
	rg := newRig(t, false)
	resp := rg.do(req{method: http.MethodGet})
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
		t.Fatalf("Referrer-Policy %q, want same-origin", got)
	}
	if !strings.Contains(string(body), `<meta name="referrer" content="same-origin">`) {
		t.Fatalf("the page's referrer meta tag is not same-origin:\n%s", body)
	}
}

// TestCrossOriginRefusalIsLogged is security finding 9: a bare 403 with no
// log line at any level left a misconfigured proxy to be found in the
// source.
func TestCrossOriginRefusalIsLogged(t *testing.T) {
	rg := newRig(t, false)
	hostile := "https://evil.example\nlevel=ERROR msg=forged"
	resp := rg.do(req{headers: map[string]string{"Origin": hostile, "Sec-Fetch-Site": "cross-site"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	logs := rg.logs.String()
	for _, want := range []string{"level=DEBUG", "cross-origin request refused", `origin="https://evil.example\nlevel=ERROR msg=forged"`, "sec_fetch_site=cross-site", "host=app.example"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Count(logs, "\n") != 1 {
		t.Fatalf("want one log line, the client's newline escaped:\n%s", logs)
	}
}

// failingRemote is a CentralAuth that is down: every logout fails in a
// retryable way, at once. It counts the calls and the bytes it was sent.
type failingRemote struct {
	mu           sync.Mutex
	calls, bytes int
}

func (f *failingRemote) Logout(_ context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.bytes += len(token)
	return &remote.Error{StatusCode: http.StatusServiceUnavailable}
}

// TestAnonymousBearerPostsCannotFillTheOutbox is security finding 1: with
// CentralAuth answering 503, 100 anonymous POSTs carrying 512 KiB Bearer
// strings filled the outbox with junk, grew the heap by 52 MiB, sent
// CentralAuth 150 MiB, and the real user's logout got ErrQueueFull.
func TestAnonymousBearerPostsCannotFillTheOutbox(t *testing.T) {
	const posts, queueLimit = 10_000, 100
	huge := "Bearer " + strings.Repeat("A", 512<<10)
	wellShaped := "Bearer eyJhbGciOiJkaXIifQ..iv." + strings.Repeat("c", 2000) + ".tag"
	tests := []struct {
		name        string
		bearerOn    bool
		header      string
		wantQueued  int64 // after the flood
		wantCalls   int
		maxHeapGrow uint64
	}{
		{"Bearer off: 512 KiB strings are ignored", false, huge, 0, 0, 1 << 20},
		{"Bearer off: well-shaped strings are ignored", false, wellShaped, 0, 0, 1 << 20},
		{"Bearer on: 512 KiB strings are refused", true, huge, 0, 0, 1 << 20},
		{"Bearer on: well-shaped strings stay within the queue's bound", true, wellShaped, queueLimit, posts, 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down := &failingRemote{}
			q, err := outbox.NewMemoryQueue(queueLimit)
			if err != nil {
				t.Fatal(err)
			}
			retries, err := outbox.New(down, q)
			if err != nil {
				t.Fatal(err)
			}
			store, err := session.NewStore(hashKey)
			if err != nil {
				t.Fatal(err)
			}
			h, err := middleware.NewLogoutHandler(store,
				middleware.WithRemote(down), middleware.WithOutbox(retries),
				middleware.WithSessionWide(true), middleware.WithBearerToken(tt.bearerOn),
				middleware.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			heapBefore := liveHeap()
			for range posts {
				r := httptest.NewRequest(http.MethodPost, "https://app.example/logout", nil)
				r.Header.Set("Authorization", tt.header)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusSeeOther {
					t.Fatalf("status %d", w.Code)
				}
			}
			grown := int64(liveHeap()) - int64(heapBefore)
			st, err := retries.Stats(t.Context())
			if err != nil || st.Pending != tt.wantQueued || down.calls != tt.wantCalls {
				t.Fatalf("queued %d (%v), CentralAuth called %d times; want %d and %d", st.Pending, err, down.calls, tt.wantQueued, tt.wantCalls)
			}
			if grown > int64(tt.maxHeapGrow) {
				t.Fatalf("the heap grew by %d KiB, want at most %d KiB", grown>>10, tt.maxHeapGrow>>10)
			}
			if down.bytes > posts*2100 {
				t.Fatalf("CentralAuth was sent %d KiB", down.bytes>>10)
			}
			runtime.KeepAlive(q)

			// The real user's own logout is still taken when there is room.
			if tt.wantQueued < queueLimit {
				cookie := httptest.NewRecorder()
				if err := store.Save(cookie, &session.Session{AccessToken: "eyJ.real.user"}); err != nil {
					t.Fatal(err)
				}
				r := httptest.NewRequest(http.MethodPost, "https://app.example/logout", nil)
				r.AddCookie(cookie.Result().Cookies()[0])
				h.ServeHTTP(httptest.NewRecorder(), r)
				if st, _ := retries.Stats(t.Context()); st.Pending != tt.wantQueued+1 {
					t.Fatalf("the real user's logout was not queued: pending %d", st.Pending)
				}
			}
		})
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestLogoutEndsEveryCookieOfTheName is security finding 7: a sibling
// subdomain tossed its own valid cookie (Domain=example.test,
// Path=/logout); the handler read only the first cookie of the name, the
// attacker's, so the attacker's session was the one revoked and sent to
// CentralAuth, and a stolen copy of the victim's cookie kept loading.
func TestLogoutEndsEveryCookieOfTheName(t *testing.T) {
	ca := centralauthtest.Start(t, clientID, clientSecret)
	rc, err := remote.NewClient(clientID, clientSecret, remote.WithBaseURL(ca.URL()))
	if err != nil {
		t.Fatal(err)
	}
	// Shared with subdomains, so the "__Host-" prefix cannot be used.
	store, err := session.NewStore(hashKey, session.WithDomain("example.test"))
	if err != nil {
		t.Fatal(err)
	}
	var ev middleware.Event
	h, err := middleware.NewLogoutHandler(store, middleware.WithRemote(rc),
		middleware.WithSessionWide(true), middleware.WithOnLogout(func(_ *http.Request, e middleware.Event) { ev = e }))
	if err != nil {
		t.Fatal(err)
	}
	cookieOf := func(s centralauthtest.Session) (*session.Session, *http.Cookie) {
		sess := &session.Session{AccessToken: s.AccessToken}
		rec := httptest.NewRecorder()
		if err := store.Save(rec, sess); err != nil {
			t.Fatal(err)
		}
		return sess, rec.Result().Cookies()[0]
	}
	attacker, tossed := cookieOf(ca.SignIn("mallory@example.com"))
	victimCA := ca.SignIn("victim@example.com")
	victim, stolen := cookieOf(victimCA)

	// The browser sends the tossed cookie first: its path is longer.
	r := httptest.NewRequest(http.MethodPost, "https://app.example.test/logout", nil)
	r.AddCookie(tossed)
	r.AddCookie(stolen)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d", rec.Code)
	}
	if want := []string{attacker.ID, victim.ID}; !slices.Equal(ev.SessionIDs, want) || ev.RevokeErr != nil {
		t.Fatalf("ended %q (%v), want %q", ev.SessionIDs, ev.RevokeErr, want)
	}
	replay := httptest.NewRequest(http.MethodGet, "https://app.example.test/", nil)
	replay.AddCookie(stolen)
	if _, err := store.Load(replay); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("the stolen copy of the victim's cookie after logout: Load error %v, want ErrRevoked", err)
	}
	if ca.Active(victimCA.AccessToken) {
		t.Fatal("the victim's CentralAuth session is still active")
	}
	if ev.Remote != middleware.RemoteDelivered || ev.RemoteErr != nil {
		t.Fatalf("remote %v, %v", ev.Remote, ev.RemoteErr)
	}
}
