package remote

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"
)

// Tokens are what CentralAuth gives for a login code (Exchange).
type Tokens struct {
	AccessToken string
	IDToken     string
	// Expires is when the tokens stop being good: the sooner of the
	// answer's expires_in (from when the answer came) and expires_at; zero
	// when CentralAuth sent neither.
	Expires time.Time
}

// LoginURL is CentralAuth's login page for a login that comes back to
// redirectURI with state, bound to the PKCE S256 codeChallenge:
// {base}/login?client_id&response_type=code&redirect_uri&state&code_challenge&code_challenge_method=S256.
// Package login builds the state and the challenge, and checks them when
// the browser comes back.
func (cl *Client) LoginURL(redirectURI, state, codeChallenge string) string {
	q := url.Values{
		"client_id":             {cl.c.clientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirectURI},
		"state":                 {state},
		"code_challenge":        {codeChallenge},
		"code_challenge_method": {"S256"},
	}
	return cl.c.login + "?" + q.Encode()
}

// Exchange trades a login's code for its tokens: it POSTs code,
// redirectURI (the login's, exactly) and codeVerifier (the PKCE verifier
// whose S256 was the login's challenge) as a form to
// {base}/api/v1/verify, with the client credentials.
//
// Errors are Logout's: an *Error for a non-2xx answer, a transport error
// wrapped, and retries of transport errors, 429 and 5xx within ctx's
// deadline. A 2xx answer that is not the documented JSON with an access
// token and an expiry ahead, or is over 64 KiB, is an error too. Neither
// the code nor the verifier, as given or escaped, is ever in an error.
// A code works once: if CentralAuth used it up before an answer was lost,
// the retry fails with a 400, and the user logs in again.
func (cl *Client) Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (Tokens, error) {
	c := cl.c
	if code == "" || redirectURI == "" || codeVerifier == "" {
		return Tokens{}, errors.New("remote: exchange needs a code, a redirect URI and a code verifier")
	}
	form := url.Values{"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {codeVerifier}}
	// A server that echoes the request shows the form as sent: escaped.
	secrets := []string{codeVerifier, url.QueryEscape(code), url.QueryEscape(codeVerifier)}
	var t Tokens
	err := c.withRetries(ctx, func() error {
		return c.send(ctx, code, call{op: "exchange", url: c.verify, form: form, secrets: secrets,
			ok: func(body []byte, tooLong bool) error {
				if tooLong {
					return unreadableError{"exchange", "the answer is over 64 KiB"}
				}
				var err error
				t, err = parseTokens(body, c.clock.Now())
				return err
			}})
	})
	if err != nil {
		return Tokens{}, err
	}
	return t, nil
}

// parseTokens reads verify's JSON strictly: an access token is required,
// expires_in is a positive number of seconds or null, expires_at an RFC 3339
// time after now or null.
func parseTokens(body []byte, now time.Time) (Tokens, error) {
	var j struct {
		AccessToken string   `json:"access_token"`
		IDToken     string   `json:"id_token"`
		ExpiresIn   *float64 `json:"expires_in"`
		ExpiresAt   *string  `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return Tokens{}, unreadableError{"exchange", "not a JSON object of the documented shape"}
	}
	if j.AccessToken == "" {
		return Tokens{}, unreadableError{"exchange", "no access token"}
	}
	t := Tokens{AccessToken: j.AccessToken, IDToken: j.IDToken}
	if j.ExpiresIn != nil {
		// In nanoseconds, so that a fraction of one is not taken for a
		// lifetime: it would be an Expires of now.
		ns := *j.ExpiresIn * float64(time.Second)
		if ns < 1 || ns > float64(maxTokenLifetime) {
			return Tokens{}, unreadableError{"exchange", "expires_in is not a positive number of seconds"}
		}
		t.Expires = now.Add(time.Duration(ns))
	}
	if j.ExpiresAt != nil {
		at, err := time.Parse(time.RFC3339Nano, *j.ExpiresAt)
		if err != nil {
			return Tokens{}, unreadableError{"exchange", "expires_at is not in RFC 3339"}
		}
		// A past expires_at is as wrong as a non-positive expires_in, and
		// Go's zero time would read as no expiry at all, dropping
		// expires_in's bound with it.
		if !at.After(now) {
			return Tokens{}, unreadableError{"exchange", "expires_at is not in the future"}
		}
		if t.Expires.IsZero() || at.Before(t.Expires) {
			t.Expires = at
		}
	}
	return t, nil
}

// maxTokenLifetime bounds expires_in, so that a garbled number cannot
// overflow a time.Duration.
const maxTokenLifetime = 10 * 365 * 24 * time.Hour
