package centralauthtest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
)

const (
	clientID     = "my-app"
	clientSecret = "my-secret"
	redirectURI  = "http://127.0.0.1:8080/auth/callback"
	verifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636's example
)

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// client is an app's side of the contract, written out by hand so that a
// test can break it one way at a time.
type client struct {
	t  *testing.T
	ca *centralauthtest.Server
}

type answer struct {
	status    int
	errorCode string
	body      string
	location  *url.URL // of a redirect
}

func (c client) post(path, auth, contentType, body string) answer {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ca.URL()+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", contentType)
	return c.send(req)
}

func (c client) send(req *http.Request) answer {
	c.t.Helper()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		ErrorCode string `json:"errorCode"`
	}
	_ = json.Unmarshal(b, &e)
	loc, _ := resp.Location()
	return answer{status: resp.StatusCode, errorCode: e.ErrorCode, body: string(b), location: loc}
}

// login signs ada in through the login page's form, with the given login
// parameters over the valid ones, and returns the code sent back.
func (c client) login(kv ...string) (code string, a answer) {
	c.t.Helper()
	form := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "state": {"st"},
		"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}, "email": {"ada@example.com"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.ca.URL()+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a = c.send(req)
	if a.location == nil {
		return "", a
	}
	return a.location.Query().Get("code"), a
}

func (c client) verify(auth, code, redirect, v string) answer {
	c.t.Helper()
	form := url.Values{"code": {code}, "redirect_uri": {redirect}, "code_verifier": {v}}
	return c.post("/api/v1/verify", auth, "application/x-www-form-urlencoded", form.Encode())
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

var validAuth = basicAuth(clientID, clientSecret)

// TestContractViolations breaks CentralAuth's contract one way at a time:
// each call fails with CentralAuth's errorCode, and is the one violation.
func TestContractViolations(t *testing.T) {
	tests := []struct {
		name string
		// call makes one call that breaks the contract, after the valid
		// calls that lead to it.
		call       func(c client, sess centralauthtest.Session) answer
		wantStatus int
		wantCode   string // errorCode; "" for the login page's plain text
		wantWhy    string // in the violation
	}{
		{
			name: "a plain PKCE challenge",
			call: func(c client, _ centralauthtest.Session) answer {
				_, a := c.login("code_challenge_method", "plain", "code_challenge", verifier)
				return a
			},
			wantStatus: http.StatusBadRequest, wantWhy: "code_challenge_method must be S256 (codeChallengeInvalid)",
		},
		{
			name: "a reused code",
			call: func(c client, _ centralauthtest.Session) answer {
				code, _ := c.login()
				if a := c.verify(validAuth, code, redirectURI, verifier); a.status != http.StatusOK {
					c.t.Fatalf("first exchange: %+v", a)
				}
				return c.verify(validAuth, code, redirectURI, verifier)
			},
			wantStatus: http.StatusBadRequest, wantCode: "tokenInvalid", wantWhy: "the code is unknown or was used already",
		},
		{
			name: "a different redirect_uri",
			call: func(c client, _ centralauthtest.Session) answer {
				code, _ := c.login()
				return c.verify(validAuth, code, "http://127.0.0.1:8080/other", verifier)
			},
			wantStatus: http.StatusBadRequest, wantCode: "genericError", wantWhy: "redirect_uri differs from the login's",
		},
		{
			name: "a verifier that is not the challenge's",
			call: func(c client, _ centralauthtest.Session) answer {
				code, _ := c.login()
				return c.verify(validAuth, code, redirectURI, strings.Repeat("v", 43))
			},
			wantStatus: http.StatusBadRequest, wantCode: "genericError", wantWhy: "code_verifier does not match",
		},
		{
			name: "a URL-escaped Basic header",
			call: func(c client, sess centralauthtest.Session) answer {
				return c.post("/api/v1/logout", basicAuth(url.QueryEscape(clientID+":"), clientSecret), "text/plain", sess.AccessToken)
			},
			wantStatus: http.StatusUnauthorized, wantCode: "noPermission", wantWhy: "Authorization header",
		},
		{
			name: "a wrong client secret",
			call: func(c client, sess centralauthtest.Session) answer {
				return c.post("/api/v1/userinfo?domain=http://127.0.0.1:8080", basicAuth(clientID, "other"), "text/plain", sess.AccessToken)
			},
			wantStatus: http.StatusUnauthorized, wantCode: "noPermission", wantWhy: "Authorization header",
		},
		{
			name: "a JSON logout body",
			call: func(c client, sess centralauthtest.Session) answer {
				return c.post("/api/v1/logout", validAuth, "application/json", `{"token":"`+sess.AccessToken+`"}`)
			},
			wantStatus: http.StatusBadRequest, wantCode: "genericError", wantWhy: "Content-Type must be text/plain",
		},
		{
			name: "a JSON logout body sent as text/plain",
			call: func(c client, sess centralauthtest.Session) answer {
				return c.post("/api/v1/logout", validAuth, "text/plain", `{"token":"`+sess.AccessToken+`"}`)
			},
			wantStatus: http.StatusBadRequest, wantCode: "tokenInvalid", wantWhy: "the token alone, as raw text",
		},
		{
			name: "a logout without a token",
			call: func(c client, _ centralauthtest.Session) answer {
				return c.post("/api/v1/logout", validAuth, "text/plain", "")
			},
			wantStatus: http.StatusBadRequest, wantCode: "tokenMissing", wantWhy: "must contain the token",
		},
		{
			name: "a userinfo domain that is not an origin",
			call: func(c client, sess centralauthtest.Session) answer {
				return c.post("/api/v1/userinfo?domain=127.0.0.1:8080", validAuth, "text/plain", sess.AccessToken)
			},
			wantStatus: http.StatusForbidden, wantCode: "domainInvalid", wantWhy: "domain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca, err := centralauthtest.NewServer(clientID, clientSecret)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(ca.Close)
			c := client{t: t, ca: ca}
			sess := ca.SignIn("ada@example.com")

			a := tt.call(c, sess)
			if a.status != tt.wantStatus || a.errorCode != tt.wantCode {
				t.Errorf("answer %d %q, want %d %q (%s)", a.status, a.errorCode, tt.wantStatus, tt.wantCode, a.body)
			}
			v := ca.Violations()
			if len(v) != 1 || !strings.Contains(v[0], tt.wantWhy) {
				t.Fatalf("violations %q, want one that says %q", v, tt.wantWhy)
			}
			calls := ca.Calls()
			if last := calls[len(calls)-1]; last.Violation == "" || !strings.Contains(v[0], last.Violation) || last.Status != tt.wantStatus {
				t.Errorf("the last call %+v is not the violation %q", last, v[0])
			}
			if !ca.Active(sess.AccessToken) {
				t.Error("a call that broke the contract ended the session")
			}
		})
	}
}

// TestContractKept runs every call as the contract says, and then the
// calls that fail without breaking it: none is a violation.
func TestContractKept(t *testing.T) {
	ca := centralauthtest.Start(t, clientID, clientSecret, centralauthtest.WithAppDomains("http://127.0.0.1:8080"))
	c := client{t: t, ca: ca}
	code, _ := c.login()
	if a := c.verify(validAuth, code, redirectURI, verifier); a.status != http.StatusOK {
		t.Fatalf("verify: %+v", a)
	}
	var sess centralauthtest.Session
	for s := range ca.Sessions() {
		sess = s
		break
	}
	steps := []struct {
		name       string
		call       func() answer
		wantStatus int
	}{
		{"userinfo", func() answer {
			return c.post("/api/v1/userinfo?domain=http://127.0.0.1:8080", validAuth, "text/plain", sess.IDToken)
		}, http.StatusOK},
		{"logout", func() answer {
			return c.post("/api/v1/logout", validAuth, "text/plain; charset=utf-8", sess.AccessToken)
		}, http.StatusOK},
		{"userinfo of the ended session", func() answer {
			return c.post("/api/v1/userinfo?domain=http://127.0.0.1:8080", validAuth, "text/plain", sess.AccessToken)
		}, http.StatusUnauthorized},
		{"logout of a token CentralAuth does not know", func() answer {
			return c.post("/api/v1/logout", validAuth, "text/plain", "eyJhbGciOiJkaXIifQ..x.y.z")
		}, http.StatusBadRequest},
		{"a code exchanged after its session ended", func() answer {
			code, _ := c.login("email", "bob@example.com")
			for s := range ca.Sessions() {
				ca.EndSession(s.AccessToken)
				break
			}
			return c.verify(validAuth, code, redirectURI, verifier)
		}, http.StatusBadRequest},
	}
	for _, st := range steps {
		if a := st.call(); a.status != st.wantStatus {
			t.Errorf("%s: %+v, want %d", st.name, a, st.wantStatus)
		}
	}
	if v := ca.Violations(); len(v) != 0 {
		t.Errorf("violations %q, want none", v)
	}
}

// TestStartReportsViolations: a test that broke the contract fails at its
// end, with the violations; one that kept it does not.
func TestStartReportsViolations(t *testing.T) {
	for _, broken := range []bool{false, true} {
		t.Run(fmt.Sprint("broken=", broken), func(t *testing.T) {
			rt := &recordingTB{TB: t}
			ca := centralauthtest.Start(rt, clientID, clientSecret)
			sess := ca.SignIn("ada@example.com")
			c := client{t: t, ca: ca}
			auth := validAuth
			if broken {
				auth = basicAuth(clientID, "wrong")
			}
			c.post("/api/v1/logout", auth, "text/plain", sess.AccessToken)
			rt.end()
			if failed := len(rt.errors) > 0; failed != broken {
				t.Fatalf("errors %q, want the test failed: %v", rt.errors, broken)
			}
			if broken && (!strings.Contains(rt.errors[0], "POST /api/v1/logout: 401") || strings.Contains(rt.errors[0], clientSecret)) {
				t.Errorf("error %q does not name the call, or quotes the secret", rt.errors[0])
			}
			if _, err := http.Get(ca.URL()); err == nil {
				t.Error("the fake still serves after the test's end")
			}
		})
	}
}

// recordingTB is a test whose end the test runs by hand.
type recordingTB struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// TestCallsHoldNoSecret: what a test reads of the calls, and the
// violations it prints, never hold a token, a code, a verifier or the
// credentials, even for calls that broke the contract.
func TestCallsHoldNoSecret(t *testing.T) {
	ca, err := centralauthtest.NewServer(clientID, clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.Close)
	c := client{t: t, ca: ca}
	code, _ := c.login()
	c.verify(validAuth, code, redirectURI, verifier)
	c.verify(validAuth, code, redirectURI, verifier) // a violation
	var sess centralauthtest.Session
	for s := range ca.Sessions() {
		sess = s
	}
	c.post("/api/v1/userinfo?domain=http://127.0.0.1:8080", validAuth, "text/plain", sess.AccessToken)
	c.post("/api/v1/logout", basicAuth(clientID, "wrong"), "text/plain", sess.IDToken)          // a violation
	c.post("/api/v1/logout", validAuth, "application/json", `{"token":"`+sess.AccessToken+`"}`) // a violation
	c.post("/api/v1/logout", validAuth, "text/plain", sess.AccessToken)

	seen := fmt.Sprintf("%+v\n%q", ca.Calls(), ca.Violations())
	for name, secret := range map[string]string{
		"access token": sess.AccessToken, "ID token": sess.IDToken, "code": code, "verifier": verifier,
		"client secret": clientSecret, "credentials": strings.TrimPrefix(validAuth, "Basic "),
	} {
		if strings.Contains(seen, secret) {
			t.Errorf("the calls or violations hold the %s:\n%s", name, seen)
		}
	}
	if n := len(ca.Violations()); n != 3 {
		t.Errorf("%d violations, want 3", n)
	}
}
