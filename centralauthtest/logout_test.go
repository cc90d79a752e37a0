package centralauthtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

func TestLogoutEndpoint(t *testing.T) {
	valid := basic(testID, testSecret)
	tests := []struct {
		name        string
		req         func(s Session) request
		wantStatus  int
		wantCode    string // errorCode of the JSON body; "" for an empty body
		wantEnded   bool   // whether the session is over afterwards
		wantAllowed string // Allow header
		// wantViolation says that the request breaks CentralAuth's
		// contract: it is recorded as a violation.
		wantViolation bool
	}{
		{
			name:       "access token ends the session",
			req:        func(s Session) request { return logoutRequest(s.AccessToken) },
			wantStatus: http.StatusOK,
			wantEnded:  true,
		},
		{
			name:       "ID token ends the session",
			req:        func(s Session) request { return logoutRequest(s.IDToken) },
			wantStatus: http.StatusOK,
			wantEnded:  true,
		},
		{
			name: "content type with charset",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.contentType = "text/plain; charset=utf-8"
				return r
			},
			wantStatus: http.StatusOK,
			wantEnded:  true,
		},
		{
			name: "scheme name is case-insensitive",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.auth = "basic " + strings.TrimPrefix(valid, "Basic ")
				return r
			},
			wantStatus: http.StatusOK,
			wantEnded:  true,
		},
		{
			name: "GET is not allowed",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.method = http.MethodGet
				return r
			},
			wantStatus:    http.StatusMethodNotAllowed,
			wantCode:      codeGenericError,
			wantAllowed:   http.MethodPost,
			wantViolation: true,
		},
		{
			name: "missing credentials",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.auth = ""
				return r
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			wantViolation: true,
		},
		{
			name: "wrong secret",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.auth = basic(testID, "nope")
				return r
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			wantViolation: true,
		},
		{
			name: "URL-escaped credentials are not the credentials",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.auth = basic("app%3A1", "p%2540ss%40%C3%A9")
				return r
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			wantViolation: true,
		},
		{
			name: "bearer scheme",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.auth = "Bearer " + strings.TrimPrefix(valid, "Basic ")
				return r
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			wantViolation: true,
		},
		{
			name: "JSON content type",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.contentType = "application/json"
				return r
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name: "no content type",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.contentType = ""
				return r
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name:          "empty body",
			req:           func(Session) request { return logoutRequest("") },
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeTokenMissing,
			wantViolation: true,
		},
		{
			name:          "a JSON body",
			req:           func(s Session) request { return logoutRequest(`{"token":"` + s.AccessToken + `"}`) },
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeTokenInvalid,
			wantViolation: true,
		},
		{
			name:          "a line break after the token",
			req:           func(s Session) request { return logoutRequest(s.AccessToken + "\n") },
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeTokenInvalid,
			wantViolation: true,
		},
		{
			name:       "unknown token",
			req:        func(s Session) request { return logoutRequest(s.AccessToken + "x") },
			wantStatus: http.StatusBadRequest,
			wantCode:   codeTokenInvalid,
		},
		{
			name:          "body over 64 KiB",
			req:           func(Session) request { return logoutRequest(strings.Repeat("t", 64<<10+1)) },
			wantStatus:    http.StatusRequestEntityTooLarge,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name: "unknown path",
			req: func(s Session) request {
				r := logoutRequest(s.AccessToken)
				r.path = "/api/v1/logouts"
				return r
			},
			wantStatus:    http.StatusNotFound,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			s := ca.SignIn("ada@example.com")
			other := ca.SignIn("bob@example.com")

			resp := do(testCtx(t), ca, tt.req(s))
			if resp.err != nil {
				t.Fatalf("request: %v", resp.err)
			}
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantCode == "" {
				if resp.body != "" {
					t.Errorf("body = %q, want empty", resp.body)
				}
			} else {
				if got := resp.apiErr(); got.ErrorCode != tt.wantCode || got.Message == "" {
					t.Errorf("body = %q, want errorCode %q with a message", resp.body, tt.wantCode)
				}
				if ct := resp.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
			}
			if got := resp.header.Get("Allow"); got != tt.wantAllowed {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllowed)
			}
			for name, tok := range map[string]string{"access token": s.AccessToken, "ID token": s.IDToken} {
				if got := ca.Active(tok); got != !tt.wantEnded {
					t.Errorf("Active(%s) = %v, want %v", name, got, !tt.wantEnded)
				}
			}
			if !ca.Active(other.AccessToken) {
				t.Error("another user's session was ended")
			}
			if strings.Contains(resp.body, s.AccessToken) {
				t.Error("the answer quotes the token")
			}
			if v := ca.Violations(); (len(v) == 1) != tt.wantViolation || len(v) > 1 {
				t.Errorf("violations %q, want one: %v", v, tt.wantViolation)
			}
		})
	}
}

func TestLogoutIsIdempotent(t *testing.T) {
	clk := testutil.NewClock(fixedStart)
	ca := newFake(t, withNow(clk.Now))
	s := ca.SignIn("ada@example.com")
	ctx := testCtx(t)

	clk.Advance(5 * time.Second)
	tokens := []struct {
		name  string
		token string
	}{
		{"access token", s.AccessToken},
		{"access token again", s.AccessToken},
		{"ID token of the ended session", s.IDToken},
	}
	for _, tt := range tokens {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(ctx, ca, logoutRequest(tt.token))
			if resp.err != nil || resp.status != http.StatusOK || resp.body != "" {
				t.Fatalf("got %d %q (err %v), want 200 with an empty body", resp.status, resp.body, resp.err)
			}
			got, ok := ca.session(tt.token)
			if !ok || got.Active {
				t.Fatalf("session = %+v, %v; want the ended session", got, ok)
			}
			// Logging out again does not move the end.
			if want := fixedStart.Add(5 * time.Second); !got.EndedAt.Equal(want) {
				t.Errorf("EndedAt = %v, want %v", got.EndedAt, want)
			}
		})
		clk.Advance(time.Minute)
	}
}
