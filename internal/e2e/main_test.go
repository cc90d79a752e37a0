package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// redisLog captures whatever go-redis logs (its logger is global), so that
// the secrets proof can search it too.
var redisLog = &testutil.Buffer{}

type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	fmt.Fprintf(redisLog, format+"\n", v...)
}

func TestMain(m *testing.M) {
	redis.SetLogger(redisLogger{})
	code := m.Run()
	// Every test cleans up after itself: after the last one, no goroutine
	// of ours, go-redis's or net/http's may be left.
	if code == 0 {
		if err := findLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakPatience is how long findLeaks lets goroutines finish. go-redis's
// pool, after failing to dial, probes the server from a goroutine that
// notices a closed client only after its 1 s sleep; goleak's own retries
// give up well before that.
const leakPatience = 5 * time.Second

// findLeaks returns goleak's report of the goroutines still running,
// besides the ones opts ignore, after leakPatience; nil once there are none.
func findLeaks(opts ...goleak.Option) error {
	deadline := time.Now().Add(leakPatience)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}
