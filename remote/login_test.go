package remote

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
)

// The app of the login tests: where CentralAuth sends the browser back, and
// the PKCE verifier of its login (RFC 7636's example).
const (
	testRedirect = "http://127.0.0.1:8080/auth/callback"
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

// s256 is the PKCE S256 challenge of verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestLoginURL(t *testing.T) {
	const (
		// state and redirect hold what a query must escape: '&', '=',
		// '+', ' ', '#', '%', '?', '/' and non-ASCII.
		state    = "a b&c=d+e#f%g?h/é"
		redirect = "http://127.0.0.1:8080/cb?next=/a&b=c d#frag"
	)
	tests := []struct {
		name     string
		base     string // "" for the default
		wantPath string // of the login page; scheme and host are the base's
	}{
		{name: "default base", wantPath: "/login"},
		{name: "base without a path", base: "http://ca.example.test", wantPath: "/login"},
		{name: "base with a path", base: "http://ca.example.test/prefix", wantPath: "/prefix/login"},
		{name: "base with a path and a trailing slash", base: "http://ca.example.test/prefix/", wantPath: "/prefix/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.base != "" {
				opts = append(opts, WithBaseURL(tt.base))
			}
			c, err := NewClient(testID, testSecret, opts...)
			if err != nil {
				t.Fatal(err)
			}
			challenge := s256(testVerifier)
			raw := c.LoginURL(redirect, state, challenge)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("LoginURL = %q: %v", raw, err)
			}
			base, _ := url.Parse(cmp.Or(tt.base, defaultBaseURL))
			if u.Scheme != base.Scheme || u.Host != base.Host || u.Path != tt.wantPath || u.Fragment != "" || u.User != nil {
				t.Errorf("LoginURL = %q, want %s://%s%s?… without a fragment", raw, base.Scheme, base.Host, tt.wantPath)
			}
			want := url.Values{
				"client_id":             {testID},
				"response_type":         {"code"},
				"redirect_uri":          {redirect},
				"state":                 {state},
				"code_challenge":        {challenge},
				"code_challenge_method": {"S256"},
			}
			got, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				t.Fatalf("LoginURL's query %q: %v", u.RawQuery, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("LoginURL's query = %v,\nwant exactly %v", got, want)
			}
		})
	}
}

// TestLoginURLOnTheFake shows that the fake's login page takes LoginURL as
// CentralAuth would: it shows the sign-in form for it, not a refusal.
func TestLoginURLOnTheFake(t *testing.T) {
	fake := newFake(t)
	c, _ := newClient(t, fake)
	const state = "st&=+ é"
	resp := browse(t, http.MethodGet, c.LoginURL(testRedirect, state, s256(testVerifier)), nil)
	if resp.status != http.StatusOK || !strings.Contains(resp.body, `id="sign-in"`) {
		t.Fatalf("GET LoginURL: %d %q, want 200 and the sign-in form", resp.status, resp.body)
	}
	// The form carries the state on: it round-trips through LoginURL's
	// escaping and the page's.
	m := regexp.MustCompile(`name="state" value="([^"]*)"`).FindStringSubmatch(resp.body)
	if m == nil || html.UnescapeString(m[1]) != state {
		t.Errorf("the form does not carry the state %q: %s", state, resp.body)
	}
}

type browserResponse struct {
	status   int
	location string
	body     string
}

// browse makes one request as a browser's hop, without following a
// redirect.
func browse(t *testing.T, method, rawURL string, form url.Values) browserResponse {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return browserResponse{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
}

// signIn logs user in on the fake, from c.LoginURL as a browser would: it
// posts the sign-in form (the login request's fields and an email) and
// returns the code of the 303 back to redirectURI.
func signIn(t *testing.T, c *Client, redirectURI, verifier string) string {
	t.Helper()
	const state = "st-1"
	u, err := url.Parse(c.LoginURL(redirectURI, state, s256(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	form := u.Query()
	form.Set("email", "ada@example.com")
	u.RawQuery = ""
	resp := browse(t, http.MethodPost, u.String(), form)
	if resp.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %q, want 303", resp.status, resp.body)
	}
	back, err := url.Parse(resp.location)
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if back.Scheme+"://"+back.Host+back.Path != redirectURI || q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("sign-in sent the browser to %q, want %s with the state and a code", resp.location, redirectURI)
	}
	return q.Get("code")
}

// TestExchangeAgainstTheFake logs in on the fake and exchanges the code, as
// package login does, then tries what CentralAuth must refuse.
func TestExchangeAgainstTheFake(t *testing.T) {
	otherVerifier := strings.Repeat("v", 43)
	tests := []struct {
		name string
		// before runs after the sign-in, before the exchange.
		before      func(t *testing.T, fake *centralauthtest.Server, c *Client, code string)
		secret      string // the client's; "" for testSecret
		code        func(code string) string
		redirectURI string
		verifier    string
		wantStatus  int    // 0 for success
		wantCode    string // Error.Code
	}{
		{name: "the login's code, redirect URI and verifier"},
		{
			name: "the same code a second time",
			before: func(t *testing.T, fake *centralauthtest.Server, c *Client, code string) {
				if _, err := c.Exchange(testCtx(t), code, testRedirect, testVerifier); err != nil {
					t.Fatalf("first Exchange: %v", err)
				}
			},
			wantStatus: 400, wantCode: "tokenInvalid",
		},
		{name: "an unknown code", code: func(string) string { return "not-a-code" }, wantStatus: 400, wantCode: "tokenInvalid"},
		{name: "another redirect URI", redirectURI: testRedirect + "/", wantStatus: 400, wantCode: "genericError"},
		{name: "another verifier", verifier: otherVerifier, wantStatus: 400, wantCode: "genericError"},
		{name: "a verifier shorter than RFC 7636's 43", verifier: testVerifier[:42], wantStatus: 400, wantCode: "genericError"},
		{
			name: "a session logged out before the exchange",
			before: func(t *testing.T, fake *centralauthtest.Server, c *Client, code string) {
				for s := range fake.Sessions() {
					fake.EndSession(s.AccessToken)
				}
			},
			wantStatus: 400, wantCode: "sessionInactive",
		},
		{name: "a wrong client secret", secret: "wrong", wantStatus: 401, wantCode: "noPermission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The client's clock starts on a whole second before the fake's
			// now: its Expires from expires_in is earlier than the fake's
			// expires_at, which is in whole seconds, and exact.
			clk := newClock()
			fake, err := centralauthtest.NewServer(testID, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			c, err := NewClient(testID, cmp.Or(tt.secret, testSecret), WithBaseURL(fake.URL()))
			if err != nil {
				t.Fatal(err)
			}
			withClock(c, clk)

			code := signIn(t, c, testRedirect, testVerifier)
			if tt.before != nil {
				tt.before(t, fake, c, code)
			}
			if tt.code != nil {
				code = tt.code(code)
			}
			before := len(fake.Calls())
			tok, err := c.Exchange(testCtx(t), code, cmp.Or(tt.redirectURI, testRedirect), cmp.Or(tt.verifier, testVerifier))

			if calls := fake.Calls(); len(calls) != before+1 {
				t.Errorf("%d requests, want 1 (no retry of a 4xx)", len(calls))
			}
			if tt.wantStatus != 0 {
				e, ok := errors.AsType[*Error](err)
				if !ok || e.StatusCode != tt.wantStatus || e.Code != tt.wantCode {
					t.Fatalf("Exchange = %+v, %v; want an *Error %d (%s)", tok, err, tt.wantStatus, tt.wantCode)
				}
				if tok != (Tokens{}) {
					t.Errorf("an error came with tokens: %+v", tok)
				}
				if IsRetryable(err) {
					t.Errorf("IsRetryable(%v) = true", err)
				}
				if msg := err.Error(); !strings.HasPrefix(msg, fmt.Sprintf("remote: exchange failed: %d ", tt.wantStatus)) {
					t.Errorf("error %q does not say that the exchange failed", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			sessions := slices.Collect(fake.Sessions())
			if len(sessions) != 1 {
				t.Fatalf("the fake has %d sessions, want the one signed in", len(sessions))
			}
			s := sessions[0]
			if tok.AccessToken != s.AccessToken || tok.IDToken != s.IDToken || s.Email != "ada@example.com" {
				t.Errorf("Exchange = %+v, want the tokens of ada's session %+v", tok, s)
			}
			if want := clk.Now().Add(24 * time.Hour); !tok.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v (the fake's 24h from now)", tok.Expires, want)
			}
		})
	}
}

// TestExchangeNeedsEveryArgument: without a code, a redirect URI or a
// verifier there is nothing CentralAuth could accept, so nothing is sent.
func TestExchangeNeedsEveryArgument(t *testing.T) {
	tests := []struct {
		name                        string
		code, redirectURI, verifier string
	}{
		{"no code", "", testRedirect, testVerifier},
		{"no redirect URI", "code", "", testVerifier},
		{"no verifier", "code", testRedirect, ""},
		{"nothing", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			t.Cleanup(srv.Close)
			c, err := NewClient(testID, testSecret, WithBaseURL(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.Exchange(testCtx(t), tt.code, tt.redirectURI, tt.verifier)
			if err == nil || !strings.HasPrefix(err.Error(), "remote: ") {
				t.Fatalf("Exchange = %+v, %v; want an error prefixed \"remote: \"", tok, err)
			}
			if tok != (Tokens{}) {
				t.Errorf("an error came with tokens: %+v", tok)
			}
			if IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true", err)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("%d requests, want none", n)
			}
		})
	}
}

// TestExchangeRequest checks the request itself: where it goes and how the
// form and the credentials are sent.
func TestExchangeRequest(t *testing.T) {
	tests := []struct {
		name     string
		path     string // appended to the server's URL for the base
		opts     []Option
		wantPath string
	}{
		{name: "base without a path", wantPath: "/api/v1/verify"},
		{name: "base with a path", path: "/prefix", wantPath: "/prefix/api/v1/verify"},
		{name: "base with a trailing slash", path: "/prefix/", wantPath: "/prefix/api/v1/verify"},
		{name: "caller's HTTP client", opts: []Option{WithHTTPClient(&http.Client{})}, wantPath: "/api/v1/verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				method, path, contentType, auth, userAgent string
				form                                       url.Values
				err                                        error
			}
			got := make(chan seen, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				form, err := url.ParseQuery(string(b))
				got <- seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("User-Agent"), form, err}
				_, _ = io.WriteString(w, `{"access_token":"at","id_token":"it","expires_in":60,"expires_at":null}`)
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(testID, testSecret, append([]Option{WithBaseURL(srv.URL + tt.path)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			const code = "c0de+/= é&x" // escaped in the form
			if _, err := c.Exchange(testCtx(t), code, testRedirect, testVerifier); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			r := <-got
			if r.method != http.MethodPost || r.path != tt.wantPath {
				t.Errorf("%s %s, want POST %s", r.method, r.path, tt.wantPath)
			}
			if r.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q, want application/x-www-form-urlencoded", r.contentType)
			}
			if want := "Basic " + testCreds(); r.auth != want {
				t.Errorf("Authorization %q, want %q", r.auth, want)
			}
			if r.userAgent != defaultUserAgent {
				t.Errorf("User-Agent %q, want %q", r.userAgent, defaultUserAgent)
			}
			want := url.Values{"code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
			if r.err != nil || fmt.Sprint(r.form) != fmt.Sprint(want) {
				t.Errorf("form %v (%v), want exactly %v", r.form, r.err, want)
			}
		})
	}
}

// TestExchangeAnswers feeds Exchange the 2xx answers CentralAuth might
// give, good and broken: an answer that is not the documented JSON, with an
// access token and a usable expiry, is an error, never tokens.
func TestExchangeAnswers(t *testing.T) {
	rfc := func(t time.Time) string { return `"` + t.Format(time.RFC3339Nano) + `"` }
	tokens := func(extra string) func(now time.Time) string {
		return func(time.Time) string { return `{"access_token":"at-1","id_token":"id-1"` + extra + `}` }
	}
	withAt := func(expiresIn string, at time.Duration) func(now time.Time) string {
		return func(now time.Time) string {
			return `{"access_token":"at-1","id_token":"id-1","expires_in":` + expiresIn + `,"expires_at":` + rfc(now.Add(at)) + `}`
		}
	}
	// padded is a valid answer of exactly n bytes.
	padded := func(n int) func(now time.Time) string {
		return func(time.Time) string {
			s := `{"access_token":"at-1","id_token":"id-1","expires_in":null,"expires_at":null}`
			return s[:len(s)-1] + strings.Repeat(" ", n-len(s)) + "}"
		}
	}
	tests := []struct {
		name string
		body func(now time.Time) string
		// wantExpires is from now; 0 for a zero Expires. Ignored when
		// wantErr.
		wantExpires time.Duration
		wantErr     bool
	}{
		{name: "expires_in only", body: tokens(`,"expires_in":3600`), wantExpires: time.Hour},
		{name: "expires_in only, expires_at null", body: tokens(`,"expires_in":3600,"expires_at":null`), wantExpires: time.Hour},
		{name: "expires_in with a fraction", body: tokens(`,"expires_in":1.5`), wantExpires: 1500 * time.Millisecond},
		{name: "expires_at only", body: func(now time.Time) string {
			return `{"access_token":"at-1","id_token":"id-1","expires_at":` + rfc(now.Add(2*time.Hour)) + `}`
		}, wantExpires: 2 * time.Hour},
		{name: "expires_at only, expires_in null", body: withAt("null", 2*time.Hour), wantExpires: 2 * time.Hour},
		{name: "expires_at in another zone, with nanoseconds", body: func(now time.Time) string {
			at := now.Add(time.Hour + time.Nanosecond).In(time.FixedZone("", -7*3600))
			return `{"access_token":"at-1","id_token":"id-1","expires_at":` + rfc(at) + `}`
		}, wantExpires: time.Hour + time.Nanosecond},
		{name: "both, expires_in sooner", body: withAt("3600", 2*time.Hour), wantExpires: time.Hour},
		{name: "both, expires_at sooner", body: withAt("7200", time.Hour), wantExpires: time.Hour},
		{name: "both the same", body: withAt("3600", time.Hour), wantExpires: time.Hour},
		{name: "neither", body: tokens(``)},
		{name: "both null", body: tokens(`,"expires_in":null,"expires_at":null`)},
		{name: "fields CentralAuth does not document", body: tokens(`,"token_type":"Bearer","refresh_token":"x","expires_in":60`), wantExpires: time.Minute},
		{name: "exactly 64 KiB", body: padded(maxBodyBytes)},

		{name: "garbage JSON", body: func(time.Time) string { return `{"access_token":"at-1",` }, wantErr: true},
		{name: "not JSON", body: func(time.Time) string { return `<html>maintenance</html>` }, wantErr: true},
		{name: "empty body", body: func(time.Time) string { return `` }, wantErr: true},
		{name: "JSON null", body: func(time.Time) string { return `null` }, wantErr: true},
		{name: "JSON array", body: func(time.Time) string { return `[{"access_token":"at-1"}]` }, wantErr: true},
		{name: "an error body on a 200", body: func(time.Time) string { return `{"errorCode":"tokenInvalid","message":"x"}` }, wantErr: true},
		{name: "missing access_token", body: func(time.Time) string { return `{"id_token":"id-1","expires_in":60}` }, wantErr: true},
		{name: "empty access_token", body: func(time.Time) string { return `{"access_token":"","id_token":"id-1"}` }, wantErr: true},
		{name: "access_token not a string", body: func(time.Time) string { return `{"access_token":42}` }, wantErr: true},
		{name: "expires_in zero", body: tokens(`,"expires_in":0`), wantErr: true},
		{name: "expires_in negative", body: tokens(`,"expires_in":-60`), wantErr: true},
		{name: "expires_in below a nanosecond", body: tokens(`,"expires_in":1e-12`), wantErr: true},
		{name: "expires_in over ten years", body: tokens(`,"expires_in":1e12`), wantErr: true},
		{name: "expires_in past float64", body: tokens(`,"expires_in":1e400`), wantErr: true},
		{name: "expires_in a string", body: tokens(`,"expires_in":"3600"`), wantErr: true},
		{name: "expires_at not a date", body: tokens(`,"expires_at":"tomorrow"`), wantErr: true},
		{name: "expires_at without a zone", body: tokens(`,"expires_at":"2030-01-02T03:04:05"`), wantErr: true},
		{name: "expires_at a number", body: tokens(`,"expires_at":1893456000`), wantErr: true},
		{name: "expires_at in the past", body: withAt("null", -time.Hour), wantErr: true},
		{name: "expires_at now", body: withAt("null", 0), wantErr: true},
		// Go's zero time: it must not read as "no expiry", which would
		// drop expires_in's bound too.
		{name: "expires_at year 1", body: tokens(`,"expires_at":"0001-01-01T00:00:00Z"`), wantErr: true},
		{name: "expires_at year 1 with expires_in", body: tokens(`,"expires_in":3600,"expires_at":"0001-01-01T00:00:00Z"`), wantErr: true},
		{name: "one byte over 64 KiB", body: padded(maxBodyBytes + 1), wantErr: true},
		{name: "a 10 MB body", body: func(time.Time) string { return `{"access_token":"` + strings.Repeat("a", 10<<20) + `"}` }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tt.body(clk.Now()))
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(testID, testSecret, WithBaseURL(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			withClock(c, clk)

			tok, err := c.Exchange(testCtx(t), "the-code", testRedirect, testVerifier)
			if tt.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), "remote: exchange answer unreadable: ") {
					t.Fatalf("Exchange = %+v, %v; want an unreadable answer", tok, err)
				}
				if tok != (Tokens{}) {
					t.Errorf("an error came with tokens: %+v", tok)
				}
				// The code is used up: sending it again cannot help.
				if IsRetryable(err) || hits.Load() != 1 {
					t.Errorf("IsRetryable = %v after %d requests, want false after 1", IsRetryable(err), hits.Load())
				}
				return
			}
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.AccessToken != "at-1" || tok.IDToken != "id-1" {
				t.Errorf("tokens %+v, want at-1 and id-1", tok)
			}
			var want time.Time
			if tt.wantExpires != 0 {
				want = clk.Now().Add(tt.wantExpires)
			}
			if !tok.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v", tok.Expires, want)
			}
		})
	}
}

// statusThenTokens answers with the given statuses, one per request, then
// with tokens; it records each request's body.
type statusThenTokens struct {
	statuses   []int
	retryAfter string

	mu     sync.Mutex
	bodies []string
}

func (s *statusThenTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.bodies)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	if n < len(s.statuses) {
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		w.WriteHeader(s.statuses[n])
		_, _ = io.WriteString(w, `{"errorCode":"genericError","message":"try again"}`)
		return
	}
	_, _ = io.WriteString(w, `{"access_token":"at-1","id_token":"id-1","expires_in":60,"expires_at":null}`)
}

func TestExchangeRetries(t *testing.T) {
	backoff := func(i int) [2]time.Duration { return [2]time.Duration{baseBackoff << i / 2, baseBackoff << i} }
	exactly := func(d time.Duration) [2]time.Duration { return [2]time.Duration{d, d} }
	tests := []struct {
		name       string
		statuses   []int
		retryAfter string
		wantCalls  int
		wantStatus int                // of the *Error; 0 for tokens
		wantWaits  [][2]time.Duration // bounds of each wait
	}{
		{name: "500 then tokens", statuses: []int{500}, wantCalls: 2, wantWaits: [][2]time.Duration{backoff(0)}},
		{name: "503 twice then tokens", statuses: []int{503, 503}, wantCalls: 3, wantWaits: [][2]time.Duration{backoff(0), backoff(1)}},
		{name: "429 with Retry-After then tokens", statuses: []int{429}, retryAfter: "3", wantCalls: 2, wantWaits: [][2]time.Duration{exactly(3 * time.Second)}},
		{name: "500 after the last retry", statuses: []int{500, 500, 500}, wantCalls: 3, wantStatus: 500, wantWaits: [][2]time.Duration{backoff(0), backoff(1)}},
		{name: "400 is not retried", statuses: []int{400}, wantCalls: 1, wantStatus: 400},
		{name: "401 is not retried", statuses: []int{401}, wantCalls: 1, wantStatus: 401},
		{name: "400 after a 503 stops", statuses: []int{503, 400}, wantCalls: 2, wantStatus: 400, wantWaits: [][2]time.Duration{backoff(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &statusThenTokens{statuses: tt.statuses, retryAfter: tt.retryAfter}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			c, err := NewClient(testID, testSecret, WithBaseURL(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			clk := newClock()
			withClock(c, clk)

			tok, err := c.Exchange(testCtx(t), "the-code", testRedirect, testVerifier)
			if tt.wantStatus == 0 {
				if err != nil || tok.AccessToken != "at-1" {
					t.Fatalf("Exchange = %+v, %v; want the tokens", tok, err)
				}
			} else if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != tt.wantStatus {
				t.Fatalf("Exchange = %+v, %v; want an *Error %d", tok, err, tt.wantStatus)
			}
			h.mu.Lock()
			bodies := slices.Clone(h.bodies)
			h.mu.Unlock()
			if len(bodies) != tt.wantCalls {
				t.Fatalf("%d requests, want %d", len(bodies), tt.wantCalls)
			}
			for i, b := range bodies {
				if b != bodies[0] || b == "" {
					t.Errorf("request %d sent %q, the first %q: a retry sends the same form", i, b, bodies[0])
				}
			}
			waits := clk.Sleeps()
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits %v, want %d", waits, len(tt.wantWaits))
			}
			for i, d := range waits {
				if d < tt.wantWaits[i][0] || d > tt.wantWaits[i][1] {
					t.Errorf("wait %d = %v, want between %v and %v", i, d, tt.wantWaits[i][0], tt.wantWaits[i][1])
				}
			}
		})
	}
}

// TestExchangeRedirects: a 3xx from verify is an answer, not a way to get
// the code and the verifier sent somewhere else.
func TestExchangeRedirects(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		callerHTTP bool // a caller's client that follows redirects
	}{
		{name: "default client, 302", status: 302},
		{name: "default client, 307", status: 307},
		{name: "following client, 301 is not followed", status: 301, callerHTTP: true},
		{name: "following client, 302 is not followed", status: 302, callerHTTP: true},
		{name: "following client, 303 is not followed", status: 303, callerHTTP: true},
		{name: "following client, 307 is not replayed", status: 307, callerHTTP: true},
		{name: "following client, 308 is not replayed", status: 308, callerHTTP: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var targetHits atomic.Int64
			mux := http.NewServeMux()
			mux.HandleFunc("/api/v1/verify", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", tt.status)
			})
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
				targetHits.Add(1)
				_, _ = io.WriteString(w, `{"access_token":"at-1"}`)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			opts := []Option{WithBaseURL(srv.URL)}
			if tt.callerHTTP {
				opts = append(opts, WithHTTPClient(&http.Client{}))
			}
			c, err := NewClient(testID, testSecret, opts...)
			if err != nil {
				t.Fatal(err)
			}

			tok, err := c.Exchange(testCtx(t), "the-code", testRedirect, testVerifier)
			if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != tt.status {
				t.Errorf("Exchange = %+v, %v; want an *Error with status %d", tok, err, tt.status)
			}
			if IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true, want false", err)
			}
			if n := targetHits.Load(); n != 0 {
				t.Errorf("the redirect target got %d requests, want none", n)
			}
		})
	}
}

// TestExchangeErrorsNeverLeakSecrets extends TestErrorsNeverLeakSecrets to
// the code exchange: the code and the verifier are secrets too, as they are
// and as the form escapes them.
func TestExchangeErrorsNeverLeakSecrets(t *testing.T) {
	// Both have characters that the form escapes, that JSON escapes, and
	// non-ASCII. Real verifiers are unreserved characters only, but the
	// code is CentralAuth's to choose.
	const (
		code     = `c0de+/=<"é%&x`
		verifier = `v3r1f13r-._~+/ é` + "0123456789012345678901234567"
	)
	secrets := map[string]string{
		"code": code, "escaped code": url.QueryEscape(code),
		"verifier": verifier, "escaped verifier": url.QueryEscape(verifier),
		"client secret": testSecret, "credentials": testCreds(),
	}
	// echo answers status with what it received, as text or in JSON.
	echo := func(status int, asJSON bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(b))
			text := "body " + string(b) + " auth " + r.Header.Get("Authorization") +
				" code " + form.Get("code") + " verifier " + form.Get("code_verifier")
			w.WriteHeader(status)
			if asJSON {
				_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": form.Get("code"), "message": text})
				return
			}
			_, _ = io.WriteString(w, text)
		}
	}
	tests := []struct {
		name         string
		base         func(t *testing.T) string
		wantRedacted bool
	}{
		{name: "400 echoing as text", base: server(echo(400, false)), wantRedacted: true},
		{name: "400 echoing in JSON", base: server(echo(400, true)), wantRedacted: true},
		{name: "500 echoing, after the retries", base: server(echo(500, true)), wantRedacted: true},
		{name: "429 echoing, after the retries", base: server(echo(429, false)), wantRedacted: true},
		{name: "200 echoing, unreadable", base: server(echo(200, false))},
		{name: "malformed response quoting the request", base: echoingServer, wantRedacted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(testID, testSecret, WithBaseURL(tt.base(t)))
			if err != nil {
				t.Fatal(err)
			}
			withClock(c, newClock())

			_, err = c.Exchange(testCtx(t), code, testRedirect, verifier)
			if err == nil {
				t.Fatal("Exchange = nil, want an error")
			}
			shown := err.Error()
			if e, ok := errors.AsType[*Error](err); ok {
				shown += "\n" + e.Code + "\n" + e.Message
			}
			for name, v := range secrets {
				if strings.Contains(shown, v) {
					t.Errorf("the error shows the %s: %q", name, shown)
				}
			}
			if got := strings.Contains(err.Error(), redacted); got != tt.wantRedacted {
				t.Errorf("error %q: redacted %v, want %v", err, got, tt.wantRedacted)
			}
		})
	}
}

// server starts h for a test and returns its URL.
func server(h http.Handler) func(t *testing.T) string {
	return func(t *testing.T) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
}

// fuzzNow is parseTokens' now in FuzzParseTokens; the corpus's dates are
// around it.
var fuzzNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// FuzzParseTokens feeds parseTokens what a broken or hostile server might
// answer verify with a 200. It must never panic; an answer it accepts has
// an access token, and an expiry that the answer sent is kept, in the
// future, and no later than expires_in says.
func FuzzParseTokens(f *testing.F) {
	for _, seed := range []string{
		`{"access_token":"at","id_token":"it","expires_in":86400,"expires_at":"2026-06-02T12:00:00Z"}`,
		`{"access_token":"at","id_token":"it","expires_in":null,"expires_at":null}`,
		`{"access_token":"at","expires_in":1.5}`,
		`{"access_token":"at","expires_at":"0001-01-01T00:00:00Z"}`,
		`{"access_token":"at","expires_in":1e-12}`,
		`{"access_token":"","expires_in":60}`,
		`{"errorCode":"tokenInvalid","message":"x"}`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseTokens(body, fuzzNow)
		if err != nil {
			if tok != (Tokens{}) {
				t.Fatalf("an error came with tokens: %+v", tok)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "remote: exchange answer unreadable: ") ||
				(len(body) > 8 && strings.Contains(msg, string(body))) {
				t.Fatalf("error %q", msg)
			}
			return
		}
		if tok.AccessToken == "" {
			t.Fatal("accepted an answer without an access token")
		}
		// What the answer said about the expiry, read the way parseTokens
		// reads it: it accepted the body, so this parses too.
		var sent struct {
			ExpiresIn *float64 `json:"expires_in"`
			ExpiresAt *string  `json:"expires_at"`
		}
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatalf("parseTokens accepted what encoding/json refuses: %v", err)
		}
		if (sent.ExpiresIn != nil || sent.ExpiresAt != nil) != !tok.Expires.IsZero() {
			t.Fatalf("Expires = %v for %q", tok.Expires, body)
		}
		if tok.Expires.IsZero() {
			return
		}
		if !tok.Expires.After(fuzzNow) {
			t.Fatalf("Expires = %v, not after now %v", tok.Expires, fuzzNow)
		}
		if sent.ExpiresIn != nil && tok.Expires.Sub(fuzzNow) > time.Duration(*sent.ExpiresIn*float64(time.Second)) {
			t.Fatalf("Expires = %v, later than expires_in %v s", tok.Expires, *sent.ExpiresIn)
		}
	})
}
