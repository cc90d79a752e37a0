package testutil

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Call is one request the fake received, on any endpoint.
type Call struct {
	Method        string
	Path          string
	Authorization string      // the Authorization header as sent
	ContentType   string      // the Content-Type header as sent
	UserAgent     string      // the User-Agent header as sent
	AuthIP        string      // the auth-ip header as sent (userinfo)
	Domain        string      // the domain query parameter as sent (userinfo)
	Header        http.Header // all request headers
	Body          string      // the request body (at most 64 KiB are read)
	// Status is what the fake answered. It is 0 while the fake has not
	// answered yet, and stays 0 when it answered nothing: a dropped
	// connection, or a client that gave up during a Delay or Block fault.
	Status int
	At     time.Time // when the request arrived, by the fake's clock
}

// record appends a call for r and wakes WaitCalls.
func (ca *CentralAuth) record(r *http.Request, body []byte) *Call {
	call := &Call{
		Method:        r.Method,
		Path:          r.URL.Path,
		Authorization: r.Header.Get("Authorization"),
		ContentType:   r.Header.Get("Content-Type"),
		UserAgent:     r.Header.Get("User-Agent"),
		AuthIP:        r.Header.Get("auth-ip"),
		Domain:        r.URL.Query().Get("domain"),
		Header:        r.Header.Clone(),
		Body:          string(body),
		At:            ca.clock.Now(),
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.calls = append(ca.calls, call)
	ca.notifyLocked()
	return call
}

// Calls returns a snapshot of the calls recorded since the start or the
// last ResetCalls, in arrival order.
func (ca *CentralAuth) Calls() []Call {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	out := make([]Call, len(ca.calls))
	for i, c := range ca.calls {
		out[i] = *c
		out[i].Header = c.Header.Clone()
	}
	return out
}

// ResetCalls forgets the recorded calls; WaitCalls counts from here on.
func (ca *CentralAuth) ResetCalls() {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.calls = nil
	ca.notifyLocked()
}

// WaitCalls blocks until at least n calls have been recorded (counting from
// the last ResetCalls), or ctx ends. A call is recorded when its request
// arrives, before the fake answers it, so a test can wait for a request that
// a Block fault holds.
func (ca *CentralAuth) WaitCalls(ctx context.Context, n int) error {
	err := ca.waitFor(ctx, func() bool { return len(ca.calls) >= n })
	if err != nil {
		ca.mu.Lock()
		have := len(ca.calls)
		ca.mu.Unlock()
		return fmt.Errorf("testutil: waiting for %d calls, have %d: %w", n, have, err)
	}
	return nil
}

// recordingWriter stores the status of the answer in its Call at the moment
// the header is written, so the status is recorded before the client can
// see the answer.
type recordingWriter struct {
	http.ResponseWriter
	ca      *CentralAuth
	call    *Call
	written bool
}

func (w *recordingWriter) WriteHeader(status int) {
	if !w.written && status >= 200 {
		w.written = true
		w.ca.mu.Lock()
		w.call.Status = status
		w.ca.mu.Unlock()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (to hijack it).
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
