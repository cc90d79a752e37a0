package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralauth-go/logout/token"
)

// Test secrets of every length a secret can usefully have: 16, 24 and 32
// bytes are AES-128, -192 and -256 keys; 32, 48 and 64 are also the keys of
// A128CBC-HS256, A192CBC-HS384 and A256CBC-HS512.
var secrets = map[int]string{
	16: "sixteen-byte-key",
	24: "twenty-four-byte-secret!",
	32: "a-thirty-two-byte-client-secret!",
	48: "a-forty-eight-byte-client-secret-for-cbc-hs384!!",
	64: "a-sixty-four-byte-client-secret-for-a256cbc-hs512-in-these-tests",
}

// otherSecret is a secret of the organization next door: right length, wrong key.
const otherSecret = "another-organization-s-secret-32"

// accepted is, for each secret length, the key management and content
// encryption pairs ("alg+enc", "*" for any enc) that a token under a secret
// of that length may use. It is written out by hand from RFC 7518's key
// sizes, which jose checks too: dir uses the secret as the content key, so
// the enc must take a key of its length; AES key wrap needs the AES key
// size its name says.
var accepted = map[int][]string{
	16: {"dir+A128GCM", "A128KW+*", "A128GCMKW+*"},
	24: {"dir+A192GCM", "A192KW+*", "A192GCMKW+*"},
	32: {"dir+A256GCM", "dir+A128CBC-HS256", "A256KW+*", "A256GCMKW+*"},
	48: {"dir+A192CBC-HS384"},
	64: {"dir+A256CBC-HS512"},
}

func isAccepted(secretLen int, alg, enc string) bool {
	for _, a := range accepted[secretLen] {
		if a == alg+"+"+enc || a == alg+"+*" {
			return true
		}
	}
	return false
}

// Every symmetric key management algorithm go-jose can encrypt with, the
// refused PBES2 ones included, and every content encryption.
var (
	symmetricAlgs = []jose.KeyAlgorithm{
		jose.DIRECT, jose.A128KW, jose.A192KW, jose.A256KW,
		jose.A128GCMKW, jose.A192GCMKW, jose.A256GCMKW,
		jose.PBES2_HS256_A128KW, jose.PBES2_HS384_A192KW, jose.PBES2_HS512_A256KW,
	}
	encs = []jose.ContentEncryption{
		jose.A128GCM, jose.A192GCM, jose.A256GCM,
		jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512,
	}
)

const (
	accessPayload = `{"sessionId":"ses_1"}`
	userJSON      = `{"id":"usr_1","email":"ada@example.com","gravatar":"https://www.gravatar.com/avatar/x",` +
		`"verified":true,"blocked":false,"organizationId":"org_1","created":"2026-01-02T03:04:05Z",` +
		`"updated":"2026-01-02T03:04:05.123Z","lastLogin":null}`
	idPayload = `{"sessionId":"ses_1","user":` + userJSON + `}`
)

// seal encrypts payload for key the way an issuer would, or returns "" if
// go-jose refuses the combination (dir with a key of the wrong size, AES key
// wrap with a key that is no AES key).
func seal(t testing.TB, key any, alg jose.KeyAlgorithm, enc jose.ContentEncryption, payload string, opts *jose.EncrypterOptions) string {
	t.Helper()
	if s, ok := key.(string); ok {
		key = []byte(s)
	}
	r := jose.Recipient{Algorithm: alg, Key: key}
	if strings.HasPrefix(string(alg), "PBES2") {
		r.PBES2Count = 1000
	}
	e, err := jose.NewEncrypter(enc, r, opts)
	if err != nil {
		return ""
	}
	obj, err := e.Encrypt([]byte(payload))
	if err != nil {
		return ""
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustSeal is seal for a combination that go-jose must accept.
func mustSeal(t testing.TB, key any, alg jose.KeyAlgorithm, enc jose.ContentEncryption, payload string, opts *jose.EncrypterOptions) string {
	t.Helper()
	s := seal(t, key, alg, enc, payload, opts)
	if s == "" {
		t.Fatalf("go-jose cannot encrypt %s+%s with this key", alg, enc)
	}
	return s
}

// fuzzSecretLens are the secret lengths of fuzzDecrypters: between them
// they cover every usable length, with a previous secret where there is
// one to spare.
var fuzzSecretLens = [][]int{{32, 16}, {24, 48}, {64}}

func fuzzDecrypters(t testing.TB) []*token.Decrypter {
	t.Helper()
	var ds []*token.Decrypter
	for _, lens := range fuzzSecretLens {
		var opts []token.Option
		for _, n := range lens[1:] {
			opts = append(opts, token.WithPreviousSecret(secrets[n]))
		}
		d, err := token.NewDecrypter(secrets[lens[0]], opts...)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// seed is a token that one of fuzzDecrypters reads (ok) or none does.
type seed struct {
	name  string
	ok    bool
	token string
}

// seeds are the named cases that the unit tests check and the committed
// fuzz corpus holds: a valid token for each accepted algorithm, then ways
// of being junk.
func seeds(t testing.TB) []seed {
	t.Helper()
	valid := mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, accessPayload, nil)
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	jws := func(payload string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(secrets[32])}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		c, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024) // only ever refused
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseEncryptedCompact(valid, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	s := []seed{
		{"id-token", true, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, idPayload, nil)},

		{"empty", false, ""},
		{"not-a-jwe", false, "hello"},
		{"truncated", false, valid[:len(valid)-1]},
		{"four-parts", false, strings.Join(parts[:4], ".")},
		{"six-parts", false, valid + "."},
		{"wrong-secret", false, mustSeal(t, otherSecret, jose.DIRECT, jose.A256GCM, accessPayload, nil)},
		{"swapped-tag", false, strings.Join([]string{parts[0], parts[1], parts[2], parts[3], b64(make([]byte, 16))}, ".")},
		{"short-iv", false, strings.Join([]string{parts[0], parts[1], b64(make([]byte, 8)), parts[3], parts[4]}, ".")},
		{"dir-with-encrypted-key", false, strings.Join([]string{parts[0], b64(make([]byte, 40)), parts[2], parts[3], parts[4]}, ".")},
		{"json-serialization", false, parsed.FullSerialize()},
		{"huge-header", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, accessPayload,
			(&jose.EncrypterOptions{}).WithHeader("pad", strings.Repeat("x", 16<<10)))},
		{"zip-deflate", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, accessPayload,
			&jose.EncrypterOptions{Compression: jose.DEFLATE})},
		{"crit-header", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, accessPayload,
			(&jose.EncrypterOptions{}).WithHeader("crit", []string{"exp"}).WithHeader("exp", 1))},
		{"pbes2", false, mustSeal(t, secrets[32], jose.PBES2_HS256_A128KW, jose.A128GCM, accessPayload, nil)},
		{"a128kw-under-32-byte-secret", false, mustSeal(t, secrets[32], jose.A128KW, jose.A128GCM, accessPayload, nil)},
		{"a256gcmkw-under-16-byte-secret", false, mustSeal(t, secrets[16], jose.A256GCMKW, jose.A256GCM, accessPayload, nil)},
		{"rsa-oaep", false, mustSeal(t, &rsaKey.PublicKey, jose.RSA_OAEP_256, jose.A256GCM, accessPayload, nil)},
		{"ecdh-es", false, mustSeal(t, &ecKey.PublicKey, jose.ECDH_ES, jose.A256GCM, accessPayload, nil)},
		{"alg-none", false, b64([]byte(`{"alg":"none","enc":"A256GCM"}`)) + ".." + parts[2] + "." + parts[3] + "." + parts[4]},
		{"jws", false, jws(accessPayload)},
		{"nested-jws", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, jws(accessPayload),
			(&jose.EncrypterOptions{}).WithContentType("JWT"))},
		{"non-json-payload", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, "ses_1", nil)},
		{"array-payload", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, `["ses_1"]`, nil)},
		{"null-payload", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, `null`, nil)},
		{"no-session-id", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, `{"user":`+userJSON+`}`, nil)},
		{"empty-session-id", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, `{"sessionId":""}`, nil)},
		{"numeric-session-id", false, mustSeal(t, secrets[32], jose.DIRECT, jose.A256GCM, `{"sessionId":1}`, nil)},
	}
	for _, c := range []struct {
		secretLen int
		alg       jose.KeyAlgorithm
		enc       jose.ContentEncryption
	}{
		{16, jose.DIRECT, jose.A128GCM},
		{24, jose.DIRECT, jose.A192GCM},
		{32, jose.DIRECT, jose.A256GCM},
		{32, jose.DIRECT, jose.A128CBC_HS256},
		{48, jose.DIRECT, jose.A192CBC_HS384},
		{64, jose.DIRECT, jose.A256CBC_HS512},
		{16, jose.A128KW, jose.A128CBC_HS256},
		{24, jose.A192KW, jose.A192GCM},
		{32, jose.A256KW, jose.A256CBC_HS512},
		{16, jose.A128GCMKW, jose.A256GCM},
		{24, jose.A192GCMKW, jose.A192CBC_HS384},
		{32, jose.A256GCMKW, jose.A128GCM},
	} {
		name := strings.ToLower(string(c.alg) + "-" + string(c.enc))
		s = append(s, seed{name, true, mustSeal(t, secrets[c.secretLen], c.alg, c.enc, accessPayload, nil)})
	}
	return s
}
