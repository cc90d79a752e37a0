package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
)

const testOrigin = "https://app.example.test"

// endUser is the browser that a session check is made for.
var endUser = EndUser{IP: netip.MustParseAddr("198.51.100.23"), UserAgent: "Mozilla/5.0 (X11) test"}

// kind classifies a UserInfo error the way package sessioncheck does.
func kind(err error) string {
	switch e, ok := errors.AsType[*Error](err); {
	case err == nil:
		return "user"
	case IsSessionEnded(err):
		return "ended"
	case ok && (e.Code == "noPermission" || e.Code == "domainInvalid"):
		return "misconfigured"
	}
	return "unavailable"
}

func TestUserInfoAgainstTheFake(t *testing.T) {
	tests := []struct {
		name     string
		secret   string
		logout   bool
		fault    *centralauthtest.Fault
		token    func(centralauthtest.Session) string
		wantKind string
	}{
		{name: "active session", token: func(s centralauthtest.Session) string { return s.AccessToken }, wantKind: "user"},
		{name: "by its ID token", token: func(s centralauthtest.Session) string { return s.IDToken }, wantKind: "user"},
		{name: "logged out elsewhere", logout: true, token: func(s centralauthtest.Session) string { return s.AccessToken }, wantKind: "ended"},
		{name: "unknown token", token: func(centralauthtest.Session) string { return "eyJ.unknown.token" }, wantKind: "ended"},
		{name: "wrong secret", secret: "wrong", token: func(s centralauthtest.Session) string { return s.AccessToken }, wantKind: "misconfigured"},
		{name: "CentralAuth down", fault: &centralauthtest.Fault{Status: 503, Times: 10}, token: func(s centralauthtest.Session) string { return s.AccessToken }, wantKind: "unavailable"},
		{name: "rate limited", fault: &centralauthtest.Fault{Status: 429, Times: 10}, token: func(s centralauthtest.Session) string { return s.AccessToken }, wantKind: "unavailable"},
		{name: "connection dropped", fault: &centralauthtest.Fault{DropConnection: true, Times: 10}, token: func(s centralauthtest.Session) string { return s.AccessToken }, wantKind: "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, err := centralauthtest.NewServer(testID, testSecret, centralauthtest.WithAppDomains(testOrigin))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			s := fake.SignIn("ada@example.com")
			if tt.logout {
				fake.EndSession(s.AccessToken)
			}
			if tt.fault != nil {
				fake.InjectFault(*tt.fault)
			}
			secret := testSecret
			if tt.secret != "" {
				secret = tt.secret
			}
			c, err := NewClient(testID, secret, WithBaseURL(fake.URL()), WithAppOrigin(testOrigin))
			if err != nil {
				t.Fatal(err)
			}
			withClock(c, newClock())
			token := tt.token(s)
			u, err := c.UserInfo(testCtx(t), token, endUser)
			if got := kind(err); got != tt.wantKind {
				t.Fatalf("UserInfo = %+v, %v: %s, want %s", u, err, got, tt.wantKind)
			}
			if err != nil && (strings.Contains(err.Error(), token) || strings.Contains(err.Error(), secret)) {
				t.Fatalf("error %q holds a secret", err)
			}
			if tt.wantKind == "user" {
				if !strings.HasPrefix(u.ID, "usr_") || u.Email != "ada@example.com" || u.OrganizationID != "org_demo" || !u.Verified || u.Created.IsZero() || u.LastLogin.IsZero() {
					t.Fatalf("user %+v, want the fake's ada@example.com", u)
				}
			}
			calls := fake.Calls()
			last := calls[len(calls)-1]
			if last.Method != http.MethodPost || last.Path != "/api/v1/userinfo" || last.Domain != testOrigin ||
				last.UserAgent != "Mozilla/5.0 (X11) test" || last.AuthIP != "198.51.100.23" || last.ContentType != "text/plain" {
				t.Fatalf("call %+v does not follow the contract", last)
			}
		})
	}
}

func TestUserInfoBadAnswers(t *testing.T) {
	const user = `{"id":"usr_1","email":"a@example.test","gravatar":"https://g/x","verified":true,"blocked":false,` +
		`"organizationId":null,"created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05.123Z","lastLogin":null}`
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		timeout  time.Duration
		wantKind string
	}{
		{"the documented user", answer(200, user), 0, "user"},
		{"garbage JSON", answer(200, `{"id": "usr_1", `), 0, "unavailable"},
		{"not JSON at all", answer(200, `<html>maintenance</html>`), 0, "unavailable"},
		{"a 10 MB body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			chunk := []byte(strings.Repeat(" ", 1<<20))
			for range 10 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, 0, "unavailable"},
		{"a 200 with an empty body", answer(200, ""), 0, "unavailable"},
		{"an ended code on a 200", answer(200, `{"errorCode":"sessionExpired","message":"expired"}`), 0, "unavailable"},
		{"a user without an id", answer(200, `{"email":"a@example.test"}`), 0, "unavailable"},
		{"a date that is not RFC 3339", answer(200, strings.Replace(user, "2026-01-02T03:04:05Z", "yesterday", 1)), 0, "unavailable"},
		{"a 401 with no body", answer(401, ""), 0, "unavailable"},
		{"a 401 sessionExpired", answer(401, `{"errorCode":"sessionExpired","message":"x"}`), 0, "ended"},
		{"a 400 tokenMissing", answer(400, `{"errorCode":"tokenMissing","message":"x"}`), 0, "ended"},
		{"a 403 domainInvalid", answer(403, `{"errorCode":"domainInvalid","message":"x"}`), 0, "misconfigured"},
		{"a 500", answer(500, `{"errorCode":"genericError","message":"x"}`), 0, "unavailable"},
		{"a slow answer past the timeout", func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client leave.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 200 * time.Millisecond, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			c, err := NewClient(testID, testSecret, WithBaseURL(srv.URL), WithAppOrigin(testOrigin), WithRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			ctx := testCtx(t)
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			u, err := c.UserInfo(ctx, "eyJ.tok.en", endUser)
			if got := kind(err); got != tt.wantKind {
				t.Fatalf("UserInfo = %+v, %v: %s, want %s", u, err, got, tt.wantKind)
			}
			if err != nil && u != (User{}) {
				t.Fatalf("an error came with a user: %+v", u)
			}
			if tt.timeout > 0 && time.Since(start) > tt.timeout+time.Second {
				t.Fatalf("took %v past a %v deadline", time.Since(start), tt.timeout)
			}
		})
	}
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestUserInfoNeedsAnAppOrigin(t *testing.T) {
	c, err := NewClient(testID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UserInfo(t.Context(), "tok", endUser); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("UserInfo without WithAppOrigin = %v, want ErrInvalidConfig", err)
	}
	// Configuration first: a caller can find a client made without
	// WithAppOrigin with an empty token, and no network call.
	if _, err := c.UserInfo(t.Context(), "", EndUser{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("UserInfo without WithAppOrigin or a token = %v, want ErrInvalidConfig", err)
	}
	withOrigin, err := NewClient(testID, testSecret, WithAppOrigin(testOrigin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withOrigin.UserInfo(t.Context(), "", endUser); !errors.Is(err, ErrNoToken) {
		t.Fatalf("UserInfo without a token = %v, want ErrNoToken", err)
	}
	for _, bad := range []string{"", "app.example.com", "ftp://app.example.com", "https://", "https://app.example.com/path",
		"https://app.example.com?x", "https://app.example.com#f", "https://u:p@app.example.com"} {
		if _, err := NewClient(testID, testSecret, WithAppOrigin(bad)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("WithAppOrigin(%q) = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

// TestUserInfoSendsTheEndUser: what CentralAuth records of the end user
// is what the caller passed, and an IP it does not know is 0.0.0.0, as
// the Node library sends it.
func TestUserInfoSendsTheEndUser(t *testing.T) {
	tests := []struct {
		name          string
		eu            EndUser
		wantIP        string
		wantUserAgent string
	}{
		{name: "an IPv4 address", eu: endUser, wantIP: "198.51.100.23", wantUserAgent: "Mozilla/5.0 (X11) test"},
		{name: "an IPv6 address", eu: EndUser{IP: netip.MustParseAddr("2001:db8::9"), UserAgent: "ua"}, wantIP: "2001:db8::9", wantUserAgent: "ua"},
		{name: "an IPv4-mapped address", eu: EndUser{IP: netip.MustParseAddr("::ffff:203.0.113.9")}, wantIP: "203.0.113.9"},
		{name: "nothing known", eu: EndUser{}, wantIP: "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, err := centralauthtest.NewServer(testID, testSecret, centralauthtest.WithAppDomains(testOrigin))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			c, err := NewClient(testID, testSecret, WithBaseURL(fake.URL()), WithAppOrigin(testOrigin))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.UserInfo(testCtx(t), fake.SignIn("ada@example.com").AccessToken, tt.eu); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls()
			if last := calls[len(calls)-1]; last.AuthIP != tt.wantIP || last.UserAgent != tt.wantUserAgent {
				t.Fatalf("auth-ip %q, User-Agent %q; want %q, %q", last.AuthIP, last.UserAgent, tt.wantIP, tt.wantUserAgent)
			}
		})
	}
}

func TestIsSessionEnded(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"401 sessionInactive", &Error{StatusCode: 401, Code: "sessionInactive"}, true},
		{"400 tokenInvalid", &Error{StatusCode: 400, Code: "tokenInvalid"}, true},
		{"404 sessionMissing", &Error{StatusCode: 404, Code: "sessionMissing"}, true},
		{"wrapped", fmt.Errorf("check: %w", &Error{StatusCode: 401, Code: "sessionExpired"}), true},
		{"500 sessionMissing is an outage", &Error{StatusCode: 500, Code: "sessionMissing"}, false},
		{"503 sessionExpired is an outage", &Error{StatusCode: 503, Code: "sessionExpired"}, false},
		{"429 sessionInvalid is rate limiting", &Error{StatusCode: 429, Code: "sessionInvalid"}, false},
		{"302 tokenMissing is no answer", &Error{StatusCode: 302, Code: "tokenMissing"}, false},
		{"403 noPermission", &Error{StatusCode: 403, Code: "noPermission"}, false},
		{"401 without a code", &Error{StatusCode: 401}, false},
		{"a transport error", &transportError{msg: "remote: userinfo: connection refused", err: io.ErrUnexpectedEOF}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSessionEnded(tt.err); got != tt.want {
				t.Fatalf("IsSessionEnded(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// FuzzParseUser feeds parseUser what a broken or hostile server might
// answer with a 200. It must never panic, and a body it accepts has a user
// ID: an unreadable answer is never a user.
func FuzzParseUser(f *testing.F) {
	f.Add([]byte(`{"id":"usr_1","email":"a@example.test","gravatar":"g","verified":true,"blocked":false,"organizationId":null,"created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05Z","lastLogin":null}`))
	f.Add([]byte(`{"id":"","created":"x"}`))
	f.Add([]byte(`{"errorCode":"sessionExpired","message":"expired"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := parseUser(body)
		if err == nil && u.ID == "" {
			t.Fatal("accepted a user without an ID")
		}
		if err != nil && (u != User{}) {
			t.Fatal("an error came with a user")
		}
		if err != nil && strings.Contains(err.Error(), string(body)) && len(body) > 8 {
			t.Fatal("the error quotes the body")
		}
	})
}
