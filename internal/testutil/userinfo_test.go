package testutil

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestUserInfoEndpoint(t *testing.T) {
	tests := []struct {
		name       string
		req        func(s Session) request
		logout     bool // end the session first
		wantStatus int
		wantCode   string // errorCode; "" for a UserInfo answer
	}{
		{
			name:       "access token of an active session",
			req:        func(s Session) request { return userInfoRequest("Bearer " + s.AccessToken) },
			wantStatus: http.StatusOK,
		},
		{
			name:       "ID token of an active session",
			req:        func(s Session) request { return userInfoRequest("Bearer " + s.IDToken) },
			wantStatus: http.StatusOK,
		},
		{
			name:       "scheme name is case-insensitive",
			req:        func(s Session) request { return userInfoRequest("bearer " + s.AccessToken) },
			wantStatus: http.StatusOK,
		},
		{
			name:       "session logged out",
			req:        func(s Session) request { return userInfoRequest("Bearer " + s.AccessToken) },
			logout:     true,
			wantStatus: http.StatusUnauthorized,
			wantCode:   CodeSessionInactive,
		},
		{
			name:       "ID token of a logged-out session",
			req:        func(s Session) request { return userInfoRequest("Bearer " + s.IDToken) },
			logout:     true,
			wantStatus: http.StatusUnauthorized,
			wantCode:   CodeSessionInactive,
		},
		{
			name:       "unknown token",
			req:        func(s Session) request { return userInfoRequest("Bearer " + s.AccessToken + "x") },
			wantStatus: http.StatusUnauthorized,
			wantCode:   CodeTokenInvalid,
		},
		{
			name:       "no Authorization",
			req:        func(Session) request { return userInfoRequest("") },
			wantStatus: http.StatusUnauthorized,
			wantCode:   CodeTokenMissing,
		},
		{
			name:       "Basic credentials are not a token",
			req:        func(Session) request { return userInfoRequest(basic(testID, testSecret)) },
			wantStatus: http.StatusUnauthorized,
			wantCode:   CodeTokenMissing,
		},
		{
			name:       "empty bearer",
			req:        func(Session) request { return userInfoRequest("Bearer ") },
			wantStatus: http.StatusUnauthorized,
			wantCode:   CodeTokenMissing,
		},
		{
			name: "POST",
			req: func(s Session) request {
				r := userInfoRequest("Bearer " + s.AccessToken)
				r.method = http.MethodPost
				return r
			},
			wantStatus: http.StatusMethodNotAllowed,
			wantCode:   CodeGenericError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			s := ca.IssueSession("ada")
			if tt.logout {
				do(testCtx(t), ca, logoutRequest(s.AccessToken))
			}
			resp := do(testCtx(t), ca, tt.req(s))
			if resp.err != nil {
				t.Fatalf("request: %v", resp.err)
			}
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantCode == "" {
				var got UserInfo
				if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
					t.Fatalf("body %q: %v", resp.body, err)
				}
				if want := (UserInfo{User: "ada", SessionID: s.ID}); got != want {
					t.Errorf("userinfo = %+v, want %+v", got, want)
				}
				return
			}
			if got := resp.apiErr(); got.ErrorCode != tt.wantCode || got.Message == "" {
				t.Errorf("body = %q, want errorCode %q with a message", resp.body, tt.wantCode)
			}
			if tt.wantStatus == http.StatusUnauthorized && resp.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", resp.header.Get("WWW-Authenticate"))
			}
			if strings.Contains(resp.body, s.AccessToken) || strings.Contains(resp.body, s.IDToken) {
				t.Error("the answer quotes a token")
			}
		})
	}
}

// userInfoRequest is a GET of the userinfo endpoint with the given
// Authorization header.
func userInfoRequest(auth string) request {
	return request{method: http.MethodGet, path: UserInfoPath, auth: auth}
}
