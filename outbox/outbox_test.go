package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/remote"
)

const (
	testID     = "app:1"
	testSecret = "s3cret"
)

func newFake(t *testing.T) *centralauthtest.Server {
	t.Helper()
	return centralauthtest.Start(t, testID, testSecret)
}

// newClient returns a client for fake that does not retry by itself:
// retrying is the Outbox's job here.
func newClient(t *testing.T, fake *centralauthtest.Server) *remote.Client {
	t.Helper()
	c, err := remote.NewClient(testID, testSecret, remote.WithBaseURL(fake.URL()), remote.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newOutbox returns an Outbox on clk, so that the gaps between attempts
// can be measured (stampedSender). Sleeping on clk returns at once.
func newOutbox(t *testing.T, s Sender, q Queue, clk *testutil.Clock, opts ...Option) *Outbox {
	t.Helper()
	o, err := New(s, q, opts...)
	if err != nil {
		t.Fatal(err)
	}
	o.cfg.clock = clk
	return o
}

func newMemoryQueue(t *testing.T, limit int) *MemoryQueue {
	t.Helper()
	q, err := NewMemoryQueue(limit)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func logger(w *testutil.Buffer) Option { return WithLogger(slog.New(slog.NewTextHandler(w, nil))) }

// testKey is the outbox key of the tests whose queue is not a MemoryQueue.
var testKey = bytes.Repeat([]byte{0x42}, 32)

// enqueue puts a logout of token, due at at, straight into q, sealed as an
// Outbox without a key seals it for a MemoryQueue.
func enqueue(t *testing.T, q Queue, token string, at time.Time) {
	t.Helper()
	id := randomID()
	if err := q.Enqueue(t.Context(), id, processSealer().seal(id, token), at); err != nil {
		t.Fatal(err)
	}
}

// runOutbox starts one worker and returns a function that waits until cond
// holds for its stats, then stops the worker.
func runOutbox(t *testing.T, o *Outbox) func(cond func(Stats) bool) Stats {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	return func(cond func(Stats) bool) Stats {
		t.Helper()
		defer func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		}()
		var st Stats
		testutil.WaitFor(t, 10*time.Second, "the outbox to reach the expected state", func() bool {
			st, _ = o.Stats(t.Context())
			return cond(st)
		}, func() string { return fmt.Sprintf("stats %+v", st) })
		return st
	}
}

func TestOutboxDelivers(t *testing.T) {
	tests := []struct {
		name          string
		fault         centralauthtest.Fault
		tokens        int
		unknown       bool // enqueue tokens CentralAuth never issued
		wantDelivered int64
		wantDropped   int64
		wantRetries   bool
	}{
		{"CentralAuth up", centralauthtest.Fault{}, 3, false, 3, 0, false},
		{"CentralAuth down for a while", centralauthtest.Fault{Status: 503, Times: 12}, 3, false, 3, 0, true},
		{"rate limited with Retry-After", centralauthtest.Fault{Status: 429, RetryAfter: "30", Times: 2}, 2, false, 2, 0, true},
		{"session already gone", centralauthtest.Fault{}, 2, true, 0, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := testutil.NewClock(time.Now())
			fake := newFake(t)
			logs := &testutil.Buffer{}
			sender := &stampedSender{Sender: newClient(t, fake), clk: clk}
			o := newOutbox(t, sender, newMemoryQueue(t, 100), clk, logger(logs))
			var sessions []centralauthtest.Session
			for i := range tt.tokens {
				token := "never-issued-" + string(rune('a'+i))
				if !tt.unknown {
					s := fake.SignIn("u@example.com")
					sessions = append(sessions, s)
					token = s.AccessToken
				}
				if err := o.Enqueue(t.Context(), token); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fault.Status != 0 {
				fake.InjectFault(tt.fault)
			}
			st := runOutbox(t, o)(func(s Stats) bool { return s.Pending == 0 })
			if st.Delivered != tt.wantDelivered || st.Dropped != tt.wantDropped || (st.Retries > 0) != tt.wantRetries {
				t.Fatalf("stats %+v; want delivered %d, dropped %d, retries %v", st, tt.wantDelivered, tt.wantDropped, tt.wantRetries)
			}
			for _, s := range sessions {
				if fake.Active(s.AccessToken) {
					t.Fatalf("session %s still active", s.ID)
				}
				if strings.Contains(logs.String(), s.AccessToken) {
					t.Fatal("a token reached the log")
				}
			}
			// After a 429 with "Retry-After: 30", that entry's next attempt
			// waits 30 s; the backoff alone would retry within seconds.
			if tt.fault.RetryAfter != "" {
				sender.assertRetryAfterHonoured(t, 30*time.Second)
			}
		})
	}
}

func TestOutboxDropsEntriesPastMaxAge(t *testing.T) {
	clk := testutil.NewClock(time.Now())
	fake := newFake(t)
	logs := &testutil.Buffer{}
	o := newOutbox(t, newClient(t, fake), newMemoryQueue(t, 10), clk, WithMaxAge(time.Hour), logger(logs))
	s := fake.SignIn("u@example.com")
	if err := o.Enqueue(t.Context(), s.AccessToken); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	st := runOutbox(t, o)(func(s Stats) bool { return s.Dropped == 1 })
	if st.Delivered != 0 || st.Pending != 0 || len(fake.Calls()) != 0 {
		t.Fatalf("stats %+v, %d calls: an expired entry was sent", st, len(fake.Calls()))
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "maximum age") || strings.Contains(l, s.AccessToken) {
		t.Fatalf("want one Error line without the token:\n%s", l)
	}
}

func TestOutboxEnqueueErrors(t *testing.T) {
	fake := newFake(t)
	o, err := New(newClient(t, fake), newMemoryQueue(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token string
		want        error
	}{
		{"empty token", "", remote.ErrNoToken},
		{"first fits", "t1", nil},
		{"full queue", "t2", ErrQueueFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := o.Enqueue(t.Context(), tt.token)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Enqueue = %v, want %v", err, tt.want)
			}
			if err != nil && tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error %q holds the token", err)
			}
		})
	}
}

// stampedSender notes, by the outbox's clock, when each logout went out
// and whether CentralAuth answered 429. The fake's calls are stamped by the
// real clock, which the outbox's clock outruns: sleeping on it returns at
// once.
type stampedSender struct {
	Sender
	clk *testutil.Clock

	mu    sync.Mutex
	sends []stampedSend
}

type stampedSend struct {
	token       string
	at          time.Time
	rateLimited bool
}

func (s *stampedSender) Logout(ctx context.Context, token string) error {
	at := s.clk.Now()
	err := s.Sender.Logout(ctx, token)
	e, ok := errors.AsType[*remote.Error](err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends = append(s.sends, stampedSend{token: token, at: at, rateLimited: ok && e.StatusCode == http.StatusTooManyRequests})
	return err
}

// assertRetryAfterHonoured checks that every retry of a token that got a
// 429 came at least wait later.
func (s *stampedSender) assertRetryAfterHonoured(t *testing.T, wait time.Duration) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	last429 := map[string]time.Time{}
	for _, c := range s.sends {
		if at, ok := last429[c.token]; ok && c.at.Sub(at) < wait {
			t.Fatalf("retried %v after a 429 with Retry-After %v", c.at.Sub(at), wait)
		}
		if c.rateLimited {
			last429[c.token] = c.at
		}
	}
	if len(last429) == 0 {
		t.Fatal("no 429 was recorded")
	}
}

func TestConfigErrors(t *testing.T) {
	fake := newFake(t)
	c := newClient(t, fake)
	q := newMemoryQueue(t, 1)
	tests := []struct {
		name string
		err  func() error
	}{
		{"nil sender", func() error { _, err := New(nil, q); return err }},
		{"nil queue", func() error { _, err := New(c, nil); return err }},
		{"nil option", func() error { _, err := New(c, q, nil); return err }},
		{"zero max age", func() error { _, err := New(c, q, WithMaxAge(0)); return err }},
		{"negative poll interval", func() error { _, err := New(c, q, WithPollInterval(-time.Second)); return err }},
		{"zero lease", func() error { _, err := New(c, q, WithLease(0)); return err }},
		{"nil logger", func() error { _, err := New(c, q, WithLogger(nil)); return err }},
		{"nil OnDelivery hook", func() error { _, err := New(c, q, WithOnDelivery(nil)); return err }},
		{"queue limit 0", func() error { _, err := NewMemoryQueue(0); return err }},
		{"no key", func() error { _, err := New(c, q, WithEncryptionKey(nil)); return err }},
		{"15-byte key", func() error { _, err := New(c, q, WithEncryptionKey(make([]byte, 15))); return err }},
		{"31-byte key", func() error { _, err := New(c, q, WithEncryptionKey(make([]byte, 31))); return err }},
		// Without a key, each instance would seal under a key of its own,
		// and none could read what another queued, nor what it queued
		// itself before a restart.
		{"a queue that is not a MemoryQueue, without a key", func() error { _, err := New(c, brokenQueue{}); return err }},
		{"a wrapped MemoryQueue, without a key", func() error { _, err := New(c, struct{ Queue }{q}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestStatsReportsAQueueThatCannotBeCounted(t *testing.T) {
	errDown := errors.New("connection refused")
	o, err := New(newClient(t, newFake(t)), brokenQueue{errDown}, WithEncryptionKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	st, err := o.Stats(t.Context())
	if !errors.Is(err, errDown) || st.Pending != -1 {
		t.Fatalf("Stats = %+v, %v; want Pending -1 and the queue's error", st, err)
	}
}

// brokenQueue is a Queue whose backend is down.
type brokenQueue struct{ err error }

func (b brokenQueue) Enqueue(context.Context, string, []byte, time.Time) error { return b.err }
func (b brokenQueue) Claim(context.Context, time.Time, time.Duration) (Entry, bool, error) {
	return Entry{}, false, b.err
}
func (b brokenQueue) Ack(context.Context, Entry) error                { return b.err }
func (b brokenQueue) Release(context.Context, Entry, time.Time) error { return b.err }
func (b brokenQueue) Len(context.Context) (int64, error)              { return 0, b.err }
func (b brokenQueue) Stats(context.Context) (Stats, error)            { return Stats{}, b.err }

// unreadableQueue hands out nothing but unreadable entries, and the same
// one again and again, as a queue that fails to set them aside would. Len
// reports held entries, or fails when held is negative. It counts claims,
// and ends the run itself if the worker spins.
type unreadableQueue struct {
	brokenQueue
	held   int64
	claims int
	stop   context.CancelFunc
}

func (q *unreadableQueue) Claim(context.Context, time.Time, time.Duration) (Entry, bool, error) {
	q.claims++
	if q.claims > 1000 {
		q.stop() // spinning: without this the bubble's clock would never move
	}
	return Entry{}, false, fmt.Errorf("entry x: %w", ErrUnreadableEntry)
}

func (q *unreadableQueue) Len(ctx context.Context) (int64, error) {
	if q.held < 0 {
		return q.brokenQueue.Len(ctx)
	}
	return q.held, nil
}

// TestRunIdlesAfterAnUnreadableEntry is security finding 3: an entry
// sealed under another key made Run loop without waiting, 609 log lines
// and 6,000 Redis commands a second. A queue that sets each unreadable
// entry aside cannot hand out more of them in a row than it holds; one
// that keeps handing out the same entry gets that many claims, and one
// more, per poll interval.
func TestRunIdlesAfterAnUnreadableEntry(t *testing.T) {
	tests := []struct {
		name      string
		held      int64
		wantClaim int // at most, per poll interval
	}{
		{"Len fails", -1, 1},
		{"Len says one entry", 1, 2},
		{"Len says 50 entries", 50, 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				q := &unreadableQueue{brokenQueue: brokenQueue{errors.New("unused")}, held: tt.held, stop: cancel}
				logs := &testutil.Buffer{}
				o, err := New(senderFunc(func(context.Context, string) error { return nil }), q,
					WithEncryptionKey(testKey), WithPollInterval(time.Second), logger(logs))
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error)
				go func() { done <- o.Run(ctx) }()
				time.Sleep(10*time.Second + time.Millisecond)
				cancel()
				<-done
				if want := 11 * tt.wantClaim; q.claims > want {
					t.Fatalf("%d claims in 10 s with a 1 s poll interval; want at most %d", q.claims, want)
				}
				if n := strings.Count(logs.String(), "unreadable entry"); n != q.claims {
					t.Fatalf("%d log lines for %d unreadable entries", n, q.claims)
				}
			})
		})
	}
}

// TestDrainStopsOnAQueueThatKeepsHandingOutUnreadableEntries: Drain used
// to claim again and again until its context ended.
func TestDrainStopsOnAQueueThatKeepsHandingOutUnreadableEntries(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	q := &unreadableQueue{brokenQueue: brokenQueue{errors.New("unused")}, held: 3, stop: cancel}
	o, err := New(senderFunc(func(context.Context, string) error { return nil }), q,
		WithEncryptionKey(testKey), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Drain(ctx); !errors.Is(err, ErrUnreadableEntry) || q.claims != 4 {
		t.Fatalf("Drain = %v after %d claims; want ErrUnreadableEntry after 4 (the 3 entries the queue holds, and the one that repeats)", err, q.claims)
	}
}

// TestDrainEndsCleanlyAfterDroppingUnreadableEntries: Drain used to return
// an error when the queue ended with unreadable entries that were
// dropped, since its count of them in a row ran past what the queue held
// once they were gone: "centralauth-logout outbox drain" failed on a queue
// with a single corrupt entry.
func TestDrainEndsCleanlyAfterDroppingUnreadableEntries(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			q := newMemoryQueue(t, 10)
			for range n {
				plantUnreadable(t, q, false, time.Now())
			}
			o, err := New(senderFunc(func(context.Context, string) error { return nil }), q, WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Drain(t.Context()); err != nil {
				t.Fatalf("Drain = %v, want nil: every unreadable entry was dropped", err)
			}
			if st, _ := o.Stats(t.Context()); st.Pending != 0 || st.Dropped != int64(n) {
				t.Fatalf("stats %+v, want %d dropped and none left", st, n)
			}
		})
	}
}

// plantUnreadable puts an entry into q that an Outbox cannot read: one
// sealed under another key (foreign), or one whose sealed token is
// corrupt.
func plantUnreadable(t *testing.T, q Queue, foreign bool, at time.Time) {
	t.Helper()
	id := randomID()
	sealed := []byte("corrupt")
	if foreign {
		other, err := newSealer(bytes.Repeat([]byte{0x17}, 32))
		if err != nil {
			t.Fatal(err)
		}
		sealed = other.seal(id, "foreign")
	}
	if err := q.Enqueue(t.Context(), id, sealed, at); err != nil {
		t.Fatal(err)
	}
}

// TestUnreadableEntriesDoNotHoldUpALogout: each unreadable entry ahead of
// a deliverable logout used to cost a poll interval, so that 100 of them
// held a real logout up for 100 s.
func TestUnreadableEntriesDoNotHoldUpALogout(t *testing.T) {
	const poll, lease = time.Second, 30 * time.Second
	for _, n := range []int{1, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				q := newMemoryQueue(t, n+1)
				start := time.Now()
				for i := range n {
					plantUnreadable(t, q, i%2 == 0, start.Add(-time.Minute))
				}
				enqueue(t, q, "real", start)
				delivered := make(chan time.Time, 1)
				logs := &testutil.Buffer{}
				o, err := New(senderFunc(func(_ context.Context, tok string) error {
					if tok == "real" {
						delivered <- time.Now()
					}
					return nil
				}), q, WithPollInterval(poll), WithLease(lease), logger(logs))
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error)
				go func() { done <- o.Run(ctx) }()
				defer func() { cancel(); <-done }()

				if d := (<-delivered).Sub(start); d >= poll {
					t.Fatalf("the real logout was delivered after %v (%d poll intervals) behind %d unreadable entries; want less than one poll interval",
						d, d/poll, n)
				}
				// The log is bounded: the corrupt entries are gone, and the
				// foreign ones are logged once per lease, not once per poll.
				foreign := (n + 1) / 2
				for leases, want := range []int{n, n + foreign, n + 2*foreign} {
					time.Sleep(lease - poll)
					if got := strings.Count(logs.String(), "unreadable entry"); got != want {
						t.Fatalf("%d log lines in %d leases for %d unreadable entries, %d of them foreign; want %d",
							got, leases+1, n, foreign, want)
					}
					time.Sleep(poll)
				}
				if left, _ := q.Len(ctx); left != int64(foreign) {
					t.Fatalf("%d entries left, want the %d foreign ones", left, foreign)
				}
			})
		})
	}
}

// senderFunc is a Sender in a function.
type senderFunc func(ctx context.Context, token string) error

func (f senderFunc) Logout(ctx context.Context, token string) error { return f(ctx, token) }

// TestNegativeAttemptsDoNotPanic is security finding 2 at the outbox's
// end: a queue that hands out a negative attempt count (an entry edited in
// Redis) must not crash the worker in the backoff's shift.
func TestNegativeAttemptsDoNotPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemoryQueue(t, 10)
		enqueue(t, q, "tok", time.Now())
		e, _, _ := q.Claim(t.Context(), time.Now(), time.Minute)
		e.Attempts = -40
		if err := q.Release(t.Context(), e, time.Now()); err != nil {
			t.Fatal(err)
		}
		o, err := New(senderFunc(func(context.Context, string) error { return &remote.Error{StatusCode: 503} }), q)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait()
		if st, _ := o.Stats(t.Context()); st.Retries != 1 {
			t.Fatalf("stats %+v, want one retry scheduled", st)
		}
		cancel()
		<-done
	})
}

func TestDrainDeliversWhatIsDueAndReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemoryQueue(t, 10)
		ctx := t.Context()
		for _, tok := range []string{"ok-1", "ok-2", "down-1", "gone-1"} {
			enqueue(t, q, tok, time.Now())
		}
		enqueue(t, q, "later", time.Now().Add(time.Hour))
		var sent []string
		o, err := New(senderFunc(func(_ context.Context, tok string) error {
			sent = append(sent, tok)
			switch {
			case strings.HasPrefix(tok, "down"):
				return &remote.Error{StatusCode: 503}
			case strings.HasPrefix(tok, "gone"):
				return &remote.Error{StatusCode: 400, Code: "tokenInvalid"}
			}
			return nil
		}), q, WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		st, _ := o.Stats(ctx)
		if len(sent) != 4 || st.Delivered != 2 || st.Dropped != 1 || st.Retries != 1 || st.Pending != 2 {
			t.Fatalf("sent %q, stats %+v; want the 4 due sent once, 2 delivered, 1 dropped, 1 retried, 2 left", sent, st)
		}
	})
}
