package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/remote"
)

// TestOnDeliveryReportsEveryOutcome queues one logout of each kind and
// checks what the hook hears of each, and that Stats counts the same.
func TestOnDeliveryReportsEveryOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const attemptTakes = 150 * time.Millisecond
		q := newMemoryQueue(t, 10)
		enqueued := time.Now()
		failed := map[string]bool{}
		var got []Delivery
		o, err := New(senderFunc(func(_ context.Context, tok string) error {
			time.Sleep(attemptTakes) // CentralAuth's answer takes this long
			switch {
			case strings.HasPrefix(tok, "tok-gone"):
				return &remote.Error{StatusCode: 400, Code: "tokenInvalid"}
			case strings.HasPrefix(tok, "tok-down") && !failed[tok]:
				failed[tok] = true
				return &remote.Error{StatusCode: 503}
			}
			return nil
		}), q, WithMaxAge(time.Hour), WithLogger(slog.New(slog.DiscardHandler)),
			WithOnDelivery(func(d Delivery) { got = append(got, d) }))
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		enqueue(t, q, "tok-old", enqueued.Add(-2*time.Hour))
		plantUnreadable(t, q, false, enqueued.Add(-time.Minute))
		for _, tok := range []string{"tok-ok", "tok-gone", "tok-down"} {
			if err := o.Enqueue(ctx, tok); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // claimed in this order
		}
		if err := o.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute) // past any backoff
		if err := o.Drain(ctx); err != nil {
			t.Fatal(err)
		}

		type want struct {
			outcome  DeliveryOutcome
			attempts int
			latency  time.Duration
			err      func(error) bool
		}
		isRemote := func(status int) func(error) bool {
			return func(err error) bool {
				re, ok := errors.AsType[*remote.Error](err)
				return ok && re.StatusCode == status
			}
		}
		noErr := func(err error) bool { return err == nil }
		wants := []want{
			{Dropped, 0, 0, func(err error) bool { return err != nil && strings.Contains(err.Error(), "maximum age") }},
			{Dropped, 0, 0, func(err error) bool { return errors.Is(err, ErrUnreadableEntry) }},
			{Delivered, 1, attemptTakes, noErr},
			{Dropped, 1, attemptTakes, isRemote(400)},
			{Retried, 1, attemptTakes, isRemote(503)},
			{Delivered, 2, attemptTakes, noErr},
		}
		if len(got) != len(wants) {
			t.Fatalf("the hook heard %d outcomes, want %d: %v", len(got), len(wants), got)
		}
		for i, w := range wants {
			d := got[i]
			if d.Outcome != w.outcome || d.Attempts != w.attempts || d.Latency != w.latency || !w.err(d.Err) || d.Entry == "" || d.EnqueuedAt.IsZero() {
				t.Errorf("outcome %d: %+v; want %v after %d attempts, taking %v", i, d, w.outcome, w.attempts, w.latency)
			}
			if s := fmt.Sprintf("%+v %v", d, d.Err); strings.Contains(s, "tok-") {
				t.Errorf("outcome %d holds a token: %s", i, s)
			}
		}
		if got[0].EnqueuedAt != enqueued.Add(-2*time.Hour) || got[2].EnqueuedAt != enqueued {
			t.Errorf("enqueued at %v and %v, want %v and %v", got[0].EnqueuedAt, got[2].EnqueuedAt, enqueued.Add(-2*time.Hour), enqueued)
		}
		st, _ := o.Stats(ctx)
		if st.Delivered != 2 || st.Dropped != 3 || st.Retries != 1 || st.Pending != 0 {
			t.Errorf("stats %+v, want the hook's counts: 2 delivered, 3 dropped, 1 retried", st)
		}
	})
}
