package sessioncheck_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/sessioncheck"
)

// errAny stands for any error in a wanted Event.
var errAny = errors.New("any error")

// TestSessionCheckOnCheck: the hook receives every outcome, with how long
// the request waited for CentralAuth (50 ms per call here).
func TestSessionCheckOnCheck(t *testing.T) {
	const call = 50 * time.Millisecond
	blocked := ada
	blocked.Blocked = true
	type want struct {
		outcome sessioncheck.Outcome
		blocked bool
		latency time.Duration
		err     error
	}
	tests := []struct {
		name    string
		user    remote.User
		answers []error         // per call, the last one repeated; nil: user
		waits   []time.Duration // before each visit after the first
		timeout time.Duration
		want    []want
	}{
		{name: "fresh, then cached", answers: []error{nil}, waits: []time.Duration{time.Second},
			want: []want{{sessioncheck.Fresh, false, call, nil}, {sessioncheck.Cached, false, 0, nil}}},
		{name: "ended", answers: []error{nil, errEnded}, waits: []time.Duration{31 * time.Second},
			want: []want{{sessioncheck.Fresh, false, call, nil}, {sessioncheck.Ended, false, call, errEnded}}},
		{name: "stale, then stale again within the interval", answers: []error{nil, errDown}, waits: []time.Duration{31 * time.Second, time.Second},
			want: []want{{sessioncheck.Fresh, false, call, nil}, {sessioncheck.Stale, false, call, errDown}, {sessioncheck.Stale, false, 0, errAny}}},
		{name: "unavailable, then unavailable within the interval", answers: []error{errDown}, waits: []time.Duration{time.Second},
			want: []want{{sessioncheck.Unavailable, false, call, errDown}, {sessioncheck.Unavailable, false, 0, errAny}}},
		{name: "misconfigured, then misconfigured within the interval", answers: []error{errConfig}, waits: []time.Duration{time.Second},
			want: []want{{sessioncheck.Misconfigured, false, call, errConfig}, {sessioncheck.Misconfigured, false, 0, errAny}}},
		{name: "misconfigured on a good answer: stale", answers: []error{nil, errConfig}, waits: []time.Duration{31 * time.Second},
			want: []want{{sessioncheck.Fresh, false, call, nil}, {sessioncheck.Stale, false, call, errConfig}}},
		{name: "past the maximum staleness", answers: []error{nil, errDown}, waits: []time.Duration{11 * time.Minute},
			want: []want{{sessioncheck.Fresh, false, call, nil}, {sessioncheck.Unavailable, false, call, errDown}}},
		{name: "past the timeout", answers: []error{nil}, waits: []time.Duration{31 * time.Second}, timeout: call / 2,
			want: []want{{sessioncheck.Unavailable, false, call / 2, context.DeadlineExceeded}, {sessioncheck.Unavailable, false, call / 2, context.DeadlineExceeded}}},
		{name: "blocked: fresh, cached, then unavailable", user: blocked, answers: []error{nil, errDown}, waits: []time.Duration{time.Second, 31 * time.Second},
			want: []want{{sessioncheck.Fresh, true, call, nil}, {sessioncheck.Cached, true, 0, nil}, {sessioncheck.Unavailable, true, call, errDown}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				user := tt.user
				if user.ID == "" {
					user = ada
				}
				ca := &userinfo{delay: call}
				ca.answer = func(string) (remote.User, error) {
					err := tt.answers[min(int(ca.calls.Load()), len(tt.answers))-1]
					if err != nil {
						return remote.User{}, err
					}
					return user, nil
				}
				var got []sessioncheck.Event
				opts := []sessioncheck.Option{sessioncheck.WithOnCheck(func(r *http.Request, ev sessioncheck.Event) {
					if r == nil || r.URL.Path != "/" {
						t.Errorf("the hook got request %v", r)
					}
					got = append(got, ev)
				})}
				if tt.timeout > 0 {
					opts = append(opts, sessioncheck.WithTimeout(tt.timeout))
				}
				rg := newCheckRig(t, ca, opts...)
				rg.visit(true)
				for _, d := range tt.waits {
					time.Sleep(d)
					rg.visit(true)
				}
				rg.visit(false) // no session: no event
				if len(got) != len(tt.want) {
					t.Fatalf("%d events, want %d: %+v", len(got), len(tt.want), got)
				}
				for i, w := range tt.want {
					ev := got[i]
					errOK := (w.err == nil) == (ev.Err == nil) && (w.err == nil || w.err == errAny || errors.Is(ev.Err, w.err))
					if ev.Outcome != w.outcome || ev.Blocked != w.blocked || ev.Latency != w.latency || !errOK || ev.SessionID == "" {
						t.Errorf("event %d: %+v; want %+v", i, ev, w)
					}
				}
			})
		})
	}
}
