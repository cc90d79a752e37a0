package remote

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/centralauth-go/logout/internal/retry"
)

const (
	// baseBackoff is the wait before the first retry; each further retry
	// doubles it.
	baseBackoff = 100 * time.Millisecond
	// maxWait caps every wait, including one a server asks for with
	// Retry-After: a logout that has to wait longer is better reported
	// (and perhaps queued) than left hanging.
	maxWait = 30 * time.Second
)

// retryWait is how long to wait before retry number attempt+1 after err:
// the jittered backoff, or the server's Retry-After if that is longer, and
// never more than maxWait.
func retryWait(attempt int, err error) time.Duration {
	d := retry.Backoff(baseBackoff, attempt, maxWait)
	if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > d {
		d = e.RetryAfter
	}
	return min(d, maxWait)
}

// parseRetryAfter reads a Retry-After header: delta-seconds, or an HTTP date
// measured against now (the injected clock, so tests control it). It returns
// zero for an absent, malformed or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// On ErrRange ParseUint returns the largest value: still "a very
		// long time", which is what the server meant.
		const maxSecs = uint64(math.MaxInt64 / int64(time.Second))
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
