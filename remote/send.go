package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// call is one request to CentralAuth's API.
type call struct {
	op  string // "logout", "userinfo" or "exchange", for error messages
	url string
	// endUser, for userinfo, is whose IP and user agent go with the call.
	endUser *EndUser
	// ok reads a 2xx answer's body; tooLong says it was cut at
	// maxBodyBytes. Nil means any 2xx is a success.
	ok func(body []byte, tooLong bool) error
	// form, for the code exchange, is sent instead of the token, as
	// application/x-www-form-urlencoded; secrets are more of its values
	// to redact from errors, besides the token.
	form    url.Values
	secrets []string
}

// send makes one attempt: one POST of token (or of cl.form), and the
// answer turned into the result of c.ok, an *Error or a transport error.
// The token and cl.secrets never appear in the error.
func (c *client) send(ctx context.Context, token string, cl call) error {
	body, contentType := token, "text/plain"
	if cl.form != nil {
		body, contentType = cl.form.Encode(), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.url, strings.NewReader(body))
	if err != nil {
		// Only a nil ctx gets here: the URL was validated in NewClient.
		return fmt.Errorf("remote: building %s request: %w", cl.op, err)
	}
	// Without GetBody net/http cannot replay the body: a second guard,
	// after CheckRedirect, against re-sending the token to wherever a
	// 307/308 points. Retries are this package's job, not net/http's.
	req.GetBody = nil
	req.Header.Set("Authorization", c.authHeader)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", c.userAgent)
	if cl.endUser != nil {
		// CentralAuth records the end user's browser and address with
		// the session check, in these two headers.
		ip := cl.endUser.IP.Unmap()
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified()
		}
		req.Header.Set("User-Agent", cl.endUser.UserAgent)
		req.Header.Set("auth-ip", ip.String())
	}

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return c.newTransportError(cl.op, err, token, cl.secrets...)
	}
	// A read error leaves a partial body: for a failure it is still the
	// best description, and for a success ok refuses it as unreadable.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	tooLong := len(answer) > maxBodyBytes
	if tooLong {
		// Abandoned: closing drops the connection rather than read on.
		_ = resp.Body.Close()
		answer = answer[:maxBodyBytes]
	} else {
		drainAndClose(resp.Body)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if cl.ok == nil {
			return nil
		}
		return cl.ok(answer, tooLong)
	}
	e := parseErrorBody(resp.StatusCode, answer, c.secretsFor(token, cl.secrets...)...)
	e.op = cl.op
	if e.retryable() {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
	}
	return e
}

// drainAndClose reads what is left of a body, up to a bound, before closing
// it: net/http reuses a keep-alive connection only once its body was read to
// the end. A longer body is abandoned (closing then drops the connection),
// so a huge or endless body cannot stall the caller.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxBodyBytes))
	_ = body.Close()
}
