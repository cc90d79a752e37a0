package centralauthtest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/remote"
)

// The tests in this file use only the package's public API, with the
// library's own client, as a user's tests would.

func newClient(t *testing.T, ca *centralauthtest.Server, opts ...remote.Option) *remote.Client {
	t.Helper()
	c, err := remote.NewClient(clientID, clientSecret, append([]remote.Option{
		remote.WithBaseURL(ca.URL()), remote.WithAppOrigin("http://127.0.0.1:8080"),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFaults makes CentralAuth fail each way a Fault can, and checks what
// the library's client sees, and that ClearFaults brings CentralAuth back.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  centralauthtest.Fault
		opts   []remote.Option
		wait   time.Duration // how long the client waits; 0 for the test's deadline
		check  func(t *testing.T, err error)
		status int // recorded for the failed call; 0 for no answer
	}{
		{
			name:  "rate limited with Retry-After",
			fault: centralauthtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7", Times: 10},
			opts:  []remote.Option{remote.WithRetries(0)},
			check: func(t *testing.T, err error) {
				e, ok := errors.AsType[*remote.Error](err)
				if !ok || e.StatusCode != http.StatusTooManyRequests || e.Code != "tooManyRequests" || e.RetryAfter != 7*time.Second {
					t.Errorf("Logout = %v, want a 429 tooManyRequests with Retry-After 7s", err)
				}
			},
			status: http.StatusTooManyRequests,
		},
		{
			name:  "a dropped connection",
			fault: centralauthtest.Fault{DropConnection: true, Times: 10},
			opts:  []remote.Option{remote.WithRetries(0)},
			check: func(t *testing.T, err error) {
				if err == nil || !remote.IsRetryable(err) {
					t.Errorf("Logout = %v, want a retryable transport error", err)
				}
			},
		},
		{
			name:  "a slow answer",
			fault: centralauthtest.Fault{Delay: time.Hour, Times: 10},
			opts:  []remote.Option{remote.WithRetries(0)},
			wait:  50 * time.Millisecond,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Logout = %v, want context.DeadlineExceeded", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := centralauthtest.Start(t, clientID, clientSecret)
			sess := ca.SignIn("ada@example.com")
			c := newClient(t, ca, tt.opts...)
			ca.InjectFault(tt.fault)

			callCtx := t.Context()
			if tt.wait > 0 {
				var cancel context.CancelFunc
				callCtx, cancel = context.WithTimeout(callCtx, tt.wait)
				defer cancel()
			}
			tt.check(t, c.Logout(callCtx, sess.AccessToken))
			if !ca.Active(sess.AccessToken) {
				t.Error("a failed logout ended the session")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := ca.WaitCalls(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if got := ca.Calls()[0]; got.Path != "/api/v1/logout" || got.Status != tt.status {
				t.Errorf("call %+v, want the logout with status %d", got, tt.status)
			}

			ca.ClearFaults()
			if err := c.Logout(t.Context(), sess.AccessToken); err != nil || ca.Active(sess.IDToken) {
				t.Fatalf("after ClearFaults: Logout = %v, session active %v", err, ca.Active(sess.IDToken))
			}
		})
	}
}

// TestWaitCallsSeesAHeldCall holds a call with a Fault's Block, waits for it to arrive,
// and lets it through.
func TestWaitCallsSeesAHeldCall(t *testing.T) {
	ca := centralauthtest.Start(t, clientID, clientSecret)
	sess := ca.SignIn("ada@example.com")
	c := newClient(t, ca)
	release := make(chan struct{})
	ca.InjectFault(centralauthtest.Fault{Block: release})
	done := make(chan error, 1)
	go func() {
		_, err := c.UserInfo(context.Background(), sess.AccessToken, remote.EndUser{IP: netip.MustParseAddr("203.0.113.7"), UserAgent: "test"})
		done <- err
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := ca.WaitCalls(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := ca.Calls()[0]; got.Status != 0 || got.SessionID != "" {
		t.Errorf("a held call = %+v, want no answer yet", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("UserInfo after the release = %v", err)
	}
	got := ca.Calls()[0]
	if got.Status != http.StatusOK || got.SessionID != sess.ID || got.Token != "access" || got.AuthIP != "203.0.113.7" {
		t.Errorf("call %+v, want the userinfo of %s, answered", got, sess.ID)
	}
}

// browser is a user agent with cookies that stops at each redirect.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return browser{t: t, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login opens the login page for the app at redirect, posts the form with
// email if the page shows it, and returns where CentralAuth sends the
// browser back, and whether it asked.
func (b browser) login(c *remote.Client, redirect, email string) (back *url.URL, asked bool) {
	b.t.Helper()
	loginURL := c.LoginURL(redirect, "st", s256(verifier))
	resp, err := b.hc.Get(loginURL)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK { // the form
		asked = true
		u, _ := url.Parse(loginURL)
		form := u.Query()
		form.Set("email", email)
		if resp, err = b.hc.PostForm(strings.Split(loginURL, "?")[0], form); err != nil {
			b.t.Fatal(err)
		}
		resp.Body.Close()
	}
	back, err = resp.Location()
	if err != nil {
		b.t.Fatalf("CentralAuth answered %d, not a redirect back", resp.StatusCode)
	}
	return back, asked
}

// TestLoginPageAndAutologin signs a browser in through the login page on
// one app, then on another app of the organization without being asked;
// until the session ends, and except when the next login is made to fail.
func TestLoginPageAndAutologin(t *testing.T) {
	ca := centralauthtest.Start(t, clientID, clientSecret)
	c := newClient(t, ca)
	ca.SetTokenExpiry(time.Hour, 0)
	const appA, appB = "http://127.0.0.1:8080/auth/callback", "http://127.0.0.1:8081/auth/callback"
	b := newBrowser(t)

	back, asked := b.login(c, appA, "ada@example.com")
	if !asked {
		t.Fatal("the first login did not show the sign-in page")
	}
	start := time.Now()
	tokA, err := c.Exchange(t.Context(), back.Query().Get("code"), appA, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if tokA.Expires.Before(start.Add(time.Hour)) || tokA.Expires.After(time.Now().Add(time.Hour)) {
		t.Errorf("Expires %v, want an hour from the exchange (SetTokenExpiry)", tokA.Expires)
	}
	u, err := c.UserInfo(t.Context(), tokA.AccessToken, remote.EndUser{})
	if err != nil || u.Email != "ada@example.com" {
		t.Fatalf("UserInfo = %+v, %v; want ada@example.com, as typed", u, err)
	}

	back, asked = b.login(c, appB, "")
	if asked {
		t.Fatal("autologin: the second app's login showed the sign-in page")
	}
	tokB, err := c.Exchange(t.Context(), back.Query().Get("code"), appB, verifier)
	if err != nil || tokB.AccessToken != tokA.AccessToken {
		t.Fatalf("the second app's exchange = %v; want the same session's tokens", err)
	}

	ca.FailNextLogin("access_denied", "the user cancelled")
	back, _ = b.login(c, appB, "")
	if q := back.Query(); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Errorf("FailNextLogin: sent back to %v, want the error and no code", back)
	}

	if !ca.EndSession(tokB.IDToken) {
		t.Fatal("EndSession: the token is unknown")
	}
	if _, err := c.UserInfo(t.Context(), tokA.AccessToken, remote.EndUser{}); !remote.IsSessionEnded(err) {
		t.Errorf("UserInfo after EndSession = %v, want the session ended", err)
	}
	if _, asked = b.login(c, appA, "ada@example.com"); !asked {
		t.Error("after the session ended, autologin did not ask again")
	}
}
