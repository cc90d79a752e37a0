package token_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/token"
)

// FuzzDecrypt holds Decrypt to its promises on any input: no panic, the
// same answer twice, the zero Claims for a token that is not ours, and for
// one that is, a session ID, a length within the bound, no compression, and
// an algorithm pair in accepted for one of the decrypter's secrets. Its
// seeds are the committed corpus, which TestCorpus keeps meaningful.
func FuzzDecrypt(f *testing.F) {
	ds := fuzzDecrypters(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for i, d := range ds {
			c, ok := d.Decrypt(raw)
			if c2, ok2 := d.Decrypt(raw); c2 != c || ok2 != ok {
				t.Fatalf("decrypter %d: Decrypt answered %+v, %v, then %+v, %v", i, c, ok, c2, ok2)
			}
			if !ok {
				if c != (token.Claims{}) {
					t.Fatalf("decrypter %d: not ours, but Claims = %+v", i, c)
				}
				continue
			}
			if c.SessionID == "" || len(raw) > 16<<10 {
				t.Fatalf("decrypter %d: read a %d-byte token to session %q", i, len(raw), c.SessionID)
			}
			h := header(t, raw)
			if _, zip := h["zip"]; zip {
				t.Fatalf("decrypter %d: read a compressed token", i)
			}
			alg, _ := h["alg"].(string)
			enc, _ := h["enc"].(string)
			fit := false
			for _, n := range fuzzSecretLens[i] {
				fit = fit || isAccepted(n, alg, enc)
			}
			if !fit {
				t.Fatalf("decrypter %d (secrets of %v bytes): read a %s+%s token", i, fuzzSecretLens[i], alg, enc)
			}
		}
	})
}

// header decodes the protected header of a compact JWE, independently of
// the code under test.
func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	first, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		t.Fatalf("read a token whose header is not base64url: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("read a token whose header is not a JSON object: %v", err)
	}
	return h
}
