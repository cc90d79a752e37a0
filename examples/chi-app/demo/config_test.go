package demo

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// env is a lookup over a map, as os.LookupEnv would see it.
func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

// envVars returns the variables that err names, in order.
func envVars(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var vars []string
	for _, e := range errs {
		var ee *envError
		if !errors.As(e, &ee) {
			t.Fatalf("error %q is not an *envError", e)
		}
		if !strings.HasPrefix(e.Error(), ee.Var+": ") {
			t.Errorf("error %q does not start with its variable", e)
		}
		vars = append(vars, ee.Var)
	}
	return vars
}

func TestParseConfig(t *testing.T) {
	hash32 := bytes.Repeat([]byte{0xab}, 32)
	hash64 := bytes.Repeat([]byte{0xcd}, 64)
	enc16 := bytes.Repeat([]byte{0x01}, 16)
	enc24 := bytes.Repeat([]byte{0x02}, 24)
	enc32 := bytes.Repeat([]byte{0x03}, 32)
	real := map[string]string{
		envBaseURL:       "https://acme.centralauth.com",
		envClientID:      "acme-app",
		envClientSecret:  "s3cret-value",
		envHashKey:       hex.EncodeToString(hash32),
		envEncryptionKey: hex.EncodeToString(enc32),
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	tests := []struct {
		name     string
		env      map[string]string
		wantVars []string // variables named by the error, in order; nil for success
		check    func(t *testing.T, c config)
	}{
		{
			name: "no configuration: demo mode with defaults",
			env:  map[string]string{},
			check: func(t *testing.T, c config) {
				if !c.Demo() || c.AddrA != "127.0.0.1:8080" || c.AddrB != "127.0.0.1:8081" || c.ClientID != demoClientID || c.CheckInterval != exampleCheckInterval {
					t.Errorf("config = %+v, want demo mode on 127.0.0.1:8080 and :8081", c)
				}
				if !c.GeneratedKeys || len(c.HashKey) != 64 || len(c.EncryptionKey) != 32 || len(c.ClientSecret) < 32 {
					t.Errorf("want random keys (64 and 32 bytes) and secret, got %d, %d, %q", len(c.HashKey), len(c.EncryptionKey), c.ClientSecret)
				}
			},
		},
		{
			name: "the check interval, as a Go duration",
			env:  map[string]string{envInterval: "10m"},
			check: func(t *testing.T, c config) {
				if c.CheckInterval != 10*time.Minute {
					t.Errorf("check interval %v, want 10m", c.CheckInterval)
				}
			},
		},
		{name: "a check interval that is not a duration", env: map[string]string{envInterval: "10"}, wantVars: []string{envInterval}},
		{name: "a negative check interval", env: map[string]string{envInterval: "-1s"}, wantVars: []string{envInterval}},
		{
			name: "empty variables count as unset",
			env:  map[string]string{envBaseURL: "", envHashKey: " ", envAddr: ""},
			check: func(t *testing.T, c config) {
				if !c.Demo() || !c.GeneratedKeys || c.AddrA != defaultAddrA {
					t.Errorf("config = %+v, want the defaults", c)
				}
			},
		},
		{
			name: "demo keys in hex",
			env:  map[string]string{envHashKey: hex.EncodeToString(hash64), envEncryptionKey: hex.EncodeToString(enc16)},
			check: func(t *testing.T, c config) {
				if c.GeneratedKeys || !bytes.Equal(c.HashKey, hash64) || !bytes.Equal(c.EncryptionKey, enc16) {
					t.Errorf("keys = %x, %x; want the configured ones", c.HashKey, c.EncryptionKey)
				}
			},
		},
		{
			name: "upper-case hex",
			env:  map[string]string{envHashKey: strings.ToUpper(hex.EncodeToString(hash32))},
			check: func(t *testing.T, c config) {
				if !bytes.Equal(c.HashKey, hash32) {
					t.Errorf("hash key = %x, want %x", c.HashKey, hash32)
				}
			},
		},
		{
			name: "keys in padded and raw base64, standard and URL-safe",
			env: map[string]string{
				envHashKey:       base64.StdEncoding.EncodeToString(hash32),
				envEncryptionKey: base64.RawURLEncoding.EncodeToString(enc24),
			},
			check: func(t *testing.T, c config) {
				if !bytes.Equal(c.HashKey, hash32) || !bytes.Equal(c.EncryptionKey, enc24) {
					t.Errorf("keys = %x, %x; want the configured ones", c.HashKey, c.EncryptionKey)
				}
			},
		},
		{
			name: "surrounding white space is ignored",
			env:  map[string]string{envHashKey: " " + hex.EncodeToString(hash32) + "\n", envAddr: " 127.0.0.1:9000 "},
			check: func(t *testing.T, c config) {
				if !bytes.Equal(c.HashKey, hash32) || c.AddrA != "127.0.0.1:9000" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "only one key set: the other is generated",
			env:  map[string]string{envEncryptionKey: hex.EncodeToString(enc32)},
			check: func(t *testing.T, c config) {
				if !c.GeneratedKeys || !bytes.Equal(c.EncryptionKey, enc32) || len(c.HashKey) != 64 {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "real CentralAuth, fully configured",
			env:  real,
			check: func(t *testing.T, c config) {
				if c.Demo() || c.BaseURL != real[envBaseURL] || c.ClientID != "acme-app" || c.ClientSecret != "s3cret-value" || c.GeneratedKeys {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "real CentralAuth with a path prefix and a non-loopback address",
			env:  with(real, envBaseURL, "https://auth.example.com/ca/", envAddr, "0.0.0.0:8080", envAddrB, "192.0.2.7:8081"),
		},
		{
			name:     "real CentralAuth needs credentials and keys",
			env:      map[string]string{envBaseURL: "https://acme.centralauth.com"},
			wantVars: []string{envClientID, envClientSecret, envHashKey, envEncryptionKey},
		},
		{name: "base URL without a scheme", env: with(real, envBaseURL, "acme.centralauth.com"), wantVars: []string{envBaseURL}},
		{name: "base URL with another scheme", env: with(real, envBaseURL, "ftp://acme.centralauth.com"), wantVars: []string{envBaseURL}},
		{name: "base URL with credentials", env: with(real, envBaseURL, "https://id:pw-secret@acme.centralauth.com"), wantVars: []string{envBaseURL}},
		{name: "base URL with a query", env: with(real, envBaseURL, "https://acme.centralauth.com/?x=1"), wantVars: []string{envBaseURL}},
		{name: "base URL that does not parse", env: with(real, envBaseURL, "https://acme centralauth.com/%zz"), wantVars: []string{envBaseURL}},
		{name: "hash key too short", env: map[string]string{envHashKey: hex.EncodeToString(hash32[:31])}, wantVars: []string{envHashKey}},
		{name: "hash key neither hex nor base64", env: map[string]string{envHashKey: "not a key!"}, wantVars: []string{envHashKey}},
		{name: "odd-length hex is read as base64, and too short", env: map[string]string{envHashKey: "abc"}, wantVars: []string{envHashKey}},
		{name: "encryption key of 20 bytes", env: map[string]string{envEncryptionKey: hex.EncodeToString(make([]byte, 20))}, wantVars: []string{envEncryptionKey}},
		{name: "encryption key of 64 bytes", env: map[string]string{envEncryptionKey: hex.EncodeToString(hash64)}, wantVars: []string{envEncryptionKey}},
		{name: "encryption key garbage", env: map[string]string{envEncryptionKey: "%%%"}, wantVars: []string{envEncryptionKey}},
		{name: "ADDR without a port", env: map[string]string{envAddr: "127.0.0.1"}, wantVars: []string{envAddr}},
		{name: "ADDR with a named port", env: map[string]string{envAddr: "127.0.0.1:http"}, wantVars: []string{envAddr}},
		{name: "ADDR with a port out of range", env: map[string]string{envAddr: "127.0.0.1:65536"}, wantVars: []string{envAddr}},
		{name: "ADDR_B malformed", env: map[string]string{envAddrB: "localhost"}, wantVars: []string{envAddrB}},
		{name: "ADDR_B equal to ADDR", env: map[string]string{envAddr: "127.0.0.1:9000", envAddrB: "127.0.0.1:9000"}, wantVars: []string{envAddrB}},
		{name: "ADDR_B equal to the default ADDR", env: map[string]string{envAddrB: "127.0.0.1:8080"}, wantVars: []string{envAddrB}},
		{name: "both on port 0 is fine", env: map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0"}},
		{name: "demo on every interface", env: map[string]string{envAddr: ":8080", envAddrB: "[::]:8081"}},
		{name: "demo on localhost and ::1", env: map[string]string{envAddr: "localhost:8080", envAddrB: "[::1]:8081"}},
		{name: "demo off loopback", env: map[string]string{envAddr: "192.0.2.7:8080"}, wantVars: []string{envAddr}},
		{
			name: "the embedded CentralAuth on a free port by default",
			env:  map[string]string{},
			check: func(t *testing.T, c config) {
				if c.FakeAddr != "127.0.0.1:0" {
					t.Errorf("FakeAddr = %q, want 127.0.0.1:0", c.FakeAddr)
				}
			},
		},
		{
			name: "the embedded CentralAuth pinned",
			env:  map[string]string{envFakeAddr: " 127.0.0.1:9090 "},
			check: func(t *testing.T, c config) {
				if c.FakeAddr != "127.0.0.1:9090" {
					t.Errorf("FakeAddr = %q, want 127.0.0.1:9090", c.FakeAddr)
				}
			},
		},
		{name: "the embedded CentralAuth off loopback", env: map[string]string{envFakeAddr: "192.0.2.7:9090"}, wantVars: []string{envFakeAddr}},
		{name: "the embedded CentralAuth's address malformed", env: map[string]string{envFakeAddr: "9090"}, wantVars: []string{envFakeAddr}},
		{name: "the embedded CentralAuth's address with a real one", env: with(real, envFakeAddr, "127.0.0.1:9090"), wantVars: []string{envFakeAddr}},
		{
			name: "Redis URL",
			env:  map[string]string{envRedisURL: "redis://:pw-secret@127.0.0.1:6379/2"},
			check: func(t *testing.T, c config) {
				if c.RedisURL != "redis://:pw-secret@127.0.0.1:6379/2" {
					t.Errorf("RedisURL = %q", c.RedisURL)
				}
			},
		},
		{name: "Redis URL with TLS", env: map[string]string{envRedisURL: "rediss://cache.internal:6380"}},
		{name: "Redis URL with another scheme", env: map[string]string{envRedisURL: "http://:pw-secret@127.0.0.1:6379"}, wantVars: []string{envRedisURL}},
		{name: "Redis URL without a host", env: map[string]string{envRedisURL: "redis://"}, wantVars: []string{envRedisURL}},
		{
			name:     "every problem at once",
			env:      map[string]string{envBaseURL: "ftp://x", envHashKey: "zz", envAddr: "nope"},
			wantVars: []string{envBaseURL, envClientID, envClientSecret, envHashKey, envEncryptionKey, envAddr},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(env(tt.env))
			if got := envVars(t, err); !slices.Equal(got, tt.wantVars) {
				t.Fatalf("error names %v, want %v (error: %v)", got, tt.wantVars, err)
			}
			if err != nil {
				for _, secret := range []string{"pw-secret", tt.env[envHashKey], tt.env[envEncryptionKey], tt.env[envClientSecret]} {
					if len(secret) > 3 && strings.Contains(err.Error(), secret) {
						t.Errorf("error %q quotes the secret value %q", err, secret)
					}
				}
				return
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestGeneratedKeysDiffer(t *testing.T) {
	a, _ := parseConfig(env(nil))
	b, _ := parseConfig(env(nil))
	if bytes.Equal(a.HashKey, b.HashKey) || bytes.Equal(a.EncryptionKey, b.EncryptionKey) || a.ClientSecret == b.ClientSecret {
		t.Error("two runs generated the same keys or secret")
	}
}
