package remote

import (
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	d := backoff(attempt)
	if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > d {
		d = e.RetryAfter
	}
	return min(d, maxWait)
}

// backoff is baseBackoff·2^attempt (capped at maxWait) with "equal jitter":
// a random wait between half of that and all of it. The random half keeps
// many clients that failed together from retrying together; the fixed half
// keeps the wait from collapsing to nothing.
func backoff(attempt int) time.Duration {
	return jittered(exponential(baseBackoff, attempt, maxWait))
}

// exponential is base·2^n, capped at limit.
func exponential(base time.Duration, n int, limit time.Duration) time.Duration {
	if n >= 30 { // beyond that the shift would overflow; limit is smaller
		return limit
	}
	return min(base<<n, limit)
}

// jittered returns a random duration between d/2 and d.
func jittered(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
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
