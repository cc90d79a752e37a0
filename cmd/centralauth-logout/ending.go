package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/centralauth-go/logout/internal/retry"
	"github.com/centralauth-go/logout/remote"
)

// The outcomes of a token.
const (
	outcomeEnded  = "ended"  // CentralAuth ended the session
	outcomeGone   = "gone"   // already ended, expired or unknown: nothing to do
	outcomeFailed = "failed" // not ended; see the status and errorCode
)

// maxAttempts is the library's rule: one attempt and two retries.
const maxAttempts = 3

// lastWait bounds how long requests in flight may finish after Ctrl-C.
const lastWait = 10 * time.Second

// sender is what ends one session: *remote.Client, made without retries,
// since retrying is the command's job (a 429 pauses every worker).
type sender interface {
	Logout(ctx context.Context, token string) error
}

// result is what became of one token line.
type result struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Outcome   string `json:"outcome"`
	Status    int    `json:"status,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
	Attempts  int    `json:"attempts"`
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
	client  sender
	workers int
	rate    float64
	pause   pause
}

// run ends every token that lines yields and hands each result to report,
// and each skipped line to skipped, one call at a time. stop ends the
// reading of new lines; the requests in flight then have lastWait to
// finish. It returns how many token lines were read but not tried.
func (e *ender) run(stop context.Context, lines iter.Seq[line], skipped func(line), report func(result)) (untried int) {
	// Requests get their own context: Ctrl-C stops new work at once, but
	// what is in flight may finish.
	inflight, cancel := context.WithCancel(context.WithoutCancel(stop))
	defer cancel()
	go func() {
		select {
		case <-stop.Done():
			t := time.AfterFunc(lastWait, cancel)
			<-inflight.Done()
			t.Stop()
		case <-inflight.Done():
		}
	}()

	var tick <-chan time.Time
	if e.rate > 0 {
		ticker := time.NewTicker(time.Duration(float64(time.Second) / e.rate))
		defer ticker.Stop()
		tick = ticker.C
	}
	// report and skipped run under one lock, from the workers and the
	// reader: no goroutine of its own, and no channel hop per token.
	var mu sync.Mutex
	jobs := make(chan line, e.workers)
	var wg sync.WaitGroup
	for range e.workers {
		wg.Go(func() {
			for l := range jobs {
				r := e.end(stop, inflight, tick, l)
				mu.Lock()
				report(r)
				mu.Unlock()
			}
		})
	}
	for l := range lines {
		if l.token == "" {
			mu.Lock()
			skipped(l)
			mu.Unlock()
			continue
		}
		select {
		case jobs <- l:
			continue
		case <-stop.Done():
		}
		untried++
		for l := range lines { // count what is left, without trying it
			if l.token != "" {
				untried++
			}
		}
		break
	}
	close(jobs)
	wg.Wait()
	return untried
}

// end tries one token until it is ended, gone, or fails for good.
func (e *ender) end(stop, inflight context.Context, tick <-chan time.Time, l line) result {
	r := result{File: l.file, Line: l.no}
	for {
		if err := e.pause.wait(stop); err != nil {
			return e.interrupted(r)
		}
		if tick != nil {
			select {
			case <-tick:
			case <-stop.Done():
				return e.interrupted(r)
			}
		}
		r.Attempts++
		err := e.client.Logout(inflight, l.token)
		r.Outcome, r.Status, r.ErrorCode = classify(err)
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

// interrupted is a token that Ctrl-C stopped before its first attempt, or
// between attempts.
func (e *ender) interrupted(r result) result {
	if r.Attempts == 0 {
		r.Outcome, r.ErrorCode = outcomeFailed, "interrupted"
	}
	return r
}

// classify turns Logout's error into an outcome, a status and an
// errorCode. A session CentralAuth no longer knows is "gone", not failed:
// there is nothing left to end.
func classify(err error) (outcome string, status int, code string) {
	if err == nil {
		return outcomeEnded, http.StatusOK, ""
	}
	if re, ok := errors.AsType[*remote.Error](err); ok {
		code = cmp.Or(re.Code, http.StatusText(re.StatusCode))
		if remote.IsSessionEnded(err) {
			return outcomeGone, re.StatusCode, re.Code
		}
		return outcomeFailed, re.StatusCode, code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return outcomeFailed, 0, "timeout"
	}
	return outcomeFailed, 0, "transport"
}

// summary counts the outcomes.
type summary struct {
	tokens, ended, gone, retried int
	failed                       map[string]int // by errorCode
	skipped                      []line
	untried                      int
}

func (s *summary) add(r result) {
	s.tokens++
	s.retried += max(r.Attempts-1, 0)
	switch r.Outcome {
	case outcomeEnded:
		s.ended++
	case outcomeGone:
		s.gone++
	default:
		if s.failed == nil {
			s.failed = map[string]int{}
		}
		s.failed[r.ErrorCode]++
	}
}

func (s *summary) failures() int {
	n := 0
	for _, c := range s.failed {
		n += c
	}
	return n
}

// write prints the summary. It names lines by file and number only.
func (s *summary) write(w io.Writer, dryRun bool) {
	if dryRun {
		fmt.Fprintf(w, "dry run: %d tokens would be sent; nothing was sent\n", s.tokens)
	} else {
		fmt.Fprintf(w, "%d tokens: %d ended, %d already gone, %d failed, %d retries\n",
			s.tokens, s.ended, s.gone, s.failures(), s.retried)
		for _, code := range slices.Sorted(maps.Keys(s.failed)) {
			fmt.Fprintf(w, "  failed %s: %d\n", code, s.failed[code])
		}
	}
	if s.untried > 0 {
		fmt.Fprintf(w, "interrupted: %d tokens read but not tried\n", s.untried)
	}
	if len(s.skipped) > 0 {
		fmt.Fprintf(w, "%d lines skipped:\n", len(s.skipped))
		for i, l := range s.skipped {
			if i == 20 {
				fmt.Fprintf(w, "  … and %d more\n", len(s.skipped)-i)
				break
			}
			fmt.Fprintf(w, "  %s:%d: %s\n", l.file, l.no, l.skip)
		}
	}
}

// jsonLines writes one JSON object per result.
type jsonLines struct{ enc *json.Encoder }

func (j jsonLines) write(r result) {
	if j.enc != nil {
		_ = j.enc.Encode(r)
	}
}
