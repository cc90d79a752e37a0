package remote

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/retry"
	"github.com/centralauth-go/logout/internal/testutil"
)

const (
	testID = "app:1"
	// testSecret has characters that JSON escapes ('<', '>', '"'), that URL
	// escaping would change ('%', '@', ':') and non-ASCII, so that leaks in
	// any of those forms are caught.
	testSecret = `s3cr<e>t"%40:@é`
)

func testCreds() string {
	return base64.StdEncoding.EncodeToString([]byte(testID + ":" + testSecret))
}

// newFake starts a fake CentralAuth for testID/testSecret, closed when the
// test ends, which fails if the client broke CentralAuth's contract.
func newFake(t *testing.T) *centralauthtest.Server {
	t.Helper()
	return centralauthtest.Start(t, testID, testSecret)
}

// newClock returns a fake clock at the current time: Logout compares the
// clock with the context's deadline, which is real time. It starts on a
// whole second, so HTTP dates (which have no fractions) round-trip exactly.
func newClock() *testutil.Clock {
	return testutil.NewClock(time.Now().Truncate(time.Second))
}

// withClock makes c tell the time and wait by clk, so that retries never
// really wait.
func withClock(c *Client, clk retry.Clock) *Client {
	c.c.clock = clk
	return c
}

// newClient returns a Client for the fake with a fake clock, so that
// retries never really wait; opts come after and may override.
func newClient(t *testing.T, fake *centralauthtest.Server, opts ...Option) (*Client, *testutil.Clock) {
	t.Helper()
	clk := newClock()
	c, err := NewClient(testID, testSecret, append([]Option{WithBaseURL(fake.URL())}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return withClock(c, clk), clk
}

// testCtx is bounded so that a bug that hangs fails the test instead of
// running into the go test timeout.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// countingTransport counts round trips and the response body bytes the
// client reads.
type countingTransport struct {
	base      http.RoundTripper
	trips     atomic.Int64
	bodyBytes atomic.Int64
}

func newCountingTransport(t *testing.T) *countingTransport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &countingTransport{base: tr}
}

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.trips.Add(1)
	resp, err := ct.base.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &ct.bodyBytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// leaks lists which secret values s contains.
func leaks(s, token string) []string {
	var found []string
	for name, v := range map[string]string{"token": token, "client secret": testSecret, "credentials": testCreds()} {
		if strings.Contains(s, v) {
			found = append(found, name)
		}
	}
	return found
}
