package demo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// provider is the example's small client for the CentralAuth endpoints
// around login: the login page, the code exchange (verify) and the session
// check (userinfo). Logout goes through package remote instead. Tokens,
// codes and the client secret never appear in its errors.
type provider struct {
	base      *url.URL
	clientID  string
	basicAuth string // "Basic base64(id:secret)", as CentralAuth expects it
	hc        *http.Client
}

// maxAnswer bounds what the client reads of an answer.
const maxAnswer = 64 << 10

// errSessionEnded is what userInfo returns when CentralAuth says that the
// token's session is over: logged out (maybe everywhere, from another app),
// expired, or unknown.
var errSessionEnded = errors.New("centralauth: the session has ended")

// tokens is the answer of a code exchange.
type tokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// userInfo is the answer of a session check.
type userInfo struct {
	User      string `json:"user"`
	SessionID string `json:"session_id"`
}

// newProvider returns a client for the CentralAuth at base. A nil hc gets a
// client that times out after 10 s and never follows redirects, so that a
// token is only ever sent where it was meant to go.
func newProvider(base, clientID, clientSecret string, hc *http.Client) (*provider, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("centralauth: base URL must be an absolute http(s) URL")
	}
	if hc == nil {
		hc = &http.Client{
			Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &provider{
		base:      u,
		clientID:  clientID,
		basicAuth: "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret)),
		hc:        hc,
	}, nil
}

// origin is the provider's scheme and host, for the pages' CSP.
func (p *provider) origin() string { return p.base.Scheme + "://" + p.base.Host }

// loginURL is where the browser goes to sign in; CentralAuth sends it back
// to redirectURI with a code and the state.
func (p *provider) loginURL(redirectURI, state string) string {
	u := p.base.JoinPath("login")
	u.RawQuery = url.Values{
		"client_id":    {p.clientID},
		"redirect_uri": {redirectURI},
		"state":        {state},
	}.Encode()
	return u.String()
}

// exchange trades a login code for the session's tokens.
func (p *provider) exchange(ctx context.Context, code string) (tokens, error) {
	var t tokens
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		p.base.JoinPath("api", "v1", "verify").String(), strings.NewReader(code))
	if err != nil {
		return t, fmt.Errorf("centralauth: verify: %w", err)
	}
	req.Header.Set("Authorization", p.basicAuth)
	req.Header.Set("Content-Type", "text/plain")
	status, body, err := p.do(req)
	if err != nil {
		return t, fmt.Errorf("centralauth: verify: %w", err)
	}
	if status != http.StatusOK {
		return t, fmt.Errorf("centralauth: verify: status %d%s", status, errorCodeOf(body))
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return tokens{}, errors.New("centralauth: verify: the answer holds no access token")
	}
	return t, nil
}

// userInfo asks CentralAuth whether token's session is still active. It
// returns errSessionEnded when CentralAuth says it is not, and another
// error when CentralAuth could not say (unreachable, slow, 5xx): the caller
// must not take that for a logout.
func (p *provider) userInfo(ctx context.Context, token string) (userInfo, error) {
	var info userInfo
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base.JoinPath("api", "v1", "userinfo").String(), nil)
	if err != nil {
		return info, fmt.Errorf("centralauth: userinfo: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	status, body, err := p.do(req)
	switch {
	case err != nil:
		return info, fmt.Errorf("centralauth: userinfo: %w", err)
	case status == http.StatusOK:
		if err := json.Unmarshal(body, &info); err != nil {
			return userInfo{}, errors.New("centralauth: userinfo: unreadable answer")
		}
		return info, nil
	case status == http.StatusUnauthorized && sessionOver(body):
		return info, errSessionEnded
	}
	return info, fmt.Errorf("centralauth: userinfo: status %d%s", status, errorCodeOf(body))
}

// do sends req and reads a bounded answer. Transport errors are cut down
// to their cause: *url.Error quotes the URL, which is harmless here, but
// the cause is all a log needs.
func (p *provider) do(req *http.Request) (int, []byte, error) {
	resp, err := p.hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return 0, nil, ue.Err
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// sessionOver reports whether a 401 answer says that the session is over
// rather than, say, that the client is misconfigured.
func sessionOver(body []byte) bool {
	switch apiErrorCode(body) {
	case "sessionInactive", "sessionExpired", "sessionInvalid", "sessionMissing", "tokenInvalid":
		return true
	}
	return false
}

// apiErrorCode returns the errorCode of CentralAuth's JSON error body, or "".
func apiErrorCode(body []byte) string {
	var e struct {
		ErrorCode string `json:"errorCode"`
	}
	_ = json.Unmarshal(body, &e)
	return e.ErrorCode
}

// errorCodeOf formats the errorCode of an error body for an error message.
// Only the code is kept: a message might echo what was sent. Odd codes are
// dropped rather than logged.
func errorCodeOf(body []byte) string {
	code := apiErrorCode(body)
	if code == "" || len(code) > 40 || strings.IndexFunc(code, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) >= 0 {
		return ""
	}
	return " (" + code + ")"
}
