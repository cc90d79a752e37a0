package testutil

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
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

// getLogin is the browser's GET of the login page, with the provider
// cookie when cookie is not empty.
func getLogin(t *testing.T, ca *CentralAuth, q url.Values, cookie string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ca.URL()+LoginPath+"?"+q.Encode(), nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: ProviderCookie, Value: cookie})
	}
	return send(t, req)
}

// postLogin submits the login form as the fake's own page would: a
// same-origin POST.
func postLogin(t *testing.T, ca *CentralAuth, form url.Values) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ca.URL()+LoginPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return send(t, req)
}

// signIn signs user in through the form and returns the code from the
// redirect and the provider cookie's value.
func signIn(t *testing.T, ca *CentralAuth, user string) (code, cookie string) {
	t.Helper()
	resp := postLogin(t, ca, loginQuery("user", user))
	if resp.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d %q, want 303", resp.status, resp.body)
	}
	return codeFrom(t, resp), providerCookie(t, resp)
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

// providerCookie returns the value of the provider cookie that resp sets.
func providerCookie(t *testing.T, resp response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: resp.header}).Cookies() {
		if c.Name == ProviderCookie {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie in %v", ProviderCookie, resp.header["Set-Cookie"])
	return ""
}

// formType is verify's content type.
const formType = "application/x-www-form-urlencoded"

// verify exchanges code at the verify endpoint with the given credentials,
// the tests' redirect_uri and verifier; kv pairs override form fields.
func verify(t *testing.T, ca *CentralAuth, auth, contentType, code string, kv ...string) response {
	t.Helper()
	form := url.Values{"code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return do(testCtx(t), ca, request{path: VerifyPath, auth: auth, contentType: contentType, body: form.Encode()})
}
