package centralauthtest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testID     = "app:1"    // a ':' in the ID must not be escaped
	testSecret = "p%40ss@é" // nor '%', '@' or non-ASCII in the secret
)

// The redirect_uri, state and PKCE verifier of the login tests' app.
const (
	testRedirect = "http://127.0.0.1:8080/auth/callback"
	testState    = "st-123"
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636's example
)

// testChallenge is S256 of testVerifier.
var testChallenge = func() string {
	sum := sha256.Sum256([]byte(testVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// fixedStart is a whole second, so HTTP dates (which have no fractions)
// round-trip exactly.
var fixedStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// newFake starts a fake that is closed when the test ends. Unlike Start it
// does not fail the test on violations: many tests here break the contract
// on purpose.
func newFake(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(testID, testSecret, opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// testCtx is bounded so that a bug that hangs fails the test instead of
// running into the go test timeout.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type request struct {
	method      string
	path        string
	auth        string
	contentType string
	body        string
	headers     map[string]string
}

type response struct {
	status int
	header http.Header
	body   string
	err    error
}

// apiErr decodes CentralAuth's JSON error body; zero if it is not one.
func (r response) apiErr() apiError {
	var e apiError
	_ = json.Unmarshal([]byte(r.body), &e)
	return e
}

func do(ctx context.Context, s *Server, req request) response {
	if req.method == "" {
		req.method = http.MethodPost
	}
	if req.path == "" {
		req.path = logoutPath
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, s.URL()+req.path, strings.NewReader(req.body))
	if err != nil {
		return response{err: err}
	}
	if req.auth != "" {
		hr.Header.Set("Authorization", req.auth)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.headers {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// logoutRequest is a valid logout of token.
func logoutRequest(token string) request {
	return request{auth: basic(testID, testSecret), contentType: "text/plain", body: token}
}

// userInfoRequest is a POST of token to the userinfo endpoint with the
// app's credentials and the domain, as CentralAuth documents it.
func userInfoRequest(domain, token string) request {
	path := userInfoPath
	if domain != "" {
		path += "?domain=" + url.QueryEscape(domain)
	}
	return request{method: http.MethodPost, path: path, auth: basic(testID, testSecret), contentType: "text/plain", body: token}
}

// loginQuery is a valid login request, with fields overridden by kv pairs.
func loginQuery(kv ...string) url.Values {
	v := url.Values{
		"client_id":             {testID},
		"redirect_uri":          {testRedirect},
		"state":                 {testState},
		"response_type":         {"code"},
		"code_challenge":        {testChallenge},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// send does req without following redirects, as the browser's first hop.
func send(t *testing.T, req *http.Request) response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req.WithContext(testCtx(t)))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// getLogin is the browser's GET of the login page, with the autologin
// cookie when cookie is not empty.
func getLogin(t *testing.T, s *Server, q url.Values, cookie string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+loginPath+"?"+q.Encode(), nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: autologinCookie, Value: cookie})
	}
	return send(t, req)
}

// postLogin submits the login form as the fake's own page would: a
// same-origin POST.
func postLogin(t *testing.T, s *Server, form url.Values) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+loginPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return send(t, req)
}

// signIn signs email in through the form and returns the code from the
// redirect and the autologin cookie's value.
func signIn(t *testing.T, s *Server, email string) (code, cookie string) {
	t.Helper()
	resp := postLogin(t, s, loginQuery("email", email))
	if resp.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d %q, want 303", resp.status, resp.body)
	}
	return codeFrom(t, resp), autologinCookieOf(t, resp)
}

// codeFrom returns the code of a redirect back to the app, after checking
// that it goes to the redirect_uri with the state.
func codeFrom(t *testing.T, resp response) string {
	t.Helper()
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", resp.header.Get("Location"), err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %q, want %q", got, testRedirect)
	}
	if got := loc.Query().Get("state"); got != testState {
		t.Errorf("state = %q, want %q", got, testState)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %q", loc)
	}
	return code
}

// autologinCookieOf returns the value of the autologin cookie that resp
// sets.
func autologinCookieOf(t *testing.T, resp response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: resp.header}).Cookies() {
		if c.Name == autologinCookie {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie in %v", autologinCookie, resp.header["Set-Cookie"])
	return ""
}

// formType is verify's content type.
const formType = "application/x-www-form-urlencoded"

// verify exchanges code at the verify endpoint with the given credentials,
// the tests' redirect_uri and verifier; kv pairs override form fields.
func verify(t *testing.T, s *Server, auth, contentType, code string, kv ...string) response {
	t.Helper()
	form := url.Values{"code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return do(testCtx(t), s, request{path: verifyPath, auth: auth, contentType: contentType, body: form.Encode()})
}

// newest returns the session signed in last.
func newest(t *testing.T, s *Server) Session {
	t.Helper()
	for sess := range s.Sessions() {
		return sess
	}
	t.Fatal("no session")
	return Session{}
}

// count returns how many sessions there are.
func count(s *Server) int {
	n := 0
	for range s.Sessions() {
		n++
	}
	return n
}
