package remote

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
)

// connCounter counts, through httptrace, how many requests got a reused
// keep-alive connection.
type connCounter struct{ got, reused atomic.Int64 }

func (cc *connCounter) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		cc.got.Add(1)
		if i.Reused {
			cc.reused.Add(1)
		}
	}})
}

func (cc *connCounter) reuse() float64 {
	if cc.got.Load() == 0 {
		return 0
	}
	return float64(cc.reused.Load()) / float64(cc.got.Load())
}

// BenchmarkSessionWideLogout is target 6: Client.Logout against the fake
// CentralAuth on loopback, through net/http with keep-alive, against a raw
// http.Client loop posting the same request. Logging out an ended session
// again succeeds, so one session serves every iteration of both.
func BenchmarkSessionWideLogout(b *testing.B) {
	fake, err := newFakeB()
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	token := fake.SignIn("bench@example.com").AccessToken
	endpoint := fake.URL() + "/api/v1/logout"
	auth := "Basic " + testCreds()

	raw := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer raw.CloseIdleConnections()
	rawLogout := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(token))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := raw.Do(req)
		if err != nil {
			return err
		}
		drainAndClose(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return nil
	}
	c, err := NewClient(testID, testSecret, WithBaseURL(fake.URL()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ours := func(ctx context.Context) error { return c.Logout(ctx, token) }

	for _, bc := range []struct {
		name   string
		logout func(context.Context) error
	}{{"raw", rawLogout}, {"client", ours}} {
		for _, parallel := range []bool{false, true} {
			name := "callers=1/impl=" + bc.name
			if parallel {
				name = "callers=GOMAXPROCS/impl=" + bc.name
			}
			b.Run(name, func(b *testing.B) {
				var cc connCounter
				ctx := cc.trace(context.Background())
				b.ReportAllocs()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := bc.logout(ctx); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					for b.Loop() {
						if err := bc.logout(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(100*cc.reuse(), "%reused")
			})
		}
	}
}

// TestTenThousandLogoutsLeaveNothingBehind checks the resource half of
// target 6, which is not a timing: after 10,000 session-wide logouts,
// connections were reused and goroutines return to where they started.
func TestTenThousandLogoutsLeaveNothingBehind(t *testing.T) {
	fake := newFake(t)
	token := fake.SignIn("u@example.com").AccessToken
	c, err := NewClient(testID, testSecret, WithBaseURL(fake.URL()))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	var cc connCounter
	ctx := cc.trace(testCtx(t))
	const n, workers = 10_000, 8
	errs := make(chan error, workers)
	var next atomic.Int64
	for range workers {
		go func() {
			for next.Add(1) <= n {
				if err := c.Logout(ctx, token); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if cc.got.Load() != n || cc.reuse() < 0.99 {
		t.Fatalf("%d of %d requests reused a connection (%.2f%%), want at least 99%%", cc.reused.Load(), cc.got.Load(), 100*cc.reuse())
	}
	c.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		runtime.Gosched()
	}
}

func newFakeB() (*centralauthtest.Server, error) {
	return centralauthtest.NewServer(testID, testSecret)
}
