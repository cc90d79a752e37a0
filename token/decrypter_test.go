package token_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/token"
)

func TestNewDecrypter(t *testing.T) {
	for _, tt := range []struct {
		name    string
		secret  string
		opts    []token.Option
		wantErr bool
	}{
		{name: "16 bytes", secret: secrets[16]},
		{name: "24 bytes", secret: secrets[24]},
		{name: "32 bytes", secret: secrets[32]},
		{name: "48 bytes", secret: secrets[48]},
		{name: "64 bytes", secret: secrets[64]},
		{name: "previous secret of another length", secret: secrets[32], opts: []token.Option{token.WithPreviousSecret(secrets[64])}},
		{name: "previous secret equal to the secret", secret: secrets[32], opts: []token.Option{token.WithPreviousSecret(secrets[32])}},
		{name: "empty secret", secret: "", wantErr: true},
		{name: "15 bytes", secret: secrets[16][:15], wantErr: true},
		{name: "31 bytes", secret: secrets[32][:31], wantErr: true},
		{name: "33 bytes", secret: secrets[32] + "!", wantErr: true},
		{name: "65 bytes", secret: secrets[64] + "!", wantErr: true},
		{name: "empty previous secret", secret: secrets[32], opts: []token.Option{token.WithPreviousSecret("")}, wantErr: true},
		{name: "previous secret of no usable length", secret: secrets[32], opts: []token.Option{token.WithPreviousSecret("my-client-secret!")}, wantErr: true},
		{name: "nil option", secret: secrets[32], opts: []token.Option{nil}, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := token.NewDecrypter(tt.secret, tt.opts...)
			if !tt.wantErr {
				if err != nil || d == nil {
					t.Fatalf("NewDecrypter = %v, %v; want a Decrypter", d, err)
				}
				return
			}
			if !errors.Is(err, token.ErrInvalidConfig) || d != nil {
				t.Fatalf("NewDecrypter = %v, %v; want nil and an error matching ErrInvalidConfig", d, err)
			}
			for _, s := range []string{tt.secret, "my-client-secret!"} {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains the secret", err)
				}
			}
		})
	}
}

// TestAlgorithms encrypts a token with every symmetric algorithm pair
// go-jose has, under a secret of every usable length, and checks that
// Decrypt reads exactly the pairs in accepted.
func TestAlgorithms(t *testing.T) {
	for secretLen, secret := range secrets {
		d, err := token.NewDecrypter(secret)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range symmetricAlgs {
			for _, enc := range encs {
				t.Run(fmt.Sprintf("%d bytes/%s+%s", secretLen, alg, enc), func(t *testing.T) {
					tok := seal(t, secret, alg, enc, accessPayload, nil)
					if tok == "" {
						if isAccepted(secretLen, string(alg), string(enc)) {
							t.Fatal("go-jose cannot make a token that should be accepted")
						}
						t.Skip("go-jose cannot encrypt this pair with this key either")
					}
					c, ok := d.Decrypt(tok)
					if want := isAccepted(secretLen, string(alg), string(enc)); ok != want {
						t.Fatalf("Decrypt ok = %v, want %v", ok, want)
					}
					if ok && c.SessionID != "ses_1" {
						t.Fatalf("SessionID = %q, want ses_1", c.SessionID)
					}
				})
			}
		}
	}
}

func TestSeeds(t *testing.T) {
	ds := fuzzDecrypters(t)
	for _, s := range seeds(t) {
		t.Run(s.name, func(t *testing.T) {
			var read []int
			for i, d := range ds {
				c, ok := d.Decrypt(s.token)
				if !ok {
					if c != (token.Claims{}) {
						t.Errorf("decrypter %d: not ok, but Claims = %+v", i, c)
					}
					continue
				}
				read = append(read, i)
				if c.SessionID != "ses_1" {
					t.Errorf("decrypter %d: SessionID = %q, want ses_1", i, c.SessionID)
				}
			}
			if got := len(read) > 0; got != s.ok {
				t.Fatalf("read by decrypters %v, want ok = %v", read, s.ok)
			}
		})
	}
}

func TestPreviousSecret(t *testing.T) {
	current, previous := secrets[32], otherSecret
	rotating, err := token.NewDecrypter(current, token.WithPreviousSecret(previous))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := token.NewDecrypter(current)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name            string
		secret          string
		rotating, plain bool
	}{
		{"under the secret", current, true, true},
		{"under the previous secret", previous, true, false},
		{"under a third secret", strings.ToUpper(otherSecret), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustSeal(t, tt.secret, jose.A256KW, jose.A256GCM, accessPayload, nil)
			if _, ok := rotating.Decrypt(tok); ok != tt.rotating {
				t.Errorf("with WithPreviousSecret: ok = %v, want %v", ok, tt.rotating)
			}
			if _, ok := plain.Decrypt(tok); ok != tt.plain {
				t.Errorf("without it: ok = %v, want %v", ok, tt.plain)
			}
		})
	}
}

// TestSizeBound checks that the bound is on the token's length: a token
// just under it is read, one just over it is not.
func TestSizeBound(t *testing.T) {
	d, err := token.NewDecrypter(secrets[32])
	if err != nil {
		t.Fatal(err)
	}
	const bound = 16 << 10
	padded := func(pad int) string {
		return mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, accessPayload,
			(&jose.EncrypterOptions{}).WithHeader("pad", strings.Repeat("x", pad)))
	}
	// Base64 grows in steps: find the longest token within the bound.
	pad := bound * 3 / 4
	for len(padded(pad)) > bound {
		pad--
	}
	under, over := padded(pad), padded(pad+3)
	if len(over) <= bound || bound-len(under) > 4 {
		t.Fatalf("padding went wrong: %d and %d bytes", len(under), len(over))
	}
	if _, ok := d.Decrypt(under); !ok {
		t.Errorf("a %d-byte token was refused", len(under))
	}
	if _, ok := d.Decrypt(over); ok {
		t.Errorf("a %d-byte token was read", len(over))
	}
}

// TestUser checks that the user in an ID token reads as the same
// remote.User that userinfo answers with the same JSON, and that a user
// of another shape leaves User zero without costing the session ID.
func TestUser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, userJSON)
	}))
	defer srv.Close()
	cl, err := remote.NewClient("id", "secret", remote.WithBaseURL(srv.URL), remote.WithAppOrigin("https://app.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := cl.UserInfo(context.Background(), "tok", remote.EndUser{})
	if err != nil {
		t.Fatal(err)
	}
	if want.ID == "" || want.Created.IsZero() {
		t.Fatalf("userinfo answered %+v", want)
	}

	d, err := token.NewDecrypter(secrets[32])
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		payload string
		want    remote.User
	}{
		{"ID token", idPayload, want},
		{"access token", accessPayload, remote.User{}},
		{"null user", `{"sessionId":"ses_1","user":null}`, remote.User{}},
		{"user without an id", `{"sessionId":"ses_1","user":{"email":"ada@example.com","created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05Z"}}`, remote.User{}},
		{"user with a date that is not RFC 3339", `{"sessionId":"ses_1","user":{"id":"usr_1","created":"yesterday","updated":"2026-01-02T03:04:05Z"}}`, remote.User{}},
		{"user that is not an object", `{"sessionId":"ses_1","user":5}`, remote.User{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := d.Decrypt(mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, tt.payload, nil))
			if !ok || c.SessionID != "ses_1" {
				t.Fatalf("Decrypt = %+v, %v; want session ses_1", c, ok)
			}
			if c.User != tt.want {
				t.Fatalf("User = %+v\nwant %+v", c.User, tt.want)
			}
		})
	}
}

// TestConcurrent shares one Decrypter between goroutines, for -race to
// check that Decrypt writes nothing shared.
func TestConcurrent(t *testing.T) {
	d := fuzzDecrypters(t)[0]
	toks := []string{
		mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, idPayload, nil),
		mustSeal(t, secrets[16], jose.A128GCMKW, jose.A128CBC_HS256, accessPayload, nil),
		mustSeal(t, otherSecret, jose.DIRECT, jose.A256GCM, accessPayload, nil),
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 50 {
				tok := toks[i%len(toks)]
				if _, ok := d.Decrypt(tok); ok != (i%len(toks) != 2) {
					t.Errorf("token %d: ok = %v", i%len(toks), ok)
				}
			}
		})
	}
	wg.Wait()
}
