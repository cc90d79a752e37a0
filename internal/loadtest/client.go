package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The steps of one iteration, as the results name them.
const (
	opLogin  = "login"
	opLogout = "logout"
	opCheck  = "check"
)

var ops = []string{opLogin, opLogout, opCheck}

// client is one browser: its own cookie jar, its own connections.
type client struct {
	id      int
	target  string
	mode    string
	browser *http.Client // follows redirects, keeps cookies
	bare    *http.Client // neither: one request, as sent
	res     *result
}

var (
	reLoggedIn  = regexp.MustCompile(`id="status" data-state="logged-in"`)
	reLoggedOut = regexp.MustCompile(`id="status" data-state="logged-out"`)
	reHidden    = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
)

func newClient(id int, target, mode string, transport http.RoundTripper, res *result) *client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &client{
		id:      id,
		target:  target,
		mode:    mode,
		browser: &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second},
		bare: &http.Client{Transport: transport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		res: res,
	}
}

// iterate logs in, logs out, and checks that the old cookie is dead.
func (c *client) iterate(ctx context.Context) error {
	start := time.Now()
	cookie, err := c.login(ctx)
	c.res.record(opLogin, time.Since(start), err)
	if err != nil {
		return err
	}

	path := "/logout"
	if c.mode == "everywhere" {
		path = "/logout/everywhere"
	}
	start = time.Now()
	err = c.logout(ctx, path)
	c.res.record(opLogout, time.Since(start), err)
	if err != nil {
		return err
	}

	start = time.Now()
	alive, err := c.replay(ctx, cookie)
	c.res.record(opCheck, time.Since(start), err)
	if alive {
		c.res.survivor()
	}
	return err
}

// login runs the demo login: the app sends the browser to CentralAuth,
// which either signs it in again at once (autologin) or shows its form.
func (c *client) login(ctx context.Context) (*http.Cookie, error) {
	page, final, err := c.get(ctx, c.target+"/login")
	if err != nil {
		return nil, err
	}
	if !reLoggedIn.MatchString(page) {
		form := url.Values{"email": {fmt.Sprintf("load-%d@example.com", c.id)}}
		for _, m := range reHidden.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if form.Get("redirect_uri") == "" {
			return nil, fmt.Errorf("login: neither logged in nor at CentralAuth's form (at %s)", final)
		}
		page, _, err = c.do(ctx, http.MethodPost, final, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		if !reLoggedIn.MatchString(page) {
			return nil, errors.New("login: the app does not show a login after CentralAuth's form")
		}
	}
	u, _ := url.Parse(c.target)
	for _, ck := range c.browser.Jar.Cookies(u) {
		if strings.HasSuffix(ck.Name, "_session") {
			return ck, nil
		}
	}
	return nil, errors.New("login: no session cookie in the jar")
}

func (c *client) logout(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target+path, nil)
	if err != nil {
		return err
	}
	u, _ := url.Parse(c.target)
	for _, ck := range c.browser.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := c.bare.Do(req)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("logout: status %d, want 303", resp.StatusCode)
	}
	// Apply the clearing Set-Cookie, as a browser would.
	c.browser.Jar.SetCookies(u, resp.Cookies())
	return nil
}

// replay sends the cookie from before the logout, as a thief who copied it
// would, and reports whether the app still accepts it.
func (c *client) replay(ctx context.Context, old *http.Cookie) (alive bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.target+"/", nil)
	if err != nil {
		return false, err
	}
	req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
	resp, err := c.bare.Do(req)
	if err != nil {
		return false, err
	}
	body, err := readBody(resp)
	switch {
	case err != nil:
		return false, err
	case reLoggedIn.MatchString(body):
		return true, nil
	case !reLoggedOut.MatchString(body):
		return false, fmt.Errorf("check: status %d and no login state on the page", resp.StatusCode)
	}
	return false, nil
}

func (c *client) get(ctx context.Context, u string) (string, string, error) {
	return c.do(ctx, http.MethodGet, u, nil)
}

// do sends a request as the browser, following redirects, and returns the
// final page and its URL.
func (c *client) do(ctx context.Context, method, u string, form io.Reader) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, form)
	if err != nil {
		return "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.browser.Do(req)
	if err != nil {
		return "", "", err
	}
	body, err := readBody(resp)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: status %d", method, resp.Request.URL.Path, resp.StatusCode)
	}
	return body, resp.Request.URL.String(), err
}

// maxPage bounds what is read of a page.
const maxPage = 1 << 20

func readBody(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	return string(b), err
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPage))
	resp.Body.Close()
}

// drive runs the clients until the duration or their iteration budget is
// spent, then returns the merged results.
func drive(ctx context.Context, target string, o options) *result {
	// The duration decides when no new iteration starts; one that started
	// runs to its end, so that no session is left logged in halfway.
	timeUp, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	inner := &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2, MaxIdleConns: o.concurrency * 4}
	defer inner.CloseIdleConnections()
	res := newResult()
	// A step is several HTTP requests (a login follows 4 to 6 redirects
	// and forms); this counts each one.
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res.requests.Add(1)
		return inner.RoundTrip(r)
	})

	start := time.Now()
	var wg sync.WaitGroup
	for i := range o.concurrency {
		wg.Go(func() {
			c := newClient(i, target, o.mode, transport, res)
			for n := 0; n < o.iterations && timeUp.Err() == nil; n++ {
				if err := c.iterate(ctx); err == nil {
					res.iterated()
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
