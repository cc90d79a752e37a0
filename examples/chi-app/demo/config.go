package demo

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The environment variables the example reads. Each has the meaning its
// name says; docs/example-app.md lists them.
const (
	envBaseURL       = "CENTRALAUTH_BASE_URL"
	envClientID      = "CENTRALAUTH_CLIENT_ID"
	envClientSecret  = "CENTRALAUTH_CLIENT_SECRET"
	envHashKey       = "SESSION_HASH_KEY"
	envEncryptionKey = "SESSION_ENCRYPTION_KEY"
	envAddr          = "ADDR"
	envAddrB         = "ADDR_B"
	envFakeAddr      = "CENTRALAUTH_FAKE_ADDR"
	envRedisURL      = "REDIS_URL"
	envInterval      = "CENTRALAUTH_CHECK_INTERVAL"
)

// Defaults of the settings that have one.
const (
	defaultAddrA    = "127.0.0.1:8080"
	defaultAddrB    = "127.0.0.1:8081"
	defaultFakeAddr = "127.0.0.1:0"
	demoClientID    = "chi-app-demo"
	minHashKeyBytes = 32
)

// config is the example's configuration, read from the environment.
type config struct {
	// BaseURL is the CentralAuth to use; "" runs the embedded fake
	// CentralAuth, with demo login.
	BaseURL string
	// ClientID and ClientSecret are the app's CentralAuth credentials.
	// In demo mode they default to a fixed ID and a random secret.
	ClientID, ClientSecret string
	// HashKey signs the session cookies (at least 32 bytes); EncryptionKey
	// encrypts them (16, 24 or 32 bytes). Both apps use them: securecookie
	// binds the cookie name into the signature, so a cookie of one app
	// never loads as the other's.
	HashKey, EncryptionKey []byte
	// AddrA and AddrB are the TCP addresses of App A and App B.
	AddrA, AddrB string
	// FakeAddr is the embedded CentralAuth's TCP address, in demo mode.
	FakeAddr string
	// GeneratedKeys says that demo mode made random session keys, so
	// sessions do not survive a restart.
	GeneratedKeys bool
	// RedisURL, when set, keeps revocations and the outbox in Redis
	// instead of memory, as an app with many instances would.
	RedisURL string
	// CheckInterval is how often each app asks CentralAuth whether a
	// session still stands (sessioncheck.WithInterval).
	CheckInterval time.Duration
}

// Demo reports whether the example runs on the embedded CentralAuth.
func (c config) Demo() bool { return c.BaseURL == "" }

// envError is a problem with one environment variable. Its message names
// the variable and never quotes a secret's value.
type envError struct {
	Var     string
	Problem string
}

func (e *envError) Error() string { return e.Var + ": " + e.Problem }

// parseConfig reads the configuration through lookup (os.LookupEnv in
// main). An empty variable counts as unset. It reports every problem at
// once, each as an *envError joined with errors.Join.
func parseConfig(lookup func(string) (string, bool)) (config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, &envError{Var: name, Problem: fmt.Sprintf(format, args...)})
	}

	var c config
	c.BaseURL = get(envBaseURL)
	demo := c.BaseURL == ""
	if !demo {
		if problem := checkBaseURL(c.BaseURL); problem != "" {
			bad(envBaseURL, "%s", problem)
		}
	}
	requiredOutsideDemo := "is missing; it is required when " + envBaseURL + " is set"

	c.ClientID, c.ClientSecret = get(envClientID), get(envClientSecret)
	switch {
	case c.ClientID == "" && demo:
		c.ClientID = demoClientID
	case c.ClientID == "":
		bad(envClientID, "%s", requiredOutsideDemo)
	}
	switch {
	case c.ClientSecret == "" && demo:
		c.ClientSecret = hex.EncodeToString(randomBytes(32))
	case c.ClientSecret == "":
		bad(envClientSecret, "%s", requiredOutsideDemo)
	}

	keys := []struct {
		name  string
		dst   *[]byte
		check func(n int) string
		size  int // of a generated key
	}{
		{envHashKey, &c.HashKey, checkHashKeyLen, 64},
		{envEncryptionKey, &c.EncryptionKey, checkEncryptionKeyLen, 32},
	}
	for _, k := range keys {
		raw := get(k.name)
		switch {
		case raw == "" && demo:
			*k.dst = randomBytes(k.size)
			c.GeneratedKeys = true
			continue
		case raw == "":
			bad(k.name, "%s", requiredOutsideDemo)
			continue
		}
		key, err := decodeKey(raw)
		if err != nil {
			bad(k.name, "%v", err)
			continue
		}
		if problem := k.check(len(key)); problem != "" {
			bad(k.name, "%s", problem)
			continue
		}
		*k.dst = key
	}

	c.RedisURL = get(envRedisURL)
	if c.RedisURL != "" {
		// Not quoted back: the URL may hold Redis's password.
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad(envRedisURL, "is not a redis:// or rediss:// URL")
		}
	}

	c.CheckInterval = exampleCheckInterval
	if v := get(envInterval); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(envInterval, "is not a Go duration, such as 30s or 10m")
		case d < 0:
			bad(envInterval, "is negative")
		default:
			c.CheckInterval = d
		}
	}

	c.AddrA, c.AddrB = get(envAddr), get(envAddrB)
	if c.AddrA == "" {
		c.AddrA = defaultAddrA
	}
	if c.AddrB == "" {
		c.AddrB = defaultAddrB
	}
	c.FakeAddr = get(envFakeAddr)
	switch {
	case c.FakeAddr != "" && !demo:
		bad(envFakeAddr, "applies only to the embedded CentralAuth; unset it, or unset %s", envBaseURL)
	case c.FakeAddr == "":
		c.FakeAddr = defaultFakeAddr
	default:
		if problem := checkAddr(c.FakeAddr, true); problem != "" {
			bad(envFakeAddr, "%s", problem)
		}
	}

	okA, okB := true, true
	if problem := checkAddr(c.AddrA, demo); problem != "" {
		bad(envAddr, "%s", problem)
		okA = false
	}
	if problem := checkAddr(c.AddrB, demo); problem != "" {
		bad(envAddrB, "%s", problem)
		okB = false
	}
	if okA && okB && c.AddrA == c.AddrB && !strings.HasSuffix(c.AddrA, ":0") {
		bad(envAddrB, "is the same address as %s (%s); the two apps need two ports", envAddr, c.AddrA)
	}
	return c, errors.Join(errs...)
}

// checkBaseURL accepts an absolute http(s) URL without credentials, query
// or fragment. The value is not quoted back: it might hold credentials.
func checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL, such as https://centralauth.com"
	case u.Host == "":
		return "has no host"
	case u.User != nil:
		return "must not hold credentials; use " + envClientID + " and " + envClientSecret
	case u.RawQuery != "" || u.Fragment != "":
		return "must have no query and no fragment"
	}
	return ""
}

// decodeKey reads a key written in hex (tried first, since every hex
// string is also valid base64) or in base64, standard or URL-safe, padded
// or not. Errors do not quote the value.
func decodeKey(s string) ([]byte, error) {
	if len(s)%2 == 0 && strings.IndexFunc(s, func(r rune) bool { return !isHexDigit(r) }) < 0 {
		return hex.DecodeString(s)
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("is neither hex nor base64")
}

func isHexDigit(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

func checkHashKeyLen(n int) string {
	if n < minHashKeyBytes {
		return fmt.Sprintf("decodes to %d bytes; want at least %d (make one with: openssl rand -hex 32)", n, minHashKeyBytes)
	}
	return ""
}

func checkEncryptionKeyLen(n int) string {
	switch n {
	case 16, 24, 32:
		return ""
	}
	return fmt.Sprintf("decodes to %d bytes; want 16, 24 or 32 for AES-128, -192 or -256 (make one with: openssl rand -hex 32)", n)
}

// checkAddr accepts host:port with a numeric port. In demo mode the host
// must be loopback (or empty, for every interface): the embedded
// CentralAuth sends logins back to loopback addresses only.
func checkAddr(addr string, demo bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port, such as %s", addr, defaultAddrA)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("port %q is not a number from 0 to 65535", port)
	}
	if demo && !isLoopbackOrAny(host) {
		return fmt.Sprintf("host %q is not loopback; the embedded CentralAuth sends logins back to loopback addresses only (use 127.0.0.1, or set %s)", host, envBaseURL)
	}
	return ""
}

func isLoopbackOrAny(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return b
}
