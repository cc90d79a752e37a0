package centralauthtest

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Call is one request the fake received, on any endpoint. It never holds a
// token, a code or a secret: SessionID and Token say which token a call
// carried.
type Call struct {
	Method string
	Path   string // such as "/api/v1/logout"
	// Status is what the fake answered. It is 0 while the fake has not
	// answered yet, and stays 0 when it answered nothing: a dropped
	// connection, or a client that gave up during a Fault's Delay or Block.
	Status int
	// Violation says how the call broke CentralAuth's contract, such as
	// "redirect_uri differs from the login's (genericError)"; "" when it
	// kept it.
	Violation string
	// SessionID is the ID of the session whose token (logout, userinfo) or
	// login code (verify) the call carried; "" for none, or one that the
	// fake never issued.
	SessionID string
	// Token is which of the session's tokens the call carried: "access" or
	// "id"; "" for none, or one that the fake never issued.
	Token string
	// ContentType, UserAgent and AuthIP are the Content-Type, User-Agent
	// and auth-ip headers as sent; Domain is the domain query parameter
	// (userinfo).
	ContentType, UserAgent, AuthIP, Domain string
	// At is when the request arrived.
	At time.Time
}

// record appends a call for r and wakes WaitCalls.
func (s *Server) record(r *http.Request) *Call {
	call := &Call{
		Method:      r.Method,
		Path:        r.URL.Path,
		ContentType: r.Header.Get("Content-Type"),
		UserAgent:   r.Header.Get("User-Agent"),
		AuthIP:      r.Header.Get("auth-ip"),
		Domain:      r.URL.Query().Get("domain"),
		At:          s.now(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	s.notifyLocked()
	return call
}

// Calls returns the calls received so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = *c
	}
	return out
}

// WaitCalls blocks until the fake has received at least n calls in all, or
// ctx ends. A call counts from the moment its request arrives, before the
// fake answers it, so a test can wait for a request that a Fault's Block
// holds.
func (s *Server) WaitCalls(ctx context.Context, n int) error {
	if err := s.waitFor(ctx, func() bool { return len(s.calls) >= n }); err != nil {
		s.mu.Lock()
		have := len(s.calls)
		s.mu.Unlock()
		return fmt.Errorf("centralauthtest: waiting for %d calls, have %d: %w", n, have, err)
	}
	return nil
}

// Violations lists the calls so far that broke CentralAuth's contract, one
// line each, such as "POST /api/v1/verify: 400: redirect_uri differs from
// the login's (genericError)". A test asserts that it is empty; Start does
// at the end of the test.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		if c.Violation != "" {
			out = append(out, fmt.Sprintf("%s %s: %d: %s", c.Method, c.Path, c.Status, c.Violation))
		}
	}
	return out
}

// recorder is the ResponseWriter of every endpoint. It stores the status
// of the answer in its Call when the header is written, so that the status
// (and any violation) is recorded before the client can see the answer.
type recorder struct {
	http.ResponseWriter
	s       *Server
	call    *Call
	written bool
}

func (w *recorder) WriteHeader(status int) {
	if !w.written && status >= 200 {
		w.written = true
		w.s.mu.Lock()
		w.call.Status = status
		w.s.mu.Unlock()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (to hijack it).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// refuse answers a request that broke the contract with CentralAuth's JSON
// error, and records the violation. message never quotes the request.
func (w *recorder) refuse(status int, code, message string) {
	w.violated(message + " (" + code + ")")
	writeError(w, status, code, message)
}

// fail answers with CentralAuth's JSON error a request that kept the
// contract but cannot succeed, such as one with an ended session's token.
func (w *recorder) fail(status int, code, message string) {
	writeError(w, status, code, message)
}

// violated records a violation of the contract on the call.
func (w *recorder) violated(what string) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.call.Violation = what
}

// carried notes which session, and which of its tokens, the call carried.
// kind is "" for a login code.
func (w *recorder) carried(sessionID, kind string) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.call.SessionID, w.call.Token = sessionID, kind
}
