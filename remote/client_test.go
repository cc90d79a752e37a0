package remote

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
)

func TestLogoutRequest(t *testing.T) {
	// The fake takes only Basic base64("id:secret"), byte for byte, and
	// the raw token as text/plain: anything else is a violation.
	tests := []struct {
		name, id, secret string
	}{
		{name: "plain", id: "app", secret: "secret"},
		{name: "colons", id: "app:1", secret: "s:e:c"},
		{name: "percent signs are not unescaped", id: "app%41", secret: "p%40ss%"},
		{name: "at signs", id: "user@org", secret: "s@cret"},
		{name: "unicode", id: "äpp", secret: "sécrét-密码"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := centralauthtest.Start(t, tt.id, tt.secret)
			s := fake.SignIn("ada@example.com")
			c, err := NewClient(tt.id, tt.secret, WithBaseURL(fake.URL()))
			if err != nil {
				t.Fatal(err)
			}

			if err := c.Logout(testCtx(t), s.AccessToken); err != nil {
				t.Fatalf("Logout = %v", err)
			}
			if fake.Active(s.IDToken) {
				t.Error("the session is still active")
			}
			calls := fake.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			call := calls[0]
			if call.Status != http.StatusOK || call.Violation != "" {
				t.Errorf("the fake answered %d (%s), want 200", call.Status, call.Violation)
			}
			if call.Method != http.MethodPost || call.Path != "/api/v1/logout" {
				t.Errorf("request = %s %s, want POST /api/v1/logout", call.Method, call.Path)
			}
			if call.ContentType != "text/plain" {
				t.Errorf("Content-Type = %q, want text/plain", call.ContentType)
			}
			if call.SessionID != s.ID || call.Token != "access" {
				t.Errorf("the call carried the %q token of session %q, want the access token of %q", call.Token, call.SessionID, s.ID)
			}
			if call.UserAgent != defaultUserAgent {
				t.Errorf("User-Agent = %q, want %q", call.UserAgent, defaultUserAgent)
			}
		})
	}
}

func TestLogoutUserAgentAndBasePath(t *testing.T) {
	var got struct {
		sync.Mutex
		path, ua string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Lock()
		got.path, got.ua = r.URL.Path, r.UserAgent()
		got.Unlock()
	}))
	t.Cleanup(srv.Close)

	tests := []struct{ name, base, wantPath string }{
		{"no path", srv.URL, "/api/v1/logout"},
		{"trailing slash", srv.URL + "/", "/api/v1/logout"},
		{"path prefix", srv.URL + "/tenant", "/tenant/api/v1/logout"},
		{"path prefix with trailing slash", srv.URL + "/tenant/", "/tenant/api/v1/logout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(testID, testSecret, WithBaseURL(tt.base), WithUserAgent("my-app/2.0"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Logout(testCtx(t), "tok"); err != nil {
				t.Fatalf("Logout = %v", err)
			}
			got.Lock()
			defer got.Unlock()
			if got.path != tt.wantPath || got.ua != "my-app/2.0" {
				t.Errorf("got path %q, User-Agent %q; want %q, my-app/2.0", got.path, got.ua, tt.wantPath)
			}
		})
	}
}

func TestLogoutNoToken(t *testing.T) {
	fake := newFake(t)
	c, _ := newClient(t, fake)
	err := c.Logout(testCtx(t), "")
	if !errors.Is(err, ErrNoToken) {
		t.Errorf("Logout(\"\") = %v, want ErrNoToken", err)
	}
	if IsRetryable(err) {
		t.Error("ErrNoToken is retryable")
	}
	if n := len(fake.Calls()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestLogoutSuccessStatuses(t *testing.T) {
	tests := []struct {
		name  string
		fault *centralauthtest.Fault // nil: the fake's normal 200
	}{
		{name: "200 empty"},
		{name: "200 with a body", fault: &centralauthtest.Fault{Status: 200, Body: `{"ok":true}`}},
		{name: "201", fault: &centralauthtest.Fault{Status: 201}},
		{name: "202", fault: &centralauthtest.Fault{Status: 202}},
		{name: "204", fault: &centralauthtest.Fault{Status: 204}},
		{name: "299", fault: &centralauthtest.Fault{Status: 299}},
		{name: "200 with a huge body", fault: &centralauthtest.Fault{Status: 200, OversizedBody: 10 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			s := fake.SignIn("ada@example.com")
			if tt.fault != nil {
				fake.InjectFault(*tt.fault)
			}
			c, _ := newClient(t, fake)
			if err := c.Logout(testCtx(t), s.AccessToken); err != nil {
				t.Errorf("Logout = %v, want nil", err)
			}
			if n := len(fake.Calls()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestLogoutErrorAnswers(t *testing.T) {
	long := strings.Repeat("0123456789", 100) // 1000 bytes
	tests := []struct {
		name       string
		fault      *centralauthtest.Fault // nil: the fake's own answer
		token      string                 // "": a valid token
		secret     string                 // "": testSecret
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{
			name: "unknown token", token: "not-a-token",
			wantStatus: 400, wantCode: "tokenInvalid", wantMsg: "the token is not valid",
		},
		{
			name: "wrong secret", secret: "wrong",
			wantStatus: 401, wantCode: "noPermission", wantMsg: "the Authorization header is not Basic base64(client_id:client_secret)",
		},
		{
			name:       "JSON error body",
			fault:      &centralauthtest.Fault{Status: 403, Body: `{"errorCode":"domainInvalid","message":"domain is not whitelisted"}`},
			wantStatus: 403, wantCode: "domainInvalid", wantMsg: "domain is not whitelisted",
		},
		{
			name:       "plain text body",
			fault:      &centralauthtest.Fault{Status: 400, Body: "  bad request\n"},
			wantStatus: 400, wantMsg: "bad request",
		},
		{
			name:       "long plain body keeps the first 512 bytes",
			fault:      &centralauthtest.Fault{Status: 400, Body: long},
			wantStatus: 400, wantMsg: long[:512],
		},
		{
			name:       "blank body",
			fault:      &centralauthtest.Fault{Status: 418, Body: " \n"},
			wantStatus: 418,
		},
		{
			name:       "redirect is not followed",
			fault:      &centralauthtest.Fault{Status: 307, Body: "moved"},
			wantStatus: 307, wantMsg: "moved",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Not newFake: a wrong secret breaks the contract on purpose.
			fake, err := centralauthtest.NewServer(testID, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			s := fake.SignIn("ada@example.com")
			if tt.fault != nil {
				fake.InjectFault(*tt.fault)
			}
			secret := testSecret
			if tt.secret != "" {
				secret = tt.secret
			}
			c, err := NewClient(testID, secret, WithBaseURL(fake.URL()))
			withClock(c, newClock())
			if err != nil {
				t.Fatal(err)
			}
			token := s.AccessToken
			if tt.token != "" {
				token = tt.token
			}

			err = c.Logout(testCtx(t), token)
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("Logout = %v, want an *Error", err)
			}
			if e.StatusCode != tt.wantStatus || e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Errorf("got %d %q %q, want %d %q %q", e.StatusCode, e.Code, e.Message, tt.wantStatus, tt.wantCode, tt.wantMsg)
			}
			if !fake.Active(s.AccessToken) {
				t.Error("a failed logout ended the session")
			}
			if n := len(fake.Calls()); n != 1 {
				t.Errorf("%d requests, want 1 (4xx and 3xx are not retried)", n)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{StatusCode: 401, Code: "noPermission", Message: "bad credentials"}, "remote: logout failed: 401 Unauthorized (noPermission): bad credentials"},
		{&Error{StatusCode: 500}, "remote: logout failed: 500 Internal Server Error"},
		{&Error{StatusCode: 400, Code: "tokenInvalid"}, "remote: logout failed: 400 Bad Request (tokenInvalid)"},
		{&Error{StatusCode: 599, Message: "odd"}, "remote: logout failed: 599: odd"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLogoutOversizedErrorBody(t *testing.T) {
	fake := newFake(t)
	s := fake.SignIn("ada@example.com")
	const size = 10 << 20
	fake.InjectFault(centralauthtest.Fault{Status: 500, OversizedBody: size})
	ct := newCountingTransport(t)
	c, _ := newClient(t, fake, WithHTTPClient(&http.Client{Transport: ct}), WithRetries(0))

	err := c.Logout(testCtx(t), s.AccessToken)
	e, ok := errors.AsType[*Error](err)
	if !ok || e.StatusCode != 500 {
		t.Fatalf("Logout = %v, want a 500 *Error", err)
	}
	if e.Message != strings.Repeat("x", 512) {
		t.Errorf("Message has %d bytes, want the first 512 of the body", len(e.Message))
	}
	// The body is read through a 64 KiB limit, then drained up to as much.
	if read := ct.bodyBytes.Load(); read > 2*maxBodyBytes {
		t.Errorf("read %d bytes of a %d-byte body, want at most %d", read, size, 2*maxBodyBytes)
	}
}

func TestLogoutRedirects(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		callerHTTP  bool // a caller's client that follows redirects
		wantStatus  int  // of the *Error
		wantNoToken bool // the redirect target must not see the token
	}{
		{name: "default client, 307", status: 307, wantStatus: 307},
		{name: "default client, 302", status: 302, wantStatus: 302},
		{name: "following client, 307 is not replayed", status: 307, callerHTTP: true, wantStatus: 307},
		{name: "following client, 308 is not replayed", status: 308, callerHTTP: true, wantStatus: 308},
		{name: "following client, 302 is not followed", status: 302, callerHTTP: true, wantStatus: 302},
		{name: "following client, 301 is not followed", status: 301, callerHTTP: true, wantStatus: 301},
		{name: "following client, 303 is not followed", status: 303, callerHTTP: true, wantStatus: 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var targetHits atomic.Int64
			var targetGotToken atomic.Bool
			mux := http.NewServeMux()
			mux.HandleFunc("/api/v1/logout", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", tt.status)
			})
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
				targetHits.Add(1)
				var b [64]byte
				n, _ := r.Body.Read(b[:])
				if n > 0 {
					targetGotToken.Store(true)
				}
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			opts := []Option{WithBaseURL(srv.URL)}
			if tt.callerHTTP {
				opts = append(opts, WithHTTPClient(&http.Client{}))
			}
			c, err := NewClient(testID, testSecret, opts...)
			if err != nil {
				t.Fatal(err)
			}

			err = c.Logout(testCtx(t), "the-token")
			if err == nil {
				t.Fatal("Logout = nil, want an error: the logout was not delivered")
			}
			if e, isErr := errors.AsType[*Error](err); !isErr || e.StatusCode != tt.wantStatus {
				t.Errorf("Logout = %v, want an *Error with status %d", err, tt.wantStatus)
			}
			if IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true, want false", err)
			}
			if targetGotToken.Load() {
				t.Error("the token was sent to the redirect target")
			}
			if targetHits.Load() != 0 {
				t.Error("the client followed the redirect")
			}
		})
	}
}

func TestCallersHTTPClientUnchanged(t *testing.T) {
	fake := newFake(t)
	s := fake.SignIn("ada@example.com")
	ct := newCountingTransport(t)
	jar := &nopJar{}
	checkRedirect := func(*http.Request, []*http.Request) error { return errors.New("no") }
	hc := &http.Client{Transport: ct, Timeout: 7 * time.Second, Jar: jar, CheckRedirect: checkRedirect}
	before := *hc

	c, _ := newClient(t, fake, WithHTTPClient(hc))
	if err := c.Logout(testCtx(t), s.AccessToken); err != nil {
		t.Fatalf("Logout = %v", err)
	}

	if ct.trips.Load() != 1 {
		t.Errorf("%d round trips through the caller's transport, want 1", ct.trips.Load())
	}
	if hc.Transport != before.Transport || hc.Timeout != before.Timeout || hc.Jar != before.Jar ||
		reflect.ValueOf(hc.CheckRedirect).Pointer() != reflect.ValueOf(before.CheckRedirect).Pointer() {
		t.Errorf("client changed: %+v, was %+v", *hc, before)
	}
	if tr := ct.base.(*http.Transport); tr.MaxIdleConnsPerHost != 0 || tr.DisableKeepAlives {
		t.Error("the caller's transport was changed")
	}
}

type nopJar struct{}

func (*nopJar) SetCookies(*url.URL, []*http.Cookie) {}
func (*nopJar) Cookies(*url.URL) []*http.Cookie     { return nil }

func TestDefaultHTTPClient(t *testing.T) {
	c, err := NewClient(testID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewClient(testID, testSecret)
	hc := c.c.httpClient
	tr, ok := hc.Transport.(*http.Transport)
	switch {
	case !ok:
		t.Fatalf("Transport is %T, want *http.Transport", hc.Transport)
	case hc.Timeout != 10*time.Second:
		t.Errorf("Timeout = %v, want 10s", hc.Timeout)
	case tr == http.DefaultTransport || tr == other.c.httpClient.Transport:
		t.Error("the transport is shared, want one per Client")
	case tr.DisableKeepAlives || tr.MaxIdleConnsPerHost < 16:
		t.Errorf("keep-alive %v, MaxIdleConnsPerHost %d: want keep-alive with room for concurrency", !tr.DisableKeepAlives, tr.MaxIdleConnsPerHost)
	case hc.CheckRedirect == nil || !errors.Is(hc.CheckRedirect(nil, nil), http.ErrUseLastResponse):
		t.Error("the default client follows redirects")
	}
	if c.c.endpoint != "https://centralauth.com/api/v1/logout" {
		t.Errorf("endpoint = %q, want CentralAuth's", c.c.endpoint)
	}
}

func TestConnectionReuse(t *testing.T) {
	fake := newFake(t)
	c, _ := newClient(t, fake, WithRetries(0))
	fake.InjectFault(centralauthtest.Fault{Status: 500, Body: strings.Repeat("e", 10<<10)})
	fake.InjectFault(centralauthtest.Fault{Status: 200, Body: strings.Repeat("o", 10<<10)})

	var reused, fresh atomic.Int64
	ctx := httptrace.WithClientTrace(testCtx(t), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused.Add(1)
			} else {
				fresh.Add(1)
			}
		},
	})
	// A 500 with a body, a 200 with a body, a 400 JSON error, then plain
	// successes: every answer's body must be drained for the next call to
	// reuse the connection.
	tokens := []string{"a", "b", "c", fake.SignIn("ada@example.com").AccessToken, fake.SignIn("bob@example.com").IDToken}
	for _, tok := range tokens {
		_ = c.Logout(ctx, tok)
	}
	if fresh.Load() != 1 || reused.Load() != int64(len(tokens)-1) {
		t.Errorf("%d new and %d reused connections, want 1 and %d", fresh.Load(), reused.Load(), len(tokens)-1)
	}
}

func TestConcurrentLogouts(t *testing.T) {
	fake := newFake(t)
	// Some calls retry; with 6 attempts each, none can run out.
	c, _ := newClient(t, fake, WithRetries(5))
	fake.InjectFault(centralauthtest.Fault{Status: 503, Times: 5})
	ctx := testCtx(t)

	const n = 32
	sessions := make([]centralauthtest.Session, n)
	for i := range sessions {
		sessions[i] = fake.SignIn("user@example.com")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Go(func() { errs[i] = c.Logout(ctx, s.AccessToken) })
	}
	wg.Wait()

	for i, s := range sessions {
		if errs[i] != nil {
			t.Errorf("Logout %d = %v", i, errs[i])
		}
		if fake.Active(s.IDToken) {
			t.Errorf("session %d still active", i)
		}
	}
	if got := len(fake.Calls()); got != n+5 {
		t.Errorf("%d requests, want %d (each logout once, plus 5 retries)", got, n+5)
	}
}

func TestClientStringHidesSecret(t *testing.T) {
	c, err := NewClient(testID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		t.Run(verb, func(t *testing.T) {
			s := fmt.Sprintf(verb, c)
			if l := leaks(s, "none"); len(l) > 0 {
				t.Errorf("%s of a Client shows the %v: %q", verb, l, s)
			}
		})
	}
}

// TestRedirectNeverCarriesCredentialsToPlainHTTP is security finding 8: on
// a 301, 302 or 303, a caller's client that follows redirects copied the
// Authorization header to the same host over plain http.
func TestRedirectNeverCarriesCredentialsToPlainHTTP(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var plainGotAuth atomic.Bool
			plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "" {
					plainGotAuth.Store(true)
				}
			}))
			t.Cleanup(plain.Close)
			secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Same host (127.0.0.1), plain http.
				http.Redirect(w, r, plain.URL+"/api/v1/logout", status)
			}))
			t.Cleanup(secure.Close)
			callers := secure.Client() // trusts the test certificate; follows redirects
			before := callers.CheckRedirect

			c, err := NewClient(testID, testSecret, WithBaseURL(secure.URL), WithHTTPClient(callers))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Logout(testCtx(t), "the-token")
			if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != status {
				t.Fatalf("Logout = %v, want an *Error with status %d", err, status)
			}
			if plainGotAuth.Load() {
				t.Fatal("the client credentials reached the plain-http redirect target")
			}
			if callers.CheckRedirect != nil || before != nil {
				t.Fatal("the caller's client was modified")
			}
		})
	}
}
