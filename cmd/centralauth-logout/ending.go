package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/centralauth-go/logout/internal/retry"
	"github.com/centralauth-go/logout/remote"
)

// The outcomes of a line. Every line that is neither blank nor a comment
// has exactly one.
const (
	outcomeEnded        = "ended"        // CentralAuth ended the session
	outcomeAlreadyEnded = "alreadyEnded" // the session had ended, expired or been logged out
	outcomeInvalid      = "invalid"      // CentralAuth does not accept the token
	outcomeFailed       = "failed"       // not ended; see the status and errorCode
	outcomeSkipped      = "skipped"      // not a token line; see the reason
	outcomeNotTried     = "notTried"     // the run stopped before its first attempt
)

// invalidCodes are the errorCodes, among those that remote.IsSessionEnded
// accepts, with which CentralAuth refuses the token rather than says that
// its session ended: a token of another organization, one it cannot read,
// or a session it does not consider valid. The others (sessionMissing,
// sessionExpired, sessionInactive) say that the session no longer stands.
var invalidCodes = []string{"tokenInvalid", "tokenMissing", "sessionInvalid", "sessionNotVerified"}

// The errorCodes of a request that the command itself cut short.
const (
	codeInterrupted  = "interrupted"  // by a second signal
	codeGraceExpired = "graceExpired" // still unanswered when the grace period ran out
)

// maxAttempts is the library's rule: one attempt and two retries.
const maxAttempts = 3

// lastWait bounds how long requests in flight may finish after the first
// interrupt.
const lastWait = 10 * time.Second

var (
	errGraceExpired = errors.New("the grace period after the interrupt is over")
	errStoppedNow   = errors.New("interrupted twice")
)

// refusedError is CentralAuth refusing the app rather than a token: every
// other token would meet the same answer, so the run stops.
type refusedError struct {
	status int
	code   string
}

func (e *refusedError) Error() string {
	cause := "check " + envClientID + " and " + envSecret
	if e.code == "domainInvalid" {
		cause = "check " + envBaseURL + ": it must be your organization's CentralAuth domain"
	}
	return fmt.Sprintf("CentralAuth refused this app's requests (%d %s): %s; the run stopped", e.status, e.code, cause)
}

// refused reports whether err is CentralAuth refusing the app: an errorCode
// of noPermission or domainInvalid with a 4xx status other than 429.
func refused(err error) (*refusedError, bool) {
	re, ok := errors.AsType[*remote.Error](err)
	if !ok || re.StatusCode < 400 || re.StatusCode > 499 || re.StatusCode == http.StatusTooManyRequests ||
		(re.Code != "noPermission" && re.Code != "domainInvalid") {
		return nil, false
	}
	return &refusedError{re.StatusCode, re.Code}, true
}

// sender is what ends one session: *remote.Client, made without retries,
// since retrying is the command's job (a 429 pauses every worker).
type sender interface {
	Logout(ctx context.Context, token string) error
}

// result is what became of one line: a line object of -json.
type result struct {
	Kind      string `json:"kind"` // "line"
	File      string `json:"file"`
	Line      int    `json:"line"`
	Outcome   string `json:"outcome"`
	Status    int    `json:"status,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
	Attempts  int    `json:"attempts"`
	Reason    string `json:"reason,omitempty"` // why a line was skipped

	in int // the input's place, to find the first line not tried
}

func newResult(l line, outcome string) result {
	return result{Kind: "line", File: l.file, Line: l.no, Outcome: outcome, in: l.in}
}

// pause holds every worker back until a time that a 429 or a Retry-After
// set: CentralAuth's rate limit is the app's, not a worker's.
type pause struct {
	mu    sync.Mutex
	until time.Time
}

func (p *pause) extend(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.until) {
		p.until = until
	}
}

// wait returns when no pause is set any more, or ctx ends.
func (p *pause) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		d := time.Until(p.until)
		p.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := retry.System.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// ender ends the sessions of a stream of token lines with a pool of
// workers, at most rate requests a second (0: no ceiling).
type ender struct {
	client  sender // nil for a dry run: every token line is reported not tried
	workers int
	rate    float64
	grace   time.Duration
	// interrupted is called once, at the first interrupt, under the
	// lock that report runs under.
	interrupted func()
	pause       pause
}

// stopped is how a run ended.
type stopped struct {
	// cause is nil when the input was read to its end and every token
	// tried; context.Canceled after an interrupt; a *refusedError when
	// CentralAuth refused the app.
	cause error
	// complete says the input was read to its end; otherwise last is the
	// last line received from it (or the mark of the input it was in).
	complete bool
	last     line
}

// run reads the lines of the inputs once, ends the session of every token
// and hands each line's result to report, one call at a time, in no
// particular order.
//
// The end of first (a SIGINT or SIGTERM) stops new requests at once, even
// while a read blocks; the requests in flight then have e.grace to finish,
// and the rest of the input is read, each token line reported not tried,
// when every input is a regular file. An input that might block (a pipe,
// a terminal) is not read further. The end of second stops everything at
// once, and cancels the requests in flight.
func (e *ender) run(first, second context.Context, inputs []input, report func(result)) stopped {
	stop, halt := context.WithCancelCause(first)
	defer halt(nil)
	// Requests get their own context: the first interrupt stops new work,
	// but what is in flight may finish.
	inflight, cancel := context.WithCancelCause(context.WithoutCancel(first))
	var mu sync.Mutex // report and e.interrupted run under it
	graceDone := make(chan struct{})
	go func() {
		defer close(graceDone)
		select {
		case <-stop.Done():
		case <-inflight.Done():
			return
		}
		if first.Err() != nil {
			mu.Lock()
			e.interrupted()
			mu.Unlock()
		}
		t := time.NewTimer(e.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(errGraceExpired)
		case <-second.Done():
			cancel(errStoppedNow)
		case <-inflight.Done():
		}
	}()

	var tick <-chan time.Time
	if e.rate > 0 {
		ticker := time.NewTicker(time.Duration(float64(time.Second) / e.rate))
		defer ticker.Stop()
		tick = ticker.C
	}
	// Workers report under the lock themselves: no goroutine of its own,
	// and no channel hop per token.
	jobs := make(chan line, e.workers)
	var wg sync.WaitGroup
	for range e.workers {
		wg.Go(func() {
			for l := range jobs {
				r := e.end(stop, inflight, halt, tick, l)
				mu.Lock()
				report(r)
				mu.Unlock()
			}
		})
	}
	locked := func(r result) {
		mu.Lock()
		report(r)
		mu.Unlock()
	}

	quit := make(chan struct{})
	defer close(quit)
	batches := read(inputs, quit)
	readOn := true // after a stop, read the rest to count it
	for _, in := range inputs {
		readOn = readOn && in.regular
	}
	st := stopped{}
	stopping := stop.Done()
	for batches != nil {
		select {
		case b, ok := <-batches:
			if !ok {
				st.complete, batches = true, nil
				continue
			}
			for _, l := range b {
				if second.Err() != nil {
					batches = nil // the rest of b is not counted as read
					break
				}
				st.last = l
				switch {
				case l.no == 0: // the mark that starts an input
				case l.token == "":
					r := newResult(l, outcomeSkipped)
					r.Reason = l.skip
					locked(r)
				case e.client == nil || stop.Err() != nil:
					locked(newResult(l, outcomeNotTried))
				default:
					select {
					case jobs <- l:
					case <-stop.Done():
						locked(newResult(l, outcomeNotTried))
					}
				}
			}
		case <-stopping:
			stopping = nil
			if !readOn {
				batches = nil
			}
		case <-second.Done():
			batches = nil
		}
	}
	close(jobs)
	wg.Wait()
	cancel(nil)
	<-graceDone
	st.cause = context.Cause(stop)
	return st
}

// end tries one token until it is ended, found already ended or invalid,
// or fails for good. A token that the run stopped before its first attempt
// is not tried; after one, its last failure stands.
func (e *ender) end(stop, inflight context.Context, halt context.CancelCauseFunc, tick <-chan time.Time, l line) result {
	r := newResult(l, outcomeNotTried)
	for {
		if e.pause.wait(stop) != nil || stop.Err() != nil {
			return r
		}
		if tick != nil {
			select {
			case <-tick:
			case <-stop.Done():
				return r
			}
		}
		r.Attempts++
		err := e.client.Logout(inflight, l.token)
		r.Outcome, r.Status, r.ErrorCode = classify(err)
		if re, ok := refused(err); ok {
			halt(re)
			return r
		}
		if r.Outcome != outcomeFailed || !remote.IsRetryable(err) || r.Attempts >= maxAttempts {
			return r
		}
		wait := retry.Backoff(100*time.Millisecond, r.Attempts-1, 30*time.Second)
		if re, ok := errors.AsType[*remote.Error](err); ok && (re.StatusCode == http.StatusTooManyRequests || re.RetryAfter > 0) {
			// Rate limited: every worker waits, not only this one.
			e.pause.extend(time.Now().Add(max(wait, min(re.RetryAfter, 5*time.Minute))))
			continue
		}
		if retry.System.Sleep(stop, wait) != nil {
			return r // the last failure stands
		}
	}
}

// classify turns Logout's error into an outcome, a status and an
// errorCode. CentralAuth's answers count as ended or invalid only with the
// statuses remote.IsSessionEnded accepts: a 5xx or a 429 is a failure,
// whatever its body says.
func classify(err error) (outcome string, status int, code string) {
	if err == nil {
		return outcomeEnded, http.StatusOK, ""
	}
	if re, ok := errors.AsType[*remote.Error](err); ok {
		switch {
		case !remote.IsSessionEnded(err):
			return outcomeFailed, re.StatusCode, cmp.Or(re.Code, http.StatusText(re.StatusCode))
		case slices.Contains(invalidCodes, re.Code):
			return outcomeInvalid, re.StatusCode, re.Code
		}
		return outcomeAlreadyEnded, re.StatusCode, re.Code
	}
	// net/http returns the cause with which the run cancelled a request.
	switch {
	case errors.Is(err, errGraceExpired):
		return outcomeFailed, 0, codeGraceExpired
	case errors.Is(err, errStoppedNow), errors.Is(err, context.Canceled):
		return outcomeFailed, 0, codeInterrupted
	case errors.Is(err, context.DeadlineExceeded):
		return outcomeFailed, 0, "timeout"
	}
	return outcomeFailed, 0, "transport"
}
