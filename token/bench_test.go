package token_test

import (
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralauth-go/logout/token"
)

// BenchmarkDecrypt is the cost of reading one token, to plan the session
// check's: it decrypts once per session, not per request. The fake issues
// dir+A256GCM. "wrong secret" is a well-formed token of another
// organization, which both secrets are tried on; "junk" a random cookie,
// refused by the parser. Both are what a flood of forged cookies costs.
func BenchmarkDecrypt(b *testing.B) {
	d, err := token.NewDecrypter(secrets[32], token.WithPreviousSecret(strings.ToUpper(secrets[32])))
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name, token string
		ok          bool
	}{
		{"access token", mustSeal(b, secrets[32], jose.DIRECT, jose.A256GCM, accessPayload, nil), true},
		{"ID token", mustSeal(b, secrets[32], jose.DIRECT, jose.A256GCM, idPayload, nil), true},
		{"A256KW", mustSeal(b, secrets[32], jose.A256KW, jose.A256GCM, accessPayload, nil), true},
		{"wrong secret", mustSeal(b, otherSecret, jose.DIRECT, jose.A256GCM, idPayload, nil), false},
		{"junk", strings.Repeat("Zm9v", 60), false},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := d.Decrypt(bb.token); ok != bb.ok {
					b.Fatalf("ok = %v", ok)
				}
			}
		})
	}
}
