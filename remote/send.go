package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// send makes one attempt: one POST, and the answer turned into nil, an
// *Error or a transport error.
func (c *client) send(ctx context.Context, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(token))
	if err != nil {
		// Only a nil ctx gets here: the endpoint was validated in NewClient.
		return fmt.Errorf("remote: building logout request: %w", err)
	}
	// Without GetBody net/http cannot replay the body: a second guard,
	// after CheckRedirect, against re-sending the token to wherever a
	// 307/308 points. Retries are Logout's job, not net/http's.
	req.GetBody = nil
	req.Header.Set("Authorization", c.authHeader)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return c.newTransportError(err, token)
	}
	defer drainAndClose(resp.Body)

	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	// A read error leaves a partial body, which is still the best
	// description of the failure; the status alone decides what it is.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	e := parseErrorBody(resp.StatusCode, body, c.secretsFor(token)...)
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
