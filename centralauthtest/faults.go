package centralauthtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Fault is a failure of CentralAuth, for the next calls to userinfo and
// logout, applied before anything else. In order: it waits Delay, waits
// for Block, then drops the connection, or answers with Status, Body or
// OversizedBody. A fault that only waits lets the call go on as usual
// afterwards.
type Fault struct {
	// Status is the status to answer with, such as 503, or 429 with
	// RetryAfter. Default: 500 when Body or OversizedBody is set; with
	// neither, 0 means no answer from the fault.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header: seconds, such
	// as "30", or an HTTP date.
	RetryAfter string
	// Body is the raw body to answer with. Default: CentralAuth's JSON
	// error for Status (4xx and 5xx), or an empty body.
	Body string
	// Delay is how long to wait before answering: a slow CentralAuth. The
	// wait ends early, without an answer, when the client goes away.
	Delay time.Duration
	// Block, if not nil, holds the call until it is closed. The wait ends
	// early, without an answer, when the client goes away or on Close.
	Block <-chan struct{}
	// DropConnection closes the connection without any answer.
	DropConnection bool
	// OversizedBody, if positive, is the number of bytes of body to answer
	// with, for testing that a client bounds what it reads.
	OversizedBody int
	// Times is how many consecutive calls the fault applies to. Default: 1.
	Times int
}

// InjectFault queues f. Queued faults apply in the order they were
// injected, each to f.Times calls to userinfo or logout.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults drops every queued fault: CentralAuth is back.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// nextFault takes one use of the fault at the head of the queue. A fault
// whose Times drops to zero or below leaves the queue, so Times 0 means once.
func (s *Server) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults[0].Times--
	if s.faults[0].Times <= 0 {
		s.faults = s.faults[1:]
	}
	return f, true
}

// applyFault applies the next queued fault to the call. It reports whether
// the call is finished (answered, dropped, or its client gone); false
// means that the call goes on as usual.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.nextFault()
	if !ok {
		return false
	}
	done := r.Context().Done()
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return true
		}
	}
	if f.Block != nil {
		select {
		case <-f.Block:
		case <-done:
			return true
		}
	}
	if f.DropConnection {
		dropConnection(w)
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		if f.Body == "" && f.OversizedBody <= 0 {
			return false
		}
		status = http.StatusInternalServerError
	}
	switch {
	case f.OversizedBody > 0:
		writeOversized(w, status, f.OversizedBody)
	case f.Body != "":
		if json.Valid([]byte(f.Body)) {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
	case status >= 400:
		writeError(w, status, codeForStatus(status), "injected fault: "+http.StatusText(status))
	default:
		w.WriteHeader(status)
	}
	return true
}

// dropConnection closes the connection under w without writing anything.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// writeOversized answers with n bytes of body, in chunks, stopping when the
// client stops reading and closes the connection.
func writeOversized(w http.ResponseWriter, status, n int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	chunk := []byte(strings.Repeat("x", 32<<10))
	for n > 0 {
		b := chunk[:min(n, len(chunk))]
		if _, err := w.Write(b); err != nil {
			return
		}
		n -= len(b)
	}
}
