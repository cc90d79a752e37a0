package remote

import (
	"errors"
	"strings"
	"testing"
)

func TestNewClientConfig(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		secret  string
		opts    []Option
		wantErr string // "" for success; otherwise a part of the message
	}{
		{name: "defaults", id: "id", secret: testSecret},
		{name: "empty client ID", secret: testSecret, wantErr: "client ID is empty"},
		{name: "empty secret", id: "id", wantErr: "client secret is empty"},
		{name: "nil HTTP client", id: "id", secret: testSecret, opts: []Option{WithHTTPClient(nil)}, wantErr: "HTTP client is nil"},
		{name: "negative retries", id: "id", secret: testSecret, opts: []Option{WithRetries(-1)}, wantErr: "retries"},
		{name: "zero retries", id: "id", secret: testSecret, opts: []Option{WithRetries(0)}},
		{name: "empty user agent", id: "id", secret: testSecret, opts: []Option{WithUserAgent("")}, wantErr: "user agent"},
		{name: "user agent with a newline", id: "id", secret: testSecret, opts: []Option{WithUserAgent("a\r\nX-Evil: 1")}, wantErr: "user agent"},
		{name: "nil option", id: "id", secret: testSecret, opts: []Option{nil}, wantErr: "nil Option"},
		{name: "http base", id: "id", secret: testSecret, opts: []Option{WithBaseURL("http://127.0.0.1:8080")}},
		{name: "base with a path and slash", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://auth.example.com/ca/")}},
		{name: "empty base", id: "id", secret: testSecret, opts: []Option{WithBaseURL("")}, wantErr: "http or https"},
		{name: "relative base", id: "id", secret: testSecret, opts: []Option{WithBaseURL("centralauth.com")}, wantErr: "http or https"},
		{name: "ftp base", id: "id", secret: testSecret, opts: []Option{WithBaseURL("ftp://centralauth.com")}, wantErr: "http or https"},
		{name: "base without host", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://")}, wantErr: "no host"},
		{name: "base with only a port", id: "id", secret: testSecret, opts: []Option{WithBaseURL("http://:8080")}, wantErr: "no host"},
		{name: "base with userinfo", id: "id", secret: "hunter2", opts: []Option{WithBaseURL("https://id:hunter2@centralauth.com")}, wantErr: "user information"},
		{name: "base with a query", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://centralauth.com/?a=b")}, wantErr: "query"},
		{name: "base with an empty query", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://centralauth.com/?")}, wantErr: "query"},
		{name: "base with a fragment", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://centralauth.com/#x")}, wantErr: "fragment"},
		{name: "base with an empty fragment", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://centralauth.com/#")}, wantErr: "fragment"},
		{name: "unparsable base", id: "id", secret: testSecret, opts: []Option{WithBaseURL("https://" + testSecret + "%zz")}, wantErr: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.id, tt.secret, tt.opts...)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("NewClient = %v, %v; want a Client", c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewClient succeeded, want an error containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "remote: invalid configuration: ") || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q, want \"remote: invalid configuration: ...%s...\"", msg, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q shows the secret", msg)
			}
		})
	}
}
