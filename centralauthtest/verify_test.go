package centralauthtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

func TestVerifyEndpoint(t *testing.T) {
	valid := basic(testID, testSecret)
	tests := []struct {
		name       string
		exchange   func(t *testing.T, ca *Server, clk *testutil.Clock, code string) response
		wantStatus int
		wantCode   string // errorCode; "" for a token answer
		codeLeft   bool   // whether the code still works afterwards
		// wantViolation says that the exchange breaks CentralAuth's
		// contract.
		wantViolation bool
	}{
		{
			name: "valid code",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType, code)
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "wrong verifier",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType, code, "code_verifier", strings.Repeat("x", 43))
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name: "a 36-character verifier, as the Node library sends",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType, code, "code_verifier", "123e4567-e89b-12d3-a456-426614174000")
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name: "a verifier over 128 characters",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType, code, "code_verifier", strings.Repeat("a", 129))
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name: "another redirect_uri",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType, code, "redirect_uri", testRedirect+"?x=1")
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			wantViolation: true,
		},
		{
			name: "content type with charset",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType+"; charset=utf-8", code)
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "a code works once",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				verify(t, ca, valid, formType, code)
				return verify(t, ca, valid, formType, code)
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeTokenInvalid,
			wantViolation: true,
		},
		{
			name: "unknown code",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, formType, code+"x")
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeTokenInvalid,
			codeLeft:      true,
			wantViolation: true,
		},
		{
			name: "code just before it expires",
			exchange: func(t *testing.T, ca *Server, clk *testutil.Clock, code string) response {
				clk.Advance(codeLifetime - 1)
				return verify(t, ca, valid, formType, code)
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "expired code",
			exchange: func(t *testing.T, ca *Server, clk *testutil.Clock, code string) response {
				clk.Advance(codeLifetime)
				return verify(t, ca, valid, formType, code)
			},
			wantStatus: http.StatusBadRequest,
			wantCode:   codeSessionExpired,
		},
		{
			name: "session ended before the exchange",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				do(testCtx(t), ca, logoutRequest(newest(t, ca).AccessToken))
				return verify(t, ca, valid, formType, code)
			},
			wantStatus: http.StatusBadRequest,
			wantCode:   codeSessionInactive,
		},
		{
			name: "wrong secret does not use the code up",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, basic(testID, "nope"), formType, code)
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			codeLeft:      true,
			wantViolation: true,
		},
		{
			name: "no credentials",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, "", formType, code)
			},
			wantStatus:    http.StatusUnauthorized,
			wantCode:      codeNoPermission,
			codeLeft:      true,
			wantViolation: true,
		},
		{
			name: "JSON content type",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return verify(t, ca, valid, "application/json", `"`+code+`"`)
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeGenericError,
			codeLeft:      true,
			wantViolation: true,
		},
		{
			name: "empty body",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, _ string) response {
				return verify(t, ca, valid, formType, "")
			},
			wantStatus:    http.StatusBadRequest,
			wantCode:      codeMissingFields,
			codeLeft:      true,
			wantViolation: true,
		},
		{
			name: "GET",
			exchange: func(t *testing.T, ca *Server, _ *testutil.Clock, code string) response {
				return do(testCtx(t), ca, request{method: http.MethodGet, path: verifyPath, auth: valid})
			},
			wantStatus:    http.StatusMethodNotAllowed,
			wantCode:      codeGenericError,
			codeLeft:      true,
			wantViolation: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := testutil.NewClock(fixedStart)
			ca := newFake(t, withNow(clk.Now))
			code, _ := signIn(t, ca, "ada@example.com")
			s := newest(t, ca)

			resp := tt.exchange(t, ca, clk, code)
			if resp.err != nil {
				t.Fatalf("request: %v", resp.err)
			}
			if v := ca.Violations(); (len(v) == 1) != tt.wantViolation || len(v) > 1 {
				t.Errorf("violations %q, want one: %v", v, tt.wantViolation)
			}
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantCode != "" {
				if got := resp.apiErr(); got.ErrorCode != tt.wantCode || got.Message == "" {
					t.Errorf("body = %q, want errorCode %q with a message", resp.body, tt.wantCode)
				}
				if strings.Contains(resp.body, code) {
					t.Error("the error quotes the code")
				}
			} else {
				var tok tokens
				if err := json.Unmarshal([]byte(resp.body), &tok); err != nil {
					t.Fatalf("body %q: %v", resp.body, err)
				}
				want := tokens{AccessToken: s.AccessToken, IDToken: s.IDToken, ExpiresIn: 86400, ExpiresAt: tok.ExpiresAt}
				if at, err := time.Parse(time.RFC3339, tok.ExpiresAt); err != nil || tok != want || at.IsZero() {
					t.Errorf("tokens = %+v, want %+v", tok, want)
				}
				if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store for tokens", cc)
				}
			}
			if tt.wantStatus == http.StatusMethodNotAllowed && resp.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.header.Get("Allow"))
			}
			again := verify(t, ca, valid, formType, code)
			if left := again.status == http.StatusOK; left != tt.codeLeft {
				t.Errorf("afterwards the code exchanges with %d; want it usable: %v", again.status, tt.codeLeft)
			}
		})
	}
}

func TestExpiredCodesAreDropped(t *testing.T) {
	clk := testutil.NewClock(fixedStart)
	ca := newFake(t, withNow(clk.Now))
	signIn(t, ca, "ada@example.com")
	clk.Advance(codeLifetime)
	signIn(t, ca, "bob@example.com") // makes a code, and sweeps
	ca.mu.Lock()
	n := len(ca.codes)
	ca.mu.Unlock()
	if n != 1 {
		t.Errorf("%d codes held, want only the fresh one", n)
	}
}

// tokens is verify's answer, as the tests read it.
type tokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	ExpiresIn   int    `json:"expires_in"`
	ExpiresAt   string `json:"expires_at"`
}
