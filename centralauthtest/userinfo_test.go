package centralauthtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestUserInfoEndpoint(t *testing.T) {
	const origin = "https://app.example.test"
	tests := []struct {
		name       string
		req        func(s Session) request
		logout     bool // end the session first
		wantStatus int
		wantCode   string // errorCode; "" for a user object
		// wantViolation says that the request breaks CentralAuth's
		// contract.
		wantViolation bool
	}{
		{
			name:       "access token of an active session",
			req:        func(s Session) request { return userInfoRequest(origin, s.AccessToken) },
			wantStatus: http.StatusOK,
		},
		{
			name:       "ID token of an active session",
			req:        func(s Session) request { return userInfoRequest(origin, s.IDToken) },
			wantStatus: http.StatusOK,
		},
		{
			name:       "session logged out",
			req:        func(s Session) request { return userInfoRequest(origin, s.AccessToken) },
			logout:     true,
			wantStatus: http.StatusUnauthorized,
			wantCode:   codeSessionInactive,
		},
		{
			name:       "ID token of a logged-out session",
			req:        func(s Session) request { return userInfoRequest(origin, s.IDToken) },
			logout:     true,
			wantStatus: http.StatusUnauthorized,
			wantCode:   codeSessionInactive,
		},
		{
			name:       "unknown token",
			req:        func(s Session) request { return userInfoRequest(origin, s.AccessToken+"x") },
			wantStatus: http.StatusUnauthorized,
			wantCode:   codeTokenInvalid,
		},
		{
			name:          "no token",
			req:           func(Session) request { return userInfoRequest(origin, "") },
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeTokenMissing,
			wantViolation: true,
		},
		{
			name: "wrong credentials",
			req: func(s Session) request {
				r := userInfoRequest(origin, s.AccessToken)
				r.auth = basic(testID, "wrong")
				return r
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			wantViolation: true,
		},
		{
			name: "a Bearer token instead of the app's credentials",
			req: func(s Session) request {
				r := userInfoRequest(origin, s.AccessToken)
				r.auth = "Bearer " + s.AccessToken
				return r
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			wantViolation: true,
		},
		{
			name: "not text/plain",
			req: func(s Session) request {
				r := userInfoRequest(origin, s.AccessToken)
				r.contentType = "application/json"
				return r
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name:          "no domain",
			req:           func(s Session) request { return userInfoRequest("", s.AccessToken) },
			wantStatus:    http.StatusForbidden,
			wantCode:      codeDomainInvalid,
			wantViolation: true,
		},
		{
			name:          "a domain that is not an origin",
			req:           func(s Session) request { return userInfoRequest("app.example.test", s.AccessToken) },
			wantStatus:    http.StatusForbidden,
			wantCode:      codeDomainInvalid,
			wantViolation: true,
		},
		{
			name: "GET",
			req: func(s Session) request {
				r := userInfoRequest(origin, s.AccessToken)
				r.method = http.MethodGet
				return r
			},
			wantStatus:    http.StatusMethodNotAllowed,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			s := ca.SignIn("ada@example.com")
			if tt.logout {
				do(testCtx(t), ca, logoutRequest(s.AccessToken))
			}
			resp := do(testCtx(t), ca, tt.req(s))
			if resp.err != nil {
				t.Fatalf("request: %v", resp.err)
			}
			if v := ca.Violations(); (len(v) == 1) != tt.wantViolation || len(v) > 1 {
				t.Errorf("violations %q, want one: %v", v, tt.wantViolation)
			}
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantCode == "" {
				var got userInfo
				if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
					t.Fatalf("body %q: %v", resp.body, err)
				}
				if want := userOf(s); got.ID != want.ID || got.Email != "ada@example.com" || got.Created == "" || *got.OrganizationID != "org_demo" {
					t.Errorf("userinfo = %+v, want %+v", got, want)
				}
				return
			}
			if got := resp.apiErr(); got.ErrorCode != tt.wantCode || got.Message == "" {
				t.Errorf("body = %q, want errorCode %q with a message", resp.body, tt.wantCode)
			}
			if strings.Contains(resp.body, s.AccessToken) || strings.Contains(resp.body, s.IDToken) {
				t.Error("the answer quotes a token")
			}
		})
	}
}

func TestUserInfoRecordsTheEndUserAndFaults(t *testing.T) {
	ca := newFake(t, WithAppDomains("https://app.example.test"))
	s := ca.SignIn("ada@example.com")
	r := userInfoRequest("https://app.example.test", s.AccessToken)
	r.headers = map[string]string{"User-Agent": "Mozilla/5.0 test", "auth-ip": "203.0.113.7"}
	if resp := do(testCtx(t), ca, r); resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	calls := ca.Calls()
	if c := calls[len(calls)-1]; c.UserAgent != "Mozilla/5.0 test" || c.AuthIP != "203.0.113.7" || c.Domain != "https://app.example.test" {
		t.Fatalf("recorded user-agent %q, auth-ip %q, domain %q", c.UserAgent, c.AuthIP, c.Domain)
	}
	if resp := do(testCtx(t), ca, userInfoRequest("https://other.example.test", s.AccessToken)); resp.status != http.StatusForbidden {
		t.Fatalf("a domain off the whitelist: status %d", resp.status)
	}
	ca.InjectFault(Fault{Status: http.StatusServiceUnavailable})
	if resp := do(testCtx(t), ca, r); resp.status != http.StatusServiceUnavailable {
		t.Fatalf("with a fault: status %d", resp.status)
	}
}
