package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/session"
)

func TestTokenCookieLoad(t *testing.T) {
	const jwe = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..iv-part.cipher_text.tag"
	tests := []struct {
		name       string
		opts       []session.Option
		header     string
		wantAccess string
		wantID     string
		wantErr    error
	}{
		{"access token by default", nil, "access_token=" + jwe, jwe, "", nil},
		{"id token cookie", []session.Option{session.WithCookieName("id_token")}, "id_token=" + jwe, "", jwe, nil},
		{"legacy idToken cookie", []session.Option{session.WithCookieName("idToken")}, "idToken=" + jwe, "", jwe, nil},
		{"legacy sessionToken cookie", []session.Option{session.WithCookieName("sessionToken")}, "sessionToken=" + jwe, jwe, "", nil},
		{"among other cookies", nil, "a=1; access_token=" + jwe + "; b=2", jwe, "", nil},
		{"prefix of another name is not a match", nil, "access_token_old=" + jwe, "", "", session.ErrNoSession},
		{"absent", nil, "other=1", "", "", session.ErrNoSession},
		{"empty value", nil, "access_token=", "", "", session.ErrNoSession},
		{"not token-shaped", nil, `access_token=<script>`, "", "", session.ErrInvalidSession},
		{"too long", nil, "access_token=" + strings.Repeat("a", 5000), "", "", session.ErrInvalidSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := session.NewTokenCookie(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Cookie", tt.header)
			got, err := tc.Load(r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Load error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.AccessToken != tt.wantAccess || got.IDToken != tt.wantID {
				t.Fatalf("Load = access %q id %q", got.AccessToken, got.IDToken)
			}
			if !strings.HasPrefix(got.ID, "tok-") || strings.Contains(got.ID, jwe[:10]) {
				t.Fatalf("session ID %q should be a hash, not the token", got.ID)
			}
		})
	}
}

func TestTokenCookieClearMatchesNodeLibrary(t *testing.T) {
	tests := []struct {
		name, wantName, wantPath string
		opts                     []session.Option
	}{
		{"defaults", "access_token", "/", nil},
		{"id token at a path", "id_token", "/app", []session.Option{session.WithCookieName("id_token"), session.WithCookiePath("/app")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := session.NewTokenCookie(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, clear := range []func(http.ResponseWriter){
				tc.Clear,
				func(w http.ResponseWriter) {
					_, _ = tc.Logout(t.Context(), w, httptest.NewRequest(http.MethodPost, "/", nil))
				},
			} {
				rec := httptest.NewRecorder()
				clear(rec)
				c := onlyCookie(t, rec)
				if c.Name != tt.wantName || c.Path != tt.wantPath || !c.HttpOnly || !c.Secure ||
					c.SameSite != http.SameSiteLaxMode || c.Value != "" || c.Expires.Year() != 1970 || c.MaxAge >= 0 {
					t.Fatalf("Clear wrote %q", rec.Header().Get("Set-Cookie"))
				}
			}
		})
	}
}

func TestTokenCookieRejectsStoreOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  session.Option
	}{
		{"encryption key", session.WithEncryptionKey(blockKey)},
		{"previous keys", session.WithPreviousKeys(hashKey, nil)},
		{"max age", session.WithMaxAge(60e9)},
		{"bad name", session.WithCookieName("a b")},
		{"nil option", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := session.NewTokenCookie(tt.opt)
			if !errors.Is(err, session.ErrInvalidConfig) || tc != nil {
				t.Fatalf("NewTokenCookie = %v, %v; want nil, ErrInvalidConfig", tc, err)
			}
		})
	}
}

func TestTokenCookieLogoutReturnsEveryToken(t *testing.T) {
	tc, err := session.NewTokenCookie()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header string
		want         []string
		wantErr      error
	}{
		{"one", "access_token=a.b.c", []string{"a.b.c"}, nil},
		{"a tossed one first", "access_token=evil.b.c; access_token=a.b.c", []string{"evil.b.c", "a.b.c"}, nil},
		{"the same twice", "access_token=a.b.c; access_token=a.b.c", []string{"a.b.c"}, nil},
		{"a malformed one is skipped", "access_token=<x>; access_token=a.b.c", []string{"a.b.c"}, nil},
		{"only malformed", "access_token=<x>", nil, session.ErrInvalidSession},
		{"none", "other=1", nil, session.ErrNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/logout", nil)
			r.Header.Set("Cookie", tt.header)
			rec := httptest.NewRecorder()
			got, err := tc.Logout(t.Context(), rec, r)
			var tokens []string
			for _, s := range got {
				tokens = append(tokens, s.AccessToken)
			}
			if !slices.Equal(tokens, tt.want) || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Logout = %q, %v; want %q, %v", tokens, err, tt.want, tt.wantErr)
			}
			if len(rec.Result().Cookies()) != 1 {
				t.Fatal("Logout did not clear the cookie")
			}
		})
	}
}
