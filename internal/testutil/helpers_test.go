package testutil

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	testID     = "app:1"    // a ':' in the ID must not be escaped
	testSecret = "p%40ss@é" // nor '%', '@' or non-ASCII in the secret
)

// fixedStart is a whole second, so HTTP dates (which have no fractions)
// round-trip exactly.
var fixedStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// newFake starts a fake that is closed when the test ends.
func newFake(t *testing.T, opts ...Option) *CentralAuth {
	t.Helper()
	ca, err := NewCentralAuth(testID, testSecret, opts...)
	if err != nil {
		t.Fatalf("NewCentralAuth: %v", err)
	}
	t.Cleanup(ca.Close)
	return ca
}

// testCtx is bounded so that a bug that hangs fails the test instead of
// running into the go test timeout.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type request struct {
	method      string
	path        string
	auth        string
	contentType string
	body        string
	headers     map[string]string
}

type response struct {
	status int
	header http.Header
	body   string
	err    error
}

// apiErr decodes CentralAuth's JSON error body; zero if it is not one.
func (r response) apiErr() apiError {
	var e apiError
	_ = json.Unmarshal([]byte(r.body), &e)
	return e
}

func do(ctx context.Context, ca *CentralAuth, req request) response {
	if req.method == "" {
		req.method = http.MethodPost
	}
	if req.path == "" {
		req.path = LogoutPath
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, ca.URL()+req.path, strings.NewReader(req.body))
	if err != nil {
		return response{err: err}
	}
	if req.auth != "" {
		hr.Header.Set("Authorization", req.auth)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.headers {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// logoutRequest is a valid logout of token.
func logoutRequest(token string) request {
	return request{auth: basic(testID, testSecret), contentType: "text/plain", body: token}
}
