package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/retry"
	"github.com/centralauth-go/logout/internal/testutil"
)

func TestRetries(t *testing.T) {
	always := 100
	tests := []struct {
		name       string
		faults     []centralauthtest.Fault
		opts       []Option
		wantCalls  int
		wantStatus int  // of the returned *Error; 0 for none
		wantErr    bool // some error
	}{
		{name: "500", faults: []centralauthtest.Fault{{Status: 500, Times: always}}, wantCalls: 3, wantStatus: 500, wantErr: true},
		{name: "502", faults: []centralauthtest.Fault{{Status: 502, Times: always}}, wantCalls: 3, wantStatus: 502, wantErr: true},
		{name: "503", faults: []centralauthtest.Fault{{Status: 503, Times: always}}, wantCalls: 3, wantStatus: 503, wantErr: true},
		{name: "429", faults: []centralauthtest.Fault{{Status: 429, Times: always}}, wantCalls: 3, wantStatus: 429, wantErr: true},
		{name: "dropped connection", faults: []centralauthtest.Fault{{DropConnection: true, Times: always}}, wantCalls: 3, wantErr: true},
		{name: "400 is not retried", faults: []centralauthtest.Fault{{Status: 400, Times: always}}, wantCalls: 1, wantStatus: 400, wantErr: true},
		{name: "401 is not retried", faults: []centralauthtest.Fault{{Status: 401, Times: always}}, wantCalls: 1, wantStatus: 401, wantErr: true},
		{name: "404 is not retried", faults: []centralauthtest.Fault{{Status: 404, Times: always}}, wantCalls: 1, wantStatus: 404, wantErr: true},
		{name: "recovers after a 503", faults: []centralauthtest.Fault{{Status: 503}}, wantCalls: 2},
		{name: "recovers after a drop and a 429", faults: []centralauthtest.Fault{{DropConnection: true}, {Status: 429}}, wantCalls: 3},
		{name: "last error is returned", faults: []centralauthtest.Fault{{Status: 500}, {Status: 502}, {Status: 503}}, wantCalls: 3, wantStatus: 503, wantErr: true},
		{name: "4xx after a 5xx stops", faults: []centralauthtest.Fault{{Status: 500}, {Status: 401}}, wantCalls: 2, wantStatus: 401, wantErr: true},
		{name: "no retries", faults: []centralauthtest.Fault{{Status: 503, Times: always}}, opts: []Option{WithRetries(0)}, wantCalls: 1, wantStatus: 503, wantErr: true},
		{name: "four retries", faults: []centralauthtest.Fault{{Status: 503, Times: always}}, opts: []Option{WithRetries(4)}, wantCalls: 5, wantStatus: 503, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			s := fake.SignIn("ada@example.com")
			for _, f := range tt.faults {
				fake.InjectFault(f)
			}
			c, clk := newClient(t, fake, tt.opts...)

			err := c.Logout(testCtx(t), s.AccessToken)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Logout = %v, want error: %v", err, tt.wantErr)
			}
			if calls := len(fake.Calls()); calls != tt.wantCalls {
				t.Errorf("%d requests, want %d", calls, tt.wantCalls)
			}
			e, isErr := errors.AsType[*Error](err)
			if tt.wantStatus != 0 && (!isErr || e.StatusCode != tt.wantStatus) {
				t.Errorf("Logout = %v, want an *Error with status %d", err, tt.wantStatus)
			}
			if tt.wantErr && tt.wantStatus == 0 && (isErr || !IsRetryable(err) || !strings.HasPrefix(err.Error(), "remote: ")) {
				t.Errorf("Logout = %v, want a retryable transport error prefixed \"remote: \"", err)
			}
			if !tt.wantErr && fake.Active(s.AccessToken) {
				t.Error("the session is still active after a successful retry")
			}

			// One wait before each retry, growing from about 100 ms.
			sleeps := clk.Sleeps()
			if len(sleeps) != tt.wantCalls-1 {
				t.Fatalf("waits %v, want %d", sleeps, tt.wantCalls-1)
			}
			for i, d := range sleeps {
				full := baseBackoff << i
				if d < full/2 || d > full {
					t.Errorf("wait %d = %v, want between %v and %v", i, d, full/2, full)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	secs := func(v string) func(time.Time) string { return func(time.Time) string { return v } }
	date := func(d time.Duration) func(time.Time) string {
		return func(now time.Time) string { return now.Add(d).Format(http.TimeFormat) }
	}
	tests := []struct {
		name           string
		status         int
		retryAfter     func(now time.Time) string
		wantWait       time.Duration // 0: the backoff, 50-100 ms
		wantRetryAfter time.Duration // Error.RetryAfter of the last answer, after the wait
	}{
		{name: "seconds", status: 503, retryAfter: secs("3"), wantWait: 3 * time.Second, wantRetryAfter: 3 * time.Second},
		{name: "seconds on 429", status: 429, retryAfter: secs("2"), wantWait: 2 * time.Second, wantRetryAfter: 2 * time.Second},
		{name: "HTTP date", status: 503, retryAfter: date(7 * time.Second), wantWait: 7 * time.Second, wantRetryAfter: 0},
		{name: "capped at 30 s", status: 503, retryAfter: secs("3600"), wantWait: 30 * time.Second, wantRetryAfter: time.Hour},
		{name: "date capped at 30 s", status: 429, retryAfter: date(time.Hour), wantWait: 30 * time.Second, wantRetryAfter: time.Hour - 30*time.Second},
		{name: "zero uses the backoff", status: 503, retryAfter: secs("0")},
		{name: "past date uses the backoff", status: 503, retryAfter: date(-time.Minute)},
		{name: "garbage uses the backoff", status: 503, retryAfter: secs("soon")},
		{name: "negative uses the backoff", status: 503, retryAfter: secs("-5")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			c, clk := newClient(t, fake, WithRetries(1))
			fake.InjectFault(centralauthtest.Fault{Status: tt.status, RetryAfter: tt.retryAfter(clk.Now()), Times: 2})

			// No deadline: the 30 s waits would not fit in testCtx's, and
			// Logout would rightly not wait at all.
			err := c.Logout(t.Context(), "tok")
			e, ok := errors.AsType[*Error](err)
			if !ok || e.StatusCode != tt.status {
				t.Fatalf("Logout = %v, want a %d *Error", err, tt.status)
			}
			if e.RetryAfter != tt.wantRetryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.wantRetryAfter)
			}
			sleeps := clk.Sleeps()
			if len(sleeps) != 1 {
				t.Fatalf("waits %v, want one", sleeps)
			}
			if tt.wantWait != 0 && sleeps[0] != tt.wantWait {
				t.Errorf("waited %v, want %v", sleeps[0], tt.wantWait)
			}
			if tt.wantWait == 0 && (sleeps[0] < baseBackoff/2 || sleeps[0] > baseBackoff) {
				t.Errorf("waited %v, want the first backoff (%v to %v)", sleeps[0], baseBackoff/2, baseBackoff)
			}
		})
	}

	t.Run("ignored on a 4xx", func(t *testing.T) {
		fake := newFake(t)
		fake.InjectFault(centralauthtest.Fault{Status: 400, RetryAfter: "3"})
		c, clk := newClient(t, fake)
		err := c.Logout(testCtx(t), "tok")
		if e, ok := errors.AsType[*Error](err); !ok || e.RetryAfter != 0 {
			t.Errorf("Logout = %#v, want a 400 *Error without RetryAfter", err)
		}
		if len(clk.Sleeps()) != 0 || len(fake.Calls()) != 1 {
			t.Errorf("waited %v over %d requests, want no retry", clk.Sleeps(), len(fake.Calls()))
		}
	})
}

func TestDeadlineShortcut(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		wantCalls  int
	}{
		{name: "first wait would pass the deadline", retryAfter: "10", wantCalls: 1},
		{name: "second wait would pass the deadline", retryAfter: "3", wantCalls: 2},
		{name: "all waits fit", retryAfter: "1", wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			fake.InjectFault(centralauthtest.Fault{Status: 503, RetryAfter: tt.retryAfter, Times: 100})
			c, clk := newClient(t, fake)
			// The test ends long before this real deadline.
			ctx, cancel := context.WithDeadline(t.Context(), clk.Now().Add(5*time.Second))
			defer cancel()

			err := c.Logout(ctx, "tok")
			if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != 503 {
				t.Fatalf("Logout = %v, want the last 503 *Error", err)
			}
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Logout = %v after running into the deadline, want it to return before", err)
			}
			if n := len(fake.Calls()); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			if n := len(clk.Sleeps()); n != tt.wantCalls-1 {
				t.Errorf("waits %v, want %d", clk.Sleeps(), tt.wantCalls-1)
			}
		})
	}
}

var _ retry.Clock = cancellingClock{}

// cancellingClock cancels the context when asked to wait, like a caller
// giving up during the backoff.
type cancellingClock struct {
	*testutil.Clock
	cancel context.CancelFunc
}

func (c cancellingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.Clock.Sleep(ctx, d)
}

func TestCancelDuringWait(t *testing.T) {
	fake := newFake(t)
	fake.InjectFault(centralauthtest.Fault{Status: 503, Times: 100})
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	c, _ := newClient(t, fake)
	withClock(c, cancellingClock{newClock(), cancel})

	err := c.Logout(ctx, "tok")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Logout = %v, want it to wrap context.Canceled", err)
	}
	if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != 503 {
		t.Errorf("Logout = %v, want it to wrap the last 503 *Error", err)
	}
	if IsRetryable(err) {
		t.Error("IsRetryable = true after the caller cancelled")
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCancelDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var attempts int
	// The caller gives up while the server answers 503.
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts++
		cancel()
		return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("busy")), Request: r}, nil
	})}
	c, err := NewClient(testID, testSecret, WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	withClock(c, newClock())

	err = c.Logout(ctx, "tok")
	if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != 503 || !errors.Is(err, context.Canceled) {
		t.Errorf("Logout = %v, want the 503 *Error together with context.Canceled", err)
	}
	if attempts != 1 {
		t.Errorf("%d attempts, want 1", attempts)
	}
}

func TestSlowServerDeadline(t *testing.T) {
	fake := newFake(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fake.InjectFault(centralauthtest.Fault{Block: release, Times: 100})
	c, err := NewClient(testID, testSecret, WithBaseURL(fake.URL())) // the real clock
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()

	err = c.Logout(ctx, "tok")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Logout = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if !strings.HasPrefix(err.Error(), "remote: ") {
		t.Errorf("error %q lacks the \"remote: \" prefix", err)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d requests, want 1: no retry once the context is done", n)
	}
}

func TestIsRetryable(t *testing.T) {
	transport := func(err error) error { return &transportError{msg: "remote: x", err: err} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no token", ErrNoToken, false},
		{"config", fmt.Errorf("%w: x", ErrInvalidConfig), false},
		{"other error", errors.New("x"), false},
		{"400", &Error{StatusCode: 400}, false},
		{"401", &Error{StatusCode: 401}, false},
		{"404", &Error{StatusCode: 404}, false},
		{"307", &Error{StatusCode: 307}, false},
		{"429", &Error{StatusCode: 429}, true},
		{"500", &Error{StatusCode: 500}, true},
		{"503 wrapped", fmt.Errorf("outbox: %w", &Error{StatusCode: 503}), true},
		{"transport error", transport(io.ErrUnexpectedEOF), true},
		{"timeout", transport(context.DeadlineExceeded), true},
		{"cancelled request", transport(context.Canceled), false},
		{"503 then cancelled", fmt.Errorf("%w; retry abandoned: %w", &Error{StatusCode: 503}, context.Canceled), false},
		{"503 then deadline", fmt.Errorf("%w; retry abandoned: %w", &Error{StatusCode: 503}, context.DeadlineExceeded), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if e, ok := tt.err.(*Error); ok && e.retryable() != tt.want {
				t.Errorf("retryable() = %v, want %v", e.retryable(), tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 5 ", 5 * time.Second},
		{"+5", 0},
		{"-5", 0},
		{"1.5", 0},
		{"99999999999999999999999", time.Duration(1<<63-1) / time.Second * time.Second},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(time.Minute).Format("Monday, 02-Jan-06 15:04:05 GMT"), time.Minute},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
