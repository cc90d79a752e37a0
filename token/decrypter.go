package token

import (
	"encoding/json"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralauth-go/logout/remote"
)

// maxBytes bounds the tokens Decrypt parses; the package comment says why.
const maxBytes = 16 << 10

// The allow-list, which the package comment explains.
var (
	// keyAlgorithms maps each accepted key management algorithm to the
	// secret length it needs; 0 for dir, where the enc decides.
	keyAlgorithms = map[jose.KeyAlgorithm]int{
		jose.DIRECT: 0,
		jose.A128KW: 16, jose.A192KW: 24, jose.A256KW: 32,
		jose.A128GCMKW: 16, jose.A192GCMKW: 24, jose.A256GCMKW: 32,
	}
	// contentEncryptions maps each accepted content encryption to the
	// length of its key.
	contentEncryptions = map[jose.ContentEncryption]int{
		jose.A128GCM: 16, jose.A192GCM: 24, jose.A256GCM: 32,
		jose.A128CBC_HS256: 32, jose.A192CBC_HS384: 48, jose.A256CBC_HS512: 64,
	}
	// The same, as lists for go-jose's parser.
	keyAlgorithmList      = keys(keyAlgorithms)
	contentEncryptionList = keys(contentEncryptions)
)

func keys[K comparable](m map[K]int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// fits reports whether a secret of n bytes can be the key of alg with enc.
func fits(n int, alg jose.KeyAlgorithm, enc jose.ContentEncryption) bool {
	if alg == jose.DIRECT {
		return contentEncryptions[enc] == n
	}
	return keyAlgorithms[alg] == n
}

// unusable is why a secret for which usable is false cannot be used.
const unusable = "not 16, 24, 32, 48 or 64 bytes long, so no accepted algorithm can use it as a key"

// usable reports whether a secret of n bytes fits any accepted pair.
func usable(n int) bool {
	for alg := range keyAlgorithms {
		for enc := range contentEncryptions {
			if fits(n, alg, enc) {
				return true
			}
		}
	}
	return false
}

// Claims is what a token says.
type Claims struct {
	// SessionID is the CentralAuth session the token belongs to: one
	// session across all the apps of the organization, with autologin.
	SessionID string
	// User is the user an ID token carries. It is the zero User for an
	// access token, which carries none, and for a user object not of the
	// shape userinfo answers with: the session ID alone decides that a
	// token is ours.
	User remote.User
}

// Decrypter reads the tokens of one CentralAuth organization. It is safe
// for concurrent use.
type Decrypter struct {
	secrets [][]byte // the client secret first
}

// NewDecrypter returns a Decrypter for tokens encrypted with the
// organization's client secret, whose UTF-8 bytes are the key, as for the
// Node library. Since the accepted algorithms use the secret as an AES or
// HMAC key, its length must be 16, 24, 32, 48 or 64 bytes; any other
// secret, an empty one included, fails with an error matching
// ErrInvalidConfig.
func NewDecrypter(clientSecret string, opts ...Option) (*Decrypter, error) {
	var c config
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil Option")
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if clientSecret == "" {
		return nil, configError("the client secret is empty")
	}
	if !usable(len(clientSecret)) {
		return nil, configError("the client secret is %s", unusable)
	}
	d := &Decrypter{secrets: [][]byte{[]byte(clientSecret)}}
	if c.previous != "" && c.previous != clientSecret {
		d.secrets = append(d.secrets, []byte(c.previous))
	}
	return d, nil
}

// Decrypt reads raw, an access token or an ID token. It returns the
// token's claims and true if raw is a token of this organization: a
// compact JWE of an accepted algorithm that decrypts with the client
// secret, or the previous one, to a JSON object with a non-empty sessionId.
// Anything else is not ours, whatever the reason (junk, a token of another
// organization, an algorithm outside the allow-list, an unusable payload):
// Decrypt returns the zero Claims and false, never an error and never a
// panic. It logs nothing.
//
// A token says whose it is, not whether its session still stands: ask
// CentralAuth for that. Expiry claims, if any, are not checked, so that a
// skewed clock cannot turn a real token into junk.
func (d *Decrypter) Decrypt(raw string) (Claims, bool) {
	if raw == "" || len(raw) > maxBytes {
		return Claims{}, false
	}
	obj, err := jose.ParseEncryptedCompact(raw, keyAlgorithmList, contentEncryptionList)
	if err != nil {
		return Claims{}, false
	}
	if _, zip := obj.Header.ExtraHeaders["zip"]; zip {
		return Claims{}, false
	}
	alg := jose.KeyAlgorithm(obj.Header.Algorithm)
	enc, _ := obj.Header.ExtraHeaders["enc"].(string)
	// jose refuses an encrypted key with dir; go-jose ignores it.
	if _, rest, _ := strings.Cut(raw, "."); alg == jose.DIRECT && !strings.HasPrefix(rest, ".") {
		return Claims{}, false
	}
	for _, key := range d.secrets {
		if !fits(len(key), alg, jose.ContentEncryption(enc)) {
			continue
		}
		if payload, err := obj.Decrypt(key); err == nil {
			return parseClaims(payload)
		}
	}
	return Claims{}, false
}

// parseClaims reads the payload {sessionId, user?}.
func parseClaims(payload []byte) (Claims, bool) {
	var j struct {
		SessionID string          `json:"sessionId"`
		User      json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(payload, &j); err != nil || j.SessionID == "" {
		return Claims{}, false
	}
	c := Claims{SessionID: j.SessionID}
	if len(j.User) > 0 {
		c.User, _ = parseUser(j.User)
	}
	return c, true
}
