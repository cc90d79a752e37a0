package centralauthtest_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/token"
)

// header is the decoded protected header of a compact JWE.
func header(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("the token's header is not base64url: %v", err)
	}
	return string(b)
}

// TestTokensAreJWEs checks that, for a secret that can be an AES or HMAC
// key, the fake's tokens are real JWEs that the token package reads: the
// session's ID in both, and in the ID token the user userinfo answers.
func TestTokensAreJWEs(t *testing.T) {
	tests := []struct {
		name, secret, enc string
	}{
		{"16 bytes", strings.Repeat("s", 16), "A128GCM"},
		{"24 bytes", strings.Repeat("s", 24), "A192GCM"},
		{"32 bytes", strings.Repeat("s", 32), "A256GCM"},
		{"48 bytes", strings.Repeat("s", 48), "A192CBC-HS384"},
		{"64 bytes", strings.Repeat("s", 64), "A256CBC-HS512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := centralauthtest.Start(t, clientID, tt.secret)
			a, b := ca.SignIn("ada@example.com"), ca.SignIn("ada@example.com")
			d, err := token.NewDecrypter(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			c, err := remote.NewClient(clientID, tt.secret, remote.WithBaseURL(ca.URL()), remote.WithAppOrigin("http://127.0.0.1:8080"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.UserInfo(t.Context(), a.AccessToken, remote.EndUser{})
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}

			if got, wantHeader := header(t, a.AccessToken), `{"alg":"dir","enc":"`+tt.enc+`"}`; got != wantHeader {
				t.Errorf("header = %s, want %s", got, wantHeader)
			}
			if got, ok := d.Decrypt(a.AccessToken); !ok || got != (token.Claims{SessionID: a.ID}) {
				t.Errorf("Decrypt(access token) = %+v, %v; want session %s and no user", got, ok, a.ID)
			}
			if got, ok := d.Decrypt(a.IDToken); !ok || got != (token.Claims{SessionID: a.ID, User: want}) {
				t.Errorf("Decrypt(ID token) = %+v, %v; want session %s and userinfo's %+v", got, ok, a.ID, want)
			}
			if got, ok := d.Decrypt(b.IDToken); !ok || got.SessionID != b.ID {
				t.Errorf("Decrypt(the other session's ID token) = %+v, %v; want session %s", got, ok, b.ID)
			}
			if a.AccessToken == b.AccessToken || a.IDToken == b.IDToken || a.AccessToken == a.IDToken {
				t.Error("two tokens are the same")
			}

			other := centralauthtest.Start(t, clientID, strings.Repeat("t", len(tt.secret)))
			for _, tok := range []string{other.SignIn("ada@example.com").AccessToken, other.SignIn("ada@example.com").IDToken} {
				if got, ok := d.Decrypt(tok); ok {
					t.Errorf("Decrypt(a token under another secret) = %+v, true; want false", got)
				}
			}
		})
	}
}

// TestOpaqueTokens checks that, for a secret no JWE algorithm can use as a
// key, the tokens keep their JWE-like shape.
func TestOpaqueTokens(t *testing.T) {
	ca := centralauthtest.Start(t, clientID, "my-secret")
	sess := ca.SignIn("ada@example.com")
	for name, tok := range map[string]string{"access": sess.AccessToken, "ID": sess.IDToken} {
		if got, want := header(t, tok), `{"alg":"A256KW","enc":"A256GCM"}`; got != want {
			t.Errorf("%s token header = %s, want %s", name, got, want)
		}
		if n := strings.Count(tok, "."); n != 4 {
			t.Errorf("%s token has %d dots, want 4", name, n)
		}
	}
	if sess.AccessToken == sess.IDToken {
		t.Error("the two tokens are the same")
	}
}
