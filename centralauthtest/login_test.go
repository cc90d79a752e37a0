package centralauthtest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"http://127.0.0.1:8080/auth/callback", true},
		{"http://127.0.0.1/cb?x=1", true},
		{"http://127.1.2.3:9/cb", true},
		{"http://localhost:8081/cb", true},
		{"http://LOCALHOST:8081/cb", true},
		{"http://[::1]:8081/cb", true},
		{"https://127.0.0.1:8443/cb", true},
		{"", false},
		{"https://evil.example/cb", false},
		{"http://127.0.0.1.evil.example/cb", false},
		{"http://localhost.evil.example/cb", false},
		{"http://10.0.0.1/cb", false},
		{"http://0.0.0.0:8080/cb", false},
		{"http://[::ffff:127.0.0.1]/cb", true}, // an IPv4 loopback address, mapped
		{"http://user@127.0.0.1:8080/cb", false},
		{"http://127.0.0.1:8080/cb#frag", false},
		{"http://127.0.0.1:8080", false},
		{"http://127.0.0.1:8080//evil.example/cb", false},
		{"http://127.0.0.1:/cb", false},
		{"//127.0.0.1:8080/cb", false},
		{"/auth/callback", false},
		{"javascript:alert(1)//127.0.0.1/", false},
		{"ftp://127.0.0.1/cb", false},
		{"http://127.0.0.1:8080/" + strings.Repeat("a", 2048), false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, problem := checkRedirectURI(tt.raw)
			if ok := problem == ""; ok != tt.ok {
				t.Errorf("checkRedirectURI(%q): problem %q, want accepted: %v", tt.raw, problem, tt.ok)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	tests := []struct {
		name       string
		query      url.Values
		wantStatus int
		wantBody   string // a substring of the answer
	}{
		{"valid request shows the form", loginQuery(), http.StatusOK, `name="email" value="demo@example.test"`},
		{"the email parameter prefills the form", loginQuery("email", "ada@example.com"), http.StatusOK, `name="email" value="ada@example.com"`},
		{"state is carried in the form", loginQuery("state", `a"b<c`), http.StatusOK, `name="state" value="a&#34;b&lt;c"`},
		{"unknown client", loginQuery("client_id", "other"), http.StatusBadRequest, "unknown client_id"},
		{"no client", loginQuery("client_id", ""), http.StatusBadRequest, "unknown client_id"},
		{"no redirect_uri", loginQuery("redirect_uri", ""), http.StatusBadRequest, "redirect_uri"},
		{"redirect_uri off loopback", loginQuery("redirect_uri", "https://evil.example/cb"), http.StatusBadRequest, "loopback"},
		{"no state", loginQuery("state", ""), http.StatusBadRequest, "state"},
		{"state too long", loginQuery("state", strings.Repeat("s", maxState+1)), http.StatusBadRequest, "state"},
		{"no response_type", loginQuery("response_type", ""), http.StatusBadRequest, "response_type"},
		{"no PKCE challenge", loginQuery("code_challenge", ""), http.StatusBadRequest, "code_challenge"},
		{"a plain PKCE challenge", loginQuery("code_challenge_method", "plain", "code_challenge", testVerifier), http.StatusBadRequest, "S256"},
		{"no challenge method", loginQuery("code_challenge_method", ""), http.StatusBadRequest, "S256"},
		{"a challenge that is not a SHA-256", loginQuery("code_challenge", "short"), http.StatusBadRequest, "code_challenge"},
		{"the challenge is carried in the form", loginQuery(), http.StatusOK, `name="code_challenge" value="` + testChallenge + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			resp := getLogin(t, ca, tt.query, "")
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.status, tt.wantStatus, resp.body)
			}
			if !strings.Contains(resp.body, tt.wantBody) {
				t.Errorf("body does not contain %q:\n%s", tt.wantBody, resp.body)
			}
			if loc := resp.header.Get("Location"); loc != "" {
				t.Errorf("Location = %q, want none: a login page never redirects before sign-in", loc)
			}
			if sc := resp.header.Get("Set-Cookie"); sc != "" {
				t.Errorf("Set-Cookie = %q, want none before sign-in", sc)
			}
			if tt.wantStatus == http.StatusOK {
				if csp := resp.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy = %q, want default-src 'none' (no script)", csp)
				}
				if strings.Contains(resp.body, "<script") {
					t.Error("the login page has a script; it must work without JavaScript")
				}
			}
			if n := count(ca); n != 0 {
				t.Errorf("GET started %d sessions, want 0", n)
			}
			// Every refused login request is the app's mistake.
			if v := ca.Violations(); (len(v) == 1) != (tt.wantStatus != http.StatusOK) || len(v) > 1 {
				t.Errorf("violations %q for a %d", v, resp.status)
			}
		})
	}
}

func TestLoginSubmit(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		header     map[string]string // overrides the same-origin request's headers
		wantStatus int
		wantEmail  string // of the session started; "" for none
		// wantViolation says that the app broke CentralAuth's contract;
		// what the user types and cross-site requests are not the app's.
		wantViolation bool
	}{
		{name: "signs in", form: loginQuery("email", "ada@example.com"), wantStatus: http.StatusSeeOther, wantEmail: "ada@example.com"},
		{name: "the email is taken as typed", form: loginQuery("email", "alice@example.com"), wantStatus: http.StatusSeeOther, wantEmail: "alice@example.com"},
		{name: "the email is trimmed", form: loginQuery("email", "  ada@example.com "), wantStatus: http.StatusSeeOther, wantEmail: "ada@example.com"},
		{name: "no Fetch Metadata, same Origin", form: loginQuery("email", "ada@example.com"),
			header: map[string]string{"Sec-Fetch-Site": "", "Origin": "{fake}"}, wantStatus: http.StatusSeeOther, wantEmail: "ada@example.com"},
		{name: "cross-site POST", form: loginQuery("email", "mallory@example.com"),
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: http.StatusForbidden},
		{name: "same-site POST from another port", form: loginQuery("email", "mallory@example.com"),
			header: map[string]string{"Sec-Fetch-Site": "same-site"}, wantStatus: http.StatusForbidden},
		{name: "foreign Origin without Fetch Metadata", form: loginQuery("email", "mallory@example.com"),
			header: map[string]string{"Sec-Fetch-Site": "", "Origin": "http://evil.example"}, wantStatus: http.StatusForbidden},
		{name: "empty email", form: loginQuery("email", " "), wantStatus: http.StatusBadRequest},
		{name: "email too long", form: loginQuery("email", strings.Repeat("u", maxEmail+1)), wantStatus: http.StatusBadRequest},
		{name: "control character in the email", form: loginQuery("email", "a\nb@example.com"), wantStatus: http.StatusBadRequest},
		{name: "redirect_uri off loopback", form: loginQuery("email", "ada@example.com", "redirect_uri", "https://evil.example/cb"), wantStatus: http.StatusBadRequest, wantViolation: true},
		{name: "unknown client", form: loginQuery("email", "ada@example.com", "client_id", "x"), wantStatus: http.StatusBadRequest, wantViolation: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			req, _ := http.NewRequest(http.MethodPost, ca.URL()+loginPath, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			for k, v := range tt.header {
				req.Header.Set(k, strings.ReplaceAll(v, "{fake}", ca.URL()))
				if v == "" {
					req.Header.Del(k)
				}
			}
			resp := send(t, req)
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.status, tt.wantStatus, resp.body)
			}
			if v := ca.Violations(); (len(v) == 1) != tt.wantViolation || len(v) > 1 {
				t.Errorf("violations %q, want one: %v", v, tt.wantViolation)
			}
			sessions := slices.Collect(ca.Sessions())
			if tt.wantEmail == "" {
				if len(sessions) != 0 || resp.header.Get("Location") != "" || resp.header.Get("Set-Cookie") != "" {
					t.Errorf("refused sign-in left sessions %+v, Location %q, Set-Cookie %q",
						sessions, resp.header.Get("Location"), resp.header.Get("Set-Cookie"))
				}
				return
			}
			if len(sessions) != 1 || sessions[0].Email != tt.wantEmail || !sessions[0].Active {
				t.Fatalf("sessions = %+v, want one active session of %q", sessions, tt.wantEmail)
			}
			codeFrom(t, resp)
			var ck *http.Cookie
			for _, c := range (&http.Response{Header: resp.header}).Cookies() {
				if c.Name == autologinCookie {
					ck = c
				}
			}
			if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || len(ck.Value) < 32 {
				t.Errorf("provider cookie = %+v, want an HttpOnly, SameSite=Lax, Path=/ random value", ck)
			}
			if ck != nil && strings.Contains(ck.Value, sessions[0].ID) {
				t.Error("the provider cookie holds the session ID, which apps display")
			}
		})
	}
}

func TestLoginKeepsRedirectQuery(t *testing.T) {
	ca := newFake(t)
	resp := postLogin(t, ca, loginQuery("email", "ada@example.com", "redirect_uri", testRedirect+"?app=a"))
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil || resp.status != http.StatusSeeOther {
		t.Fatalf("got %d, Location %q (%v)", resp.status, resp.header.Get("Location"), err)
	}
	q := loc.Query()
	if q.Get("app") != "a" || q.Get("code") == "" || q.Get("state") != testState {
		t.Errorf("Location query = %v, want app=a, a code and the state", q)
	}
}

func TestAutologin(t *testing.T) {
	ca := newFake(t)
	first, cookie := signIn(t, ca, "ada@example.com")
	s := newest(t, ca)

	t.Run("second app signs in without asking", func(t *testing.T) {
		resp := getLogin(t, ca, loginQuery("redirect_uri", "http://127.0.0.1:8081/auth/callback"), cookie)
		if resp.status != http.StatusSeeOther {
			t.Fatalf("status = %d, want 303 (body %q)", resp.status, resp.body)
		}
		loc, _ := url.Parse(resp.header.Get("Location"))
		if loc.Host != "127.0.0.1:8081" {
			t.Errorf("redirected to %q, want the second app", loc)
		}
		code := loc.Query().Get("code")
		if code == "" || code == first {
			t.Fatalf("code = %q, want a fresh code", code)
		}
		if n := count(ca); n != 1 {
			t.Errorf("%d sessions, want autologin to reuse the one", n)
		}
		resp = verify(t, ca, basic(testID, testSecret), formType, code, "redirect_uri", "http://127.0.0.1:8081/auth/callback")
		if resp.status != http.StatusOK || !strings.Contains(resp.body, s.AccessToken) {
			t.Errorf("verify = %d %q, want the session's tokens", resp.status, resp.body)
		}
	})
	t.Run("a bad redirect_uri is refused even with a session", func(t *testing.T) {
		resp := getLogin(t, ca, loginQuery("redirect_uri", "https://evil.example/cb"), cookie)
		if resp.status != http.StatusBadRequest || resp.header.Get("Location") != "" {
			t.Errorf("got %d, Location %q; want 400 and no redirect", resp.status, resp.header.Get("Location"))
		}
	})
	t.Run("unknown cookie shows the form", func(t *testing.T) {
		resp := getLogin(t, ca, loginQuery(), "forged")
		if resp.status != http.StatusOK || !strings.Contains(resp.body, `id="sign-in"`) {
			t.Errorf("got %d, want the form", resp.status)
		}
	})
	t.Run("ended session shows the form", func(t *testing.T) {
		do(testCtx(t), ca, logoutRequest(s.AccessToken))
		resp := getLogin(t, ca, loginQuery(), cookie)
		if resp.status != http.StatusOK || !strings.Contains(resp.body, `id="sign-in"`) {
			t.Errorf("got %d, want the form after logout", resp.status)
		}
	})
}

func TestLoginMethods(t *testing.T) {
	ca := newFake(t)
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			req, _ := http.NewRequest(method, ca.URL()+loginPath+"?"+loginQuery().Encode(), nil)
			resp := send(t, req)
			if resp.status != http.StatusMethodNotAllowed || resp.header.Get("Allow") != "GET, POST" {
				t.Errorf("got %d, Allow %q; want 405 with Allow: GET, POST", resp.status, resp.header.Get("Allow"))
			}
		})
	}
}

func TestLoginCallsAreRecorded(t *testing.T) {
	ca := newFake(t)
	code, _ := signIn(t, ca, "ada@example.com")
	verify(t, ca, basic(testID, testSecret), formType, code)
	s := newest(t, ca)
	do(testCtx(t), ca, userInfoRequest("https://app.example.test", s.AccessToken))

	want := []struct {
		method, path string
		status       int
	}{
		{http.MethodPost, loginPath, http.StatusSeeOther},
		{http.MethodPost, verifyPath, http.StatusOK},
		{http.MethodPost, userInfoPath, http.StatusOK},
	}
	got := ca.Calls()
	if len(got) != len(want) {
		t.Fatalf("recorded %d calls, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Method != w.method || got[i].Path != w.path || got[i].Status != w.status {
			t.Errorf("call %d = %s %s %d, want %s %s %d", i, got[i].Method, got[i].Path, got[i].Status, w.method, w.path, w.status)
		}
	}
	if got[1].SessionID != s.ID || got[1].Token != "" || got[2].SessionID != s.ID || got[2].Token != "access" {
		t.Errorf("calls do not name the session of the code and of the token: %+v", got[1:])
	}
}

func TestFailNextLogin(t *testing.T) {
	ca := newFake(t)
	ca.FailNextLogin("access_denied", "the user cancelled")
	resp := getLogin(t, ca, loginQuery(), "")
	loc, _ := url.Parse(resp.header.Get("Location"))
	q := loc.Query()
	if resp.status != http.StatusSeeOther || q.Get("error") != "access_denied" || q.Get("error_description") != "the user cancelled" ||
		q.Get("state") != testState || q.Get("code") != "" {
		t.Fatalf("login = %d to %q, want the error sent back with the state and no code", resp.status, loc)
	}
	if resp := getLogin(t, ca, loginQuery(), ""); resp.status != http.StatusOK {
		t.Fatalf("the next login: %d, want the sign-in page: the failure is once", resp.status)
	}
}
