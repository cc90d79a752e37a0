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

// tokens is the answer of a code exchange.
type tokens struct {
	AccessToken string  `json:"access_token"`
	IDToken     string  `json:"id_token"`
	ExpiresIn   *int64  `json:"expires_in"` // seconds, or null
	ExpiresAt   *string `json:"expires_at"` // RFC 3339, or null
}

// expires is when the tokens stop being good: the sooner of expires_in
// and expires_at, or the zero time when CentralAuth gave neither.
func (t tokens) expires(now time.Time) time.Time {
	var at time.Time
	if t.ExpiresIn != nil && *t.ExpiresIn > 0 {
		at = now.Add(time.Duration(*t.ExpiresIn) * time.Second)
	}
	if t.ExpiresAt != nil {
		if e, err := time.Parse(time.RFC3339, *t.ExpiresAt); err == nil && (at.IsZero() || e.Before(at)) {
			at = e
		}
	}
	return at
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
func (p *provider) loginURL(redirectURI, state, challenge string) string {
	u := p.base.JoinPath("login")
	u.RawQuery = url.Values{
		"client_id":             {p.clientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirectURI},
		"state":                 {state},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}.Encode()
	return u.String()
}

// exchange trades a login code for the session's tokens, with the same
// redirect_uri as the login and the PKCE verifier.
func (p *provider) exchange(ctx context.Context, code, redirectURI, verifier string) (tokens, error) {
	var t tokens
	form := url.Values{"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		p.base.JoinPath("api", "v1", "verify").String(), strings.NewReader(form.Encode()))
	if err != nil {
		return t, fmt.Errorf("centralauth: verify: %w", err)
	}
	req.Header.Set("Authorization", p.basicAuth)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

// errorCodeOf formats the errorCode of an error body for an error message.
// Only the code is kept: a message might echo what was sent. Odd codes are
// dropped rather than logged.
func errorCodeOf(body []byte) string {
	var e struct {
		ErrorCode string `json:"errorCode"`
	}
	_ = json.Unmarshal(body, &e)
	code := e.ErrorCode
	if code == "" || len(code) > 40 || strings.IndexFunc(code, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) >= 0 {
		return ""
	}
	return " (" + code + ")"
}
