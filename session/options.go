package session

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Option configures a Store or a TokenCookie. Options that only make sense
// for a signed cookie (keys, MaxAge) are errors for NewTokenCookie.
type Option func(*config) error

type keyPair struct{ hash, block []byte }

type config struct {
	blockKey    []byte
	previous    []keyPair // newest first
	name        string
	nameSet     bool // by WithCookieName
	path        string
	domain      string
	insecure    bool
	sameSite    http.SameSite
	maxAge      time.Duration
	revocations RevocationList

	signedOnly []string // names of options given that only a Store accepts
}

const (
	defaultCookieName      = "centralauth_session"
	defaultTokenCookieName = "access_token" // the Node library's
	defaultMaxAge          = 24 * time.Hour
	// defaultMaxRevocations bounds the list NewStore makes: 100,000
	// entries is about 14 MB.
	defaultMaxRevocations = 100_000
	// minHashKeyLen is the least HMAC-SHA256 key length that NewStore accepts.
	minHashKeyLen = 32
)

func newConfig(name string) config {
	return config{
		name:     name,
		path:     "/",
		sameSite: http.SameSiteLaxMode,
		maxAge:   defaultMaxAge,
	}
}

func (c *config) apply(opts []Option) error {
	for _, opt := range opts {
		if opt == nil {
			return fmt.Errorf("%w: nil Option", ErrInvalidConfig)
		}
		if err := opt(c); err != nil {
			return err
		}
	}
	return nil
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// WithEncryptionKey encrypts the cookie with AES as well as signing it, so
// that the browser cannot read the tokens inside. The key must be 16, 24 or
// 32 bytes (AES-128, -192 or -256). Default: signed only, not encrypted;
// encryption is recommended whenever the cookie holds tokens.
func WithEncryptionKey(key []byte) Option {
	return func(c *config) error {
		c.signedOnly = append(c.signedOnly, "WithEncryptionKey")
		if err := checkBlockKey(key); err != nil {
			return err
		}
		c.blockKey = clone(key)
		return nil
	}
}

// WithPreviousKeys lets Load accept cookies made with an older key pair
// during a key rotation; Save always uses the newest keys (NewStore's). Give
// it once per older pair, newest first; encryptionKey may be nil if that
// pair did not encrypt. Default: no previous keys.
func WithPreviousKeys(hashKey, encryptionKey []byte) Option {
	return func(c *config) error {
		c.signedOnly = append(c.signedOnly, "WithPreviousKeys")
		if len(hashKey) < minHashKeyLen {
			return configError("previous hash key is %d bytes, want at least %d", len(hashKey), minHashKeyLen)
		}
		if encryptionKey != nil {
			if err := checkBlockKey(encryptionKey); err != nil {
				return err
			}
		}
		c.previous = append(c.previous, keyPair{clone(hashKey), clone(encryptionKey)})
		return nil
	}
}

// WithCookieName sets the cookie's name. A name that starts with "__Host-"
// needs the attributes that prefix stands for (Secure, Path "/", no
// Domain), and one that starts with "__Secure-" needs Secure. Default, for
// a Store: "__Host-centralauth_session" when the attributes allow it, so
// that no other subdomain, nor plain http, can set a cookie of that name;
// "centralauth_session" when WithInsecure, WithCookiePath or WithDomain
// rule the prefix out. For a TokenCookie: "access_token", the Node
// library's.
func WithCookieName(name string) Option {
	return func(c *config) error {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			return configError("cookie name %q is not an HTTP token", name)
		}
		c.name, c.nameSet = name, true
		return nil
	}
}

// hostPrefix is the cookie-name prefix with which a browser accepts a
// cookie only if it is Secure, has Path "/" and no Domain (RFC 6265bis):
// no sibling subdomain can then set one of the same name.
const hostPrefix = "__Host-"

// finishName gives a default name the "__Host-" prefix when the attributes
// allow it, and refuses a prefix that the attributes contradict: the
// browser would drop such a cookie without a word.
func (c *config) finishName(prefixDefault bool) error {
	hostOK := !c.insecure && c.path == "/" && c.domain == ""
	switch {
	case !c.nameSet && prefixDefault && hostOK:
		c.name = hostPrefix + c.name
	case strings.HasPrefix(c.name, hostPrefix) && !hostOK:
		return configError("cookie name %q needs Secure, Path \"/\" and no Domain; drop the prefix, or WithInsecure, WithCookiePath or WithDomain", c.name)
	case strings.HasPrefix(c.name, "__Secure-") && c.insecure:
		return configError("cookie name %q needs Secure; drop the prefix or WithInsecure", c.name)
	}
	return nil
}

// WithCookiePath sets the cookie's Path attribute. Clear uses the same path,
// which browsers require to remove the cookie. Default: "/".
func WithCookiePath(path string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(path, "/") || !isAttrValue(path) {
			return configError("cookie path %q must start with / and hold no ';' or control character", path)
		}
		c.path = path
		return nil
	}
}

// WithDomain sets the cookie's Domain attribute, which shares the cookie
// with subdomains. Default: none, so the cookie stays on the exact host that
// set it, which is the safer choice.
func WithDomain(domain string) Option {
	return func(c *config) error {
		d := strings.TrimPrefix(domain, ".")
		if d == "" || !isAttrValue(d) || strings.ContainsAny(d, " /:,") {
			return configError("cookie domain %q is not a host name", domain)
		}
		c.domain = d
		return nil
	}
}

// WithInsecure drops the Secure attribute so that the cookie also travels
// over plain HTTP. Use it for local development only. Default: Secure.
func WithInsecure() Option {
	return func(c *config) error {
		c.insecure = true
		return nil
	}
}

// WithSameSite sets the SameSite attribute: http.SameSiteLaxMode,
// http.SameSiteStrictMode or http.SameSiteNoneMode (which requires Secure).
// Default: Lax, which keeps the cookie on top-level navigations from other
// sites (the return from CentralAuth's login) and off cross-site POSTs.
func WithSameSite(mode http.SameSite) Option {
	return func(c *config) error {
		switch mode {
		case http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
			c.sameSite = mode
			return nil
		}
		return configError("SameSite mode %d is not Lax, Strict or None", mode)
	}
}

// WithMaxAge bounds a session's age. It sets the cookie's Max-Age, and Load
// also rejects a cookie whose signed issue time is older, whatever the
// browser kept. Default: 24h.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) error {
		c.signedOnly = append(c.signedOnly, "WithMaxAge")
		if d < time.Second {
			return configError("max age %v is under one second", d)
		}
		c.maxAge = d
		return nil
	}
}

func checkBlockKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return configError("encryption key is %d bytes, want 16, 24 or 32", len(key))
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// isTokenChar reports whether r may appear in a cookie name (RFC 6265,
// which defers to the RFC 2616 token).
func isTokenChar(r rune) bool {
	return r > 0x20 && r < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?={}`, r)
}

func isAttrValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == ';' || c >= 0x80 {
			return false
		}
	}
	return true
}
